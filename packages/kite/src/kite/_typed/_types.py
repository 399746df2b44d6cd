"""What a Python annotation means on the wire: a checker-converter and a JSON Schema.

How this works: `compile_type(annotation)` walks an annotation once, when a typed method is
registered, and returns a `TypeSpec`: `convert(value)` takes a decoded JSON value (callbacks
already placed as `dnode.RemoteFunction`s) and returns the Python value the function gets, or
raises `MismatchError`; `schema` is the JSON Schema of what is accepted; `expected` says it in
words ("a number", "an array of strings"). Containers build their converter from their
items' converters, so a call runs a few small closures and no annotation is looked at again.

| annotation | accepted JSON | Python value | schema |
|---|---|---|---|
| `Any`, `object`, none | anything | as received | `{}` |
| `None` | `null` | `None` | `{"type": "null"}` |
| `bool` | `true`/`false` | `bool` | `boolean` |
| `int` | a number without fraction (`3`, `3.0`) | `int` | `integer` |
| `float` | any number | `float` | `number` |
| `str` | a string | `str` | `string` |
| `list[T]`, `Sequence[T]` | an array | `list` | `array` + `items` |
| `tuple[A, B]`, `tuple[T, ...]` | an array (of that length) | `tuple` | `prefixItems`/`items` |
| `dict[str, T]`, `Mapping[str, T]` | an object | `dict` | `additionalProperties` |
| `X \\| Y`, `Optional[X]` | what a member accepts (first match) | | `anyOf` or `type` list |
| `Literal[...]` | one of the values | | `enum` |
| an `Enum` | one of its members' values | the member | `enum` |
| a dataclass, a `TypedDict` | an object of their fields | an instance / `dict` | `properties` |
| `Callable[...]` | a callback (a function the caller sent) | awaitable proxy | `x-kite-function` |
| `Annotated[T, "text"]` | as `T` | | `T`'s, with `description` |

Dataclass fields use the key the dnode scrubber writes (`field(metadata={"dnode": "key"})`),
so a dataclass reads back what it is sent as. Objects bound to a dataclass or TypedDict must not
carry unknown keys. Recursive types are refused at registration.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, Union

import dnode

__all__ = ["MismatchError", "Step", "TypeSpec", "compile_type", "describe_value", "json_default"]

#: A step into a value: an array index, an object key, or a dataclass/TypedDict field name.
Step = int | str

_ANY_SCHEMA: dict[str, Any] = {}
_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))


class MismatchError(Exception):
    """A received value does not fit its annotation.

    `steps` leads from the argument to the misfit value (outermost first); `problem` is the
    rest of the sentence, e.g. `must be a number, got string "x"`.
    """

    def __init__(self, problem: str, steps: tuple[Step, ...] = ()) -> None:
        super().__init__(problem)
        self.problem = problem
        self.steps = steps

    def inside(self, step: Step) -> MismatchError:
        """This mismatch, seen from one level up."""
        self.steps = (step, *self.steps)
        return self


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """One annotation, compiled.

    Attributes:
        convert: decoded JSON value -> Python value; raises `MismatchError`. `None` when every
            value is taken as it is (`Any`).
        schema: JSON Schema of the accepted values.
        expected: what is accepted, in words (`"a number"`).
        accepts_object: a JSON object can be a value of this type (decides whether a single
            object argument binds by name, see `_signature`).
        accepts_null: `null` is a value of this type.
        to_json: Python value -> JSON value (for describing defaults); `None` when unknown.
    """

    convert: Callable[[Any], Any] | None
    schema: dict[str, Any]
    expected: str
    accepts_object: bool = False
    accepts_null: bool = False
    to_json: Callable[[Any], Any] | None = field(default=None, compare=False)


_KINDS = {
    type(None): "null",
    bool: "boolean",
    int: "number",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def describe_value(value: Any, limit: int = 40) -> str:
    """A received value in words: `string "x"`, `number 1.5`, `null`, `a function`."""
    kind = _KINDS.get(type(value))
    if kind is None:
        return "a function" if callable(value) else type(value).__name__
    if kind == "null":
        return "null"
    try:
        text = json.dumps(value, ensure_ascii=False, default=lambda _: "[Function]")
    except ValueError:  # NaN and friends cannot come from JSON; be safe anyway
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"{kind} {text}"


def _mismatch(expected: str, value: Any) -> NoReturn:
    raise MismatchError(f"must be {expected}, got {describe_value(value)}")


def json_default(value: Any) -> Any:
    """A Python default value as JSON (`to_json` of types that need none)."""
    return value


# ---------------------------------------------------------------------------------------------
# scalars


def _convert_bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    _mismatch("a boolean", value)


def _convert_int(value: Any) -> int:
    t = type(value)
    if t is int:
        return value  # type: ignore[no-any-return]
    if t is float and value.is_integer():
        return int(value)
    _mismatch("an integer", value)


def _convert_float(value: Any) -> float:
    t = type(value)
    if t is float:
        return value  # type: ignore[no-any-return]
    if t is int:
        try:
            return float(value)
        except OverflowError:  # beyond float64, as Go's decoder refuses it
            pass
    _mismatch("a number", value)


def _convert_str(value: Any) -> str:
    if type(value) is str:
        return value
    _mismatch("a string", value)


def _convert_none(value: Any) -> None:
    if value is not None:
        _mismatch("null", value)


_SCALARS: dict[Any, TypeSpec] = {
    bool: TypeSpec(_convert_bool, {"type": "boolean"}, "a boolean", to_json=json_default),
    int: TypeSpec(_convert_int, {"type": "integer"}, "an integer", to_json=json_default),
    float: TypeSpec(_convert_float, {"type": "number"}, "a number", to_json=json_default),
    str: TypeSpec(_convert_str, {"type": "string"}, "a string", to_json=json_default),
    None: TypeSpec(
        _convert_none, {"type": "null"}, "null", accepts_null=True, to_json=json_default
    ),
}
_ANY = TypeSpec(
    None, _ANY_SCHEMA, "any value", accepts_object=True, accepts_null=True, to_json=json_default
)

_NOUNS = {
    "a boolean": "booleans",
    "an integer": "integers",
    "a number": "numbers",
    "a string": "strings",
    "null": "nulls",
}


def _plural(spec: TypeSpec) -> str:
    return _NOUNS.get(spec.expected, f"items that are {spec.expected}")


# ---------------------------------------------------------------------------------------------
# compiling


class _Compiler:
    """One `compile_type` walk; `seen` holds the classes being compiled (recursion guard)."""

    def __init__(self) -> None:
        self.seen: set[type] = set()

    def compile(self, tp: Any) -> TypeSpec:
        if tp is Any or tp is object:
            return _ANY
        if tp is None or tp is type(None):
            return _SCALARS[None]
        scalar = _SCALARS.get(tp)
        if scalar is not None:
            return scalar
        supertype = getattr(tp, "__supertype__", None)  # typing.NewType
        if supertype is not None:
            return self.compile(supertype)
        alias_value = getattr(tp, "__value__", None)  # a `type X = ...` alias (3.12+)
        if alias_value is not None and type(tp).__name__ == "TypeAliasType":
            return self.compile(alias_value)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            return self.annotated(args)
        if origin is Union or origin is types.UnionType:
            return self.union(args)
        if origin is Literal:
            return self.literal(args)
        if tp is list or origin in (list, collections.abc.Sequence):
            return self.array(args[0] if args else Any)
        if tp is tuple or origin is tuple:
            return self.tuple_of(args)
        if tp is dict or origin in (dict, collections.abc.Mapping):
            return self.mapping(args)
        if tp is collections.abc.Callable or origin is collections.abc.Callable:
            return self.function(args)
        if isinstance(tp, type):
            if issubclass(tp, enum.Enum):
                return self.enumeration(tp)
            if dataclasses.is_dataclass(tp):
                return self.guarded(tp, self.from_dataclass)
            if typing.is_typeddict(tp):
                return self.guarded(tp, self.from_typeddict)
            for base, spec in _SCALARS.items():  # a subclass of a scalar: as the scalar
                if base is not None and base is not bool and issubclass(tp, base):
                    return spec
        raise TypeError(f"cannot read a {_type_name(tp)} from JSON")

    def guarded(self, tp: type, build: Callable[[type], TypeSpec]) -> TypeSpec:
        if tp in self.seen:
            raise TypeError(f"{tp.__name__} refers to itself; recursive types are not supported")
        self.seen.add(tp)
        try:
            return build(tp)
        finally:
            self.seen.discard(tp)

    def annotated(self, args: tuple[Any, ...]) -> TypeSpec:
        inner = self.compile(args[0])
        notes = [a for a in args[1:] if isinstance(a, str)]
        if not notes:
            return inner
        return dataclasses.replace(inner, schema={**inner.schema, "description": " ".join(notes)})

    def union(self, args: tuple[Any, ...]) -> TypeSpec:
        members = [self.compile(a) for a in args]
        if any(m.convert is None for m in members):
            return _ANY
        expected = " or ".join(m.expected for m in members)
        converters = [m.convert for m in members if m.convert is not None]
        # Null first: `X | None` with `null` needs no try of X.
        nullable = any(m.accepts_null for m in members)

        def convert(value: Any) -> Any:
            if value is None and nullable:
                return None
            for fn in converters:
                try:
                    return fn(value)
                except MismatchError:
                    continue
            _mismatch(expected, value)

        return TypeSpec(
            convert,
            _union_schema([m.schema for m in members]),
            expected,
            accepts_object=any(m.accepts_object for m in members),
            accepts_null=nullable,
            to_json=_first_to_json(members),
        )

    def literal(self, values: tuple[Any, ...]) -> TypeSpec:
        plain = [v.value if isinstance(v, enum.Enum) else v for v in values]
        for v in plain:
            if type(v) not in (str, int, bool, type(None)):
                raise TypeError(f"Literal value {v!r} has no JSON form")
        by_key = {(type(p), p): v for p, v in zip(plain, values, strict=True)}
        expected = "one of " + ", ".join(json.dumps(p) for p in plain)

        def convert(value: Any) -> Any:
            kind = type(value)
            if kind in _SCALAR_TYPES:
                key = (kind, value) if kind is not float else (int, value)
                if key in by_key:
                    return by_key[key]
            _mismatch(expected, value)

        return TypeSpec(
            convert,
            {"enum": plain},
            expected,
            accepts_null=None in plain,
            to_json=lambda v: v.value if isinstance(v, enum.Enum) else v,
        )

    def enumeration(self, cls: type[enum.Enum]) -> TypeSpec:
        members = list(cls)
        values = [m.value for m in members]
        for v in values:
            if type(v) not in (str, int, float, bool) and v is not None:
                raise TypeError(f"{cls.__name__} has a value with no JSON form: {v!r}")
        by_key = {(type(m.value), m.value): m for m in members}
        expected = f"a {cls.__name__} (one of " + ", ".join(json.dumps(v) for v in values) + ")"

        def convert(value: Any) -> Any:
            kind = type(value)
            member = by_key.get((kind, value)) if kind in _SCALAR_TYPES else None
            if member is None and type(value) is float and value.is_integer():
                member = by_key.get((int, int(value)))
            if member is None:
                _mismatch(expected, value)
            return member

        return TypeSpec(
            convert,
            {"title": cls.__name__, "enum": values},
            expected,
            accepts_null=None in values,
            to_json=lambda m: m.value,
        )

    def array(self, item_type: Any) -> TypeSpec:
        item = self.compile(item_type)
        conv = item.convert
        expected = "an array" if conv is None else f"an array of {_plural(item)}"

        def convert(value: Any) -> list[Any]:
            if type(value) is not list:
                _mismatch(expected, value)
            if conv is None:
                return value
            out = []
            for i, v in enumerate(value):
                try:
                    out.append(conv(v))
                except MismatchError as exc:
                    raise exc.inside(i) from None
            return out

        schema: dict[str, Any] = {"type": "array"}
        if item.schema:
            schema["items"] = item.schema
        return TypeSpec(convert, schema, expected, to_json=_list_to_json(item))

    def tuple_of(self, args: tuple[Any, ...]) -> TypeSpec:
        if not args or (len(args) == 2 and args[1] is Ellipsis):
            item = self.compile(args[0] if args else Any)
            inner = self.array(args[0] if args else Any)
            list_conv = inner.convert
            assert list_conv is not None

            def convert_var(value: Any) -> tuple[Any, ...]:
                return tuple(list_conv(value))

            return TypeSpec(convert_var, inner.schema, inner.expected, to_json=_list_to_json(item))
        if args == ((),):  # tuple[()]
            args = ()
        items = [self.compile(a) for a in args]
        n = len(items)
        expected = f"an array of {n} item" + ("" if n == 1 else "s")
        converters = [(i, s.convert) for i, s in enumerate(items)]

        def convert(value: Any) -> tuple[Any, ...]:
            if type(value) is not list or len(value) != n:
                _mismatch(expected, value)
            out = list(value)
            for i, conv in converters:
                if conv is not None:
                    try:
                        out[i] = conv(out[i])
                    except MismatchError as exc:
                        raise exc.inside(i) from None
            return tuple(out)

        schema = {
            "type": "array",
            "prefixItems": [s.schema for s in items],
            "minItems": n,
            "maxItems": n,
        }
        to_jsons = [s.to_json for s in items]

        def to_json(value: Any) -> Any:
            return [f(v) if f is not None else v for f, v in zip(to_jsons, value, strict=False)]

        return TypeSpec(convert, schema, expected, to_json=to_json)

    def mapping(self, args: tuple[Any, ...]) -> TypeSpec:
        if args and args[0] is not str:
            raise TypeError("JSON object keys are strings: use dict[str, ...]")
        item = self.compile(args[1] if args else Any)
        conv = item.convert
        expected = "an object" if conv is None else f"an object of {_plural(item)}"

        def convert(value: Any) -> dict[str, Any]:
            if type(value) is not dict:
                _mismatch(expected, value)
            if conv is None:
                return value
            out = {}
            for k, v in value.items():
                try:
                    out[k] = conv(v)
                except MismatchError as exc:
                    raise exc.inside(k) from None
            return out

        schema: dict[str, Any] = {"type": "object"}
        if item.schema:
            schema["additionalProperties"] = item.schema
        item_json = item.to_json

        def to_json(value: Any) -> Any:
            if item_json is None:
                return None
            return {k: item_json(v) for k, v in value.items()}

        return TypeSpec(convert, schema, expected, accepts_object=True, to_json=to_json)

    def function(self, args: tuple[Any, ...]) -> TypeSpec:
        schema: dict[str, Any] = {"description": "a function (callback)"}
        params = args[0] if args else Ellipsis
        function: dict[str, Any] = {}
        if isinstance(params, list):
            function["arguments"] = [self.compile_lenient(p) for p in params]
        schema["x-kite-function"] = function

        def convert(value: Any) -> Any:
            if type(value) is not dnode.RemoteFunction and not callable(value):
                _mismatch("a function", value)
            return value

        return TypeSpec(convert, schema, "a function")

    def compile_lenient(self, tp: Any) -> dict[str, Any]:
        """The schema of a callback's argument (any annotation: unknown ones describe as {})."""
        try:
            return self.compile(tp).schema
        except TypeError:
            return {}

    def from_dataclass(self, cls: type) -> TypeSpec:
        hints = _hints(cls)
        fields = []
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            key = f.metadata.get("dnode", f.name) if f.metadata else f.name
            if key == "-":
                continue
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            fields.append((key, f.name, self.compile(hints[f.name]), required))
        return self.json_object(
            cls.__name__, fields, lambda kw: cls(**kw), _dataclass_to_json(fields)
        )

    def from_typeddict(self, cls: type) -> TypeSpec:
        hints = _hints(cls)
        required_keys = getattr(cls, "__required_keys__", frozenset(hints))
        fields = [
            (name, name, self.compile(_strip_required(tp)), _is_required(name, tp, required_keys))
            for name, tp in hints.items()
        ]
        to_jsons = {key: spec.to_json for key, _, spec, _ in fields}

        def to_json(value: Any) -> Any:
            out = {}
            for k, v in value.items():
                f = to_jsons.get(k)
                out[k] = f(v) if f is not None else v
            return out

        return self.json_object(cls.__name__, fields, lambda kw: kw, to_json)

    def json_object(
        self,
        title: str,
        fields: list[tuple[str, str, TypeSpec, bool]],
        build: Callable[[dict[str, Any]], Any],
        to_json: Callable[[Any], Any] | None,
    ) -> TypeSpec:
        expected = f"a {title} object"
        by_key = {key: (name, spec.convert) for key, name, spec, _ in fields}
        required = [(key, spec) for key, _, spec, req in fields if req]

        def convert(value: Any) -> Any:
            if type(value) is not dict:
                _mismatch(expected, value)
            kwargs = {}
            for k, v in value.items():
                entry = by_key.get(k)
                if entry is None:
                    raise MismatchError(f"has an unexpected field {json.dumps(k)}")
                name, conv = entry
                if conv is not None:
                    try:
                        v = conv(v)
                    except MismatchError as exc:
                        raise exc.inside(k) from None
                kwargs[name] = v
            if len(kwargs) < len(by_key):
                for key, spec in required:
                    if key not in value:
                        raise MismatchError(f"is missing field {json.dumps(key)} ({spec.expected})")
            return build(kwargs)

        schema = {
            "title": title,
            "type": "object",
            "properties": {key: spec.schema for key, _, spec, _ in fields},
            "required": [key for key, _ in required],
            "additionalProperties": False,
        }
        return TypeSpec(convert, schema, expected, accepts_object=True, to_json=to_json)


_QUALIFIERS = frozenset(
    q for q in (getattr(typing, n, None) for n in ("Required", "NotRequired", "ReadOnly")) if q
)


def _strip_required(tp: Any) -> Any:
    """A TypedDict item's type without `Required[...]`/`NotRequired[...]`/`ReadOnly[...]`."""
    while typing.get_origin(tp) in _QUALIFIERS:
        tp = typing.get_args(tp)[0]
    return tp


def _is_required(name: str, tp: Any, required_keys: frozenset[str]) -> bool:
    """Whether a TypedDict key is required: its own qualifier, else the class's totality
    (`__required_keys__` misses qualifiers written as strings before Python 3.12)."""
    origin = typing.get_origin(tp)
    if origin is typing.NotRequired:
        return False
    if origin is typing.Required:
        return True
    return name in required_keys


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:  # noqa: BLE001 - NameError mostly: an unknown name
        raise TypeError(f"cannot resolve the annotations of {cls.__name__}: {exc}") from None


def _type_name(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else repr(tp)


def _union_schema(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """`{"type": [..]}` when every member is a bare type, else `anyOf`."""
    if all(set(s) == {"type"} and isinstance(s["type"], str) for s in schemas):
        kinds = list(dict.fromkeys(s["type"] for s in schemas))
        return {"type": kinds[0] if len(kinds) == 1 else kinds}
    return {"anyOf": schemas}


def _first_to_json(members: list[TypeSpec]) -> Callable[[Any], Any]:
    def to_json(value: Any) -> Any:
        if value is None:
            return None
        for m in members:
            if m.to_json is not None and m.convert is not None:
                try:
                    return m.to_json(value)
                except (AttributeError, TypeError):
                    continue
        return value

    return to_json


def _list_to_json(item: TypeSpec) -> Callable[[Any], Any] | None:
    item_json = item.to_json
    if item_json is None:
        return None
    return lambda value: [item_json(v) for v in value]


def _dataclass_to_json(
    fields: list[tuple[str, str, TypeSpec, bool]],
) -> Callable[[Any], Any]:
    def to_json(value: Any) -> Any:
        out = {}
        for key, name, spec, _ in fields:
            v = getattr(value, name)
            out[key] = spec.to_json(v) if spec.to_json is not None else v
        return out

    return to_json


def compile_type(tp: Any) -> TypeSpec:
    """Compile one annotation (already resolved: no strings).

    Raises:
        TypeError: the annotation has no JSON form (a class that is not a dataclass,
            `bytes`, a recursive dataclass, `dict` with non-`str` keys, ...).
    """
    return _Compiler().compile(tp)
