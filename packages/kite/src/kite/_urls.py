"""Kite and Kontrol URLs checked before dialling, so a mistake gets a message that names it.

A kite URL is an HTTP URL, `http://host:port/kite` (`https` for TLS), from which the WebSocket
and XHR polling URLs are made, or a WebSocket URL (`ws://`, `wss://`: Go's tunnel proxy hands
those out). Without the check, `localhost:1234` read as scheme
`localhost` and path `1234` and failed deep in the dialler with `no host in URL
'ws://:80/1234/762/…/websocket'`.
"""

from __future__ import annotations

import urllib.parse

__all__ = ["KITE_URL_SCHEMES", "InvalidURLError", "check_kite_url"]

#: Schemes a kite URL may have.
KITE_URL_SCHEMES = ("http", "https", "ws", "wss")


class InvalidURLError(ValueError):
    """A kite or Kontrol URL that cannot be dialled.

    Attributes:
        url: the URL as given.
        reason: what is wrong with it (and what was probably meant).
    """

    def __init__(self, url: str, reason: str, *, what: str = "kite URL") -> None:
        super().__init__(f"invalid {what} {url!r}: {reason}")
        self.url = url
        self.reason = reason


def check_kite_url(url: str, *, what: str = "kite URL") -> None:
    """Raise `InvalidURLError` unless `url` is an `http(s)://` or `ws(s)://` URL with a host
    (and, if given, a valid port). `what` names the URL in the message (`Kontrol URL`)."""
    if not url:
        raise InvalidURLError(url, "it is empty", what=what)
    if "://" not in url:
        guess = "http://" + url + ("" if "/" in url else "/kite")
        raise InvalidURLError(url, f"no scheme (did you mean {guess!r}?)", what=what)
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in KITE_URL_SCHEMES:
        reason = f"the scheme must be http, https, ws or wss, not {scheme!r}"
        raise InvalidURLError(url, reason, what=what)
    if not parts.hostname:
        raise InvalidURLError(url, "no host", what=what)
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        raise InvalidURLError(url, "the port is not a number from 0 to 65535", what=what) from None
