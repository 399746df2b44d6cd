"""The one exception tree of the dnode package (drawn in ``dnode.__doc__``).

How this works: every error the package raises derives from :class:`DnodeError`, so a runtime
can guard one call with one ``except``. Errors about bad input also derive from ``ValueError``.
Errors that are about a place inside a value carry that place as a ``path`` tuple (ints for
list steps, strings for object keys), the same shape as dnode callback paths.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "CallbackLimitError",
    "DecodeError",
    "DnodeError",
    "EncodeError",
    "PathError",
    "ScrubError",
]

Path = tuple[str | int, ...]


class DnodeError(Exception):
    """Base class of every error raised by the dnode package."""


class DecodeError(DnodeError, ValueError):
    """The text is not JSON, or not a dnode message Go would accept.

    Go logs and drops such a message; a runtime should do the same (the connection stays up).
    """


class EncodeError(DnodeError, ValueError):
    """A message cannot be encoded as JSON the way Go would (NaN, unknown type, bad shape)."""


class ScrubError(EncodeError):
    """A value inside outgoing arguments has no JSON mapping.

    Attributes:
        path: where the value sits inside the arguments (``()`` is the arguments themselves).
    """

    def __init__(self, message: str, path: Path = ()) -> None:
        super().__init__(f"{message} at path {list(path)!r}")
        self.path: Path = path


class PathError(DnodeError, ValueError):
    """A received callback path cannot be followed inside the received arguments.

    Attributes:
        path: the callback path as received.
        callback_id: the id the path belongs to (``None`` when unknown).
    """

    def __init__(self, message: str, path: Path = (), callback_id: int | None = None) -> None:
        super().__init__(message)
        self.path: Path = path
        self.callback_id = callback_id


class ArgumentError(DnodeError, ValueError):
    """An argument does not have the shape a handler asked for (Go's ``*dnode.ArgumentError``).

    The message uses Go's texts (``Invalid array length``, ``json: cannot unmarshal string into
    Go value of type float64. Data: "x"``) so a Go caller sees what a Go kite would send in an
    ``argumentError`` response.
    """


class CallbackLimitError(DnodeError):
    """A :class:`~dnode.CallbackTable` holds as many callbacks as its limit allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"callback table is full ({limit} live callbacks); remove finished callbacks "
            "or raise the limit"
        )
        self.limit = limit
