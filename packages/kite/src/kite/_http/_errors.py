"""Transport errors: the only exceptions the HTTP/WebSocket layer lets out.

    TransportError                 any failure of the network layer
    ├── ConnectError               could not open a TCP/TLS connection (refused, DNS, TLS)
    ├── ListenError                a server could not listen on host:port (also an OSError,
    │                              with the `errno` of the failure, e.g. EADDRINUSE)
    ├── TransportTimeoutError      an operation did not finish within its timeout
    ├── ProtocolError              the peer broke HTTP or WebSocket framing
    ├── HandshakeError             a WebSocket upgrade was refused (gorilla's ErrBadHandshake):
    │                              carries the HTTP `status`, `headers` and `body` of the answer
    ├── BodyTooLargeError          a request/response body exceeds its size limit (HTTP 413)
    └── ConnectionClosedError      the connection is closed; `code`/`reason` are the WebSocket
                                   close code and reason (1006 when no close frame was seen)

trio, h11, wsproto, ssl and socket exceptions are translated at the boundary by `map_errors`
(the httpcore `map_exceptions` pattern), so callers catch one tree; `kite` exports it
(`kite.TransportError`, ...).
"""

from __future__ import annotations

import ssl
from types import TracebackType

import h11
import trio

__all__ = [
    "BodyTooLargeError",
    "ConnectError",
    "ConnectionClosedError",
    "HandshakeError",
    "ListenError",
    "ProtocolError",
    "TransportError",
    "TransportTimeoutError",
]

ABNORMAL_CLOSURE = 1006


class TransportError(Exception):
    """Base class of every HTTP/WebSocket transport failure."""


class ConnectError(TransportError):
    """A TCP or TLS connection could not be opened (refused, unreachable, DNS, TLS handshake)."""


class ListenError(TransportError, OSError):
    """A server could not listen on `host:port` (address in use, permission denied, bad host).

    `str(err)` names the address and the reason, as Go's `listen tcp` errors do:
    `cannot listen on 0.0.0.0:4000: address already in use`.

    Attributes:
        host: the address we tried to bind.
        port: the port we tried to bind.
        errno: the OS error number (`errno.EADDRINUSE`, ...), None when unknown.
        reason: the OS's reason text, lower-cased like Go's.
    """

    def __init__(self, host: str, port: int, cause: OSError) -> None:
        reason = cause.strerror or str(cause)
        self.reason = reason[:1].lower() + reason[1:]
        OSError.__init__(self, cause.errno, self.reason)
        self.host = host
        self.port = port

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"cannot listen on {host}:{self.port}: {self.reason}"


class TransportTimeoutError(TransportError):
    """A connect, handshake or request did not finish within its timeout."""


class ProtocolError(TransportError):
    """The peer sent bytes that are not valid HTTP/1.1 or WebSocket."""


class BodyTooLargeError(TransportError):
    """A body is larger than the configured limit (the server answers 413)."""


class HandshakeError(TransportError):
    """The server answered a WebSocket upgrade with something other than a valid 101.

    This is the one dial failure that makes Go's `auto` transport fall back to XHR polling.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers if headers is not None else []
        self.body = body


class ConnectionClosedError(TransportError):
    """The connection is closed; further sends and receives fail with this error.

    Attributes:
        code: the WebSocket close code (1006 = closed without a close frame; 1000 for plain
            HTTP connections closed cleanly).
        reason: the close reason text, possibly empty.
        local: True when this side initiated the close.
    """

    def __init__(
        self,
        message: str = "connection closed",
        *,
        code: int = ABNORMAL_CLOSURE,
        reason: str = "",
        local: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.local = local


class map_errors:  # noqa: N801 (a context manager used like a function)
    """Translate I/O-library exceptions raised inside the block into the transport tree.

    A class rather than a `@contextmanager` generator: it wraps every socket read and write,
    and entering a plain object costs a fraction of starting a generator.

    Args:
        connecting: map OSError/TLS failures to ConnectError (else ConnectionClosedError).
        closed: the error to raise for a broken/closed stream (defaults to a 1006 close).
    """

    __slots__ = ("_closed", "_connecting")

    def __init__(
        self, *, connecting: bool = False, closed: ConnectionClosedError | None = None
    ) -> None:
        self._connecting = connecting
        self._closed = closed

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, TransportError) or not isinstance(exc, Exception):
            return
        connecting = self._connecting
        closed = self._closed
        if isinstance(exc, trio.TooSlowError):
            raise TransportTimeoutError("timed out") from exc
        if isinstance(exc, trio.BrokenResourceError | trio.ClosedResourceError):
            if connecting:
                raise ConnectError(f"connection failed: {exc.__cause__ or exc}") from exc
            raise (closed or ConnectionClosedError(f"connection lost: {exc}")) from exc
        if isinstance(exc, h11.ProtocolError):
            raise ProtocolError(f"HTTP protocol error: {exc}") from exc
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            if connecting:
                raise ConnectError(f"TLS handshake failed: {exc}") from exc
            raise (closed or ConnectionClosedError(f"TLS error: {exc}")) from exc
        if isinstance(exc, OSError):
            if connecting:
                raise ConnectError(f"cannot connect: {exc}") from exc
            raise (closed or ConnectionClosedError(f"connection lost: {exc}")) from exc
