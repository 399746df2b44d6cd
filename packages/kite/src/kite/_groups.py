"""One exception for the user, never a nested exception group.

trio wraps whatever leaves a nursery in an `ExceptionGroup`, and each nested nursery wraps
again: a `ValueError` raised in the body of `async with kite.serve():` came out three groups
deep. The public `async with` objects therefore let a group that holds one exception (however
deeply nested) out as that exception, with its own traceback and context. A group of several
real failures stays a group: nothing is dropped.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import NoReturn, ParamSpec, TypeVar

__all__ = ["raise_single", "single_exception", "sole_exception"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


def sole_exception(exc: BaseException) -> BaseException:
    """The one exception inside (nested) single-exception groups, else `exc` itself."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def raise_single(group: BaseExceptionGroup[BaseException]) -> NoReturn:
    """Raise the group's sole exception as itself (its `__context__` kept, not replaced by
    the group), or the group when it holds several."""
    exc = sole_exception(group)
    if exc is group:
        raise group
    context = exc.__context__
    try:
        raise exc
    finally:
        exc.__context__ = context


def single_exception(
    fn: Callable[_P, AbstractAsyncContextManager[_T]],
) -> Callable[_P, AbstractAsyncContextManager[_T]]:
    """Decorate an async context manager function so that a group with one exception leaves
    its block as that exception (see the module doc)."""

    @functools.wraps(fn)
    @asynccontextmanager
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> AsyncIterator[_T]:
        try:
            async with fn(*args, **kwargs) as value:
                yield value
        except BaseExceptionGroup as group:
            raise_single(group)

    return wrapper
