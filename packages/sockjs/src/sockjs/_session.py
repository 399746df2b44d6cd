"""The server side of one SockJS session, as sockjs-go (``c8a8c64``) runs it, without I/O.

How this works
--------------
A session outlives its transports: an XHR client makes a new HTTP request for every poll, an
xhr-streaming client reconnects after ``response_limit`` bytes, a WebSocket is one receiver
for the session's whole life. Each such request or socket is a *receiver*; the runtime
``attach()``-es it and gets an integer id back, and the session tells it, through events,
which frames to write to which receiver (:class:`~sockjs.SendFrame`) and when that receiver
is finished (:class:`~sockjs.ReceiverDone`). At most one receiver is attached at a time; a
second one is answered ``c[2010,"Another connection still open"]`` and finished at once.

The lifecycle is a table ``{(state, input): next_state}`` (:data:`TRANSITIONS`); an input
that has no entry raises :class:`~sockjs.LocalProtocolError` (sending on a closed session,
closing twice, attaching to a finished session)::

    NEW --attach--> ATTACHED <--attach / detach, response limit--> IDLE
     |                 |  \\--interrupt, fail----------------------\\
     |              close                                          v
     \\--close--> CLOSING --expire, fail--> CLOSED <--expire, fail-- NEW / IDLE

* ``NEW``: created; the first receiver gets ``o``.
* ``IDLE``/``ATTACHED``: open, without/with a receiver. Messages the application sends while
  no receiver is attached are queued and go out, in order, as one ``a[...]`` frame on the
  next attach.
* ``CLOSING``: the application closed it; every later attach gets the close frame
  (``c[3000,"Go away!"]``) until the session expires.
* ``CLOSED``: over; the runtime forgets it (:class:`~sockjs.SessionFinished`).

Time is passed in (float seconds, any monotonic clock). ``next_deadline()`` says when
``tick(now)`` must next be called: the heartbeat (``h`` every ``heartbeat_delay`` while a
receiver is attached, counted from the attach and re-armed after each ``h``, not reset by
data, as sockjs-go does) or the expiry (``disconnect_delay`` after the last receiver left,
or after creation).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Final

from ._errors import LocalProtocolError
from ._events import (
    CloseCause,
    MessagesReceived,
    ReceiverDone,
    SendFrame,
    SessionClosed,
    SessionEvent,
    SessionFinished,
)
from ._frames import CLOSE_ANOTHER_CONNECTION, encode_close, encode_messages, escape_unicode

__all__ = [
    "DEFAULT_DISCONNECT_DELAY",
    "DEFAULT_HEARTBEAT_DELAY",
    "DEFAULT_RESPONSE_LIMIT",
    "TRANSITIONS",
    "ServerSession",
    "SessionInput",
    "SessionState",
]

#: Go kite's defaults (docs/protocol.md §2.10); sockjs-go's own are 25 s and 5 s.
DEFAULT_HEARTBEAT_DELAY: Final = 10.0
DEFAULT_DISCONNECT_DELAY: Final = 10.0
#: Bytes after which a streaming receiver is finished (sockjs-go default, 128 KiB).
DEFAULT_RESPONSE_LIMIT: Final = 131072


class SessionState(enum.Enum):
    """Where a server session is in its life."""

    NEW = "new"
    IDLE = "idle"
    ATTACHED = "attached"
    CLOSING = "closing"
    CLOSED = "closed"


class SessionInput(enum.Enum):
    """What can happen to a server session."""

    ATTACH = "attach"
    DETACH = "detach"
    RECEIVER_FULL = "receiver_full"
    INTERRUPT = "interrupt"
    SEND = "send"
    RECEIVE = "receive"
    HEARTBEAT = "heartbeat"
    CLOSE = "close"
    FAIL = "fail"
    EXPIRE = "expire"


_S = SessionState
_I = SessionInput

#: The whole lifecycle. A missing pair is illegal.
TRANSITIONS: Final[dict[tuple[SessionState, SessionInput], SessionState]] = {
    (_S.NEW, _I.ATTACH): _S.ATTACHED,
    (_S.NEW, _I.SEND): _S.NEW,
    (_S.NEW, _I.RECEIVE): _S.NEW,
    (_S.NEW, _I.CLOSE): _S.CLOSING,
    (_S.NEW, _I.FAIL): _S.CLOSED,
    (_S.NEW, _I.EXPIRE): _S.CLOSED,
    (_S.IDLE, _I.ATTACH): _S.ATTACHED,
    (_S.IDLE, _I.SEND): _S.IDLE,
    (_S.IDLE, _I.RECEIVE): _S.IDLE,
    (_S.IDLE, _I.CLOSE): _S.CLOSING,
    (_S.IDLE, _I.FAIL): _S.CLOSED,
    (_S.IDLE, _I.EXPIRE): _S.CLOSED,
    (_S.ATTACHED, _I.ATTACH): _S.ATTACHED,  # the newcomer is refused with c[2010,...]
    (_S.ATTACHED, _I.SEND): _S.ATTACHED,
    (_S.ATTACHED, _I.RECEIVE): _S.ATTACHED,
    (_S.ATTACHED, _I.HEARTBEAT): _S.ATTACHED,
    (_S.ATTACHED, _I.DETACH): _S.IDLE,
    (_S.ATTACHED, _I.RECEIVER_FULL): _S.IDLE,
    (_S.ATTACHED, _I.INTERRUPT): _S.CLOSED,
    (_S.ATTACHED, _I.CLOSE): _S.CLOSING,
    (_S.ATTACHED, _I.FAIL): _S.CLOSED,
    (_S.CLOSING, _I.ATTACH): _S.CLOSING,  # answered with the close frame
    (_S.CLOSING, _I.RECEIVE): _S.CLOSING,  # dropped, as sockjs-go's closed pipe does
    (_S.CLOSING, _I.FAIL): _S.CLOSED,
    (_S.CLOSING, _I.EXPIRE): _S.CLOSED,
    (_S.CLOSED, _I.RECEIVE): _S.CLOSED,  # dropped
    (_S.CLOSED, _I.FAIL): _S.CLOSED,
}

_OPEN_STATES: Final = frozenset({_S.NEW, _S.IDLE, _S.ATTACHED})


class ServerSession:
    """One SockJS session on the server side: frames out, messages in, timers as deadlines.

    Use: ``attach()`` each receiver (poll, stream, WebSocket) as it arrives, feed the peer's
    decoded messages to ``receive_messages()``, the application's to ``send()``, call
    ``tick(now)`` at ``next_deadline()``, and after every call drain ``next_event()`` and do
    what the events say.
    """

    __slots__ = (
        "_close_frame",
        "_deadline",
        "_events",
        "_frame_overhead",
        "_last_receiver_id",
        "_queue",
        "_receiver",
        "_response_limit",
        "_sent_bytes",
        "_state",
        "close_code",
        "close_reason",
        "disconnect_delay",
        "escape_unicode",
        "heartbeat_delay",
        "session_id",
    )

    def __init__(
        self,
        session_id: str,
        now: float,
        *,
        heartbeat_delay: float = DEFAULT_HEARTBEAT_DELAY,
        disconnect_delay: float = DEFAULT_DISCONNECT_DELAY,
        escape_unicode: bool = False,
    ) -> None:
        """Create a session at time ``now``.

        Args:
            session_id: the client-chosen id (the path segment); only informative here.
            now: the current time.
            heartbeat_delay: seconds between ``h`` frames to an attached receiver; ``0``
                disables heartbeats. Go kite: 10 s.
            disconnect_delay: seconds a session without receiver lives on. Go kite: 10 s.
            escape_unicode: escape the characters the SockJS protocol asks servers to
                escape in ``a``/``c`` frames (see :func:`~sockjs.escape_unicode`); Go: off.
        """
        self.session_id = session_id
        self.heartbeat_delay = heartbeat_delay
        self.disconnect_delay = disconnect_delay
        self.escape_unicode = escape_unicode
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._state = _S.NEW
        # A list, not a deque: it holds a handful of events at a time, and an idle session
        # should cost as little memory as possible (an empty deque is ~600 bytes).
        self._events: list[SessionEvent] = []
        self._queue: list[str] = []
        self._receiver: int | None = None
        self._last_receiver_id = 0
        self._response_limit: int | None = None
        self._frame_overhead = 0
        self._sent_bytes = 0
        self._close_frame = ""  # sockjs-go's closeFrame: empty until close() sets it
        self._deadline: float | None = now + disconnect_delay

    # -- state -------------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        """The current state."""
        return self._state

    @property
    def receiver(self) -> int | None:
        """The id of the attached receiver, if any."""
        return self._receiver

    @property
    def queued(self) -> tuple[str, ...]:
        """Messages waiting for a receiver, oldest first."""
        return tuple(self._queue)

    @property
    def close_frame(self) -> str:
        """The frame later polls get once the application closed the session ('' before)."""
        return self._close_frame

    def _process(self, event: SessionInput) -> SessionState:
        try:
            new = TRANSITIONS[self._state, event]
        except KeyError:
            raise LocalProtocolError(
                f"can't handle {event.value} in state {self._state.value} "
                f"(session {self.session_id!r})"
            ) from None
        self._state = new
        return new

    # -- events ------------------------------------------------------------------------

    def next_event(self) -> SessionEvent | None:
        """The next thing the runtime must do, or ``None`` when there is nothing."""
        return self._events.pop(0) if self._events else None

    def events(self) -> list[SessionEvent]:
        """All pending events, oldest first (drains the queue)."""
        out = self._events
        if out:
            self._events = []
        return out

    # -- receivers ---------------------------------------------------------------------

    def attach(
        self,
        now: float,
        *,
        response_limit: int | None = None,
        frame_overhead: int = 1,
    ) -> int:
        """Attach a new receiver and return its id.

        Args:
            now: the current time.
            response_limit: bytes after which the receiver is finished: ``1`` for a poll
                (one frame per response), :data:`DEFAULT_RESPONSE_LIMIT` for streaming,
                ``None`` for a WebSocket.
            frame_overhead: bytes the transport adds to every frame (``1`` for the XHR
                newline), counted towards ``response_limit``.

        Raises:
            LocalProtocolError: the session is ``CLOSED`` (create a new one instead).
        """
        previous = self._state
        self._process(_I.ATTACH)
        self._last_receiver_id += 1
        rid = self._last_receiver_id
        if previous is _S.ATTACHED:
            self._events.append(SendFrame(rid, CLOSE_ANOTHER_CONNECTION))
            self._events.append(ReceiverDone(rid))
            return rid
        if previous is _S.CLOSING:
            self._events.append(SendFrame(rid, self._close_frame))
            self._events.append(ReceiverDone(rid))
            self._deadline = now + self.disconnect_delay
            return rid
        self._receiver = rid
        self._response_limit = response_limit
        self._frame_overhead = frame_overhead
        self._sent_bytes = 0
        self._deadline = now + self.heartbeat_delay if self.heartbeat_delay > 0 else None
        if previous is _S.NEW and self._write("o", now):
            return rid  # a poll is full after 'o'; the queue waits for the next one
        if self._queue:
            frame = encode_messages(self._queue, escape=self.escape_unicode)
            self._queue.clear()
            self._write(frame, now)
        return rid

    def _write(self, frame: str, now: float) -> bool:
        """Send ``frame`` to the attached receiver; finish it if full. True if finished."""
        rid = self._receiver
        assert rid is not None
        self._events.append(SendFrame(rid, frame))
        limit = self._response_limit
        if limit is None:
            return False
        size = len(frame) if frame.isascii() else len(frame.encode("utf-8"))
        self._sent_bytes += size + self._frame_overhead
        if self._sent_bytes < limit:
            return False
        self._process(_I.RECEIVER_FULL)
        self._release(now)
        return True

    def _release(self, now: float) -> None:
        rid = self._receiver
        assert rid is not None
        self._events.append(ReceiverDone(rid))
        self._receiver = None
        self._deadline = now + self.disconnect_delay

    def detach(self, receiver: int, now: float) -> None:
        """The runtime ended ``receiver`` itself (e.g. a response it had to finish).

        A receiver the session already finished (or refused) is ignored.
        """
        if receiver != self._receiver:
            return
        self._process(_I.DETACH)
        self._release(now)

    def interrupt(self, receiver: int, now: float) -> None:
        """``receiver``'s connection dropped (XHR poll aborted, stream cut).

        As in sockjs-go, this closes the session at once, without a close frame; the
        abandoned poll is answered with an empty body. Ignored for receivers the session
        already finished.
        """
        if receiver != self._receiver:
            return
        self._process(_I.INTERRUPT)
        self._release(now)
        self._finish(CloseCause.INTERRUPTED)

    def fail(self, now: float) -> None:
        """The transport failed or the peer broke the protocol (WebSocket read error).

        sockjs-go then writes the session's close frame to the attached receiver (the empty
        string, unless the application had closed the session) and ends the session.
        Idempotent.
        """
        previous = self._state
        self._process(_I.FAIL)
        if previous is _S.CLOSED:
            return
        if self._receiver is not None:
            self._events.append(SendFrame(self._receiver, self._close_frame))
            self._release(now)
        if previous is _S.CLOSING:
            self._deadline = None
            self._events.append(SessionFinished())
        else:
            self._finish(CloseCause.TRANSPORT_ERROR)

    def _finish(self, cause: CloseCause) -> None:
        self._queue.clear()
        self._deadline = None
        self._events.append(SessionClosed(cause))
        self._events.append(SessionFinished())

    # -- data --------------------------------------------------------------------------

    def receive_messages(self, messages: Sequence[str]) -> None:
        """Messages the peer sent (an ``xhr_send`` body or a WebSocket message, decoded).

        Delivered as one :class:`~sockjs.MessagesReceived` while the session is open, dropped
        after it closed (sockjs-go's pipe is closed then). An empty list is ignored.
        """
        previous = self._state
        self._process(_I.RECEIVE)
        if messages and previous in _OPEN_STATES:
            self._events.append(MessagesReceived(tuple(messages)))

    def send(self, message: str, now: float) -> None:
        """Send one application message: now if a receiver is attached, else queued.

        Raises:
            LocalProtocolError: the session is closing or closed (Go: ``ErrSessionNotOpen``).
        """
        if self._process(_I.SEND) is _S.ATTACHED:
            self._write(encode_messages((message,), escape=self.escape_unicode), now)
        else:
            self._queue.append(message)

    def send_many(self, messages: Sequence[str], now: float) -> None:
        """Send several messages, in one ``a[...]`` frame when a receiver is attached."""
        if not messages:
            return
        if self._process(_I.SEND) is _S.ATTACHED:
            self._write(encode_messages(messages, escape=self.escape_unicode), now)
        else:
            self._queue.extend(messages)

    def close(self, now: float, code: int = 3000, reason: str = "Go away!") -> None:
        """Close the session from the application side.

        The attached receiver (if any) gets ``c[code,"reason"]`` and is finished; so is
        every receiver attached later, until the session expires ``disconnect_delay`` after
        the last one. Messages still queued are dropped, as in sockjs-go.

        Raises:
            LocalProtocolError: the session is already closing or closed.
        """
        frame = encode_close(code, reason)
        if self.escape_unicode:
            frame = escape_unicode(frame)
        self._process(_I.CLOSE)
        self.close_code = code
        self.close_reason = reason
        self._close_frame = frame
        self._queue.clear()
        if self._receiver is not None:
            self._events.append(SendFrame(self._receiver, frame))
            self._release(now)
        self._events.append(SessionClosed(CloseCause.APPLICATION, code, reason))

    # -- time --------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When ``tick()`` must next be called (``None``: no timer runs)."""
        return self._deadline

    def tick(self, now: float) -> None:
        """Advance the clock to ``now``: send a due heartbeat, or expire the session."""
        deadline = self._deadline
        if deadline is None or now < deadline:
            return
        state = self._state
        if state is _S.ATTACHED:
            self._process(_I.HEARTBEAT)
            if not self._write("h", now):
                self._deadline = now + self.heartbeat_delay
        elif state is _S.CLOSING:
            self._process(_I.EXPIRE)
            self._deadline = None
            self._events.append(SessionFinished())
        else:
            self._process(_I.EXPIRE)
            self._finish(CloseCause.EXPIRED)
