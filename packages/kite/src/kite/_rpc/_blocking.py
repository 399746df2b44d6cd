"""Handlers that may block: run in a worker thread so the kite's other work goes on.

How this works: a handler declared `blocking=True` (`Kite.method`, `Kite.handle_func`) is
called through `run_blocking`, i.e. `trio.to_thread.run_sync` with the kite's
`thread_limiter` (`None`: trio's default limiter, 40 threads per `trio.run`). While the thread
runs, the request's task waits without holding the connection's reader, so other requests
and other connections are served.

Cancellation: a thread cannot be interrupted. When the request is cancelled (its connection
ended, the server's grace period ran out) the request stops waiting at once
(`abandon_on_cancel=True`): the thread runs to its end in the background, its result or
exception is dropped, and its limiter slot is freed only then. A timeout the caller sets
(`tell(..., timeout=...)`) does not reach the callee at all, as in Go: the thread finishes
and its answer is ignored by the caller. Code in the thread reaches back into trio with
`trio.from_thread.run(...)` (e.g. to call the caller's callback).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol

import trio

from ._request import Request

__all__ = ["ThreadLimited", "blocking_handler", "run_blocking"]


class ThreadLimited(Protocol):
    """What owns blocking handlers (a `Kite`): the limiter of their threads, read per call."""

    thread_limiter: trio.CapacityLimiter | None


async def run_blocking(kite: ThreadLimited, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a worker thread limited by `kite.thread_limiter`."""
    return await trio.to_thread.run_sync(
        fn, *args, limiter=kite.thread_limiter, abandon_on_cancel=True
    )


def blocking_handler(kite: ThreadLimited, fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """A handler running `fn(request)` in a worker thread (name and docstring kept).

    Raises:
        TypeError: `fn` is a coroutine function (it cannot block: it runs in trio).
    """
    if inspect.iscoroutinefunction(fn):
        raise TypeError(f"{getattr(fn, '__name__', fn)}(): blocking=True is for plain functions")

    @functools.wraps(fn)
    async def handler(request: Request) -> Any:
        return await run_blocking(kite, fn, request)

    return handler
