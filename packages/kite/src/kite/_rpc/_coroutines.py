"""Stepping coroutines by hand: how the RPC core runs a request inline in the reading task.

`is_awaitable` tells a handler's plain result from an awaitable one without the cost of
`inspect.isawaitable` on plain JSON values. `resume` finishes, in the current task, a
coroutine the reader already stepped up to its first trio trap (see `_peer`).
"""

from __future__ import annotations

import contextvars
import inspect
import types
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, TypeGuard

__all__ = ["is_awaitable", "resume"]

_PLAIN = frozenset({type(None), bool, int, float, str, list, dict, tuple})
_CoroutineType = types.CoroutineType
_isawaitable = inspect.isawaitable


def is_awaitable(value: object) -> TypeGuard[Awaitable[Any]]:
    """`inspect.isawaitable`, answering at once for coroutines and plain JSON values."""
    kind = type(value)
    return kind is _CoroutineType or (kind not in _PLAIN and _isawaitable(value))


@types.coroutine
def resume(
    coro: Coroutine[Any, Any, Any], trap: Any, context: contextvars.Context
) -> Generator[Any, Any, None]:
    """Finish `coro`, already stepped up to its first `trap` in `context`, in this task.

    `yield from` for a coroutine already started: the trap goes to trio, then what trio sends
    (or throws) goes to `coro`, until it returns. Every step runs in `context`, the
    request's own (as a task of its own would have).
    """
    run = context.run
    while True:
        try:
            value = yield trap
        except BaseException as exc:  # noqa: BLE001 - forwarded to the coroutine
            try:
                trap = run(coro.throw, exc)
            except StopIteration:
                return
        else:
            try:
                trap = run(coro.send, value)
            except StopIteration:
                return
