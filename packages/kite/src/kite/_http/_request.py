"""One HTTP request on a server connection: what a handler reads, and how it answers.

How this works: the server (`_server`) reads a request head with h11 on a `ServerConnection`
and hands the handler an `HTTPRequest`. The handler reads the body (`body()`, limited by
`HTTPLimits.max_body_size`), then answers with `respond()` (whole body), or
`start_response()` + `send_body()` + `end_response()` (streaming, chunked when no
Content-Length), or takes the connection over: `accept_websocket()` writes the 101 (exactly
Go's three headers) and returns a `WebSocketConnection` on the same stream,
`accept_hixie76()` does the same for the old hixie-76 handshake. `wait_disconnected()` tells
a long poll that its client went away. Responses get Go's header layout: the handler's headers
in the order given, then `Date`, then `Content-Length` (docs/protocol.md §2.1).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from email.utils import formatdate
from http import HTTPStatus
from typing import cast

import h11
import trio
from wsproto.utilities import generate_accept_token

from ._errors import (
    BodyTooLargeError,
    ConnectionClosedError,
    HandshakeError,
    TransportError,
    map_errors,
)
from ._hixie76 import Hixie76Error, is_hixie76_request, key_number
from ._hixie76 import response_headers as hixie76_response_headers
from ._hixie76_connection import Hixie76Connection
from ._limits import HTTPLimits
from ._websocket import WebSocketConnection

__all__ = ["REASONS", "DateCache", "HTTPRequest", "Headers", "ServerConnection"]

Headers = list[tuple[str, str]]

REASONS: dict[int, bytes] = {s.value: s.phrase.encode() for s in HTTPStatus}
_NO_BODY_STATUSES = frozenset({204, 304})
_SMALL_BODY = 16 * 1024


def _encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _has_header(headers: list[tuple[bytes, bytes]], name: bytes) -> bool:
    return any(k.lower() == name for k, _ in headers)


class DateCache:
    """The `Date` header value, formatted once per second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True).encode("ascii")
        return self._value


class ServerConnection:
    """Per-connection state shared by the connection loop and its current request."""

    __slots__ = (
        "busy",
        "client_gone",
        "closing",
        "date",
        "h11",
        "limits",
        "scope",
        "stream",
        "upgraded",
    )

    def __init__(
        self, stream: trio.abc.Stream, limits: HTTPLimits, closing: trio.Event, date: DateCache
    ) -> None:
        self.stream = stream
        self.limits = limits
        self.closing = closing  # the server's: set once its shutdown starts
        self.date = date
        self.h11: h11.Connection = h11.Connection(
            h11.SERVER, max_incomplete_event_size=limits.max_header_size
        )
        self.scope = trio.CancelScope()
        self.busy = False
        self.client_gone = False
        self.upgraded = False

    async def next_event(self) -> h11.Event | type[h11.PAUSED]:
        """The next h11 event, reading from the socket as needed."""
        conn = self.h11
        size = self.limits.receive_buffer_size
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            with map_errors():
                data = cast(bytes, await self.stream.receive_some(size))
            if not data:
                self.client_gone = True
            conn.receive_data(data)

    async def send(self, data: bytes) -> None:
        try:
            with map_errors(closed=ConnectionClosedError("client went away", code=1000)):
                await self.stream.send_all(data)
        except ConnectionClosedError:
            self.client_gone = True
            raise


class HTTPRequest:
    """One HTTP request as seen by a handler, and the means to answer it.

    Attributes:
        method: request method, e.g. `"GET"`.
        target: the raw request target, path and query (`/kite/123/abc/xhr?t=1`).
        path: the target without its query string.
        query: the query string without `?` (empty if none).
        http_version: `"1.1"` or `"1.0"`.
        headers: request headers as `(name, value)` pairs in original case and order.
        remote_addr: the peer's `(host, port)` when known.
    """

    __slots__ = (
        "_body",
        "_body_done",
        "_conn",
        "_finished",
        "_started",
        "headers",
        "http_version",
        "method",
        "path",
        "query",
        "remote_addr",
        "target",
    )

    def __init__(
        self, conn: ServerConnection, event: h11.Request, remote_addr: tuple[str, int] | None
    ) -> None:
        self._conn = conn
        self.method = event.method.decode("ascii")
        self.target = event.target.decode("latin-1")
        path, _, query = self.target.partition("?")
        self.path = path
        self.query = query
        self.http_version = event.http_version.decode("ascii")
        self.headers: Headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()
        ]
        self.remote_addr = remote_addr
        self._body: bytes | None = None
        self._body_done = False
        self._started = False
        self._finished = False

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        lname = name.lower()
        for k, v in self.headers:
            if k.lower() == lname:
                return v
        return None

    @property
    def response_started(self) -> bool:
        """True once the status line has been sent."""
        return self._started

    @property
    def server_closing(self) -> trio.Event:
        """Set when the server starts shutting down (long-lived handlers should wind up)."""
        return self._conn.closing

    # -- request body ------------------------------------------------------------------------

    async def body(self) -> bytes:
        """Read the whole request body (at most `max_body_size` bytes).

        Raises:
            BodyTooLargeError: the body is too large (the server answers 413 if uncaught).
            TransportTimeoutError: not received within `body_timeout`.
            ConnectionClosedError: the client went away.
        """
        if self._body is not None:
            return self._body
        if self._body_done:
            raise RuntimeError("the request body was already discarded")
        conn = self._conn
        if conn.h11.they_are_waiting_for_100_continue and not self._started:
            await conn.send(conn.h11.send(h11.InformationalResponse(status_code=100, headers=[])))
        limit = conn.limits.max_body_size
        parts: list[bytes] = []
        size = 0

        def take(event: h11.Event | type[h11.PAUSED]) -> bool:
            """Add one body event; True at the end of the body."""
            nonlocal size
            if type(event) is h11.Data:
                size += len(event.data)
                if size > limit:
                    self._body_done = True
                    raise BodyTooLargeError(f"request body exceeds {limit} bytes")
                parts.append(event.data)
            elif type(event) is h11.EndOfMessage:
                return True
            elif type(event) is h11.ConnectionClosed or event is h11.PAUSED:
                raise ConnectionClosedError("client closed during the request body")
            return False

        with map_errors():
            # What came in with the head (a small body usually does) is taken without a
            # timer; only a body still on its way is read under `body_timeout`.
            h = conn.h11
            while (event := h.next_event()) is not h11.NEED_DATA:
                if take(event):  # type: ignore[arg-type]
                    break
            else:
                with trio.fail_after(conn.limits.body_timeout):
                    while not take(await conn.next_event()):
                        pass
        self._body_done = True
        self._body = parts[0] if len(parts) == 1 else b"".join(parts)
        return self._body

    async def wait_disconnected(self) -> None:
        """Return once the client has closed its connection.

        Use beside a long poll or a streaming response to stop waiting for data nobody will
        read. Reads (and discards) the rest of the request body first; bytes of a pipelined
        next request are kept for the connection loop.
        """
        conn = self._conn
        if not self._body_done:
            try:
                await self.body()
            except TransportError:
                conn.client_gone = True
                return
        pending = 0
        limit = conn.limits.max_header_size
        while not conn.client_gone:
            try:
                with map_errors():
                    data = cast(
                        bytes,
                        await conn.stream.receive_some(conn.limits.receive_buffer_size),
                    )
            except TransportError:
                data = b""
            if not data:
                conn.client_gone = True
                return
            pending += len(data)
            conn.h11.receive_data(data)
            if pending > limit:
                # A client pipelining that much is not going away; stop reading.
                await trio.sleep_forever()

    # -- responses ---------------------------------------------------------------------------

    def _head(
        self, status: int, headers: Iterable[tuple[str, str]], length: int | None
    ) -> h11.Response:
        """The response head (Go's layout); ValueError for a bad status or header."""
        raw = _encode_headers(headers)
        if not _has_header(raw, b"date"):
            raw.append((b"Date", self._conn.date.get()))
        if (
            length is not None
            and status not in _NO_BODY_STATUSES
            and not _has_header(raw, b"content-length")
        ):
            raw.append((b"Content-Length", b"%d" % length))
        if self._conn.closing.is_set() and not _has_header(raw, b"connection"):
            raw.append((b"Connection", b"close"))
        try:
            return h11.Response(status_code=status, headers=raw, reason=REASONS.get(status, b""))
        except h11.LocalProtocolError as exc:
            raise ValueError(f"invalid response head: {exc}") from None

    def _start(self) -> None:
        if self._started:
            raise RuntimeError("the response was already started")
        self._started = True

    async def respond(
        self, status: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
    ) -> None:
        """Send a complete response; `Content-Length` and `Date` are added when missing.

        Raises:
            ConnectionClosedError: the client went away.
            ValueError: a header name or value is not valid HTTP (nothing was sent).
        """
        h = self._conn.h11
        length = len(body)  # a HEAD answer announces the length a GET would get
        if self.method == "HEAD" or status in _NO_BODY_STATUSES:
            body = b""
        response = self._head(status, headers, length)
        self._start()
        head = h.send(response)
        assert head is not None
        self._finished = True
        if len(body) <= _SMALL_BODY:
            parts = [head]
            if body:
                parts.append(h.send(h11.Data(data=body)) or b"")
            parts.append(h.send(h11.EndOfMessage()) or b"")
            await self._conn.send(b"".join(parts))
            return
        await self._conn.send(head)
        for chunk in h.send_with_data_passthrough(h11.Data(data=body)) or ():
            await self._conn.send(chunk)
        await self._conn.send(h.send(h11.EndOfMessage()) or b"")

    async def start_response(self, status: int, headers: Iterable[tuple[str, str]] = ()) -> None:
        """Send the status line and headers of a streaming response.

        Without a `Content-Length` header the body is sent chunked (HTTP/1.1) or
        close-delimited (HTTP/1.0). Follow with `send_body()` calls and `end_response()`.
        """
        response = self._head(status, headers, None)
        self._start()
        data = self._conn.h11.send(response)
        assert data is not None
        await self._conn.send(data)

    async def send_body(self, data: bytes) -> None:
        """Send one piece of a streaming response body (sent at once, not buffered).

        Raises:
            ConnectionClosedError: the client went away.
        """
        if not self._started or self._finished:
            raise RuntimeError("send_body() needs a started, unfinished response")
        if not data:
            return
        h = self._conn.h11
        if len(data) <= _SMALL_BODY:
            await self._conn.send(h.send(h11.Data(data=data)) or b"")
            return
        for chunk in h.send_with_data_passthrough(h11.Data(data=data)) or ():
            await self._conn.send(chunk)

    async def end_response(self) -> None:
        """Finish a streaming response (the terminating chunk, if chunked)."""
        if not self._started:
            raise RuntimeError("end_response() before start_response()")
        if self._finished:
            return
        self._finished = True
        await self._conn.send(self._conn.h11.send(h11.EndOfMessage()) or b"")

    # -- WebSocket ---------------------------------------------------------------------------

    @property
    def is_websocket_upgrade(self) -> bool:
        """True if this is a well-formed WebSocket upgrade request (version 13)."""
        if self.method != "GET":
            return False
        upgrade = {t.strip().lower() for t in (self.header("upgrade") or "").split(",")}
        connection = {t.strip().lower() for t in (self.header("connection") or "").split(",")}
        return (
            "websocket" in upgrade
            and "upgrade" in connection
            and bool(self.header("sec-websocket-key"))
            and self.header("sec-websocket-version") == "13"
        )

    async def accept_websocket(
        self, headers: Iterable[tuple[str, str]] = ()
    ) -> WebSocketConnection:
        """Answer 101 and turn this connection into a WebSocket.

        The 101 carries exactly `Upgrade`, `Connection`, `Sec-WebSocket-Accept` (as Go's) plus
        `headers`. No subprotocols, no compression. The connection belongs to this handler:
        when the handler returns, it is closed (without a close frame if still open).

        Raises:
            HandshakeError: not a valid upgrade request (uncaught, the server answers Go's
                400 `Can "Upgrade" only to "WebSocket".`).
        """
        if not self.is_websocket_upgrade:
            raise HandshakeError("not a WebSocket upgrade request", status=400)
        if self._started:
            raise RuntimeError("the response was already started")
        await self.body()  # an upgrade request has no body; this consumes EndOfMessage
        conn = self._conn
        key = (self.header("sec-websocket-key") or "").encode("latin-1")
        raw = [
            (b"Upgrade", b"websocket"),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Accept", generate_accept_token(key)),
            *_encode_headers(headers),
        ]
        self._start()
        self._finished = True
        data = conn.h11.send(
            h11.InformationalResponse(status_code=101, headers=raw, reason=b"Switching Protocols")
        )
        assert data is not None
        trailing, _closed = conn.h11.trailing_data
        conn.upgraded = True
        # The HTTP parser (and its buffer) is dead weight from here on: drop it, so an idle
        # WebSocket costs only the wsproto state. Nothing reads conn.h11 after an upgrade.
        del conn.h11
        await conn.send(data)
        return WebSocketConnection(
            conn.stream,
            conn.limits,
            client=False,
            trailing_data=bytes(trailing),
            path=self.path,
            request_headers=self.headers,
        )

    async def take_over(self) -> tuple[trio.abc.Stream, bytes]:
        """Take the connection over after this request's head and body (a relay's upgrade).

        Returns the stream and the bytes the client already sent past the request. Nothing
        has been answered: the handler writes the raw response itself. When the handler
        returns, the server closes the connection.
        """
        if self._started:
            raise RuntimeError("the response was already started")
        await self.body()
        conn = self._conn
        self._started = self._finished = True
        trailing, _closed = conn.h11.trailing_data
        conn.upgraded = True
        del conn.h11
        return conn.stream, bytes(trailing)

    @property
    def is_hixie76_upgrade(self) -> bool:
        """True if this is a hixie-76 (draft WebSocket) upgrade: Key1/Key2, no version."""
        return is_hixie76_request(self.method, self.headers)

    async def accept_hixie76(self) -> Hixie76Connection:
        """Answer 101 to a hixie-76 upgrade, then read the nonce and send the MD5 answer.

        The head goes out before the nonce is read (HAProxy forwards the nonce only after
        the 101). Only the SockJS endpoint uses this, and only with ``Options(hixie76=True)``.

        Raises:
            HandshakeError: not a hixie-76 request, bad keys, or no nonce.
        """
        if not self.is_hixie76_upgrade:
            raise HandshakeError("not a hixie-76 WebSocket upgrade request", status=400)
        if self._started:
            raise RuntimeError("the response was already started")
        key1 = self.header("sec-websocket-key1") or ""
        key2 = self.header("sec-websocket-key2") or ""
        try:
            key_number(key1), key_number(key2)
        except Hixie76Error as exc:
            raise HandshakeError(str(exc), status=400) from None
        await self.body()  # no Content-Length: the nonce is not part of the HTTP body
        conn = self._conn
        secure = isinstance(conn.stream, trio.SSLStream)
        raw = hixie76_response_headers(
            self.header("host") or "", self.target, self.header("origin"), secure=secure
        )
        self._start()
        self._finished = True
        data = conn.h11.send(
            h11.InformationalResponse(
                status_code=101, headers=raw, reason=b"WebSocket Protocol Handshake"
            )
        )
        assert data is not None
        trailing, _closed = conn.h11.trailing_data
        conn.upgraded = True
        del conn.h11
        await conn.send(data)
        ws = Hixie76Connection(
            conn.stream,
            conn.limits,
            trailing_data=bytes(trailing),
            path=self.path,
            request_headers=self.headers,
        )
        await ws.handshake(key1, key2)
        return ws
