"""Descriptions of a kite's methods, as `kite.methods` sends them, and asking for them.

How this works: a `MethodDescription` is one method: its name, docstring, whether it needs
authentication, and for a typed method (`Kite.method`) its parameters (`ParamDescription`:
name, JSON Schema, required, default) and its result's JSON Schema; a method registered with
`handle` has `params=None` (not described) and the result schema `{}` (anything). `to_json`
and `from_json` are the wire form, the objects of `{"methods": [...]}`. A typed method keeps
its `SignatureDescription` on its `Method`, computed once at registration.

`remote_methods` asks a remote kite's `kite.methods`; Go kites have no such method, and their
`methodNotFound` becomes `MethodsNotDescribedError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import InvalidResponseError, MethodNotFoundError, MethodsNotDescribedError

__all__ = [
    "METHODS_METHOD",
    "MethodDescription",
    "ParamDescription",
    "SignatureDescription",
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


@dataclass(frozen=True, slots=True)
class SignatureDescription:
    """What a typed method's signature says: docstring, parameters, result schema."""

    doc: str
    params: tuple[ParamDescription, ...]
    result: dict[str, Any] = field(default_factory=dict)


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
    except MethodNotFoundError:
        raise MethodsNotDescribedError(
            "this kite does not describe its methods (it has no kite.methods; Go kites don't)"
        ) from None
    methods = answer.get("methods") if isinstance(answer, dict) else None
    if not isinstance(methods, list) or not all(isinstance(m, dict) for m in methods):
        raise InvalidResponseError(f"kite.methods answered {str(answer)[:80]!r}")
    return [MethodDescription.from_json(m) for m in methods]
