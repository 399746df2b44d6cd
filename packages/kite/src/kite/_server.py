"""Serving kites over SockJS: every SockJS session on the HTTP server becomes a `MessagePipe`.

How this works (PROTOCOL.md §1, §2):

* `SockJSEndpoint` is an HTTP handler (mounted under a prefix, `/kite` for kites). For each
  request it asks the sans-IO `sockjs.plan_request` what to do and does it:
  - `Reply`: write the response (welcome, info, iframe, pre-flights, 404/405/500s);
  - `Upgrade`: complete the WebSocket handshake and run a **new, unregistered** session over
    it (sockjs-go: ids may repeat); the raw `<prefix>/websocket` endpoint carries bare
    messages (`_RawWebSocketSession`);
  - `Receive`: find or create the HTTP session (kept in a table by session id) and attach
    the request as a receiver, writing the frames the session gives it, wrapped for the
    transport (one per poll, or until the response limit for streaming);
  - `Deliver`: hand `xhr_send`/`jsonp_send` messages to the session (waiting while the
    application is behind: back-pressure), or 404 if there is none.
* A session (`_Session`) is the sans-IO `sockjs.ServerSession` state machine driven by trio:
  every input (receiver attached or gone, client payload, application message, close) goes
  to the machine and its events are dispatched at once (frames to the receiver's queue,
  messages to the inbox, end of stream, forget the id). The session has no timer task: the
  endpoint's one timer task (a heap of deadlines, `TimerHeap`) calls `tick()` at the
  machine's `next_deadline()` (heartbeats `h`, expiry `disconnect_delay` after the last
  receiver left). After every input the session re-arms its timer only if the deadline moved
  earlier than the time it is armed for; a deadline that moved later is found when the timer
  fires early, which then re-arms for the new one.
* A WebSocket session (`_WebSocketSession`) drives the same machine with **no task of its
  own**, because a WebSocket is one receiver for the session's whole life: `receive()` reads
  and decodes the socket in the application's task, `send()` writes the frame in the caller's
  task (back-pressure is TCP's), and one heartbeat task per endpoint sends every session's `h`
  at its deadline (a heap of deadlines). A bad payload or a read error `fail()`s the session
  (sockjs-go's empty frame, then TCP is dropped), and when the application closes a live
  session the client gets `c[3000,"Go away!"]` and TCP drops. An idle kite connection is then
  one task, the HTTP connection's, parked in a read.
* Every session, whatever carries it, is handed to the endpoint's session handler as a
  `MessagePipe`; for a kite that is `Kite.accept`.
* `open_kite_server` runs the HTTP server, the endpoint at `/kite` and the kite's extra
  routes. Closing (`KiteServer.aclose`, or leaving the block) refuses new sessions (503),
  waits up to `grace_period` for the kite's requests in flight, then closes every session
  (their handlers are cancelled) and cancels whatever HTTP handler is still running.
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

from ._groups import single_exception
from ._http import (
    ConnectionClosedError,
    Hixie76Connection,
    HTTPLimits,
    HTTPRequest,
    HTTPServer,
    TransportError,
    WebSocketConnection,
    open_http_server,
)
from ._http import Handler as HTTPHandler
from ._session import PipeClosedError
from ._timer_heap import TimerHeap

#: An RFC 6455 WebSocket or, with ``Options(hixie76=True)``, a hixie-76 one.
_AnyWebSocket = WebSocketConnection | Hixie76Connection

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

_SHUTTING_DOWN_HEADERS = [("Content-Type", "text/plain; charset=utf-8")]
_PIPE_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, trio.EndOfChannel)


class ServerLimits:
    """Per-session buffers of the SockJS server (beyond `HTTPLimits` and `sockjs.Options`).

    Attributes:
        outbox: messages (frames) the application may have waiting for an HTTP session's
            client (no receiver attached, or a receiver still writing) before its `send`
            waits (default 1024); the wait ends when they go out or the session closes. A
            WebSocket session writes each message to the socket as it is sent, so there the
            socket's buffer is the outbox.
        inbox: messages delivered by `xhr_send`/`jsonp_send` and not yet read by the
            application before the sender waits (default 64; Go's xhr_send waits too).
        sessions: HTTP (polling and streaming) sessions alive at once (default 10,000); a
            request that would open one more is answered 503 `too many sessions` and nothing
            else changes. WebSocket sessions are bounded by `HTTPLimits.max_connections`.
    """

    __slots__ = ("inbox", "outbox", "sessions")

    def __init__(self, *, outbox: int = 1024, inbox: int = 64, sessions: int = 10_000) -> None:
        if outbox < 1 or inbox < 0 or sessions < 1:
            raise ValueError("outbox and sessions must be at least 1 and inbox not negative")
        self.outbox = outbox
        self.inbox = inbox
        self.sessions = sessions


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


class _RawWebSocketSession(SockJSPipe):
    """The raw `<prefix>/websocket` endpoint: one text message is one application message."""

    def __init__(self, ws: _AnyWebSocket, options: sockjs.Options) -> None:
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


class _Receiver:
    """Frames the session machine addressed to one receiver (a poll, a stream, a WebSocket)."""

    __slots__ = ("_session", "done", "frames", "wakeup")

    def __init__(self, session: _Session) -> None:
        self._session = session
        self.frames: deque[str] = deque()
        self.done = False
        self.wakeup = trio.Event()

    def wake(self) -> None:
        self.wakeup.set()
        self.wakeup = trio.Event()

    async def next_frame(self) -> str | None:
        """The next frame to write, or None once the receiver is finished and drained."""
        while True:
            if self.frames:
                frame = self.frames.popleft()
                if len(self.frames) + 1 >= self._session._limits.outbox:
                    self._session._notify()  # a sender waiting for room may go on
                return frame
            if self.done:
                return None
            await self.wakeup.wait()


class _Session(SockJSPipe):
    """One SockJS session: the sans-IO `sockjs.ServerSession` driven by trio, as a pipe.

    Every input (a receiver attaching, a client payload, an application message, the clock)
    goes to the machine; its events are dispatched at once: frames to their receiver's
    queue, messages to the inbox, `SessionClosed` as end of stream, `SessionFinished` as
    "forget the id". The clock comes from `timers`, the endpoint's heap of deadlines (see
    `on_timer`); without one (`None`) the session never ticks.
    """

    def __init__(
        self,
        session_id: str,
        transport: str,
        options: sockjs.Options,
        limits: ServerLimits,
        table: dict[str, _Session] | None,
        timers: TimerHeap[_Session] | None,
    ) -> None:
        self.session_id = session_id
        self.transport = transport
        self.machine = sockjs.ServerSession(
            session_id,
            trio.current_time(),
            heartbeat_delay=options.heartbeat_delay,
            disconnect_delay=options.disconnect_delay,
            escape_unicode=options.escape_unicode,
        )
        self._limits = limits
        self._table = table
        self._receivers: dict[int, _Receiver] = {}
        self._inbox: deque[str] = deque()
        self._changed: trio.Event | None = None  # created by the first waiter
        self._timers = timers
        self._armed: float | None = None  # the due time of this session's entry in `timers`
        self.ended = False  # SessionClosed: no more messages either way
        self.finished = False  # SessionFinished: the id is forgotten

    def _dispatch(self) -> None:
        for event in self.machine.events():
            if isinstance(event, sockjs.SendFrame):
                receiver = self._receivers.get(event.receiver)
                if receiver is not None:
                    receiver.frames.append(event.frame)
                    receiver.wake()
            elif isinstance(event, sockjs.ReceiverDone):
                receiver = self._receivers.pop(event.receiver, None)
                if receiver is not None:
                    receiver.done = True
                    receiver.wake()
            elif isinstance(event, sockjs.MessagesReceived):
                self._inbox.extend(event.messages)
            elif isinstance(event, sockjs.SessionClosed):
                self.ended = True
            elif isinstance(event, sockjs.SessionFinished):
                self.ended = self.finished = True
                if self._table is not None and self._table.get(self.session_id) is self:
                    del self._table[self.session_id]
        deadline = self.machine.next_deadline()
        if deadline is not None and self._timers is not None:
            armed = self._armed
            if armed is None or deadline < armed:
                self._armed = deadline
                self._timers.add(self, deadline)
        self._notify()

    @staticmethod
    def on_timer(session: _Session, now: float) -> None:
        """`TimerHeap` callback: one of the session's timer entries is due.

        The session's live entry is the one due at `_armed`; an entry due earlier than that
        is stale (the deadline moved earlier and a new entry was added) and is dropped. The
        live one ticks the machine and dispatches, which arms the next deadline, if any.
        """
        armed = session._armed
        if armed is None or armed > now:
            return  # stale: the live entry is still to come (or there is none)
        session._armed = None
        session.machine.tick(now)
        session._dispatch()

    def _notify(self) -> None:
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    async def wait_changed(self) -> None:
        """Wait for the next dispatch (or a message taken from the inbox)."""
        changed = self._changed
        if changed is None:
            changed = self._changed = trio.Event()
        await changed.wait()

    # -- the transport's side ----------------------------------------------------------------

    def attach(self, response_limit: int | None, frame_overhead: int = 1) -> tuple[int, _Receiver]:
        """Attach a receiver; its frames (`o`, queued messages, ...) are in its queue."""
        rid = self.machine.attach(
            trio.current_time(), response_limit=response_limit, frame_overhead=frame_overhead
        )
        receiver = self._receivers[rid] = _Receiver(self)
        self._dispatch()
        return rid, receiver

    def detach(self, rid: int) -> None:
        """The runtime ended the receiver itself."""
        self.machine.detach(rid, trio.current_time())
        self._receivers.pop(rid, None)
        self._dispatch()

    def interrupt(self, rid: int) -> None:
        """The receiver's client went away (ignored once the receiver is finished)."""
        self.machine.interrupt(rid, trio.current_time())
        self._dispatch()

    def fail(self) -> None:
        """The WebSocket failed or sent garbage: sockjs-go ends the session."""
        self.machine.fail(trio.current_time())
        self._dispatch()

    async def deliver(self, messages: list[str] | tuple[str, ...]) -> bool:
        """Hand client messages to the application, waiting while its inbox is full."""
        while not self.ended and len(self._inbox) >= max(self._limits.inbox, 1):
            await self.wait_changed()
        if self.ended:
            return False
        self.machine.receive_messages(messages)
        self._dispatch()
        return True

    # -- MessagePipe (the application's side) ------------------------------------------------

    async def send(self, message: str) -> None:
        limit = self._limits.outbox
        while not self.ended:
            receiver = self._receivers.get(self.machine.receiver or 0)
            backlog = len(receiver.frames) if receiver is not None else len(self.machine.queued)
            if backlog < limit:
                break
            await self.wait_changed()
        try:
            self.machine.send(message, trio.current_time())
        except sockjs.LocalProtocolError:
            raise PipeClosedError() from None
        self._dispatch()

    async def receive(self) -> str:
        while not self._inbox:
            if self.ended:
                raise PipeClosedError()
            await self.wait_changed()
        message = self._inbox.popleft()
        if len(self._inbox) + 1 >= self._limits.inbox:
            self._notify()  # a waiting deliver() may go on
        return message

    async def aclose(self) -> None:
        if not self.ended:
            self.machine.close(trio.current_time())
            self._dispatch()


_ATTACHED = sockjs.SessionState.ATTACHED


class _WebSocketSession(SockJSPipe):
    """A SockJS session carried by one WebSocket, with no task of its own (module docstring).

    The machine is the same `sockjs.ServerSession` as for HTTP sessions, with the WebSocket
    attached as its only receiver. Whoever calls in (the application's `send`/`receive`, the
    endpoint's heartbeat task, `aclose`) feeds it and writes the frames it produces.
    """

    __slots__ = (
        "_beating",
        "_done",
        "_inbox",
        "_max",
        "_ws",
        "ended",
        "machine",
        "session_id",
        "transport",
    )

    def __init__(self, ws: _AnyWebSocket, session_id: str, options: sockjs.Options) -> None:
        self.session_id = session_id
        self.transport = "websocket"
        self.machine = sockjs.ServerSession(
            session_id,
            trio.current_time(),
            heartbeat_delay=options.heartbeat_delay,
            disconnect_delay=options.disconnect_delay,
            escape_unicode=options.escape_unicode,
        )
        self._ws = ws
        self._max = options.max_payload_size
        self._inbox: list[str] = []  # newest first: a list is smaller than a deque when idle
        self._done = False  # ReceiverDone: drop TCP once its frames are written
        self._beating = False  # a heartbeat write is in flight
        self.ended = False  # SessionClosed: no more messages either way

    def _frames(self) -> list[str]:
        """Apply the machine's events; return the frames to write, in order."""
        frames: list[str] = []
        for event in self.machine.events():
            kind = type(event)
            if kind is sockjs.SendFrame:
                frames.append(event.frame)  # type: ignore[union-attr]
            elif kind is sockjs.MessagesReceived:
                self._inbox[:0] = reversed(event.messages)  # type: ignore[union-attr]
            elif kind is sockjs.ReceiverDone:
                self._done = True
            else:  # SessionClosed, SessionFinished
                self.ended = True
        return frames

    async def _write(self, frames: list[str]) -> bool:
        """Write `frames`, then drop TCP if the machine finished the receiver. False if the
        socket failed (the session then fails, as sockjs-go's does on a write error)."""
        ws = self._ws
        try:
            for frame in frames:
                await ws.send(frame)
        except ConnectionClosedError:
            self._lost()
            return False
        if self._done:
            await ws.abort()
        return True

    def _lost(self) -> None:
        """The WebSocket is gone: fail the session (idempotent)."""
        if self.machine.state is not sockjs.SessionState.CLOSED:
            self.machine.fail(trio.current_time())
            self._frames()  # nothing can be written any more
        self.ended = True

    async def open(self) -> None:
        """Attach the WebSocket: the client gets `o`."""
        self.machine.attach(trio.current_time(), response_limit=None)
        await self._write(self._frames())

    def beat(self, now: float) -> list[str]:
        """Advance the machine's clock (the endpoint's heartbeat timer calls this when the
        `h` is due): the frames to write, for `write_heartbeat`."""
        self.machine.tick(now)
        frames = self._frames()
        self._beating = bool(frames)
        return frames

    async def write_heartbeat(self, frames: list[str]) -> None:
        """Write what `beat` returned (in a task of its own: a slow client stalls only it)."""
        try:
            await self._write(frames)
        finally:
            self._beating = False

    async def send(self, message: str) -> None:
        if self.ended:
            raise PipeClosedError()
        machine = self.machine
        if machine.state is _ATTACHED and not self._done:
            # What the machine does for an attached WebSocket (no response limit), without
            # its events: the `a[...]` frame, written right here.
            try:
                await self._ws.send(
                    sockjs.encode_messages((message,), escape=machine.escape_unicode)
                )
            except ConnectionClosedError:
                self._lost()
                raise PipeClosedError() from None
            return
        try:
            machine.send(message, trio.current_time())
        except sockjs.LocalProtocolError:
            raise PipeClosedError() from None
        if not await self._write(self._frames()):
            raise PipeClosedError()

    async def receive(self) -> str:
        inbox = self._inbox
        while not inbox:
            if self.ended:
                raise PipeClosedError()
            try:
                data = await self._ws.receive_message()
            except ConnectionClosedError:
                self._lost()
                raise PipeClosedError() from None
            try:
                messages = sockjs.decode_websocket_message(data, max_size=self._max)
            except (sockjs.ProtocolError, sockjs.MessageTooLargeError) as exc:
                # sockjs-go: the session dies; the peer gets an empty text frame, TCP drops.
                log.info("session %s: bad WebSocket message: %s", self.session_id, exc)
                if not self.ended:
                    self.machine.fail(trio.current_time())
                    await self._write(self._frames())
                self.ended = True
                raise PipeClosedError() from None
            if not messages:
                continue
            if self.machine.state is _ATTACHED:  # the machine would just pass them on
                if len(messages) == 1:
                    return messages[0]  # the inbox is empty: no need to queue it
                inbox[:0] = reversed(messages)
            else:
                self.machine.receive_messages(messages)
                self._frames()
        return inbox.pop()

    async def aclose(self) -> None:
        if not self.ended:
            self.machine.close(trio.current_time())  # c[3000,"Go away!"], then TCP drops
            with trio.move_on_after(max(self.machine.heartbeat_delay, 1.0)):
                await self._write(self._frames())
        await self._ws.abort()


# --------------------------------------------------------------------------------------------
# the endpoint


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
        self._sessions: dict[str, _Session] = {}
        self._websockets: set[_WebSocketSession] = set()
        #: Every WebSocket session's next `h`, from one task.
        self._heartbeats: TimerHeap[_WebSocketSession] = TimerHeap(nursery, self._heartbeat)
        #: Every HTTP session's heartbeats and expiry, from one task.
        self._session_timers: TimerHeap[_Session] = TimerHeap(nursery, _Session.on_timer)
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

    def close_all(self) -> None:
        """Refuse new sessions; close every session (clients get `c[3000,"Go away!"]`)."""
        self.closing = True
        for session in list(self._sessions.values()):
            if not session.ended:
                session.machine.close(trio.current_time())
                session._dispatch()
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

    def _heartbeat(self, session: _WebSocketSession, now: float) -> float | None:
        """A session's `h` is due: tick its machine now (so the next deadline is exactly the
        machine's), write the frame in a task of its own; return when the next one is due."""
        if session.ended:
            return None
        if session._beating:  # the last `h` is still being written: try again next period
            return now + session.machine.heartbeat_delay
        frames = session.beat(now)
        if frames:
            self._nursery.start_soon(session.write_heartbeat, frames)
        return session.machine.next_deadline()

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
        # The plan is an Upgrade for a hixie-76 request only with Options(hixie76=True).
        ws: _AnyWebSocket
        if request.is_hixie76_upgrade:
            ws = await request.accept_hixie76()
        else:
            ws = await request.accept_websocket()
        if plan.endpoint.kind is sockjs.EndpointKind.RAW_WEBSOCKET:
            await self._run_handler(_RawWebSocketSession(ws, self.options))
            return
        # Never registered by id: every WebSocket is a new session, whatever its id
        # (sockjs-go); the set is for shutdown.
        session = _WebSocketSession(ws, plan.endpoint.session_id or "", self.options)
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

    async def _run_session(self, session: _Session) -> None:
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
            session = _Session(
                session_id,
                writer.transport.value,
                self.options,
                self.limits,
                self._sessions,
                self._session_timers,
            )
            self._sessions[session_id] = session
            self._nursery.start_soon(self._run_session, session)
        overhead = len(writer.wrap(""))
        rid, receiver = session.attach(writer.response_limit(self.options), overhead)
        if writer.transport.polling and (receiver.frames or receiver.done):
            # The poll's frame is already there (`o`, queued messages, a close frame): it is
            # answered without waiting, so there is nothing to watch the client for. The
            # receiver is finished by that frame, so an interrupt would be ignored anyway.
            try:
                await self._answer_poll(request, receiver, writer, head)
            finally:
                session.detach(rid)  # ignored unless the receiver is still attached
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

    async def _write_frames(
        self,
        request: HTTPRequest,
        receiver: _Receiver,
        writer: sockjs.FrameWriter,
        head: sockjs.Response,
    ) -> None:
        if writer.transport.polling:
            await self._answer_poll(request, receiver, writer, head)
            return
        await request.start_response(head.status, head.headers)
        await request.send_body(writer.prelude)
        while (frame := await receiver.next_frame()) is not None:
            await request.send_body(writer.wrap(frame))
        await request.end_response()

    @staticmethod
    async def _answer_poll(
        request: HTTPRequest,
        receiver: _Receiver,
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


# --------------------------------------------------------------------------------------------
# the kite server


class KiteServer:
    """A kite being served over HTTP: SockJS at `/kite` plus the kite's own routes.

    Attributes:
        http: the underlying `HTTPServer`.
        endpoint: the SockJS endpoint at `/kite`.
    """

    def __init__(
        self,
        kite: Kite,
        http: HTTPServer,
        endpoint: SockJSEndpoint,
        closing: trio.Event,
        grace_period: float,
    ) -> None:
        self.kite = kite
        self.http = http
        self.endpoint = endpoint
        self.grace_period = grace_period
        self._closing = closing

    async def aclose(self, grace_period: float | None = None) -> None:
        """Stop serving: stop accepting, give requests in flight `grace_period` seconds
        (default: the server's), then close every session and cancel what still runs.
        Idempotent; leaving `Kite.serve` calls it."""
        grace = self.grace_period if grace_period is None else grace_period
        self.endpoint.closing = True  # new sessions get 503 from now on
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.http.aclose, grace)  # stops accepting at once
            if not self._closing.is_set():
                with trio.move_on_after(grace):
                    await self.kite._wait_idle()
                self._closing.set()  # every session's peer closes now
                self.endpoint.close_all()

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


@single_exception
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
        # Reads in this task (the HTTP connection's, for a WebSocket): an idle connection has
        # no other task. At shutdown `endpoint.close_all()` closes the session, which ends it.
        await kite.serve_pipe(pipe)

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
                server = KiteServer(kite, http, endpoint, closing, grace_period)
                kite._servers.append(server)
                try:
                    yield server
                finally:
                    kite._servers.remove(server)
                    await server.aclose()
        finally:
            sessions.cancel_scope.cancel()
