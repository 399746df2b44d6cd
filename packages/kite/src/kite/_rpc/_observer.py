"""What the RPC core tells an observer about each call (logging, tracing, metrics).

How this works: a `LocalKite` carries `observer`, a `CallObserver` or `None`. With `None` (the
default) the core does nothing more than read that attribute per call. With one:
- the callee pipeline asks `serve(peer, method, trace)` when a request for a known method
  arrives (`trace` is the caller's trace context from the envelope, or `None`) and calls
  `end(error)` on what it returns once the response is sent (`error` is the wire error object,
  or `None`), with the handler run in between;
- `Peer.call` hands the whole outgoing call to `call(peer, method, args, timeout,
  free_callbacks)`, which makes it by calling `peer.call(..., trace_context=...)` with the
  trace context to put in the envelope (a dict of W3C `traceparent`/`tracestate`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, Protocol

from ..protocol import KiteIdentity

__all__ = [
    "CALL_LOG",
    "NO_TRACE",
    "CallLog",
    "CallObserver",
    "ObservedPeer",
    "ServedCall",
    "call_log",
    "client_log",
    "log_called",
    "log_handler_error",
    "log_served",
]


class ObservedPeer(Protocol):
    """What an observer reads of a connection (a `Peer`)."""

    kite: KiteIdentity

    @property
    def remote_address(self) -> tuple[str, int] | None:
        """The other end's `(host, port)` when the transport knows it."""

    @property
    def transport(self) -> str:
        """The transport's name (`websocket`, `xhr-polling`, `memory`, ...)."""

    async def call(
        self,
        method: str,
        args: list[Any] | None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
        free_callbacks: bool = False,
        trace_context: Mapping[str, str] | None = None,
    ) -> Any:
        """`Peer.call`."""


class ServedCall(Protocol):
    """One served call being observed."""

    def end(self, error: Mapping[str, str] | None, exc: BaseException | None) -> None:
        """The response went out: `error` is the wire error object (`None`: a result),
        `exc` the exception the pipeline turned into it, if any."""


class CallObserver(Protocol):
    """Observes the calls a kite serves and makes (see the module docstring)."""

    def serve(self, peer: ObservedPeer, method: str, trace: Any) -> ServedCall:
        """A request for `method` arrived on `peer`, carrying `trace` (or `None`)."""

    async def call(
        self,
        peer: ObservedPeer,
        method: str,
        args: list[Any] | None,
        timeout: float | None,  # noqa: ASYNC109
        free_callbacks: bool,
    ) -> Any:
        """Make the outgoing call through `peer.call(..., trace_context=...)`."""


#: Served calls: failures at ERROR, one line per call at DEBUG.
call_log: Final = logging.getLogger("kite.server")
#: Calls made: one line per call at DEBUG.
client_log: Final = logging.getLogger("kite.client")
#: Passed as `trace_context` by observers: no envelope field, and no observer again.
NO_TRACE: Final[Mapping[str, str]] = MappingProxyType({})


def log_handler_error(method: str, request: Any, exc: BaseException) -> None:
    """Log a handler's failure with its traceback and the request id its caller sees."""
    call_log.error(
        "%s from %s failed (request id %s): %s",
        method,
        _caller(request.client),
        request.id,
        exc,
        exc_info=exc,
    )


def _caller(peer: ObservedPeer) -> str:
    kite = peer.kite
    who = f"{kite.username or '?'}/{kite.name or '?'}"
    address = peer.remote_address
    return f"{who}@{address[0]}:{address[1]}" if address else who


def log_served(
    method: str, peer: ObservedPeer, seconds: float, error: Mapping[str, str] | None
) -> None:
    """The DEBUG line of one served call: method, caller, duration and outcome (the wire
    error's type and message, or `ok`)."""
    if call_log.isEnabledFor(logging.DEBUG):
        outcome = "ok" if error is None else f"{error.get('type', '')}: {error.get('message', '')}"
        call_log.debug(
            "served %s from %s in %.3f ms: %s", method, _caller(peer), seconds * 1e3, outcome
        )


def log_called(method: str, peer: ObservedPeer, seconds: float, exc: BaseException | None) -> None:
    """The DEBUG line of one call made: method, callee, duration and outcome (the exception's
    class and text, or `ok`)."""
    if client_log.isEnabledFor(logging.DEBUG):
        outcome = "ok" if exc is None else f"{type(exc).__name__}: {exc}"
        client_log.debug(
            "called %s on %s in %.3f ms: %s", method, _caller(peer), seconds * 1e3, outcome
        )


class _LoggedCall:
    __slots__ = ("method", "peer", "start")

    def __init__(self, peer: ObservedPeer, method: str) -> None:
        self.peer = peer
        self.method = method
        self.start = time.perf_counter()

    def end(self, error: Mapping[str, str] | None, exc: BaseException | None) -> None:
        log_served(self.method, self.peer, time.perf_counter() - self.start, error)


class CallLog:
    """The observer used while `kite.server` / `kite.client` log at DEBUG and no other is set:
    one line per call served or made, with the peer, the duration and the outcome."""

    def serve(self, peer: ObservedPeer, method: str, trace: Any) -> ServedCall:
        return _LoggedCall(peer, method)

    async def call(
        self,
        peer: ObservedPeer,
        method: str,
        args: list[Any] | None,
        timeout: float | None,  # noqa: ASYNC109
        free_callbacks: bool,
    ) -> Any:
        start = time.perf_counter()
        failure: BaseException | None = None
        try:
            return await peer.call(
                method, args, timeout=timeout, free_callbacks=free_callbacks, trace_context=NO_TRACE
            )
        except BaseException as exc:
            failure = exc
            raise
        finally:
            log_called(method, peer, time.perf_counter() - start, failure)


CALL_LOG: Final = CallLog()
