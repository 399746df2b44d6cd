"""What both SockJS clients share: session ids, the client payload, reactions to frames.

How this works: Go's client (``sockjsclient``, docs/protocol.md §2.3, §2.6, §2.8) picks a fresh
``<server_id>/<session_id>`` pair for every dial: a three-digit decimal server id from a
non-crypto PRNG and 20 lower-case hex characters from ``crypto/rand``. Randomness is
injectable so tests and replays are deterministic. Every message it sends is one JSON array
holding that one string, quoted by Go's encoder (:func:`encode_client_payload`). Both
transports react to server frames the same way (:func:`frame_events`): ``o`` opens, ``h`` is
a heartbeat, ``a``/``m`` deliver messages, ``c`` closes.

Deliberate difference from Go: an empty ``a[]`` frame is accepted and delivers nothing
(Go's client fails with ``no message``); the SockJS protocol allows it.
"""

from __future__ import annotations

import enum
import random
import secrets
from collections import deque
from collections.abc import Callable, Mapping
from typing import ClassVar, Self

from ._errors import LocalProtocolError
from ._events import ClientEvent, ClosedByServer, Heartbeat, MessagesReceived, Opened
from ._frames import CloseFrame, Frame, HeartbeatFrame, MessagesFrame, OpenFrame, quote

__all__ = [
    "ClientInput",
    "ClientSession",
    "ClientState",
    "choose_server_id",
    "choose_session_id",
    "encode_client_payload",
    "frame_events",
]


class ClientState(enum.Enum):
    """Where a SockJS client session is."""

    CONNECTING = "connecting"  # dialled, no 'o' yet
    OPEN = "open"
    CLOSED = "closed"


class ClientInput(enum.Enum):
    """What can happen to a client session (frames, HTTP answers, local calls)."""

    OPEN_FRAME = "open_frame"
    DATA_FRAME = "data_frame"  # h, a, m: nothing changes
    CLOSE_FRAME = "close_frame"  # c, or a 404 for the session
    ERROR = "error"  # bad frame, bad HTTP status, broken connection
    SEND = "send"
    POLL = "poll"
    CLOSE = "close"  # local close


def choose_server_id(rng: random.Random | None = None) -> str:
    """A server id as Go picks it: a decimal integer in [100, 999]."""
    return str(100 + (rng or random).randrange(900))


def choose_session_id(token_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A session id as Go picks it: 20 lower-case hex characters of crypto randomness."""
    return token_bytes(11).hex()[:20]


def encode_client_payload(message: str) -> str:
    """The body Go's client sends for one message: ``["<message>"]`` with Go's quoting."""
    return "[" + quote(message) + "]"


def frame_events(frame: Frame) -> tuple[ClientInput, ClientEvent | None]:
    """The input a parsed server frame is for a client, and the event it produces."""
    if isinstance(frame, MessagesFrame):
        if not frame.messages:
            return ClientInput.DATA_FRAME, None
        return ClientInput.DATA_FRAME, MessagesReceived(frame.messages)
    if isinstance(frame, HeartbeatFrame):
        return ClientInput.DATA_FRAME, Heartbeat()
    if isinstance(frame, OpenFrame):
        return ClientInput.OPEN_FRAME, Opened()
    assert isinstance(frame, CloseFrame)
    return ClientInput.CLOSE_FRAME, ClosedByServer(frame.code, frame.reason)


class ClientSession:
    """What the WebSocket and XHR client sessions share: ids, state table, event queue.

    A subclass sets `TRANSITIONS` (its `{(state, input): next_state}` table) and
    `TRANSPORT` (Go's transport name, used in error messages).
    """

    __slots__ = ("_events", "_state", "server_id", "session_id")

    TRANSITIONS: ClassVar[Mapping[tuple[ClientState, ClientInput], ClientState]]
    TRANSPORT: ClassVar[str]

    def __init__(self, kite_url: str, *, server_id: str, session_id: str) -> None:
        self.server_id = server_id
        self.session_id = session_id
        self._state = ClientState.CONNECTING
        self._events: deque[ClientEvent] = deque()

    @classmethod
    def new(cls, kite_url: str) -> Self:
        """A session with fresh random ids (Go: new ones for every dial and redial)."""
        return cls(kite_url, server_id=choose_server_id(), session_id=choose_session_id())

    @property
    def state(self) -> ClientState:
        """The current state."""
        return self._state

    def _process(self, event: ClientInput) -> ClientState:
        try:
            new = self.TRANSITIONS[self._state, event]
        except KeyError:
            raise LocalProtocolError(
                f"can't handle {event.value} in state {self._state.value} ({self.TRANSPORT})"
            ) from None
        self._state = new
        return new

    def next_event(self) -> ClientEvent | None:
        """The next event, or ``None``."""
        return self._events.popleft() if self._events else None

    def events(self) -> list[ClientEvent]:
        """All pending events (drains the queue)."""
        out = list(self._events)
        self._events.clear()
        return out
