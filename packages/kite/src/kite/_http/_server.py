"""The HTTP/1.1 + WebSocket server: one trio listener, h11 per connection, wsproto after upgrades.

How this works:
* `open_http_server()` binds a TCP listener (port 0 = any free port), optionally wraps each
  accepted stream in TLS, and runs an accept loop in a nursery it owns. A semaphore caps the
  number of live connections (`HTTPLimits.max_connections`); while full we stop accepting and
  clients wait in the kernel backlog.
* Each connection is one task: read a request head with h11 under the handshake/idle
  timeouts, route it by path (`Router`), run the handler with an `HTTPRequest`, then reuse the
  connection (keep-alive) or close it. Malformed input gets 400/431/413 on that connection only;
  a slow client only ever stalls its own task.
* A handler answers with `respond()` (whole body), or `start_response()` + `send_body()` +
  `end_response()` (streaming, chunked when no Content-Length), or `accept_websocket()`, which
  writes the 101 (exactly Go's three headers) and returns a `WebSocketConnection` on the same
  stream; the connection ends when that handler returns. `wait_disconnected()` tells a long
  poll that its client went away.
* Responses get Go's header layout: the handler's headers in the order given, then `Date`,
  then `Content-Length` (PROTOCOL.md §2.1). A handler that writes nothing sends Go's empty 200.
* Shutdown (`aclose(grace)` or leaving the `async with`): stop accepting, close idle keep-alive
  connections at once, give busy handlers `grace` seconds, then cancel them (hypercorn's way).
"""

from __future__ import annotations

import errno
import logging
import ssl
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
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
    ListenError,
    TransportError,
    map_errors,
)
from ._hixie76 import Hixie76Error, is_hixie76_request, key_number
from ._hixie76 import response_headers as hixie76_response_headers
from ._hixie76_connection import Hixie76Connection
from ._limits import HTTPLimits, set_keepalive
from ._router import Handler, Router
from ._socket_stream import wrap_socket_stream
from ._websocket import WebSocketConnection

__all__ = ["HTTPRequest", "HTTPServer", "open_http_server"]

log = logging.getLogger("kite.http")

Headers = list[tuple[str, str]]

_REASONS: dict[int, bytes] = {s.value: s.phrase.encode() for s in HTTPStatus}
_NO_BODY_STATUSES = frozenset({204, 304})
_SMALL_BODY = 16 * 1024
_ACCEPT_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_BAD_UPGRADE_BODY = b'Can "Upgrade" only to "WebSocket".\n'
_GO_ERROR_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("X-Content-Type-Options", "nosniff"),
]


def _encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _has_header(headers: list[tuple[bytes, bytes]], name: bytes) -> bool:
    return any(k.lower() == name for k, _ in headers)


class _DateCache:
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


class _Conn:
    """Per-connection state shared by the connection loop and its current request."""

    __slots__ = ("busy", "client_gone", "h11", "scope", "server", "stream", "upgraded")

    def __init__(self, server: HTTPServer, stream: trio.abc.Stream) -> None:
        self.server = server
        self.stream = stream
        self.h11: h11.Connection = h11.Connection(
            h11.SERVER, max_incomplete_event_size=server.limits.max_header_size
        )
        self.scope = trio.CancelScope()
        self.busy = False
        self.client_gone = False
        self.upgraded = False

    async def next_event(self) -> h11.Event | type[h11.PAUSED]:
        """The next h11 event, reading from the socket as needed."""
        conn = self.h11
        size = self.server.limits.receive_buffer_size
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
        self, conn: _Conn, event: h11.Request, remote_addr: tuple[str, int] | None
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
        return self._conn.server.closing

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
        limit = conn.server.limits.max_body_size
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
                with trio.fail_after(conn.server.limits.body_timeout):
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
        limit = conn.server.limits.max_header_size
        while not conn.client_gone:
            try:
                with map_errors():
                    data = cast(
                        bytes,
                        await conn.stream.receive_some(conn.server.limits.receive_buffer_size),
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
            raw.append((b"Date", self._conn.server.date.get()))
        if (
            length is not None
            and status not in _NO_BODY_STATUSES
            and not _has_header(raw, b"content-length")
        ):
            raw.append((b"Content-Length", b"%d" % length))
        if self._conn.server.closing.is_set() and not _has_header(raw, b"connection"):
            raw.append((b"Connection", b"close"))
        try:
            return h11.Response(status_code=status, headers=raw, reason=_REASONS.get(status, b""))
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
            conn.server.limits,
            client=False,
            trailing_data=bytes(trailing),
            path=self.path,
            request_headers=self.headers,
        )

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
            conn.server.limits,
            trailing_data=bytes(trailing),
            path=self.path,
            request_headers=self.headers,
        )
        await ws.handshake(key1, key2)
        return ws


class HTTPServer:
    """A running server; obtained from `open_http_server()`.

    Attributes:
        limits: the limits in force.
        closing: set once shutdown starts.
    """

    def __init__(
        self,
        listeners: list[trio.SocketListener],
        nursery: trio.Nursery,
        *,
        limits: HTTPLimits,
        ssl_context: ssl.SSLContext | None,
        grace_period: float,
    ) -> None:
        self._listeners = listeners
        sockname = listeners[0].socket.getsockname()
        self._host = str(sockname[0])
        self._port = int(sockname[1])
        self._nursery = nursery
        self.limits = limits
        self._ssl_context = ssl_context
        self._grace = grace_period
        self.router = Router()
        self.closing = trio.Event()
        self._closed = trio.Event()
        self._drained = trio.Event()
        self._conns: set[_Conn] = set()
        self._slots = trio.Semaphore(limits.max_connections)
        self._accept_scope = trio.CancelScope()
        self.date = _DateCache()

    # -- public ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port (useful with port 0)."""
        return self._port

    @property
    def host(self) -> str:
        """The bound address."""
        return self._host

    @property
    def url(self) -> str:
        """`http://host:port` or `https://host:port` of the listener."""
        scheme = "https" if self._ssl_context is not None else "http"
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}"

    @property
    def connection_count(self) -> int:
        """Connections currently open."""
        return len(self._conns)

    def handle_http(self, path: str, handler: Handler, *, exact: bool = False) -> None:
        """Route requests whose path starts with `path` (or equals it, `exact=True`) to
        `handler`, an `async def handler(request: HTTPRequest) -> None`.

        Like Go's `HandleHTTP`; the longest matching prefix wins, exact paths first.
        """
        self.router.add(path, handler, exact=exact)

    async def aclose(self, grace_period: float | None = None) -> None:
        """Stop accepting, close idle connections, give busy handlers `grace_period` seconds
        (default: the server's), then cancel them. Idempotent."""
        if self.closing.is_set():
            await self._closed.wait()
            return
        self.closing.set()
        self._accept_scope.cancel()
        for listener in self._listeners:
            await trio.aclose_forcefully(listener)
        for conn in list(self._conns):
            if not conn.busy:
                conn.scope.cancel()
        grace = self._grace if grace_period is None else grace_period
        with trio.move_on_after(grace):
            if self._conns:
                await self._drained.wait()
        for conn in list(self._conns):
            conn.scope.cancel()
        self._closed.set()

    # -- internals ---------------------------------------------------------------------------

    async def _accept_loop(self, listener: trio.SocketListener) -> None:
        with self._accept_scope:
            while True:
                await self._slots.acquire()
                try:
                    stream = await listener.accept()
                except OSError as exc:
                    self._slots.release()
                    if exc.errno in _ACCEPT_CAPACITY_ERRNOS:
                        log.error("accept failed (%s); retrying in 100 ms", exc)
                        await trio.sleep(0.1)
                        continue
                    raise
                except BaseException:
                    self._slots.release()
                    raise
                self._nursery.start_soon(self._serve_connection, stream)

    async def _serve_connection(self, tcp: trio.SocketStream) -> None:
        set_keepalive(tcp.socket, self.limits.tcp_keepalive)
        try:
            peer = tcp.socket.getpeername()
            remote: tuple[str, int] | None = (str(peer[0]), int(peer[1]))
        except OSError:
            remote = None
        stream: trio.abc.Stream
        if self._ssl_context is not None:
            stream = trio.SSLStream(tcp, self._ssl_context, server_side=True, https_compatible=True)
        else:
            stream = wrap_socket_stream(tcp)  # plain TCP: the kernel-first fast path
        del tcp
        conn = _Conn(self, stream)
        self._conns.add(conn)
        try:
            with conn.scope:
                if self.closing.is_set():
                    return
                await self._connection_loop(conn, remote)
        except TransportError:
            pass
        finally:
            self._conns.discard(conn)
            self._slots.release()
            if not self._conns and self.closing.is_set():
                self._drained.set()
            await trio.aclose_forcefully(stream)

    async def _connection_loop(self, conn: _Conn, remote: tuple[str, int] | None) -> None:
        first = True
        while True:
            event = await self._read_head(conn, first)
            if event is None:
                return
            first = False
            conn.busy = True
            request = HTTPRequest(conn, event, remote)
            del event  # the parsed head lives on only in `request`
            keep_alive = await self._run_request(conn, request)
            del request
            conn.busy = False
            if not keep_alive or self.closing.is_set() or conn.client_gone:
                return
            conn.h11.start_next_cycle()

    async def _read_head(self, conn: _Conn, first: bool) -> h11.Request | None:
        """The next request head, or None if the connection should just close."""
        limits = self.limits
        h = conn.h11
        try:
            if not first:
                # Keep-alive: wait for the first byte under the idle timeout (unless a
                # pipelined request is already buffered), then the rest under the
                # handshake timeout.
                event = h.next_event()
                if isinstance(event, h11.Request):
                    return event
                if event is not h11.NEED_DATA:
                    return None
                data = b""
                with trio.move_on_after(limits.idle_timeout), map_errors():
                    data = cast(bytes, await conn.stream.receive_some(limits.receive_buffer_size))
                if not data:
                    return None  # EOF or idle timeout
                h.receive_data(data)
                event = h.next_event()
                if isinstance(event, h11.Request):  # the whole head came in one read
                    return self._check_head(event)  # (no handshake timer needed)
                if event is not h11.NEED_DATA:
                    return None  # ConnectionClosed
            with trio.move_on_after(limits.handshake_timeout):
                if first and isinstance(conn.stream, trio.SSLStream):
                    with map_errors():
                        await conn.stream.do_handshake()
                return await self._head_event(conn)
            return None  # handshake timeout
        except h11.RemoteProtocolError as exc:
            await self._send_error(conn, exc.error_status_hint, str(exc))
            return None

    async def _head_event(self, conn: _Conn) -> h11.Request | None:
        event = await conn.next_event()
        if isinstance(event, h11.Request):
            return self._check_head(event)
        return None  # ConnectionClosed (EOF between requests)

    def _check_head(self, event: h11.Request) -> h11.Request:
        # h11 bounds only *incomplete* heads; a complete one that arrived in one read is
        # measured here.
        size = len(event.target) + sum(len(k) + len(v) + 4 for k, v in event.headers)
        if size > self.limits.max_header_size:
            raise h11.RemoteProtocolError("request head too large", error_status_hint=431)
        if event.http_version not in (b"1.0", b"1.1"):
            raise h11.RemoteProtocolError("unsupported HTTP version", error_status_hint=505)
        return event

    async def _send_error(self, conn: _Conn, status: int, detail: str) -> None:
        """Answer a request we cannot serve (Go's `http.Error` shape) and mark it last."""
        h = conn.h11
        if h.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = f"{HTTPStatus(status).phrase}\n".encode() if status in _REASONS else b"error\n"
        headers = [
            (b"Content-Type", b"text/plain; charset=utf-8"),
            (b"Connection", b"close"),
            (b"Content-Length", b"%d" % len(body)),
        ]
        try:
            data = h.send(
                h11.Response(status_code=status, headers=headers, reason=_REASONS.get(status, b""))
            )
            data = (
                (data or b"")
                + (h.send(h11.Data(data=body)) or b"")
                + (h.send(h11.EndOfMessage()) or b"")
            )
        except h11.LocalProtocolError:
            return
        log.debug("closing connection with %d: %s", status, detail)
        with trio.move_on_after(self.limits.close_timeout):
            with suppress(ConnectionClosedError):
                await conn.send(data)

    async def _run_request(self, conn: _Conn, request: HTTPRequest) -> bool:
        """Serve one request; True if the connection may be reused."""
        length = request.header("content-length")
        if length is not None and length.isdigit() and int(length) > self.limits.max_body_size:
            await self._send_error(conn, 413, "declared body too large")
            return False
        handler = self.router.match(request.path)
        try:
            await handler(request)
        except BodyTooLargeError as exc:
            if not request._started:
                await self._send_error(conn, 413, str(exc))
            return False
        except HandshakeError as exc:
            if not request._started:
                # sockjs-go answers with Go's http.Error (gorilla itself writes nothing).
                try:
                    await request.respond(exc.status or 400, _GO_ERROR_HEADERS, _BAD_UPGRADE_BODY)
                except ConnectionClosedError:
                    return False
                return await self._finish_keep_alive(conn, request)
            return False
        except TransportError:
            return False
        except Exception as exc:
            if isinstance(exc, BaseExceptionGroup) and exc.split(TransportError)[1] is None:
                return False  # only transport failures, raised through a handler's nursery
            log.exception("HTTP handler for %s %s failed", request.method, request.path)
            if not request._started:
                await self._send_error(conn, 500, "handler failed")
            return False
        if conn.upgraded:
            return False
        try:
            if not request._started:
                await request.respond(200)  # Go writes an empty 200 for a silent handler
            elif not request._finished:
                await request.end_response()
        except ConnectionClosedError:
            return False
        return await self._finish_keep_alive(conn, request)

    async def _finish_keep_alive(self, conn: _Conn, request: HTTPRequest) -> bool:
        """Discard an unread request body so the connection can be reused."""
        if conn.client_gone or conn.h11.our_state is not h11.DONE:
            return False
        if not request._body_done:
            try:
                await request.body()
            except TransportError:
                return False
        return conn.h11.their_state is h11.DONE


@asynccontextmanager
async def open_http_server(
    host: str = "0.0.0.0",
    port: int = 0,
    *,
    ssl_context: ssl.SSLContext | None = None,
    limits: HTTPLimits | None = None,
    grace_period: float = 5.0,
    backlog: int | None = None,
) -> AsyncIterator[HTTPServer]:
    """Listen on `host:port` and serve HTTP/1.1 and WebSocket until the block exits.

    Args:
        host: address to bind (Go kite binds `0.0.0.0`).
        port: TCP port; 0 picks a free one (see `server.port`).
        ssl_context: serve HTTPS/WSS with this server-side context. Set its ALPN to
            `["http/1.1"]` to match Go (we do not modify the context you pass).
        limits: sizes and timeouts (`HTTPLimits()` defaults).
        grace_period: seconds busy handlers get at shutdown before being cancelled.
        backlog: listen backlog (trio's default when None).

    Raises:
        ListenError: the address cannot be bound (in use, not permitted, unknown host).

    Routes are added with `server.handle_http(path, handler)`.
    """
    limits = limits if limits is not None else HTTPLimits()
    try:
        listeners = await trio.open_tcp_listeners(port, host=host, backlog=backlog)
    except OSError as exc:
        raise ListenError(host, port, exc) from exc
    try:
        async with trio.open_nursery() as nursery:
            server = HTTPServer(
                listeners,
                nursery,
                limits=limits,
                ssl_context=ssl_context,
                grace_period=grace_period,
            )
            for listener in listeners:
                nursery.start_soon(server._accept_loop, listener)
            try:
                yield server
            except BaseException:
                nursery.cancel_scope.cancel()
                raise
            await server.aclose()
    finally:
        # On cancellation or error `aclose()` never ran: close the listening sockets here
        # (synchronously, so it works inside a cancelled scope) or they leak until GC.
        for listener in listeners:
            listener.socket.close()
