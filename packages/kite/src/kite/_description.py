"""What a kite offers: `Kite.describe()`, the built-in `kite.methods`, `remote.methods()`.

How this works: each registered `Method` is described as a `MethodDescription`: its name, its
docstring, whether it needs authentication, and, for methods registered with `Kite.method`,
its parameters (name, JSON Schema, required, default) and its result's JSON Schema, read
from the typed signature (`_typed`). Methods registered with `handle` have `params=None`
(not described) and the result schema `{}` (anything).

`kite.methods` answers, with no authentication needed, `{"methods": [...]}` (the
`MethodDescription.to_json` objects, sorted by name) listing the methods the caller may call:
all of them when the caller's credentials pass the kite's `authenticate` (or on a connection
this kite dialled), else only those without authentication. Go kites have no such method:
`remote.methods()` turns their `methodNotFound` into `MethodsNotDescribedError`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._errors import InvalidResponseError, MethodNotFoundError, MethodsNotDescribedError

if TYPE_CHECKING:
    from ._handlers import Method
    from ._kite import Kite
    from ._request import Request

__all__ = [
    "METHODS_METHOD",
    "MethodDescription",
    "ParamDescription",
    "describe_kite",
    "describe_method",
    "methods_handler",
    "remote_methods",
]

#: The name of the built-in that describes a kite's methods.
METHODS_METHOD = "kite.methods"


@dataclass(frozen=True, slots=True)
class ParamDescription:
    """One parameter of a typed method.

    Attributes:
        name: the name on the wire (for binding by name).
        schema: JSON Schema of the accepted values (for `*args`: of each value).
        required: the caller must give it.
        default: the default (JSON) when not required; `None` when it has no JSON form.
        variadic: this is `*args`: it takes all remaining positional values.
    """

    name: str
    schema: dict[str, Any]
    required: bool
    default: Any = None
    variadic: bool = False

    def to_json(self) -> dict[str, Any]:
        """`{"name", "schema", "required"[, "default"][, "variadic"]}`."""
        out: dict[str, Any] = {"name": self.name, "schema": self.schema, "required": self.required}
        if not self.required and not self.variadic:
            out["default"] = self.default
        if self.variadic:
            out["variadic"] = True
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ParamDescription:
        """The inverse of `to_json` (lenient: missing keys take their defaults)."""
        return cls(
            str(obj.get("name", "")),
            dict(obj.get("schema") or {}),
            bool(obj.get("required", False)),
            obj.get("default"),
            bool(obj.get("variadic", False)),
        )


@dataclass(frozen=True, slots=True)
class MethodDescription:
    """One method of a kite.

    Attributes:
        name: the method name.
        doc: its docstring (`""` when none).
        params: its parameters, or `None` when not described (a `handle` handler reads its
            own arguments).
        result: JSON Schema of its result (`{}`: anything).
        auth: the method needs authentication.
    """

    name: str
    doc: str
    params: tuple[ParamDescription, ...] | None
    result: dict[str, Any]
    auth: bool

    def to_json(self) -> dict[str, Any]:
        """`{"name", "doc", "params", "result", "auth"}` (`params` `null` when undescribed)."""
        params = None if self.params is None else [p.to_json() for p in self.params]
        return {
            "name": self.name,
            "doc": self.doc,
            "params": params,
            "result": self.result,
            "auth": self.auth,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> MethodDescription:
        """The inverse of `to_json` (lenient: missing keys take their defaults)."""
        params = obj.get("params")
        return cls(
            str(obj.get("name", "")),
            str(obj.get("doc") or ""),
            None if params is None else tuple(ParamDescription.from_json(p) for p in params),
            dict(obj.get("result") or {}),
            bool(obj.get("auth", False)),
        )


def _json_or_none(value: Any, to_json: Callable[[Any], Any] | None) -> Any:
    try:
        value = to_json(value) if to_json is not None else value
        json.dumps(value)
    except (TypeError, ValueError, AttributeError):
        return None
    return value


def describe_method(method: Method) -> MethodDescription:
    """The description of one registered method."""
    signature = method.signature
    if signature is None:
        return MethodDescription(
            method.name, inspect.getdoc(method.handler) or "", None, {}, method.authenticate
        )
    params = tuple(
        ParamDescription(
            p.key,
            p.spec.schema,
            p.required,
            None if p.required or p.variadic else _json_or_none(p.default, p.spec.to_json),
            p.variadic,
        )
        for p in signature.params
    )
    result = signature.result.schema if signature.result is not None else {}
    return MethodDescription(method.name, signature.doc, params, result, method.authenticate)


def describe_kite(kite: Kite, *, authenticated: bool = True) -> list[MethodDescription]:
    """Every method of `kite`, sorted by name (only those without authentication unless
    `authenticated`)."""
    return [
        describe_method(m)
        for name, m in sorted(kite.methods.items())
        if authenticated or not m.authenticate
    ]


async def _authenticated(request: Request) -> bool:
    if request.client.trusted:
        return True
    try:
        claimed = request.local_kite.authenticate(request)
        if inspect.isawaitable(claimed):
            await claimed
    except Exception:  # noqa: BLE001 - a refusal: only the methods without authentication
        return False
    return True


async def methods_handler(request: Request) -> dict[str, Any]:
    """The methods you may call: name, doc, parameters and result (JSON Schema), auth."""
    allowed = await _authenticated(request)
    described = describe_kite(request.local_kite, authenticated=allowed)
    return {"methods": [d.to_json() for d in described]}


async def remote_methods(
    tell: Callable[..., Awaitable[Any]],
    timeout: float | None,  # noqa: ASYNC109 - passed on to `tell`
) -> list[MethodDescription]:
    """Ask a remote kite's `kite.methods` through `tell(method, timeout=...)`.

    Raises:
        MethodsNotDescribedError: the remote kite has no `kite.methods` (a Go kite).
        InvalidResponseError: the answer is not a description.
    """
    try:
        answer = await tell(METHODS_METHOD, timeout=timeout)
    except MethodNotFoundError as exc:
        raise MethodsNotDescribedError(
            "this kite does not describe its methods (it has no kite.methods; Go kites don't)",
            id=exc.id,
        ) from None
    methods = answer.get("methods") if isinstance(answer, dict) else None
    if not isinstance(methods, list) or not all(isinstance(m, dict) for m in methods):
        raise InvalidResponseError(f"kite.methods answered {str(answer)[:80]!r}")
    return [MethodDescription.from_json(m) for m in methods]
