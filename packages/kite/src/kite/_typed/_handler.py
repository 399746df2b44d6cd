"""Serving a typed function as a kite method: the handler `Kite.method` registers.

How this works: `register_method` compiles the function's signature once (`_signature`) and
registers a handler that binds each request's arguments and calls the function: a plain
function is called right in the handler (served inline, like a plain `handle` handler), an
async one awaited, and a blocking one (`blocking=True`) run in a worker thread (`_blocking`).
The result is sent as the function returns it; the dnode scrubber writes dataclasses, enums
and tuples as JSON. The `Method` keeps what the signature says (`Method.described`, a
`SignatureDescription` made once here) for `kite.methods`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, Protocol

from .._rpc._blocking import ThreadLimited, run_blocking
from .._rpc._descriptions import ParamDescription, SignatureDescription
from .._rpc._methods import Handler, Method
from .._rpc._request import Request
from ._signature import Param, TypedSignature, compile_signature

__all__ = ["MethodRegistry", "describe_signature", "register_method", "typed_handler"]


class MethodRegistry(ThreadLimited, Protocol):
    """Where typed methods are registered (a `Kite`)."""

    def handle_func(self, name: str, fn: Handler, *, auth: bool | None = None) -> Method: ...


def typed_handler(
    kite: ThreadLimited, signature: TypedSignature, fn: Callable[..., Any], *, blocking: bool
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


def _default_json(param: Param) -> Any:
    """A parameter's default as JSON (`None` when it has none, or no JSON form)."""
    if param.required or param.variadic:
        return None
    to_json = param.spec.to_json
    try:
        value = to_json(param.default) if to_json is not None else param.default
        json.dumps(value)
    except (TypeError, ValueError, AttributeError):
        return None
    return value


def describe_signature(signature: TypedSignature) -> SignatureDescription:
    """What `kite.methods` says of a typed method's parameters and result."""
    params = tuple(
        ParamDescription(p.key, p.spec.schema, p.required, _default_json(p), p.variadic)
        for p in signature.params
    )
    result = signature.result.schema if signature.result is not None else {}
    return SignatureDescription(signature.doc, params, result)


def register_method(
    kite: MethodRegistry,
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
    method.described = describe_signature(signature)
    return method
