"""Typed access to received arguments with Go's ``dnode.Partial`` semantics and error texts.

How this works: a :class:`Partial` wraps one already decoded (and unscrubbed) value. Each
accessor checks the value's JSON type the way Go's ``json.Unmarshal`` into the matching Go type
does, including Go's leniency (``null`` reads as the zero value) and Go's error texts
(``json: cannot unmarshal string into Go value of type float64. Data: "x"``,
``Invalid array length``), so a Go caller receiving our ``argumentError`` sees what a Go kite
would have said. ``Data:`` shows the value re-encoded in Go's spelling; Go shows the bytes as
received (whitespace included), which are not kept.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

from . import _json
from ._errors import ArgumentError
from ._scrub import RemoteFunction

__all__ = ["Partial"]

_T = TypeVar("_T")


class _Nil:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<nil>"


_NIL: Final[Any] = _Nil()


def _kind(value: Any) -> str:
    """JSON kind of an argument; a callback sits where the JSON had "[Function]", a string."""
    return "string" if callable(value) else _json.json_kind(value)


def _function_default(obj: object) -> Any:
    if callable(obj):
        return "[Function]"
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _data(value: Any) -> str:
    """The value in Go's JSON spelling, for the ``Data:`` part of Go's error texts."""
    import json

    try:
        text = json.dumps(
            value,
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
            default=_function_default,
        )
    except (TypeError, ValueError, RecursionError):
        return repr(value)
    return _json._go_spelling(text)


def _type_error(value: Any, go_type: str, where: str = "") -> ArgumentError:
    what = _kind(value)
    if what == "number" and go_type in ("int", "uint64"):
        what = f"number {_data(value)}"
    into = f"Go struct field {where}" if where else "Go value"
    return ArgumentError(
        f"json: cannot unmarshal {what} into {into} of type {go_type}. Data: {_data(value)}"
    )


class Partial:
    """One received argument value, with typed accessors that fail like Go's.

    ``Partial(value)`` wraps a decoded value (callbacks already placed by
    :func:`~dnode.unscrub`). ``Partial()`` is Go's nil Partial (e.g. a request whose
    ``withArgs`` was missing or ``null``): every accessor fails with
    ``Cannot unmarshal nil argument``.

    Raises (every accessor):
        ArgumentError: the value does not have the asked-for shape.
    """

    __slots__ = ("raw",)

    def __init__(self, raw: Any = _NIL) -> None:
        self.raw: Any = raw

    @property
    def is_nil(self) -> bool:
        """Whether this is Go's nil Partial (no value at all)."""
        return self.raw is _NIL

    def __repr__(self) -> str:
        return "Partial()" if self.raw is _NIL else f"Partial({self.raw!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Partial):
            return NotImplemented
        return bool(self.raw == other.raw)

    __hash__ = None  # type: ignore[assignment]

    def _value(self) -> Any:
        if self.raw is _NIL:
            raise ArgumentError("Cannot unmarshal nil argument")
        return self.raw

    def slice(self, length: int | None = None) -> list[Partial]:
        """The value as a list of Partials; with ``length``, require exactly that many.

        ``null`` gives ``[]`` (Go's nil slice).
        """
        value = self._value()
        if value is None:
            items: list[Any] = []
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            raise _type_error(value, "[]*dnode.Partial")
        if length is not None and len(items) != length:
            raise ArgumentError("Invalid array length")
        # Go decodes a JSON null element of []*Partial as a nil *Partial.
        return [Partial() if v is None else Partial(v) for v in items]

    def one(self) -> Partial:
        """The single element of a one-element list (Go's ``One()``)."""
        raw = self.raw
        if type(raw) is list and len(raw) == 1:  # the usual case, without slice()'s list
            item = raw[0]
            return Partial() if item is None else Partial(item)
        return self.slice(1)[0]

    def map(self) -> dict[str, Partial]:
        """The value as a dict of Partials (``null`` gives ``{}``)."""
        value = self._value()
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _type_error(value, "map[string]*dnode.Partial")
        # Go decodes a JSON null value of map[string]*Partial as a nil *Partial.
        return {k: Partial() if v is None else Partial(v) for k, v in value.items()}

    def string(self) -> str:
        """The value as a string (``null`` gives ``""``)."""
        raw = self.raw
        if type(raw) is str:  # the usual case, without _convert
            return raw
        return cast(str, _convert(self._value(), str, ""))

    def float(self) -> float:
        """The value as a float; any JSON number (``null`` gives ``0.0``)."""
        raw = self.raw
        if type(raw) is float:  # the usual case, without _convert
            return raw
        if type(raw) is int:
            return float(raw)
        return cast(float, _convert(self._value(), float, ""))

    def int(self) -> int:
        """The value as an int; a JSON number without fraction (``null`` gives ``0``)."""
        raw = self.raw
        if type(raw) is int:  # the usual case, without _convert
            return raw
        return cast(int, _convert(self._value(), int, ""))

    def bool(self) -> bool:
        """The value as a bool (``null`` gives ``False``)."""
        raw = self.raw
        if type(raw) is bool:  # the usual case, without _convert
            return raw
        return cast(bool, _convert(self._value(), bool, ""))

    def function(self) -> Callable[..., Any]:
        """The callback at this place.

        Raises:
            ArgumentError: ``invalid function`` if the peer sent no callback here (Go returns
                an invalid Function that fails with this text when called).
        """
        value = self._value()
        if not callable(value):
            raise ArgumentError("invalid function")
        return cast(Callable[..., Any], value)

    def unmarshal(self, cls: type[_T]) -> _T:
        """Convert the value to ``cls``: a dataclass, a scalar type, ``list``, ``dict``, ...

        Dataclass binding follows Go's ``json.Unmarshal`` into a struct: object keys match
        field names (or ``metadata["dnode"]``) ignoring case, unknown keys are ignored, absent
        fields keep their default or get the zero value of their type (``""``, ``0``,
        ``False``, ``None`` for optional fields, empty list/dict). Field annotations are
        checked for ``str``, ``int``, ``float``, ``bool``, lists, dicts, optionals, nested
        dataclasses, ``Partial`` and callables; other annotations take the value as is.
        """
        return cast(_T, _convert(self._value(), cls, ""))


# ---------------------------------------------------------------------------------------------
# conversion to annotated types

_GO_NAMES: Final[dict[Any, str]] = {
    str: "string",
    int: "int",
    float: "float64",
    bool: "bool",
    list: "[]interface {}",
    dict: "map[string]interface {}",
}


def _go_name(tp: Any) -> str:
    if tp in _GO_NAMES:
        return _GO_NAMES[tp]
    origin = typing.get_origin(tp)
    if origin is list:
        (arg,) = typing.get_args(tp) or (Any,)
        return "[]" + _go_name(arg)
    if origin is dict:
        args = typing.get_args(tp)
        return "map[string]" + (_go_name(args[1]) if len(args) == 2 else "interface {}")
    if tp is Any or tp is object:
        return "interface {}"
    if tp is Partial:
        return "dnode.Partial"
    return getattr(tp, "__name__", str(tp))


_HINTS: dict[type, tuple[tuple[str, str, Any, dataclasses.Field[Any]], ...]] = {}


def _fields(cls: type) -> tuple[tuple[str, str, Any, dataclasses.Field[Any]], ...]:
    spec = _HINTS.get(cls)
    if spec is None:
        hints = typing.get_type_hints(cls)
        items = []
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            key = f.metadata.get("dnode", f.name)
            if key == "-":
                continue
            items.append((f.name, str(key), hints.get(f.name, Any), f))
        spec = _HINTS[cls] = tuple(items)
    return spec


def _zero(tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp in (str, int, float, bool):
        return tp()
    if tp is list or origin is list:
        return []
    if tp is dict or origin is dict:
        return {}
    if tp is Any or tp is object or _optional(tp) is not None:
        return None
    if tp is Partial:
        return Partial(None)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _bind({}, tp, where)
    raise ArgumentError(f"missing value for Go struct field {where} of type {_go_name(tp)}")


def _optional(tp: Any) -> Any:
    """The X of ``X | None`` / ``Optional[X]``, else None."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != len(typing.get_args(tp)):
            return args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
    return None


def _convert(value: Any, tp: Any, where: str) -> Any:
    if tp is Any or tp is object:
        return value
    if tp is str:
        if value is None:
            return ""
        if type(value) is str:
            return value
        raise _type_error(value, "string", where)
    if tp is bool:
        if value is None:
            return False
        if type(value) is bool:
            return value
        raise _type_error(value, "bool", where)
    if tp is float:
        if value is None:
            return 0.0
        if type(value) is float:
            return value
        if type(value) is int:
            return float(value)
        raise _type_error(value, "float64", where)
    if tp is int:
        if value is None:
            return 0
        if type(value) is int:
            return value
        if type(value) is float and value.is_integer():
            return int(value)
        raise _type_error(value, "int", where)
    if tp is Partial:
        return Partial(value)
    inner = _optional(tp)
    if inner is not None:
        return None if value is None else _convert(value, inner, where)
    origin = typing.get_origin(tp)
    if tp is list or origin is list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise _type_error(value, _go_name(tp), where)
        args = typing.get_args(tp)
        if not args or args[0] is Any:
            return list(value)
        return [_convert(v, args[0], where) for v in value]
    if tp is dict or origin is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _type_error(value, _go_name(tp), where)
        args = typing.get_args(tp)
        if len(args) != 2 or args[1] is Any:
            return dict(value)
        return {k: _convert(v, args[1], where) for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _bind(value, tp, where)
    if tp is Callable or tp is typing.Callable or origin is Callable:
        if not callable(value):
            raise ArgumentError("invalid function")
        return value
    if tp is RemoteFunction or origin is RemoteFunction:
        if not isinstance(value, RemoteFunction):
            raise ArgumentError("invalid function")
        return value
    return value


def _bind(value: Any, cls: type, where: str) -> Any:
    if value is None:
        value = {}
    elif not isinstance(value, dict):
        raise _type_error(value, cls.__name__, where)
    spec = _fields(cls)
    by_key = {key: (attr, hint) for attr, key, hint, _ in spec}
    by_fold = {key.lower(): (attr, hint) for attr, key, hint, _ in reversed(spec)}
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        match = by_key.get(key) or by_fold.get(key.lower())
        if match is None:
            continue  # Go ignores unknown keys
        attr, hint = match
        kwargs[attr] = _convert(item, hint, f"{cls.__name__}.{key}")
    for attr, key, hint, f in spec:
        if attr in kwargs:
            continue
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            kwargs[attr] = _zero(hint, f"{cls.__name__}.{key}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"cannot build {cls.__name__}: {exc}") from None
