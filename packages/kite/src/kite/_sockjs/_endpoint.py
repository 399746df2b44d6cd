"""The SockJS server endpoint: an HTTP handler turning every SockJS session into a pipe.

How this works (docs/protocol.md §1, §2): `SockJSEndpoint` is mounted under a prefix (`/kite`
for kites). For each request it asks the sans-IO `sockjs.plan_request` what to do and does it:

- `Reply`: write the response (welcome, info, iframe, pre-flights, 404/405/500s);
- `Upgrade`: complete the WebSocket handshake and run a **new, unregistered** session over it
  (`WebSocketSessionPipe`; sockjs-go: ids may repeat); the raw `<prefix>/websocket` endpoint
  carries bare messages (`RawWebSocketPipe`);
- `Receive`: find or create the HTTP session (`HTTPSessionPipe`, kept in a table by session
  id) and attach the request as a receiver, writing the frames the session gives it, wrapped
  for the transport (one per poll, or until the response limit for streaming). A poll waits
  for its frame in its own task, watching its connection meanwhile; a stream has a second
  task watching the connection;
- `Deliver`: hand `xhr_send`/`jsonp_send` messages to the session (waiting while the
  application is behind: back-pressure), or 404 if there is none.

Every session, whatever carries it, is handed to the endpoint's session handler as a
`MessagePipe`; for a kite that is `Kite.serve_pipe`. Two `TimerHeap`s, one task each, drive
the timers of all sessions: the WebSocket sessions' heartbeats and the HTTP sessions'
heartbeats and expiry.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Awaitable, Callable
from contextlib import suppress

import trio

import sockjs

from .._http import HTTPRequest, TransportError
from .._timer_heap import TimerHeap
from ._http_pipe import HTTPSessionPipe, Receiver
from ._options import ServerLimits
from ._pipe import AnyWebSocket, SockJSPipe
from ._websocket_pipe import RawWebSocketPipe, WebSocketSessionPipe

__all__ = ["SessionHandler", "SockJSEndpoint"]

log = logging.getLogger("kite.server")

#: What runs one SockJS session: `await handler(pipe)`; the session ends when it returns.
SessionHandler = Callable[[SockJSPipe], Awaitable[None]]

_SHUTTING_DOWN_HEADERS = [("Content-Type", "text/plain; charset=utf-8")]


def _who(pipe: SockJSPipe) -> str:
    address = pipe.remote_address
    return f"{address[0]}:{address[1]}" if address else "an unknown address"


class SockJSEndpoint:
    """A SockJS server endpoint: an HTTP handler running one `handler(pipe)` per session.

    Args:
        options: the endpoint's `sockjs.Options` (prefix, transports, timings, limits).
        handler: `async handler(pipe)`, run once per session; the session ends with it.
        nursery: where HTTP sessions live (they outlive the requests that carry them), and
            the endpoint's timer tasks (heartbeats, expiry), which run until it is cancelled.
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
        self._sessions: dict[str, HTTPSessionPipe] = {}
        self._websockets: set[WebSocketSessionPipe] = set()
        #: Every WebSocket session's next `h`, from one task.
        self._heartbeats: TimerHeap[WebSocketSessionPipe] = TimerHeap(nursery, self._heartbeat)
        #: Every HTTP session's heartbeats and expiry, from one task.
        self._session_timers: TimerHeap[HTTPSessionPipe] = TimerHeap(
            nursery, HTTPSessionPipe.on_timer
        )
        #: Set once the endpoint stops taking new sessions (shutdown).
        self.closing = False

    @property
    def session_count(self) -> int:
        """HTTP sessions currently registered (WebSocket sessions are never registered)."""
        return len(self._sessions)

    @property
    def websocket_count(self) -> int:
        """WebSocket sessions currently open."""
        return len(self._websockets)

    def has_session(self, session_id: str) -> bool:
        """Whether an HTTP session with this id is registered."""
        return session_id in self._sessions

    def close_all(self) -> None:
        """Refuse new sessions; close every session (clients get `c[3000,"Go away!"]`)."""
        self.closing = True
        for session in list(self._sessions.values()):
            session.close()
        for websocket in list(self._websockets):
            if not websocket.ended:
                self._nursery.start_soon(websocket.aclose)

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
        elif self.closing and (
            isinstance(plan, sockjs.Upgrade)
            or (isinstance(plan, sockjs.Receive) and plan.endpoint.session_id not in self._sessions)
        ):
            await request.respond(503, _SHUTTING_DOWN_HEADERS, b"server is shutting down\n")
        elif isinstance(plan, sockjs.Upgrade):
            await self._websocket(request, plan)
        elif isinstance(plan, sockjs.Receive):
            await self._receive(request, plan)
        else:
            await self._deliver(request, plan)

    def _heartbeat(self, session: WebSocketSessionPipe, now: float) -> float | None:
        """A session's `h` is due: tick its machine now (so the next deadline is exactly the
        machine's), write the frame in a task of its own; return when the next one is due."""
        if session.ended:
            return None
        if session.beating:  # the last `h` is still being written: try again next period
            return now + session.machine.heartbeat_delay
        frames = session.beat(now)
        if frames:
            self._nursery.start_soon(session.write_heartbeat, frames)
        return session.machine.next_deadline()

    async def _run_handler(self, pipe: SockJSPipe) -> None:
        log.info("session %s opened: %s from %s", pipe.session_id, pipe.transport, _who(pipe))
        try:
            await self.handler(pipe)
        except Exception:
            log.exception("SockJS session handler failed")
        finally:
            with trio.CancelScope(shield=True):
                await pipe.aclose()
            log.info("session %s closed: %s from %s", pipe.session_id, pipe.transport, _who(pipe))

    # -- WebSocket ---------------------------------------------------------------------------

    async def _websocket(self, request: HTTPRequest, plan: sockjs.Upgrade) -> None:
        # The plan is an Upgrade for a hixie-76 request only with Options(hixie76=True).
        ws: AnyWebSocket
        if request.is_hixie76_upgrade:
            ws = await request.accept_hixie76()
        else:
            ws = await request.accept_websocket()
        if plan.endpoint.kind is sockjs.EndpointKind.RAW_WEBSOCKET:
            raw = RawWebSocketPipe(ws, self.options)
            raw.remote_address = request.remote_addr
            raw.query = request.query
            await self._run_handler(raw)
            return
        # Never registered by id: every WebSocket is a new session, whatever its id
        # (sockjs-go); the set is for shutdown.
        session = WebSocketSessionPipe(ws, plan.endpoint.session_id or "", self.options)
        session.remote_address = request.remote_addr
        session.query = request.query
        self._websockets.add(session)
        try:
            await session.open()
            beat = session.machine.next_deadline()
            if beat is not None:  # None: heartbeats are off
                self._heartbeats.add(session, beat)
            await self._run_handler(session)  # closes the session when the application ends
        finally:
            self._websockets.discard(session)
            await ws.abort()

    # -- HTTP sessions -----------------------------------------------------------------------

    async def _run_session(self, session: HTTPSessionPipe) -> None:
        # The session stays registered after the handler returned: later polls get its close
        # frame until it expires (`SessionFinished` removes it from the table).
        try:
            await self._run_handler(session)
        except BaseException:
            if self._sessions.get(session.session_id) is session:
                del self._sessions[session.session_id]
            raise

    async def _receive(self, request: HTTPRequest, plan: sockjs.Receive) -> None:
        session_id = plan.endpoint.session_id or ""
        writer = plan.writer
        head = plan.head
        session = self._sessions.get(session_id)
        if session is None:
            if len(self._sessions) >= self.limits.sessions:
                log.warning("refused a new SockJS session: %d sessions open", len(self._sessions))
                await request.respond(503, _SHUTTING_DOWN_HEADERS, b"too many sessions\n")
                return
            session = HTTPSessionPipe(
                session_id,
                writer.transport.value,
                self.options,
                self.limits,
                self._sessions,
                self._session_timers,
            )
            session.remote_address = request.remote_addr
            session.query = request.query
            self._sessions[session_id] = session
            self._nursery.start_soon(self._run_session, session)
        overhead = len(writer.wrap(""))
        rid, receiver = session.attach(writer.response_limit(self.options), overhead)
        if writer.transport.polling:
            await self._poll(request, session, rid, receiver, writer, head)
            return
        gone = False
        try:
            async with trio.open_nursery() as nursery:

                async def watch() -> None:
                    nonlocal gone
                    await request.wait_disconnected()
                    gone = True
                    session.interrupt(rid)  # ignored if the receiver was already finished
                    nursery.cancel_scope.cancel()

                nursery.start_soon(watch)
                await self._write_frames(request, receiver, writer, head)
                nursery.cancel_scope.cancel()
        finally:
            session.detach(rid)  # ignored unless the receiver is still attached
        if gone and not request.response_started:
            with suppress(TransportError):
                await request.respond(head.status, head.headers, b"")

    async def _poll(
        self,
        request: HTTPRequest,
        session: HTTPSessionPipe,
        rid: int,
        receiver: Receiver,
        writer: sockjs.FrameWriter,
        head: sockjs.Response,
    ) -> None:
        """Answer a poll with its one frame, waiting for it if it is not there yet.

        While it waits, the poll's task watches its connection (`wait_disconnected`) inside
        the receiver's `watch` scope, which the next frame cancels: one task, no nursery.
        A client that goes away first interrupts the receiver.
        """
        gone = False
        try:
            if not (receiver.frames or receiver.done):
                with trio.CancelScope() as watch:
                    receiver.watch = watch
                    await request.wait_disconnected()
                    gone = True
                receiver.watch = None
                if gone:
                    session.interrupt(rid)  # ignored if the receiver was already finished
            if not gone:
                await self._answer_poll(request, receiver, writer, head)
        finally:
            session.detach(rid)  # ignored unless the receiver is still attached
        if gone and not request.response_started:
            with suppress(TransportError):
                await request.respond(head.status, head.headers, b"")

    async def _write_frames(
        self,
        request: HTTPRequest,
        receiver: Receiver,
        writer: sockjs.FrameWriter,
        head: sockjs.Response,
    ) -> None:
        await request.start_response(head.status, head.headers)
        await request.send_body(writer.prelude)
        while (frame := await receiver.next_frame()) is not None:
            await request.send_body(writer.wrap(frame))
        await request.end_response()

    @staticmethod
    async def _answer_poll(
        request: HTTPRequest,
        receiver: Receiver,
        writer: sockjs.FrameWriter,
        head: sockjs.Response,
    ) -> None:
        frame = await receiver.next_frame()
        done = head.with_body(writer.wrap(frame) if frame is not None else b"")
        await request.respond(done.status, done.headers, done.body)

    async def _deliver(self, request: HTTPRequest, plan: sockjs.Deliver) -> None:
        session = self._sessions.get(plan.endpoint.session_id or "")
        if session is None or session.ended or not await session.deliver(plan.messages):
            response = plan.not_found
        else:
            response = plan.ok
        await request.respond(response.status, response.headers, response.body)
