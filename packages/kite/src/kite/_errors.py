"""The one exception tree of `kite`, mirroring Go kite's error `type` strings.

The wire side: docs/protocol.md §4.4.

    KiteError                      type = any string (custom types from *kite.Error handlers)
    ├── MethodNotFoundError        methodNotFound
    │   └── MethodsNotDescribedError  (local: the remote kite has no kite.methods)
    ├── AuthenticationError        authenticationError
    ├── RequestLimitError          requestLimitError
    ├── ArgumentError              argumentError
    ├── GenericError               genericError
    ├── KiteTimeoutError           timeout          (local: no response in time)
    ├── SendError                  sendError        (local: could not send)
    ├── DisconnectError            disconnect       (local: peer went away while waiting)
    └── InvalidResponseError       invalidResponse  (local: malformed response)

A remote failure arrives as `{"type","message","code","id"}`; `KiteError.from_json` picks the
class by `type` (unknown types stay `KiteError` with that type) so callers can `except` either the
class or compare `.type` as Go programs do.

`id` is the request id: 16 hex digits the serving kite drew for the failed request (Go does the
same); a kite of this package logs a handler's exception with it (logger `kite.server`, level
ERROR, with the traceback; a `KiteError` the handler raised on purpose is not logged), so the id
finds the server's side of a failure. `str(err)` names it: `<type>: <message> (request id
<id>)`; `err.go_error()` is Go's `Error.Error()` text, `<type>: <message> (<id>)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "ArgumentError",
    "AuthenticationError",
    "DisconnectError",
    "GenericError",
    "InvalidResponseError",
    "KiteError",
    "KiteTimeoutError",
    "MethodNotFoundError",
    "MethodsNotDescribedError",
    "RequestLimitError",
    "SendError",
]


class KiteError(Exception):
    """An error with Go kite's wire shape: `type`, `message`, `code`, `id` (all strings)."""

    default_type: ClassVar[str] = "genericError"

    def __init__(
        self, message: str, *, type: str | None = None, code: str = "", id: str = ""
    ) -> None:
        super().__init__(message)
        self.type = type if type is not None else self.default_type
        self.message = message
        self.code = code
        self.id = id

    def to_json(self) -> dict[str, str]:
        """The error object Go sends, keys in Go's order `type, message, code, id`."""
        return {"type": self.type, "message": self.message, "code": self.code, "id": self.id}

    @staticmethod
    def from_json(obj: Mapping[str, Any]) -> KiteError:
        """Build the matching subclass from a received error object (lenient on missing keys)."""

        def text(key: str) -> str:
            value = obj.get(key)
            return value if isinstance(value, str) else ("" if value is None else str(value))

        type_ = text("type")
        cls = _BY_TYPE.get(type_, KiteError)
        return cls(text("message"), type=type_, code=text("code"), id=text("id"))

    @property
    def request_id(self) -> str:
        """The id of the failed request (see the module doc); empty when there is none."""
        return self.id

    def _head(self) -> str:
        return self.message if self.type in ("", "genericError") else f"{self.type}: {self.message}"

    def __str__(self) -> str:
        """`<type>: <message>` (just the message for genericError or no type), then
        ` (request id <id>)` when there is an id."""
        head = self._head()
        return f"{head} (request id {self.id})" if self.id else head

    def go_error(self) -> str:
        """Go's `Error.Error()` text: as `str(err)`, with the id as ` (<id>)`."""
        head = self._head()
        return f"{head} ({self.id})" if self.id else head

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.message!r}, type={self.type!r}, code={self.code!r}, id={self.id!r})"


class MethodNotFoundError(KiteError):
    """The remote kite has no such method (`methodNotFound`)."""

    default_type = "methodNotFound"


class MethodsNotDescribedError(MethodNotFoundError):
    """`remote.methods()` on a kite without `kite.methods` (a Go kite): it answered
    `methodNotFound`."""


class AuthenticationError(KiteError):
    """Credentials missing, unknown or refused (`authenticationError`)."""

    default_type = "authenticationError"


class RequestLimitError(KiteError):
    """The method's throttle bucket is empty (`requestLimitError`)."""

    default_type = "requestLimitError"


class ArgumentError(KiteError):
    """The handler could not read its arguments (`argumentError`)."""

    default_type = "argumentError"


class GenericError(KiteError):
    """A handler failed with a plain error (`genericError`)."""

    default_type = "genericError"


class KiteTimeoutError(KiteError):
    """No response within the call's timeout (`timeout`)."""

    default_type = "timeout"


class SendError(KiteError):
    """The message could not be sent (`sendError`)."""

    default_type = "sendError"


class DisconnectError(KiteError):
    """The remote kite went away while a call was waiting (`disconnect`)."""

    default_type = "disconnect"


class InvalidResponseError(KiteError):
    """The remote answered with a malformed response (`invalidResponse`)."""

    default_type = "invalidResponse"


_BY_TYPE: dict[str, type[KiteError]] = {
    cls.default_type: cls
    for cls in (
        MethodNotFoundError,
        AuthenticationError,
        RequestLimitError,
        ArgumentError,
        GenericError,
        KiteTimeoutError,
        SendError,
        DisconnectError,
        InvalidResponseError,
    )
}
