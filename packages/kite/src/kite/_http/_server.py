"""The HTTP/1.1 + WebSocket server: one trio listener, a task per connection, wsproto after
upgrades.

How this works:
* `open_http_server()` binds a TCP listener (port 0 = any free port), optionally wraps each
  accepted stream in TLS, and runs an accept loop in a nursery it owns. The loop takes every
  queued connection at once (up to `ACCEPT_BURST`, `_accept`), so a burst of new clients is
  not served one per scheduling round behind the busy connections. A semaphore caps the
  number of live connections (`HTTPLimits.max_connections`); while full we stop accepting and
  clients wait in the kernel backlog.
* Each connection is one task: read a request head (`_http1`, a strict HTTP/1.1 parser)
  under the handshake/idle timeouts, route it by path (`Router`), run the handler with an
  `HTTPRequest`, then reuse the connection (keep-alive) or close it. Malformed input gets
  400/431/413/501/505 on that connection only; a slow client only ever stalls its own task.
* A handler answers through its `HTTPRequest` (`_request`), or takes the connection over
  with a WebSocket upgrade; the connection ends when that handler returns. A handler that
  writes nothing sends Go's empty 200.
* Shutdown (`aclose(grace)` or leaving the `async with`): stop accepting, close idle keep-alive
  connections at once, give busy handlers `grace` seconds, then cancel them (hypercorn's way).
"""

from __future__ import annotations

import errno
import logging
import math
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from http import HTTPStatus

import trio

from ._accept import BurstAcceptor
from ._errors import (
    BodyTooLargeError,
    ConnectionClosedError,
    HandshakeError,
    ListenError,
    TransportError,
    map_errors,
)
from ._http1 import REASONS, MessageError, RequestHead, parse_request_head, status_line
from ._limits import HTTPLimits, set_keepalive
from ._request import DateCache, HTTPRequest, ServerConnection
from ._router import Handler, Router
from ._socket_stream import wrap_socket_stream

__all__ = ["HTTPServer", "open_http_server"]

log = logging.getLogger("kite.http")

#: Most connections taken from the kernel's queue in one turn of the accept loop.
ACCEPT_BURST = 256
_ACCEPT_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
_BAD_UPGRADE_BODY = b'Can "Upgrade" only to "WebSocket".\n'
_GO_ERROR_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("X-Content-Type-Options", "nosniff"),
]


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
        self._conns: set[ServerConnection] = set()
        self._slots = trio.Semaphore(limits.max_connections)
        self._accept_scope = trio.CancelScope()
        self.date = DateCache()

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
        with self._accept_scope, BurstAcceptor(listener) as acceptor:
            while True:
                await self._slots.acquire()
                try:
                    streams = await acceptor.accept(min(self._slots.value, ACCEPT_BURST))
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
                for index, stream in enumerate(streams):
                    if index:
                        self._slots.acquire_nowait()  # `more` was at most the free slots
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
        conn = ServerConnection(stream, self.limits, self.closing, self.date)
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

    async def _connection_loop(
        self, conn: ServerConnection, remote: tuple[str, int] | None
    ) -> None:
        first = True
        while True:
            head = await self._read_head(conn, first)
            if head is None:
                return
            first = False
            conn.busy = True
            request = HTTPRequest(conn, head, remote)
            del head  # the parsed head lives on only in `request`
            keep_alive = await self._run_request(conn, request)
            del request
            conn.busy = False
            if not keep_alive or self.closing.is_set() or conn.client_gone:
                return

    async def _read_head(self, conn: ServerConnection, first: bool) -> RequestHead | None:
        """The next request head, or None if the connection should just close."""
        limits = self.limits
        try:
            if not first:
                # Keep-alive: wait for the first byte under the idle timeout (unless a
                # pipelined request is already buffered), then the rest under the
                # handshake timeout.
                head = self._parse_head(conn)
                if head is not None:
                    return head
                if not conn.buffer:
                    # The idle timeout is the connection scope's deadline while it waits (no
                    # scope of its own per request); expiring, it ends the connection.
                    scope = conn.scope
                    scope.deadline = trio.current_time() + limits.idle_timeout
                    try:
                        received = await conn.receive()
                    finally:
                        scope.deadline = math.inf
                    if not received:
                        return None  # EOF
                    head = self._parse_head(conn)
                    if head is not None:  # the whole head came in one read
                        return head  # (no handshake timer needed)
            with trio.move_on_after(limits.handshake_timeout):
                if first and isinstance(conn.stream, trio.SSLStream):
                    with map_errors():
                        await conn.stream.do_handshake()
                while (head := self._parse_head(conn)) is None:
                    if not await conn.receive():
                        if conn.buffer:
                            raise MessageError("connection closed in the middle of a request head")
                        return None  # EOF between requests
                return head
            return None  # handshake timeout
        except MessageError as exc:
            await self._send_error(conn, exc.status, str(exc))
            return None

    def _parse_head(self, conn: ServerConnection) -> RequestHead | None:
        """A complete head taken from the connection's buffer, or None if there is none yet."""
        parsed = parse_request_head(conn.buffer, self.limits.max_header_size)
        if parsed is None:
            return None
        head, end = parsed
        del conn.buffer[:end]
        return head

    async def _send_error(self, conn: ServerConnection, status: int, detail: str) -> None:
        """Answer a request we cannot serve (Go's `http.Error` shape) and mark it last."""
        body = f"{HTTPStatus(status).phrase}\n".encode() if status in REASONS else b"error\n"
        data = b"".join(
            [
                status_line(status),
                b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n",
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            ]
        )
        log.debug("closing connection with %d: %s", status, detail)
        with trio.move_on_after(self.limits.close_timeout):
            with suppress(ConnectionClosedError):
                await conn.send(data)

    async def _run_request(self, conn: ServerConnection, request: HTTPRequest) -> bool:
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

    async def _finish_keep_alive(self, conn: ServerConnection, request: HTTPRequest) -> bool:
        """Discard an unread request body so the connection can be reused."""
        if conn.client_gone or not request._finished or not request.keep_alive:
            return False
        if not request._body_done:
            try:
                await request.body()
            except TransportError:
                return False
        return request.keep_alive


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
