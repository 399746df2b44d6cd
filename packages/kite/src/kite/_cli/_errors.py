"""How the `kite` command fails: one line on stderr and an exit status.

    CLIError            exit 2: usage, configuration, connection (`kite: <message>`)
    └── RemoteError     exit 1: the remote side answered an error (`kite: <type>: <message>`)

`classify(exc)` turns what the runtime raises into one of them: a `KiteError` the remote sent
(`methodNotFound`, `genericError`, ...) is a `RemoteError`; a local one (timeout, send error,
disconnect, malformed answer) or a transport failure is a `CLIError`.
"""

from __future__ import annotations

from .._configerrors import ConfigError
from .._errors import (
    DisconnectError,
    InvalidResponseError,
    KiteError,
    KiteTimeoutError,
    SendError,
)
from .._http import TransportError

__all__ = ["EXIT_OK", "EXIT_REMOTE", "EXIT_USAGE", "CLIError", "RemoteError", "classify"]

EXIT_OK = 0
EXIT_REMOTE = 1
EXIT_USAGE = 2

_LOCAL = (KiteTimeoutError, SendError, DisconnectError, InvalidResponseError)


class CLIError(Exception):
    """A usage, configuration or connection failure (exit status 2)."""

    status = EXIT_USAGE


class RemoteError(CLIError):
    """The remote side answered an error (exit status 1)."""

    status = EXIT_REMOTE


def remote_text(exc: KiteError) -> str:
    """`<type>: <message>` of a remote error (the type even for `genericError`)."""
    return f"{exc.type or 'genericError'}: {exc.message}"


def classify(exc: BaseException) -> CLIError | None:
    """The `CLIError` for an exception the runtime raised, or None if it is not one we
    expect (a bug: let it show)."""
    if isinstance(exc, CLIError):
        return exc
    if isinstance(exc, _LOCAL):
        return CLIError(str(exc) or exc.type)
    if isinstance(exc, KiteError):
        if exc.type == "kontrolError":  # the local Kontrol client's own failures
            return CLIError(exc.message)
        return RemoteError(remote_text(exc))
    if isinstance(exc, TransportError):
        return CLIError(str(exc))
    if isinstance(exc, ConfigError):
        return CLIError(str(exc))
    if isinstance(exc, OSError):
        return CLIError(f"cannot connect: {exc.strerror or exc}")
    return None
