"""One HTTP request on a server connection: what a handler reads, and how it answers.

How this works: the server (`_server`) parses a request head (`_http1`) from the bytes a
`ServerConnection` received and hands the handler an `HTTPRequest`. The handler reads the
body (`body()`, limited by `HTTPLimits.max_body_size`), then answers with `respond()` (whole
body), or `start_response()` + `send_body()` + `end_response()` (streaming, chunked when no
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
from typing import NamedTuple, cast

import trio
from wsproto.utilities import generate_accept_token

from ._errors import (
    BodyTooLargeError,
    ConnectionClosedError,
    HandshakeError,
    ProtocolError,
    TransportError,
    map_errors,
)
from ._hixie76 import Hixie76Error, is_hixie76_request, key_number
from ._hixie76 import response_headers as hixie76_response_headers
from ._hixie76_connection import Hixie76Connection
from ._http1 import (
    REASONS,
    BodyReader,
    MessageError,
    RequestHead,
    header_line,
    raw_header_line,
    status_line,
)
from ._limits import HTTPLimits
from ._websocket import WebSocketConnection

__all__ = ["REASONS", "DateCache", "HTTPRequest", "Headers", "ServerConnection"]

Headers = list[tuple[str, str]]

_NO_BODY_STATUSES = frozenset({204, 304})
_SMALL_BODY = 16 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_CONNECTION_CLOSE = b"Connection: close\r\n"
_CHUNKED = b"Transfer-Encoding: chunked\r\n"
_LAST_CHUNK = b"0\r\n\r\n"
# How a response body goes out (`HTTPRequest._framing`).
_BY_LENGTH, _BY_CHUNKS, _UNTIL_CLOSE, _NO_BODY = range(4)


class _Scanned(NamedTuple):
    """A handler's response headers as lines, and what `_head` needs to know of them."""

    lines: tuple[bytes, ...]
    has_date: bool
    declared: str | None  # the handler's Content-Length
    connection: str | None  # the handler's Connection, at lines[connection_at]
    connection_at: int
    chunked: bool


_scanned: dict[tuple[tuple[str, str], ...], _Scanned] = {}
_SCANNED_SIZE = 512


def _scan_headers(headers: Iterable[tuple[str, str]]) -> _Scanned:
    """Encode and classify a handler's headers; ValueError if one is not valid HTTP.

    Headers given as a tuple (the SockJS endpoint's heads) are remembered: the same few
    heads repeat (their `Date` changes once a second).
    """
    key = headers if type(headers) is tuple else None
    if key is not None:
        try:
            found = _scanned.get(key)
        except TypeError:  # pairs that are not tuples: not remembered
            key = found = None
        if found is not None:
            return found
    lines: list[bytes] = []
    has_date = False
    declared: str | None = None
    connection: str | None = None
    connection_at = 0
    chunked = False
    try:
        for name, value in headers:
            line = header_line(name, value)
            lname = name.lower()
            if lname == "date":
                has_date = True
            elif lname == "content-length":
                declared = value
            elif lname == "connection":
                connection = value
                connection_at = len(lines)
            elif lname == "transfer-encoding":
                if value.lower() != "chunked":
                    raise ValueError("only Transfer-Encoding: chunked is supported")
                chunked = True
            lines.append(line)
    except ValueError as exc:
        raise ValueError(f"invalid response head: {exc}") from None
    scanned = _Scanned(tuple(lines), has_date, declared, connection, connection_at, chunked)
    if key is not None:
        if len(_scanned) >= _SCANNED_SIZE:
            _scanned.clear()
        _scanned[key] = scanned
    return scanned


class DateCache:
    """The `Date` header line, formatted once per second."""

    __slots__ = ("_line", "_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""
        self._line = b""

    def _refresh(self) -> None:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True).encode("ascii")
            self._line = b"Date: " + self._value + b"\r\n"

    def get(self) -> bytes:
        """The value, e.g. `b"Sun, 06 Dec 2026 14:42:11 GMT"`."""
        self._refresh()
        return self._value

    def line(self) -> bytes:
        """`Date: <value>\\r\\n`."""
        self._refresh()
        return self._line


class ServerConnection:
    """Per-connection state shared by the connection loop and its current request.

    `buffer` holds the bytes received and not yet parsed: the rest of a head, a body, a
    pipelined next request.
    """

    __slots__ = (
        "buffer",
        "busy",
        "client_gone",
        "closing",
        "date",
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
        self.buffer = bytearray()
        self.scope = trio.CancelScope()
        self.busy = False
        self.client_gone = False
        self.upgraded = False

    async def receive(self) -> bool:
        """Read what the socket has into `buffer`; False at the end of the stream."""
        with map_errors():
            data = cast(bytes, await self.stream.receive_some(self.limits.receive_buffer_size))
        if not data:
            self.client_gone = True
            return False
        self.buffer += data
        return True

    async def send(self, data: bytes) -> None:
        try:
            with map_errors():
                await self.stream.send_all(data)
        except ConnectionClosedError as exc:
            self.client_gone = True
            raise ConnectionClosedError("client went away", code=1000) from exc.__cause__


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
        "_expect_continue",
        "_finished",
        "_framing",
        "_left",
        "_reader",
        "_started",
        "headers",
        "http_version",
        "keep_alive",
        "method",
        "path",
        "query",
        "remote_addr",
        "target",
    )

    def __init__(
        self, conn: ServerConnection, head: RequestHead, remote_addr: tuple[str, int] | None
    ) -> None:
        self._conn = conn
        self.method = head.method.decode("ascii")
        self.target = head.target.decode("latin-1")
        path, _, query = self.target.partition("?")
        self.path = path
        self.query = query
        self.http_version = head.version.decode("ascii")
        self.headers: Headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers
        ]
        self.remote_addr = remote_addr
        #: Both sides allow the connection to carry another request after this one.
        self.keep_alive = head.keep_alive
        self._reader = BodyReader(head.length, head.chunked)
        self._expect_continue = head.expect_continue
        self._body: bytes | None = None
        self._body_done = False
        self._started = False
        self._finished = False
        self._framing = _NO_BODY
        self._left = 0  # bytes still to send of a response with a Content-Length

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
            ProtocolError: the chunked framing is malformed.
        """
        if self._body is not None:
            return self._body
        if self._body_done:
            raise RuntimeError("the request body was already discarded")
        conn = self._conn
        reader = self._reader
        limit = conn.limits.max_body_size
        parts: list[bytes] = []
        size = 0

        def take() -> None:
            nonlocal size
            try:
                data = reader.feed(conn.buffer)
            except MessageError as exc:
                self._body_done = True
                self.keep_alive = False
                raise ProtocolError(f"HTTP protocol error: {exc}") from None
            if data:
                size += len(data)
                if size > limit:
                    self._body_done = True
                    self.keep_alive = False
                    raise BodyTooLargeError(f"request body exceeds {limit} bytes")
                parts.append(data)

        # What came in with the head (a small body usually does) is taken without a timer;
        # only a body still on its way is read under `body_timeout`.
        take()
        if not reader.done:
            if self._expect_continue and not self._started:
                self._expect_continue = False
                await conn.send(_CONTINUE)
            with map_errors(), trio.fail_after(conn.limits.body_timeout):
                while not reader.done:
                    if not await conn.receive():
                        self._body_done = True
                        raise ConnectionClosedError("client closed during the request body")
                    take()
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
        limit = conn.limits.max_header_size
        while not conn.client_gone:
            try:
                if not await conn.receive():
                    return
            except TransportError:
                conn.client_gone = True
                return
            if len(conn.buffer) > limit:
                # A client pipelining that much is not going away; stop reading.
                await trio.sleep_forever()

    # -- responses ---------------------------------------------------------------------------

    def _head(self, status: int, headers: Iterable[tuple[str, str]], length: int | None) -> bytes:
        """The response head (Go's layout: the handler's headers, `Date`, `Content-Length`)
        and the body's framing; ValueError for a bad status or header.

        `length` is the size of a whole body (`respond`), None for a streamed one.
        """
        if not 200 <= status <= 999:
            raise ValueError(f"invalid response head: illegal status code {status}")
        scanned = _scan_headers(headers)
        lines = list(scanned.lines)
        has_date, declared, chunked = scanned.has_date, scanned.declared, scanned.chunked
        connection, connection_at = scanned.connection, scanned.connection_at
        if not has_date:
            lines.append(self._conn.date.line())
        keep_alive = self.keep_alive and not self._conn.closing.is_set()
        if self.method == "HEAD" or status in _NO_BODY_STATUSES:
            self._framing = _NO_BODY
            if declared is None and length is not None and status not in _NO_BODY_STATUSES:
                lines.append(b"Content-Length: %d\r\n" % length)  # what a GET would get
        elif chunked:
            self._framing = _BY_CHUNKS
        elif declared is not None:
            if not declared.isdigit():
                raise ValueError(f"invalid response head: bad Content-Length {declared!r}")
            self._framing = _BY_LENGTH
            self._left = int(declared)
            if length is not None and length != self._left:
                raise ValueError("Content-Length does not match the body")
        elif length is not None:
            self._framing = _BY_LENGTH
            self._left = length
            lines.append(b"Content-Length: %d\r\n" % length)
        elif self.http_version == "1.1":
            self._framing = _BY_CHUNKS
            lines.append(_CHUNKED)
        else:
            self._framing = _UNTIL_CLOSE  # HTTP/1.0 knows no chunks: the close ends the body
            keep_alive = False
        if connection is not None and "close" in connection.lower():
            keep_alive = False
        elif not keep_alive:
            if connection is not None:
                del lines[connection_at]
            lines.append(_CONNECTION_CLOSE)
        self.keep_alive = keep_alive
        return status_line(status) + b"".join(lines) + b"\r\n"

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
        if self._started:
            raise RuntimeError("the response was already started")
        head = self._head(status, headers, len(body))
        self._start()
        self._finished = True
        framing = self._framing
        if framing == _NO_BODY or not body:
            body = _LAST_CHUNK if framing == _BY_CHUNKS else b""
        elif framing == _BY_CHUNKS:
            body = b"%x\r\n%s\r\n%s" % (len(body), body, _LAST_CHUNK)
        if len(body) <= _SMALL_BODY:
            await self._conn.send(head + body)
        else:
            await self._conn.send(head)
            await self._conn.send(body)

    async def start_response(self, status: int, headers: Iterable[tuple[str, str]] = ()) -> None:
        """Send the status line and headers of a streaming response.

        Without a `Content-Length` header the body is sent chunked (HTTP/1.1) or
        close-delimited (HTTP/1.0). Follow with `send_body()` calls and `end_response()`.
        """
        if self._started:
            raise RuntimeError("the response was already started")
        head = self._head(status, headers, None)
        self._start()
        await self._conn.send(head)

    async def send_body(self, data: bytes) -> None:
        """Send one piece of a streaming response body (sent at once, not buffered).

        Raises:
            ConnectionClosedError: the client went away.
            ValueError: more data than the response's `Content-Length`.
        """
        if not self._started or self._finished:
            raise RuntimeError("send_body() needs a started, unfinished response")
        framing = self._framing
        if not data or framing == _NO_BODY:
            return
        if framing == _BY_CHUNKS:
            if len(data) <= _SMALL_BODY:
                await self._conn.send(b"%x\r\n%s\r\n" % (len(data), data))
                return
            await self._conn.send(b"%x\r\n" % len(data))
            await self._conn.send(data)
            await self._conn.send(b"\r\n")
            return
        if framing == _BY_LENGTH:
            if len(data) > self._left:
                raise ValueError("more body than the response's Content-Length")
            self._left -= len(data)
        await self._conn.send(data)

    async def end_response(self) -> None:
        """Finish a streaming response (the terminating chunk, if chunked)."""
        if not self._started:
            raise RuntimeError("end_response() before start_response()")
        if self._finished:
            return
        self._finished = True
        if self._framing == _BY_CHUNKS:
            await self._conn.send(_LAST_CHUNK)
        elif self._framing == _BY_LENGTH and self._left:
            self.keep_alive = False  # the body fell short: only closing ends it

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
        try:
            extra = [header_line(k, v) for k, v in headers]
        except ValueError as exc:
            raise ValueError(f"invalid response head: {exc}") from None
        data = b"".join(
            [
                status_line(101, b"Switching Protocols"),
                b"Upgrade: websocket\r\nConnection: Upgrade\r\n",
                raw_header_line(b"Sec-WebSocket-Accept", generate_accept_token(key)),
                *extra,
                b"\r\n",
            ]
        )
        self._start()
        self._finished = True
        trailing = self._take_over_buffer()
        await conn.send(data)
        return WebSocketConnection(
            conn.stream,
            conn.limits,
            client=False,
            trailing_data=trailing,
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
        return conn.stream, self._take_over_buffer()

    def _take_over_buffer(self) -> bytes:
        """Mark the connection upgraded; the bytes received past the request (the upgraded
        protocol's first bytes), leaving the HTTP buffer empty."""
        conn = self._conn
        conn.upgraded = True
        trailing = bytes(conn.buffer)
        conn.buffer = bytearray()
        return trailing

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
        data = b"".join(
            [
                status_line(101, b"WebSocket Protocol Handshake"),
                *(raw_header_line(k, v) for k, v in raw),
                b"\r\n",
            ]
        )
        self._start()
        self._finished = True
        trailing = self._take_over_buffer()
        await conn.send(data)
        ws = Hixie76Connection(
            conn.stream,
            conn.limits,
            trailing_data=trailing,
            path=self.path,
            request_headers=self.headers,
        )
        await ws.handshake(key1, key2)
        return ws
