"""A SockJS session over the HTTP transports (XHR polling and streaming, EventSource,
htmlfile, JSONP), as a `MessagePipe`.

How this works: `HTTPSessionPipe` is the sans-IO `sockjs.ServerSession` state machine driven
by trio. Every input (receiver attached or gone, client payload, application message, close)
goes to the machine and its events are dispatched at once (frames to the receiver's queue,
messages to the inbox, end of stream, forget the id). Each HTTP request carrying the session
is a `Receiver`: the frames the machine addressed to it, for the endpoint to write. The session
has no timer task: the endpoint's one timer task (a heap of deadlines, `TimerHeap`) calls
`on_timer` at the machine's `next_deadline()` (heartbeats `h`, expiry `disconnect_delay` after
the last receiver left). After every input the session re-arms its timer only if the deadline
moved earlier than the time it is armed for; a deadline that moved later is found when the
timer fires early, which then re-arms for the new one.
"""

from __future__ import annotations

from collections import deque

import trio

import sockjs

from .._rpc._pipe import PipeClosedError
from .._timer_heap import TimerHeap
from ._options import ServerLimits
from ._pipe import SockJSPipe

__all__ = ["HTTPSessionPipe", "Receiver"]


class Receiver:
    """Frames the session machine addressed to one receiver (a poll, a stream, a WebSocket).

    A waiting poll parks in `watch` (a cancel scope around its wait for the client to go
    away): the next frame (or the end) cancels it, so the poll needs no second task.
    """

    __slots__ = ("_session", "done", "frames", "wakeup", "watch")

    def __init__(self, session: HTTPSessionPipe) -> None:
        self._session = session
        self.frames: deque[str] = deque()
        self.done = False
        self.wakeup = trio.Event()
        self.watch: trio.CancelScope | None = None

    def wake(self) -> None:
        self.wakeup.set()
        self.wakeup = trio.Event()
        if self.watch is not None:
            self.watch.cancel()

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


class HTTPSessionPipe(SockJSPipe):
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
        table: dict[str, HTTPSessionPipe] | None,
        timers: TimerHeap[HTTPSessionPipe] | None,
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
        self._receivers: dict[int, Receiver] = {}
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
    def on_timer(session: HTTPSessionPipe, now: float) -> None:
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

    def attach(self, response_limit: int | None, frame_overhead: int = 1) -> tuple[int, Receiver]:
        """Attach a receiver; its frames (`o`, queued messages, ...) are in its queue."""
        rid = self.machine.attach(
            trio.current_time(), response_limit=response_limit, frame_overhead=frame_overhead
        )
        receiver = self._receivers[rid] = Receiver(self)
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

    def close(self) -> None:
        """Close the session now (the client gets `c[3000,"Go away!"]`)."""
        if not self.ended:
            self.machine.close(trio.current_time())
            self._dispatch()

    async def aclose(self) -> None:
        self.close()
