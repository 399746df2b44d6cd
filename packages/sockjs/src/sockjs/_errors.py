"""The one exception tree of the `sockjs` package.

    SockJSError
    ├── ProtocolError            an input the protocol does not allow
    │   ├── LocalProtocolError   we were asked to do something illegal (a bug in the caller)
    │   └── RemoteProtocolError  the peer sent something illegal; carries the protocol's answer
    └── MessageTooLargeError     a message or payload over a configured limit

Errors carry the wire-level hint where there is one: `close_code`/`close_reason` for a session
that must be closed, `status`/`body` for an HTTP answer.
"""

from __future__ import annotations

__all__ = [
    "LocalProtocolError",
    "MessageTooLargeError",
    "ProtocolError",
    "RemoteProtocolError",
    "SockJSError",
]


class SockJSError(Exception):
    """Base of every error raised by `sockjs`."""


class ProtocolError(SockJSError):
    """An input that the SockJS protocol (or the state machine's table) does not allow.

    `status` and `body` are the HTTP answer the protocol prescribes, where there is one
    (e.g. 500 `Payload expected.`); `close_code`/`close_reason` the close frame, where the
    session has to end.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str | None = None,
        close_code: int | None = None,
        close_reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.close_code = close_code
        self.close_reason = close_reason


class LocalProtocolError(ProtocolError):
    """This side tried something illegal (send on a closed session, a second close, ...)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something illegal (broken JSON, no payload, an unknown frame, ...)."""


class MessageTooLargeError(SockJSError):
    """A message or payload larger than the configured limit; `limit` and `size` say by how much."""

    def __init__(self, message: str, *, limit: int, size: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.size = size
