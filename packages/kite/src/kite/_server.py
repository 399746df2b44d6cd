"""Serving kites over SockJS: every SockJS session on the HTTP server becomes a `MessagePipe`.

How this works (PROTOCOL.md §1, §2):

* `SockJSEndpoint` is an HTTP handler (mounted under a prefix, `/kite` for kites). For each
  request it asks the sans-IO `sockjs.plan_request` what to do and does it:
  - `Reply`: write the response (welcome, info, iframe, pre-flights, 404/405/500s);
  - `Upgrade`: complete the WebSocket handshake and run a **new, unregistered** session over
    it (`_WebSocketSession`: `o` at once, `h` every `heartbeat_delay`, each incoming message a
    JSON array of strings, each outgoing one `a["..."]`); the raw `<prefix>/websocket`
    endpoint carries bare messages (`_RawWebSocketSession`);
  - `Receive`: find or create the HTTP session (`_HTTPSession`, kept in a table by session
    id), attach the request as its one receiver and write frames (`o`, `a[...]`, `h`,
    `c[...]`) wrapped for the transport, one per poll or until the response limit;
  - `Deliver`: hand `xhr_send`/`jsonp_send` messages to the session (waiting while the
    application is behind: back-pressure), or 404 if there is none.
* Every session, whatever carries it, is handed to the endpoint's session handler as a
  `MessagePipe`; for a kite that is `Kite.accept`. Each HTTP session lives in a task of the
  endpoint's nursery that also keeps its timer: `disconnect_delay` after its last receiver
  left (or it was created) without a new one, the session expires: the application sees the
  end of the stream and the id is forgotten. A receiver whose client goes away closes its
  session at once (sockjs-go). When the application closes a session that is still up, the
  receiver gets `c[3000,"Go away!"]` (on WebSocket: then TCP is dropped, as Go does).
* `open_kite_server` runs the HTTP server, the endpoint at `/kite` and the kite's extra
  routes. Leaving it stops accepting; each session waits until the kite has no request in
  flight and is then closed, and whatever is still running after `grace_period` is cancelled.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING

import trio

import sockjs

from ._http import (
    ConnectionClosedError,
    HTTPLimits,
    HTTPRequest,
    HTTPServer,
    TransportError,
    WebSocketConnection,
    open_http_server,
)
from ._http import Handler as HTTPHandler
from ._session import PipeClosedError

if TYPE_CHECKING:
    from ._kite import Kite

__all__ = [
    "KiteServer",
    "ServerLimits",
    "SessionHandler",
    "SockJSEndpoint",
    "kite_sockjs_options",
    "open_kite_server",
]

log = logging.getLogger("kite.server")

#: What runs one SockJS session: `await handler(pipe)`; the session ends when it returns.
SessionHandler = Callable[["SockJSPipe"], Awaitable[None]]

_PIPE_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, trio.EndOfChannel)


class ServerLimits:
    """Per-session buffers of the SockJS server (beyond `HTTPLimits` and `sockjs.Options`).

    Attributes:
        outbox: messages the application may queue for an HTTP session with no receiver
            attached before its `send` waits (default 1024); the wait ends when a receiver
            takes them or the session closes.
        inbox: messages delivered by `xhr_send`/`jsonp_send` and not yet read by the
            application before the sender waits (default 64; Go's xhr_send waits too).
    """

    __slots__ = ("inbox", "outbox")

    def __init__(self, *, outbox: int = 1024, inbox: int = 64) -> None:
        if outbox < 1 or inbox < 0:
            raise ValueError("outbox must be at least 1 and inbox not negative")
        self.outbox = outbox
        self.inbox = inbox


def kite_sockjs_options(config: object | None = None, **changes: object) -> sockjs.Options:
    """The SockJS options of a Go kite: prefix `/kite`, Go kite's timings from `config`.

    Reads `sockjs_websocket`, `sockjs_heartbeat_delay` (10 s), `sockjs_disconnect_delay` (10 s)
    and `sockjs_response_limit` (128 KiB) from a `kite.Config`; raw WebSocket off, no cookie.
    """
    values: dict[str, object] = {
        "prefix": "/kite",
        "websocket": bool(getattr(config, "sockjs_websocket", True)),
        "heartbeat_delay": float(getattr(config, "sockjs_heartbeat_delay", 10.0)),
        "disconnect_delay": float(getattr(config, "sockjs_disconnect_delay", 10.0)),
        "response_limit": int(getattr(config, "sockjs_response_limit", 128 * 1024)),
    }
    values.update(changes)
    return sockjs.Options(**values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# sessions


class SockJSPipe:
    """Base of the server-side sessions: a `MessagePipe` plus the session id."""

    session_id: str
    transport: str

    async def send(self, message: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    async def receive(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    async def aclose(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class _WebSocketSession(SockJSPipe):
    """A SockJS session over one WebSocket: `a[...]` frames out, JSON string arrays in."""

    def __init__(self, ws: WebSocketConnection, session_id: str, options: sockjs.Options) -> None:
        self.session_id = session_id
        self.transport = "websocket"
        self._ws = ws
        self._max = options.max_payload_size
        self._pending: deque[str] = deque()
        self._closed = False

    async def send(self, message: str) -> None:
        if self._closed:
            raise PipeClosedError()
        try:
            await self._ws.send(sockjs.encode_messages((message,)))
        except ConnectionClosedError:
            self._closed = True
            raise PipeClosedError() from None

    async def send_frame(self, frame: str) -> None:
        """Send a control frame (`o`, `h`); errors end the session quietly."""
        if self._closed:
            return
        try:
            await self._ws.send(frame)
        except ConnectionClosedError:
            self._closed = True

    async def receive(self) -> str:
        pending = self._pending
        while not pending:
            if self._closed:
                raise PipeClosedError()
            try:
                data = await self._ws.receive_message()
            except ConnectionClosedError:
                self._closed = True
                raise PipeClosedError() from None
            try:
                pending.extend(sockjs.decode_websocket_message(data, max_size=self._max))
            except (sockjs.ProtocolError, sockjs.MessageTooLargeError) as exc:
                # sockjs-go: the session dies, the peer gets an empty text frame, TCP drops.
                log.info("session %s: bad WebSocket message: %s", self.session_id, exc)
                self._closed = True
                with suppress(ConnectionClosedError):
                    await self._ws.send("")
                await self._ws.abort()
                raise PipeClosedError() from None
        return pending.popleft()

    async def aclose(self) -> None:
        if not self._closed and not self._ws.closed:
            self._closed = True
            with suppress(ConnectionClosedError):
                await self._ws.send(sockjs.CLOSE_GO_AWAY)
        self._closed = True
        await self._ws.abort()


class _RawWebSocketSession(SockJSPipe):
    """The raw `<prefix>/websocket` endpoint: one text message is one application message."""

    def __init__(self, ws: WebSocketConnection, options: sockjs.Options) -> None:
        self.session_id = ""
        self.transport = "raw_websocket"
        self._ws = ws
        self._max = options.max_payload_size

    async def send(self, message: str) -> None:
        try:
            await self._ws.send(message)
        except ConnectionClosedError:
            raise PipeClosedError() from None

    async def receive(self) -> str:
        try:
            message = await self._ws.receive()
        except ConnectionClosedError:
            raise PipeClosedError() from None
        if len(message) > self._max:
            await self._ws.aclose(1009, "message too big")
            raise PipeClosedError()
        return message

    async def aclose(self) -> None:
        await self._ws.aclose(1000, "Go away!")


class _HTTPSession(SockJSPipe):
    """A SockJS session carried by HTTP requests (xhr, xhr_streaming, eventsource, ...)."""

    def __init__(self, session_id: str, transport: str, limits: ServerLimits) -> None:
        self.session_id = session_id
        self.transport = transport
        self._limit = limits.outbox
        self._outbox: list[str] = []
        self._changed = trio.Event()
        self._inbox_send, self._inbox_receive = trio.open_memory_channel[str](limits.inbox)
        self.opened = False  # `o` was sent
        self.closed = False  # no more messages either way
        self.close_frame: str | None = None  # the application closed it while it was up
        self.receiver = False
        self.expires_at = trio.current_time()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    async def wait_changed(self) -> None:
        """Wait for the next change (a message, a close, a receiver leaving)."""
        await self._changed.wait()

    # -- MessagePipe (the application's side) ------------------------------------------------

    async def send(self, message: str) -> None:
        while not self.closed and len(self._outbox) >= self._limit:
            await self.wait_changed()
        if self.closed:
            raise PipeClosedError()
        self._outbox.append(message)
        self._wake()

    async def receive(self) -> str:
        try:
            return await self._inbox_receive.receive()
        except _PIPE_GONE:
            raise PipeClosedError() from None

    async def aclose(self) -> None:
        if not self.closed:
            self.close_frame = sockjs.CLOSE_GO_AWAY
        self.expire()

    # -- the transport's side ----------------------------------------------------------------

    def expire(self) -> None:
        """Close without a close frame (client gone, timed out); the application sees EOF."""
        if self.closed:
            return
        self.closed = True
        self._inbox_send.close()
        self._inbox_receive.close()
        self._wake()

    async def deliver(self, messages: tuple[str, ...]) -> bool:
        """Hand messages to the application (waits while it is behind); False if closed."""
        try:
            for message in messages:
                await self._inbox_send.send(message)
        except _PIPE_GONE:
            return False
        return True

    async def next_frame(self, heartbeat_delay: float) -> str | None:
        """The next frame for the attached receiver; None once closed with nothing to say."""
        if not self.opened:
            self.opened = True
            return sockjs.encode_open()
        while True:
            if self._outbox:
                messages, self._outbox = self._outbox, []
                self._wake()
                return sockjs.encode_messages(messages)
            if self.close_frame is not None:
                return self.close_frame
            if self.closed:
                return None
            with trio.move_on_after(heartbeat_delay) as scope:
                await self.wait_changed()
            if scope.cancelled_caught:
                return sockjs.encode_heartbeat()


# --------------------------------------------------------------------------------------------
# the endpoint


class SockJSEndpoint:
    """A SockJS server endpoint: an HTTP handler running one `handler(pipe)` per session.

    Args:
        options: the endpoint's `sockjs.Options` (prefix, transports, timings, limits).
        handler: `async handler(pipe)`, run once per session; the session ends with it.
        nursery: where HTTP sessions live (they outlive the requests that carry them).
        limits: per-session buffers.
    """

    def __init__(
        self,
        options: sockjs.Options,
        handler: SessionHandler,
        nursery: trio.Nursery,
        *,
        limits: ServerLimits | None = None,
    ) -> None:
        self.options = options
        self.handler = handler
        self.limits = limits if limits is not None else ServerLimits()
        self._nursery = nursery
        self._sessions: dict[str, _HTTPSession] = {}

    @property
    def session_count(self) -> int:
        """HTTP sessions currently registered (WebSocket sessions are never registered)."""
        return len(self._sessions)

    def close_all(self) -> None:
        """Close every HTTP session now (their receivers get `c[3000,"Go away!"]`)."""
        for session in list(self._sessions.values()):
            if not session.closed:
                session.close_frame = sockjs.CLOSE_GO_AWAY
                session.expire()

    async def __call__(self, request: HTTPRequest) -> None:
        body = b""
        if request.method == "POST" and request.path.endswith("_send"):
            body = await request.body()
        sreq = sockjs.Request(
            request.method, request.path, request.query, tuple(request.headers), body
        )
        plan = sockjs.plan_request(
            sreq, self.options, now=dt.datetime.now(dt.UTC), entropy=secrets.randbits(31)
        )
        if isinstance(plan, sockjs.Reply):
            response = plan.response
            await request.respond(response.status, response.headers, response.body)
        elif isinstance(plan, sockjs.Upgrade):
            await self._websocket(request, plan)
        elif isinstance(plan, sockjs.Receive):
            await self._receive(request, plan)
        else:
            await self._deliver(request, plan)

    async def _run_handler(self, pipe: SockJSPipe) -> None:
        try:
            await self.handler(pipe)
        except Exception:
            log.exception("SockJS session handler failed")
        finally:
            with trio.CancelScope(shield=True):
                await pipe.aclose()

    # -- WebSocket ---------------------------------------------------------------------------

    async def _websocket(self, request: HTTPRequest, plan: sockjs.Upgrade) -> None:
        ws = await request.accept_websocket()
        if plan.endpoint.kind is sockjs.EndpointKind.RAW_WEBSOCKET:
            await self._run_handler(_RawWebSocketSession(ws, self.options))
            return
        session = _WebSocketSession(ws, plan.endpoint.session_id or "", self.options)
        await session.send_frame(sockjs.encode_open())
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._heartbeats, session)
            await self._run_handler(session)
            nursery.cancel_scope.cancel()

    async def _heartbeats(self, session: _WebSocketSession) -> None:
        delay = self.options.heartbeat_delay
        while True:  # every `delay`, whatever the traffic (sockjs-go's ticker)
            await trio.sleep(delay)
            await session.send_frame(sockjs.encode_heartbeat())

    # -- HTTP sessions -----------------------------------------------------------------------

    async def _run_session(self, session: _HTTPSession) -> None:
        delay = self.options.disconnect_delay
        session.expires_at = trio.current_time() + delay
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._run_handler, session)
                while not session.closed or session.close_frame is not None:
                    if session.receiver:
                        await session.wait_changed()
                        continue
                    remaining = session.expires_at - trio.current_time()
                    if remaining <= 0:
                        break
                    with trio.move_on_after(remaining):
                        await session.wait_changed()
                session.expire()
        finally:
            if self._sessions.get(session.session_id) is session:
                del self._sessions[session.session_id]

    async def _receive(self, request: HTTPRequest, plan: sockjs.Receive) -> None:
        session_id = plan.endpoint.session_id or ""
        writer = plan.writer
        head = plan.head
        session = self._sessions.get(session_id)
        if session is None:
            session = _HTTPSession(session_id, writer.transport.value, self.limits)
            self._sessions[session_id] = session
            self._nursery.start_soon(self._run_session, session)
        if session.receiver:
            data = writer.wrap(sockjs.CLOSE_ANOTHER_CONNECTION)
            if writer.transport.polling:
                done = head.with_body(data)
                await request.respond(done.status, done.headers, done.body)
            else:
                await request.start_response(head.status, head.headers)
                await request.send_body(writer.prelude + data)
                await request.end_response()
            return
        session.receiver = True
        gone = False
        try:
            async with trio.open_nursery() as nursery:

                async def watch() -> None:
                    nonlocal gone
                    await request.wait_disconnected()
                    gone = True
                    nursery.cancel_scope.cancel()

                nursery.start_soon(watch)
                await self._write_frames(request, session, writer, head)
                nursery.cancel_scope.cancel()
        finally:
            session.receiver = False
            session.expires_at = trio.current_time() + self.options.disconnect_delay
            if gone:
                session.expire()  # sockjs-go closes the session when its receiver drops
            session._wake()
        if gone and not request.response_started:
            with suppress(TransportError):
                await request.respond(head.status, head.headers, b"")

    async def _write_frames(
        self,
        request: HTTPRequest,
        session: _HTTPSession,
        writer: sockjs.FrameWriter,
        head: sockjs.Response,
    ) -> None:
        heartbeat = self.options.heartbeat_delay
        if writer.transport.polling:
            frame = await session.next_frame(heartbeat)
            done = head.with_body(writer.wrap(frame) if frame is not None else b"")
            await request.respond(done.status, done.headers, done.body)
            return
        limit = writer.response_limit(self.options)
        await request.start_response(head.status, head.headers)
        await request.send_body(writer.prelude)
        sent = 0
        while True:
            frame = await session.next_frame(heartbeat)
            if frame is None:
                break
            data = writer.wrap(frame)
            await request.send_body(data)
            sent += len(data)
            if frame.startswith("c") or (limit is not None and sent >= limit):
                break
        await request.end_response()

    async def _deliver(self, request: HTTPRequest, plan: sockjs.Deliver) -> None:
        session = self._sessions.get(plan.endpoint.session_id or "")
        if session is None or session.closed or not await session.deliver(plan.messages):
            response = plan.not_found
        else:
            response = plan.ok
        await request.respond(response.status, response.headers, response.body)


# --------------------------------------------------------------------------------------------
# the kite server


class KiteServer:
    """A kite being served over HTTP: SockJS at `/kite` plus the kite's own routes.

    Attributes:
        http: the underlying `HTTPServer`.
        endpoint: the SockJS endpoint at `/kite`.
    """

    def __init__(self, kite: Kite, http: HTTPServer, endpoint: SockJSEndpoint) -> None:
        self.kite = kite
        self.http = http
        self.endpoint = endpoint

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return self.http.port

    @property
    def host(self) -> str:
        """The bound address."""
        return self.http.host

    @property
    def url(self) -> str:
        """The kite's URL, what clients dial: `http://127.0.0.1:<port>/kite`."""
        return self.http.url + self.endpoint.options.prefix

    def handle_http(self, prefix: str, handler: HTTPHandler, *, exact: bool = False) -> None:
        """Route HTTP requests under `prefix` to `handler(request)` (Go's `HandleHTTP`)."""
        self.http.handle_http(prefix, handler, exact=exact)


@asynccontextmanager
async def open_kite_server(
    kite: Kite,
    host: str = "0.0.0.0",
    port: int = 0,
    *,
    options: sockjs.Options | None = None,
    http_limits: HTTPLimits | None = None,
    limits: ServerLimits | None = None,
    ssl_context: ssl.SSLContext | None = None,
    grace_period: float = 5.0,
) -> AsyncIterator[KiteServer]:
    """Serve `kite` on `host:port` for the duration of the block (see `Kite.serve`)."""
    if options is None:
        options = kite_sockjs_options(kite.config)
    closing = trio.Event()

    async def serve_session(pipe: SockJSPipe) -> None:
        async with kite.accept(pipe) as peer, trio.open_nursery() as nursery:

            async def close_on_shutdown() -> None:
                await closing.wait()
                await kite._wait_idle()
                await peer.aclose()

            nursery.start_soon(close_on_shutdown)
            await peer.wait_closed()
            nursery.cancel_scope.cancel()

    async with trio.open_nursery() as sessions:
        endpoint = SockJSEndpoint(options, serve_session, sessions, limits=limits)
        try:
            async with open_http_server(
                host,
                port,
                ssl_context=ssl_context,
                limits=http_limits,
                grace_period=grace_period,
            ) as http:
                http.handle_http(options.prefix, endpoint)
                for prefix, handler, exact in kite._http_routes:
                    http.handle_http(prefix, handler, exact=exact)
                server = KiteServer(kite, http, endpoint)
                kite._servers.append(server)
                try:
                    yield server
                finally:
                    kite._servers.remove(server)
                    closing.set()
                    with trio.move_on_after(grace_period):
                        await kite._wait_idle()
                    endpoint.close_all()
        finally:
            sessions.cancel_scope.cancel()
