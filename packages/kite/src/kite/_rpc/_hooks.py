"""Running user hooks: plain or async callables whose failures must not stop the caller.

How this works: Go recovers from panics in kite's hooks (`OnConnect`, `OnDisconnect`,
`OnRegister`, token renewal hooks, client hooks); `run_hooks` does the same here: each hook
is called in order, awaited when it returns an awaitable, and an `Exception` it raises is
logged and swallowed. Cancellation and other `BaseException`s still propagate.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["maybe_await", "run_hooks"]


async def maybe_await(value: Any) -> Any:
    """`await value` if it is awaitable, else `value` itself (for plain-or-async callables)."""
    if inspect.isawaitable(value):
        return await value
    return value


async def run_hooks(
    hooks: Iterable[Callable[..., Any]], *args: Any, log: logging.Logger, what: str = "hook"
) -> None:
    """Call every hook with `args` in order (a snapshot of `hooks`), logging the failures."""
    for hook in list(hooks):
        try:
            await maybe_await(hook(*args))
        except Exception:  # Go swallows panics of hooks
            log.exception("%s %r failed", what, hook)
