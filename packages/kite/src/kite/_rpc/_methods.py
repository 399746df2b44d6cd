"""Method registry entries and handler chains: Go's `*kite.Method` and `MethodHandling` (§4.7).

How this works: a `Method` holds the main handler plus its own pre-handlers, post-handlers and
final funcs, the authentication flag and the throttle bucket. `run_chain` executes, for one
request: method pre-handlers, kite pre-handlers, the main handler, method post-handlers, kite
post-handlers, then final funcs (method's, then kite's). Any exception stops the chain; final
funcs then see `(None, error)` and each returns a new `(result, error)` pair, so one can turn a
failure into a success. Which handler's result is the answer is the method's `MethodHandling`
mode, captured when the method was registered (as in Go).

Handlers are plain or async callables taking the `Request`; a final func takes
`(request, result, error)` and returns `(result, error)` (or an awaitable of it).

Divergence from Go (docs/protocol.md §4.7): kite-level handlers apply to every call made after
they were added, not only to methods first called after that.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

from ._coroutines import is_awaitable
from ._descriptions import SignatureDescription
from ._request import Request
from ._throttle import TokenBucket

__all__ = ["FinalFunc", "Handler", "Method", "MethodHandling", "run_chain"]

#: A handler: `fn(request) -> result`, plain or async.
Handler: TypeAlias = Callable[[Request], Any]
#: A final func: `fn(request, result, error) -> (result, error)`, plain or async.
FinalFunc: TypeAlias = Callable[
    [Request, Any, "Exception | None"],
    "tuple[Any, Exception | None] | Awaitable[tuple[Any, Exception | None]]",
]


class MethodHandling(enum.IntEnum):
    """Which result of a handler chain is sent back (Go's `MethodHandling`)."""

    #: The main handler's result (Go's default, `ReturnMethod`).
    RETURN_METHOD = 0
    #: The first non-None result among pre-handlers, main handler and post-handlers.
    RETURN_FIRST = 1
    #: The result of the last handler executed.
    RETURN_LATEST = 2


class Method:
    """A registered method; the chaining setters mirror Go's `*kite.Method`.

    Calling a `Method` calls its main handler, so `@kite.handle(...)` keeps the decorated name
    usable as a function.
    """

    __slots__ = (
        "authenticate",
        "bucket",
        "described",
        "final_funcs",
        "handler",
        "handling",
        "name",
        "post_handlers",
        "pre_handlers",
    )

    def __init__(
        self,
        name: str,
        handler: Handler,
        *,
        authenticate: bool,
        handling: MethodHandling = MethodHandling.RETURN_METHOD,
    ) -> None:
        self.name = name
        self.handler = handler
        self.authenticate = authenticate
        self.handling = handling
        self.bucket: TokenBucket | None = None
        self.pre_handlers: list[Handler] = []
        self.post_handlers: list[Handler] = []
        self.final_funcs: list[FinalFunc] = []
        #: What `Kite.method` read from a typed function's signature (else `None`).
        self.described: SignatureDescription | None = None

    def __call__(self, request: Request) -> Any:
        return self.handler(request)

    def __repr__(self) -> str:
        return f"<Method {self.name!r} auth={self.authenticate}>"

    def disable_authentication(self) -> Method:
        """Serve this method without checking credentials."""
        self.authenticate = False
        return self

    def throttle(self, fill_interval: float, capacity: int) -> Method:
        """Limit calls with a token bucket (§4.8); a second call is ignored, as in Go.

        Args:
            fill_interval: seconds per refilled token.
            capacity: bucket size; the bucket starts full.
        """
        if self.bucket is None:
            self.bucket = TokenBucket(fill_interval, capacity)
        return self

    def pre_handle(self, fn: Handler) -> Method:
        """Run `fn(request)` before the main handler."""
        self.pre_handlers.append(fn)
        return self

    def post_handle(self, fn: Handler) -> Method:
        """Run `fn(request)` after the main handler."""
        self.post_handlers.append(fn)
        return self

    def final_func(self, fn: FinalFunc) -> Method:
        """Run `fn(request, result, error) -> (result, error)` after the chain, even on error."""
        self.final_funcs.append(fn)
        return self


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    result = fn(*args)
    if is_awaitable(result):
        result = await result
    return result


async def run_chain(
    method: Method,
    request: Request,
    kite_pre: Sequence[Handler] = (),
    kite_post: Sequence[Handler] = (),
    kite_final: Sequence[FinalFunc] = (),
) -> Any:
    """Run the handler chain of `method` for `request` and return the selected result.

    Raises:
        Exception: whatever error is left after the final funcs.
    """
    if not (method.pre_handlers or kite_pre or method.post_handlers or kite_post):
        # The common case: a bare handler.
        try:
            result: Any = await _call(method.handler, request)
            error: Exception | None = None
        except Exception as exc:  # noqa: BLE001 - any handler error becomes the reply
            result, error = None, exc
    else:
        result, error = await _chain(method, request, kite_pre, kite_post)
    for final in (*method.final_funcs, *kite_final):
        try:
            result, error = await _call(final, request, result, error)
        except Exception as exc:  # noqa: BLE001 - a failing final func is the error
            result, error = None, exc
    if error is not None:
        raise error
    return result


async def _chain(
    method: Method,
    request: Request,
    kite_pre: Sequence[Handler],
    kite_post: Sequence[Handler],
) -> tuple[Any, Exception | None]:
    mode = method.handling
    selected: Any = None
    try:
        for fn in (*method.pre_handlers, *kite_pre):
            value = await _call(fn, request)
            if mode is MethodHandling.RETURN_LATEST or (
                mode is MethodHandling.RETURN_FIRST and selected is None
            ):
                selected = value
        value = await _call(method.handler, request)
        if mode is not MethodHandling.RETURN_FIRST or selected is None:
            selected = value
        for fn in (*method.post_handlers, *kite_post):
            value = await _call(fn, request)
            if mode is MethodHandling.RETURN_LATEST or (
                mode is MethodHandling.RETURN_FIRST and selected is None
            ):
                selected = value
    except Exception as exc:  # noqa: BLE001 - any error stops the chain (Go)
        return None, exc
    return selected, None
