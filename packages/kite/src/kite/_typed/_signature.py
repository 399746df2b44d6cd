"""Binding a request's `withArgs` to a typed function's parameters.

How this works: `compile_signature(fn, name)` reads `fn`'s signature and resolved annotations
once, when the method is registered, compiling each parameter's annotation (`_types`). Per
call, `TypedSignature.bind(request)` only walks the received values with the precompiled
converters and returns the `(args, kwargs)` to call `fn` with.

The binding rule:

* `withArgs` is a list of positional values (missing or `null`: none; any other single value:
  that one value). They fill the positional parameters in order, then `*args`; parameters left
  over take their defaults. A `null` for a parameter that has a default and whose type does
  not take `null` means "the default" (JavaScript's `undefined` arrives as `null`).
* **By name**: when `withArgs` is exactly one JSON object and the first positional parameter's
  type cannot take an object (it is not a dataclass, `TypedDict`, `dict` or `Any`), the
  object's keys name the parameters (keyword-only ones included). A parameter whose Python
  name is a keyword plus `_` (`from_`) is named without the `_` on the wire (`from`).
* A parameter annotated `kite.Request` is not on the wire: it receives the request.
* Any misfit is a `kite.ArgumentError` (`argumentError` on the wire) naming the function, the
  parameter, what was expected and what came:
  `add(): argument 'a' must be a number, got string "x"`,
  `add(): missing argument 'b' (a number)`, `add(): takes 2 arguments, got 3`,
  `add(): unexpected argument 'c'`, `move(): argument 'to.x' must be ...`.
"""

from __future__ import annotations

import inspect
import keyword
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._errors import ArgumentError
from .._rpc._request import Request
from ._types import MismatchError, Step, TypeSpec, compile_type

__all__ = ["Param", "TypedSignature", "compile_signature"]

_EMPTY: Any = inspect.Parameter.empty


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter on the wire.

    Attributes:
        name: the Python name.
        key: the name on the wire (`name`, or `from` for `from_`).
        spec: the compiled annotation.
        default: the default value, or `inspect.Parameter.empty`.
        positional: can be given by position.
        variadic: this is `*args` (`spec` is then the type of each item).
    """

    name: str
    key: str
    spec: TypeSpec
    default: Any = _EMPTY
    positional: bool = True
    variadic: bool = False

    @property
    def required(self) -> bool:
        """No default and not `*args`."""
        return self.default is _EMPTY and not self.variadic


#: A positional slot of the Python function: a wire parameter, or `None` for the request.
_Slot = Param | None


class TypedSignature:
    """A typed function's parameters and result, compiled for binding and describing.

    Attributes:
        name: the method name.
        function: the function's name, as error messages show it (`add`).
        doc: the function's docstring, cleaned (`inspect.getdoc`), or `""`.
        params: the wire parameters in order (positional, then `*args`, then keyword-only).
        result: the compiled return annotation, or `None` when it has no JSON form.
        is_async: the function is a coroutine function.
    """

    def __init__(
        self,
        name: str,
        function: str,
        doc: str,
        params: tuple[Param, ...],
        slots: tuple[_Slot, ...],
        result: TypeSpec | None,
        *,
        is_async: bool,
    ) -> None:
        self.name = name
        self.function = function
        self.doc = doc
        self.params = params
        self.result = result
        self.is_async = is_async
        self._slots = slots
        self._wire_slots = tuple(s for s in slots if s is not None)
        self._variadic = next((p for p in params if p.variadic), None)
        self._keyword_only = tuple(p for p in params if not p.positional and not p.variadic)
        self._by_key = {p.key: p for p in params if not p.variadic}
        first = self._wire_slots[0] if self._wire_slots else None
        self._by_name = bool(self._by_key) and (first is None or not first.spec.accepts_object)
        self._has_request = len(self._wire_slots) != len(slots)
        self._max = len(self._wire_slots)
        self._min = sum(1 for p in self._wire_slots if p.default is _EMPTY)
        # The common shape: positional parameters only, no request, no *args, no keywords.
        self._simple = not self._has_request and self._variadic is None and not self._keyword_only
        self._converters = tuple(p.spec.convert for p in self._wire_slots)
        #: `bind` for functions without keyword-only parameters: just the positional list.
        self.bind_args: Callable[[Request], list[Any]] | None = (
            None if self._keyword_only else self._fast_bind_args()
        )

    def _fast_bind_args(self) -> Callable[[Request], list[Any]]:
        """The per-call binder: every value given and fitting, converted in place in a copy;
        anything else (defaults, by name, misfits) through `bind`."""
        steps = tuple((i, c) for i, c in enumerate(self._converters) if c is not None)
        n_max = self._max
        one_object = self._by_name and n_max == 1  # `[{...}]` binds by name
        simple = self._simple
        bind = self.bind

        def bind_args(request: Request) -> list[Any]:
            raw = request.args.raw
            if (
                simple
                and type(raw) is list
                and len(raw) == n_max
                and not (one_object and type(raw[0]) is dict)
            ):
                out = raw.copy()
                try:
                    for i, convert in steps:
                        out[i] = convert(out[i])
                except MismatchError:
                    pass  # `bind` reports it, naming the parameter
                else:
                    return out
            return bind(request)[0]

        return bind_args

    def __repr__(self) -> str:
        return f"<TypedSignature {self.name!r} ({', '.join(p.name for p in self.params)})>"

    # -- binding ------------------------------------------------------------------------------

    def bind(self, request: Request) -> tuple[list[Any], dict[str, Any]]:
        """The arguments to call the function with for `request`.

        Raises:
            ArgumentError: the arguments do not fit (see the module docstring).
        """
        args = request.args
        raw = args.raw
        if type(raw) is not list:
            raw = [] if raw is None or args.is_nil else [raw]
        n = len(raw)
        if n == 1 and self._by_name and type(raw[0]) is dict:
            return self._bind_by_name(raw[0], request)
        if self._simple and self._min <= n <= self._max:
            out = list(raw)
            i = 0
            try:
                for i, convert in enumerate(self._converters):
                    if i == n:
                        out.extend(p.default for p in self._wire_slots[n:])
                        break
                    if convert is not None:
                        out[i] = convert(out[i])
            except MismatchError as exc:
                out[i] = self._misfit(self._wire_slots[i], out[i], exc)
                return self._finish_simple(out, i + 1, n), {}
            return out, {}
        return self._bind_positional(raw, request), {}

    def _finish_simple(self, out: list[Any], start: int, n: int) -> list[Any]:
        """The rest of a simple binding after a `null` took its parameter's default."""
        for i in range(start, self._max):
            param = self._wire_slots[i]
            if i < n:
                out[i] = self._convert(param, out[i])
            else:
                out.append(param.default)
        return out

    def _bind_positional(self, raw: list[Any], request: Request) -> list[Any]:
        n = len(raw)
        if n > self._max and self._variadic is None:
            count = "no arguments" if not self._max else _count(self._max)
            self._fail(f"takes {count}, got {n}")
        out: list[Any] = []
        i = 0
        for slot in self._slots:
            if slot is None:
                out.append(request)
            elif i < n:
                out.append(self._convert(slot, raw[i]))
                i += 1
            elif slot.default is not _EMPTY:
                out.append(slot.default)
            else:
                self._missing(slot)
        variadic = self._variadic
        if variadic is not None:
            out.extend(self._convert(variadic, v, j) for j, v in enumerate(raw[i:], i))
        for param in self._keyword_only:
            if param.default is _EMPTY:
                self._missing(param)
        return out

    def _bind_by_name(
        self, values: dict[str, Any], request: Request
    ) -> tuple[list[Any], dict[str, Any]]:
        by_key = self._by_key
        for key in values:
            if key not in by_key:
                self._fail(f"unexpected argument {key!r}")
        out: list[Any] = []
        for slot in self._slots:
            if slot is None:
                out.append(request)
            else:
                out.append(self._named(slot, values))
        kwargs = {p.name: self._named(p, values) for p in self._keyword_only if p.key in values}
        for param in self._keyword_only:
            if param.key not in values and param.default is _EMPTY:
                self._missing(param)
        return out, kwargs

    def _named(self, param: Param, values: dict[str, Any]) -> Any:
        if param.key in values:
            return self._convert(param, values[param.key])
        if param.default is _EMPTY:
            self._missing(param)
        return param.default

    def _convert(self, param: Param, value: Any, index: int | None = None) -> Any:
        convert = param.spec.convert
        if convert is None:
            return value
        try:
            return convert(value)
        except MismatchError as exc:
            if index is not None:  # an item of *args
                exc.inside(index)
            return self._misfit(param, value, exc)

    def _misfit(self, param: Param, value: Any, exc: MismatchError) -> Any:
        """A value that did not convert: the default for a `null`, else the error."""
        if value is None and not exc.steps and param.default is not _EMPTY:
            return param.default
        raise self._error(f"argument {_path(param.key, exc.steps)} {exc.problem}")

    def _missing(self, param: Param) -> typing.NoReturn:
        self._fail(f"missing argument {param.key!r} ({param.spec.expected})")

    def _fail(self, text: str) -> typing.NoReturn:
        raise self._error(text)

    def _error(self, text: str) -> ArgumentError:
        return ArgumentError(f"{self.function}(): {text}")


def _count(n: int) -> str:
    return "1 argument" if n == 1 else f"{n} arguments"


def _path(key: str, steps: tuple[Step, ...]) -> str:
    """`'a'`, `'xs[2]'`, `'to.x'`, `'opts["a b"]'`."""
    text = key
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        elif step.isidentifier():
            text += f".{step}"
        else:
            text += f'["{step}"]'
    return repr(text)


def _wire_key(name: str) -> str:
    if name.endswith("_") and keyword.iskeyword(name[:-1]):
        return name[:-1]
    return name


def compile_signature(fn: Callable[..., Any], name: str) -> TypedSignature:
    """Compile `fn` (a plain or async function with annotations) served as method `name`.

    Raises:
        TypeError: an annotation has no JSON form, or `fn` takes `**kwargs`; the message
            names the function and the parameter.
    """
    function = getattr(fn, "__name__", name)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise TypeError(f"{function}(): cannot resolve the annotations: {exc}") from exc
    signature = inspect.signature(fn)
    params: list[Param] = []
    slots: list[_Slot] = []
    keyword_only: list[Param] = []
    for p in signature.parameters.values():
        annotation = hints.get(p.name, Any)
        if p.kind is p.VAR_KEYWORD:
            raise TypeError(f"{function}(): **{p.name} is not supported; name the parameters")
        if annotation is Request:
            if p.kind is p.KEYWORD_ONLY or p.kind is p.VAR_POSITIONAL:
                raise TypeError(f"{function}(): the request parameter {p.name!r} is positional")
            slots.append(None)
            continue
        try:
            spec = compile_type(annotation)
        except TypeError as exc:
            raise TypeError(f"{function}(): parameter {p.name!r}: {exc}") from None
        param = Param(
            p.name,
            _wire_key(p.name),
            spec,
            p.default,
            positional=p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD),
            variadic=p.kind is p.VAR_POSITIONAL,
        )
        if param.variadic:
            params.append(param)
        elif param.positional:
            params.append(param)
            slots.append(param)
        else:
            keyword_only.append(param)
    params.extend(keyword_only)
    result: TypeSpec | None = None
    if "return" in hints:
        try:
            result = compile_type(hints["return"])
        except TypeError:
            result = None
    else:
        result = compile_type(Any)
    return TypedSignature(
        name,
        function,
        inspect.getdoc(fn) or "",
        tuple(params),
        tuple(slots),
        result,
        is_async=inspect.iscoroutinefunction(fn),
    )
