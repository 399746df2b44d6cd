"""Serving a typed function as a kite method: the handler `Kite.method` registers.

How this works: `register_method` compiles the function's signature once (`_signature`) and
registers a handler that binds each request's arguments and calls the function: a plain
function is called right in the handler (served inline, like a plain `handle` handler), an
async one awaited, and a blocking one (`blocking=True`) run in a worker thread (`_blocking`).
The result is sent as the function returns it; the dnode scrubber writes dataclasses, enums
and tuples as JSON. The `Method` keeps the signature (`Method.signature`) for `kite.methods`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._blocking import run_blocking
from ._signature import TypedSignature, compile_signature

if TYPE_CHECKING:
    from .._handlers import Handler, Method
    from .._kite import Kite
    from .._request import Request

__all__ = ["register_method", "typed_handler"]


def typed_handler(
    kite: Kite, signature: TypedSignature, fn: Callable[..., Any], *, blocking: bool
) -> Handler:
    """A `Handler` that binds the request to `signature` and calls `fn`."""
    bind = signature.bind
    bind_args = signature.bind_args  # None when there are keyword-only parameters
    if blocking and signature.is_async:
        raise TypeError(f"{signature.function}(): blocking=True is for plain functions")
    handler: Handler
    if bind_args is not None:
        positional = bind_args
        if signature.is_async:

            async def handler_async(request: Request) -> Any:
                return await fn(*positional(request))

            handler = handler_async
        elif blocking:

            async def handler_blocking(request: Request) -> Any:
                return await run_blocking(kite, fn, *positional(request))

            handler = handler_blocking
        else:

            def handler_plain(request: Request) -> Any:
                return fn(*positional(request))

            handler = handler_plain
    elif signature.is_async:

        async def handler_async_kw(request: Request) -> Any:
            args, kwargs = bind(request)
            return await fn(*args, **kwargs)

        handler = handler_async_kw
    elif blocking:

        async def handler_blocking_kw(request: Request) -> Any:
            args, kwargs = bind(request)
            return await run_blocking(kite, functools.partial(fn, *args, **kwargs))

        handler = handler_blocking_kw
    else:

        def handler_plain_kw(request: Request) -> Any:
            args, kwargs = bind(request)
            return fn(*args, **kwargs)

        handler = handler_plain_kw
    functools.update_wrapper(handler, fn)
    return handler


def register_method(
    kite: Kite,
    fn: Callable[..., Any],
    name: str | None,
    *,
    auth: bool | None,
    blocking: bool,
) -> Method:
    """Register the typed function `fn` on `kite` as method `name` (default `fn.__name__`)."""
    signature = compile_signature(fn, name or fn.__name__)
    method = kite.handle_func(
        signature.name, typed_handler(kite, signature, fn, blocking=blocking), auth=auth
    )
    method.signature = signature
    return method
