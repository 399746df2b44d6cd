"""Which browser pages may use a SockJS endpoint: the `Origin` allow-list.

A browser names the page that makes a request in its `Origin` header (scheme, host and port).
SockJS answers cross-origin requests with CORS headers that echo that origin and allow
credentials, and WebSockets are not covered by CORS at all, so without a check any page on
the web could open sessions from a visitor's browser to a server it can reach (on the
visitor's machine or network). `origin_allowed` is that check; `plan_request` refuses a request
it fails with 403 before anything else happens (no session, no upgrade, no CORS headers).

The rules, in order:

* no `Origin` header: allowed. Only browsers send one on these requests; Go's, kite.js's
  node and this project's clients are not pages (Go's WebSocket client sends the kite's own
  origin, which the next rule accepts);
* the page is on the server itself (the `Origin`'s host and port equal the `Host` header,
  whatever the scheme, as gorilla/websocket's same-origin check): allowed;
* the origin is in `Options.allowed_origins` (exact `scheme://host[:port]`, case-insensitive,
  default ports written or not), or the list holds `"*"` (every origin: sockjs-go's and Go
  kite's behaviour): allowed;
* anything else, `Origin: null` included (sandboxed frames, `file:` pages): refused, unless
  `"null"` is listed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["normalise_origin", "origin_allowed"]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def normalise_origin(origin: str) -> str:
    """`scheme://host[:port]` lower-cased with the scheme's default port left out; `*` and
    `null` as they are.

    Raises:
        ValueError: not an origin (a path, a query, user info or no host).
    """
    text = origin.strip().lower()
    if text in ("*", "null"):
        return text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}") from None
    if (
        parts.scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or "@" in parts.netloc
    ):
        raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
    host = parts.netloc if port is None else parts.netloc.rpartition(":")[0]
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def _same_host(origin: str, host_header: str | None) -> bool:
    if not host_header:
        return False
    netloc = origin.partition("://")[2]
    return bool(netloc) and netloc.lower() == host_header.strip().lower()


def origin_allowed(origin: str | None, host: str | None, allowed_origins: tuple[str, ...]) -> bool:
    """Whether a request with these `Origin` and `Host` headers may use the endpoint (rules in
    the module doc). `allowed_origins` holds normalised origins (`Options` normalises them).
    """
    if origin is None:
        return True
    if "*" in allowed_origins:
        return True
    if _same_host(origin, host):
        return True
    try:
        return normalise_origin(origin) in allowed_origins
    except ValueError:
        return False
