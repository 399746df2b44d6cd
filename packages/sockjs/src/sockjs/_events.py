"""Events produced by the sans-IO session objects (server session and clients).

How this works: every state machine in this package turns inputs (a receiver attached, messages
arrived, the clock passed a deadline, a frame or HTTP answer came in) into a queue of these
small immutable values; the runtime pulls them with ``next_event()`` and does the I/O they
describe. Receivers (one HTTP poll, one streaming response, one WebSocket) are named by the
integer the session handed out in ``attach()``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "ClientEvent",
    "CloseCause",
    "ClosedByServer",
    "Heartbeat",
    "MessagesReceived",
    "Opened",
    "ReceiverDone",
    "SendFrame",
    "SessionClosed",
    "SessionEvent",
    "SessionFinished",
    "SessionNotFound",
]


class CloseCause(enum.Enum):
    """Why a server session stopped."""

    #: The application called ``close()``; pollers get its close frame until expiry.
    APPLICATION = "application"
    #: The attached receiver's connection dropped (an XHR poll aborted, a stream cut).
    INTERRUPTED = "interrupted"
    #: The transport failed or the peer sent something illegal (WebSocket read error).
    TRANSPORT_ERROR = "transport_error"
    #: No receiver attached for ``disconnect_delay`` seconds.
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Write ``frame`` (one SockJS frame, without transport wrapping) to ``receiver``.

    ``frame`` may be the empty string: sockjs-go's close frame of a session that was never
    closed explicitly, written once when the transport fails (``81 00`` on a WebSocket).
    """

    receiver: int
    frame: str


@dataclass(frozen=True, slots=True)
class ReceiverDone:
    """The session is finished with ``receiver``: end that HTTP response / close that socket.

    For a poll this follows its one frame; for a streaming response it follows the frame that
    reached the response limit (the client reconnects); for a WebSocket it means the session
    is over.
    """

    receiver: int


@dataclass(frozen=True, slots=True)
class MessagesReceived:
    """Messages from the peer, in order, for the application."""

    messages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The session stopped; the application's connection is over. Emitted once.

    ``code``/``reason`` are the close frame's, when the application closed it; ``None``
    otherwise (sockjs-go then never sends a ``c`` frame).
    """

    cause: CloseCause
    code: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SessionFinished:
    """The session reached its final state: forget it. A later poll with the same session id
    must create a new session (sockjs-go does, answering ``o`` again)."""


SessionEvent = SendFrame | ReceiverDone | MessagesReceived | SessionClosed | SessionFinished


# -- client side ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Opened:
    """The server sent ``o``: the session is open."""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The server sent ``h``."""


@dataclass(frozen=True, slots=True)
class ClosedByServer:
    """The server sent ``c[code,"reason"]``: the session is closed."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class SessionNotFound:
    """The server does not know the session (expired or never existed): it answered 404, or
    (XHR) a poll with ``o``, having opened a new session under the same id."""

    session_id: str


ClientEvent = Opened | Heartbeat | MessagesReceived | ClosedByServer | SessionNotFound
