"""Per-transport wrapping of already-encoded frames (``o``, ``h``, ``a[...]``, ``c[...]``).

How this works: the session produces frame strings; each receiving transport puts them on the
wire differently. A `FrameWriter` (one per receiving request) knows its transport's prelude (the
bytes written once, right after the response head) and how to wrap one frame:

=============  =====================================  ======================================
transport      prelude                                one frame
=============  =====================================  ======================================
websocket      (none)                                 the frame, as one text message
xhr            (none)                                 ``frame + "\\n"``; one frame ends it
xhr_streaming  2048 ``h`` then ``\\n``               ``frame + "\\n"``
eventsource    ``\\r\\n``                               ``data: frame\\r\\n\\r\\n``
htmlfile       an HTML page calling ``parent.<c>``,   ``<script>\\np("<frame as JSON>");\\n``
               padded past 1 KiB                      ``</script>\\r\\n``
jsonp          (none)                                 ``/**/<c>("<frame as JSON>");\\r\\n``;
                                                      one frame ends it
=============  =====================================  ======================================

Bytes are sockjs-go's (``c8a8c64``) except the ``/**/`` that the current SockJS protocol suite
(and sockjs-node) put before a jsonp callback against the Flash/JSONP exploit; sockjs-go predates
it. Frames are JSON-quoted for htmlfile/jsonp with Go's ``json.Marshal`` spelling (``<``, ``>``,
``&``, U+2028, U+2029 escaped, so no ``</script>`` can ever appear in a page). The callback name
must match ``[A-Za-z0-9_.-]+`` (the protocol's rule; sockjs-go does not check it).
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass

from ._errors import RemoteProtocolError
from ._options import Options

__all__ = [
    "CALLBACK_REQUIRED",
    "INVALID_CALLBACK",
    "FrameWriter",
    "Transport",
    "validate_callback",
]

CALLBACK_REQUIRED = '"callback" parameter required'
INVALID_CALLBACK = 'invalid "callback" parameter'


class Transport(enum.Enum):
    """A receiving transport (the request that carries server → client frames)."""

    WEBSOCKET = "websocket"
    XHR = "xhr"
    XHR_STREAMING = "xhr_streaming"
    EVENTSOURCE = "eventsource"
    HTMLFILE = "htmlfile"
    JSONP = "jsonp"

    @property
    def streaming(self) -> bool:
        """Whether one response carries many frames (until ``Options.response_limit``)."""
        return self in _STREAMING

    @property
    def polling(self) -> bool:
        """Whether one response carries exactly one frame."""
        return self is Transport.XHR or self is Transport.JSONP

    @property
    def needs_callback(self) -> bool:
        """Whether the request must name a JavaScript callback (``?c=``)."""
        return self is Transport.HTMLFILE or self is Transport.JSONP


_STREAMING = frozenset({Transport.XHR_STREAMING, Transport.EVENTSOURCE, Transport.HTMLFILE})

_CALLBACK_OK = re.compile(r"[A-Za-z0-9_.\-]+\Z")

_XHR_STREAMING_PRELUDE = b"h" * 2048 + b"\n"

# sockjs-go's htmlfile page: padded with spaces computed on the template (with its two-character
# placeholder) so that, like sockjs-node's, the page is past 1 KiB before the first frame.
_HTMLFILE_TEMPLATE = """<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.%s;
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>
"""
_HTMLFILE_HEAD, _HTMLFILE_TAIL = (
    _HTMLFILE_TEMPLATE + " " * (1024 - len(_HTMLFILE_TEMPLATE) + 14) + "\r\n\r\n"
).split("%s")

_GO_ESCAPES = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}
_SHORT_BF = re.compile(r"\\[\\bf]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _go_bf(match: re.Match[str]) -> str:
    text = match.group()
    return "\\u0008" if text == "\\b" else "\\u000c" if text == "\\f" else text


def _go_quote(text: str) -> str:
    """JSON-quote a string the way Go 1.19's ``json.Marshal`` does."""
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    quoted = json.dumps(text, ensure_ascii=False).translate(_GO_ESCAPES)
    if "\b" in text or "\f" in text:
        quoted = _SHORT_BF.sub(_go_bf, quoted)
    return quoted


def validate_callback(callback: str | None) -> str:
    """Return the JavaScript callback name of an htmlfile/jsonp request, or refuse it.

    Raises:
        RemoteProtocolError: ``status=500`` with body `CALLBACK_REQUIRED` (missing or empty)
            or `INVALID_CALLBACK` (a character outside ``[A-Za-z0-9_.-]``).
    """
    if not callback:
        raise RemoteProtocolError(CALLBACK_REQUIRED, status=500, body=CALLBACK_REQUIRED)
    if _CALLBACK_OK.match(callback) is None:
        raise RemoteProtocolError(
            f"{INVALID_CALLBACK}: {callback!r:.60}", status=500, body=INVALID_CALLBACK
        )
    return callback


@dataclass(frozen=True, slots=True)
class FrameWriter:
    """How one receiving request puts frames on the wire.

    Attributes:
        transport: the receiving transport.
        callback: the JavaScript callback (htmlfile and jsonp only; validated on creation).
    """

    transport: Transport
    callback: str | None = None

    def __post_init__(self) -> None:
        if self.transport.needs_callback:
            validate_callback(self.callback)
        elif self.callback is not None:
            raise ValueError(f"{self.transport.value} takes no callback")

    @property
    def prelude(self) -> bytes:
        """Bytes to write once, right after the response head (may be empty)."""
        transport = self.transport
        if transport is Transport.XHR_STREAMING:
            return _XHR_STREAMING_PRELUDE
        if transport is Transport.EVENTSOURCE:
            return b"\r\n"
        if transport is Transport.HTMLFILE:
            return f"{_HTMLFILE_HEAD}{self.callback}{_HTMLFILE_TAIL}".encode()
        return b""

    def wrap(self, frame: str) -> bytes:
        """The bytes carrying one frame (for WebSocket: the text message's UTF-8)."""
        transport = self.transport
        if transport is Transport.XHR or transport is Transport.XHR_STREAMING:
            return f"{frame}\n".encode()
        if transport is Transport.WEBSOCKET:
            return frame.encode()
        if transport is Transport.EVENTSOURCE:
            return f"data: {frame}\r\n\r\n".encode()
        if transport is Transport.HTMLFILE:
            return f"<script>\np({_go_quote(frame)});\n</script>\r\n".encode()
        return f"/**/{self.callback}({_go_quote(frame)});\r\n".encode()

    def response_limit(self, options: Options) -> int | None:
        """Bytes of wrapped frames after which the response must end (``None``: never).

        Polling responses end after one frame; streaming ones once they carried at least
        ``options.response_limit`` bytes (the prelude not counted, as in sockjs-go).
        """
        if self.transport.polling:
            return 1
        if self.transport.streaming:
            return options.response_limit
        return None
