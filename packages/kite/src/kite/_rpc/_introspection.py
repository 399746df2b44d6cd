"""What a kite offers: `Kite.describe()` and the built-in `kite.methods`.

How this works: each registered `Method` is described as a `MethodDescription`
(`_descriptions`), from the `SignatureDescription` a typed method carries, or from its
handler's docstring. `kite.methods` answers, with no authentication needed, `{"methods":
[...]}` (sorted by name) listing the methods the caller may call: all of them when the
caller's credentials pass the kite's `authenticate` (or on a connection this kite dialled),
else only those without authentication.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ._descriptions import MethodDescription
from ._methods import Method
from ._request import Request

__all__ = ["Described", "MethodsBuiltin", "describe_kite", "describe_method"]


def describe_method(method: Method) -> MethodDescription:
    """The description of one registered method."""
    typed = method.described
    if typed is None:
        doc = inspect.getdoc(method.handler) or ""
        return MethodDescription(method.name, doc, None, {}, method.authenticate)
    return MethodDescription(
        method.name, typed.doc, typed.params, typed.result, method.authenticate
    )


class Described(Protocol):
    """What a kite's description is made of (a `Kite`): its methods and how it
    authenticates callers."""

    @property
    def methods(self) -> Mapping[str, Method]: ...

    @property
    def authenticate(self) -> Callable[[Request], Any]: ...


def describe_kite(kite: Described, *, authenticated: bool = True) -> list[MethodDescription]:
    """Every method of `kite`, sorted by name (only those without authentication unless
    `authenticated`)."""
    return [
        describe_method(m)
        for name, m in sorted(kite.methods.items())
        if authenticated or not m.authenticate
    ]


class MethodsBuiltin:
    """The methods you may call: name, doc, parameters and result (JSON Schema), auth."""

    # The built-in `kite.methods` of one kite (its docstring is what callers read):
    # `{"methods": [...]}`, everything when the caller's credentials pass `kite.authenticate`
    # or on a connection the kite dialled, else the methods without authentication.

    def __init__(self, kite: Described) -> None:
        self._kite = kite

    async def __call__(self, request: Request) -> dict[str, Any]:
        allowed = await self._authenticated(request)
        described = describe_kite(self._kite, authenticated=allowed)
        return {"methods": [d.to_json() for d in described]}

    async def _authenticated(self, request: Request) -> bool:
        if request.client.trusted:
            return True
        try:
            claimed = self._kite.authenticate(request)
            if inspect.isawaitable(claimed):
                await claimed
        except Exception:  # noqa: BLE001 - a refusal: only the methods without authentication
            return False
        return True
