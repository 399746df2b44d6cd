"""kite's network layer: an HTTP/1.1 + WebSocket server and clients on trio and wsproto.

How this works: `open_http_server()` runs one listener that serves plain HTTP (keep-alive,
streaming bodies) and WebSocket upgrades on the same port, routing by path like Go kite's
gorilla mux (`/kite` → SockJS, user routes via `handle_http`). `open_ws_client()` dials a
WebSocket and `HTTPClient` makes keep-alive HTTP requests (XHR polling). Both ends of a
WebSocket are a `WebSocketConnection` with `send(text)` / `receive()` / `aclose()`;
the SockJS endpoint can also accept hixie-76 (draft) WebSockets as a `Hixie76Connection`
with the same surface.
Plain TCP runs over `SocketStream`, which tries each send and receive in the kernel before
involving trio's scheduler. HTTP/1.1 heads and bodies are parsed and written by `_http1`
(sans-IO, strict; h11 only dials WebSockets). Errors leave this package only as
`TransportError` subclasses.

Why our own HTTP/1.1 + wsproto directly (not trio-websocket): one listener must answer plain
HTTP and upgrades on the same connection loop, route by path before deciding, and hand the same
stream to wsproto after a 101 with exactly Go's headers; trio-websocket owns its own HTTP handshake
(via wsproto's h11 wrapper), cannot serve ordinary HTTP requests, and runs a reader task plus
a memory channel per connection, which costs more per idle connection than the pull-based
receive used here.
"""

from ._client import HTTPClient, HTTPResponse, connect_websocket, open_ws_client
from ._errors import (
    BodyTooLargeError,
    ConnectError,
    ConnectionClosedError,
    HandshakeError,
    ListenError,
    ProtocolError,
    TransportError,
    TransportTimeoutError,
)
from ._hixie76_connection import Hixie76Connection
from ._limits import HTTPLimits
from ._request import HTTPRequest
from ._router import Handler
from ._server import HTTPServer, open_http_server
from ._socket_stream import SocketStream
from ._websocket import WebSocketConnection

__all__ = [
    "BodyTooLargeError",
    "ConnectError",
    "ConnectionClosedError",
    "HTTPClient",
    "HTTPLimits",
    "HTTPRequest",
    "HTTPResponse",
    "HTTPServer",
    "Handler",
    "HandshakeError",
    "Hixie76Connection",
    "ListenError",
    "ProtocolError",
    "SocketStream",
    "TransportError",
    "TransportTimeoutError",
    "WebSocketConnection",
    "connect_websocket",
    "open_http_server",
    "open_ws_client",
]
