"""Typed methods (`Kite.method`): binding, conversion, errors, over a real in-memory connection."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from kite_rpc_helpers import client_kite, connected
from kite_typed_helpers import Color, Level, Movie, Point, UserId, typed_kite

import dnode
import kite
from kite import ArgumentError, Config, Kite, Request
from kite._typed import MismatchError, compile_signature, compile_type


async def call(k: Kite, method: str, *args: Any) -> Any:
    async with connected(k, client_kite()) as (peer, _, _, _):
        return await peer.tell(method, *args, timeout=5)


async def refusal(k: Kite, method: str, *args: Any) -> ArgumentError:
    with pytest.raises(ArgumentError) as info:
        await call(k, method, *args)
    err = info.value
    assert (err.type, err.code) == ("argumentError", "")
    assert len(err.id) == 16  # the request id, as Go's errors carry
    return err


# -- values -----------------------------------------------------------------------------------

RESULTS = [
    ("add", (2, 3), 5),
    ("add", (1.5, 1), 2.5),
    ("greet", ("bob",), ["hello, bob"]),
    ("greet", ("bob", 2), ["hello, bob", "hello, bob"]),
    ("greet", ("bob", 2.0), ["hello, bob", "hello, bob"]),  # an integral number is an int
    ("greet", ("bob", None), ["hello, bob"]),  # null: the default
    ("greet", ({"name": "al", "times": 2},), ["hello, al", "hello, al"]),  # by name
    ("greet", ({"name": "al"},), ["hello, al"]),
    ("move", ({"x": 1, "name": "a"},), {"p": {"x": 2, "y": 0, "name": "a"}, "color": "red"}),
    ("move", ({"x": 1}, [2, 3]), {"p": {"x": 3, "y": 3, "name": ""}, "color": "red"}),
    ("whoami", (), "goclient"),
    ("whoami", ("!",), "goclient!"),
    ("whoami", ({"suffix": "?"},), "goclient?"),
    ("total", (), 0),
    ("total", (1, 2, 3), 6),
    ("countdown", ({"from": 3, "cb": lambda n: None},), 3),  # `from_` is `from` on the wire
    ("anything", ({"from": 3},), {"from": 3}),  # Any takes an object: positional
    ("anything", (), None),
]


@pytest.mark.parametrize(("method", "args", "expected"), RESULTS)
async def test_typed_method_results(method: str, args: tuple[Any, ...], expected: Any) -> None:
    assert await call(typed_kite(), method, *args) == expected


async def test_keyword_only_parameters_bind_by_name() -> None:
    k = typed_kite()
    assert await call(k, "scale", {"n": 2, "factor": 3}) == 6
    assert await call(k, "scale", 2) == 4
    assert await call(k, "scale", {"n": 2, "unit": "green"}) == 4


async def test_callbacks_are_the_callers_functions() -> None:
    seen: list[int] = []
    assert await call(typed_kite(), "progress", 3, seen.append) == "done"
    assert seen == [1, 2, 3]


ERRORS = [
    ("add", ("x", 1), """add(): argument 'a' must be a number, got string "x\""""),
    ("add", (1, True), "add(): argument 'b' must be a number, got boolean true"),
    ("add", (1,), "add(): missing argument 'b' (a number)"),
    ("add", (), "add(): missing argument 'a' (a number)"),
    ("add", (1, 2, 3), "add(): takes 2 arguments, got 3"),
    ("add", ({"a": 1, "c": 2},), "add(): unexpected argument 'c'"),
    ("add", ({"a": 1},), "add(): missing argument 'b' (a number)"),
    ("greet", ("bob", 1.5), "greet(): argument 'times' must be an integer, got number 1.5"),
    ("greet", (None,), "greet(): argument 'name' must be a string, got null"),
    ("progress", (3, 4), "progress(): argument 'report' must be a function, got number 4"),
    ("move", ({"x": "1"},), """move(): argument 'p.x' must be a number, got string "1\""""),
    ("move", ({"x": 1, "z": 1},), """move(): argument 'p' has an unexpected field "z\""""),
    ("move", ({},), """move(): argument 'p' is missing field "x" (a number)"""),
    ("move", ({"x": 1}, [1]), "move(): argument 'by' must be an array of 2 items, got array [1]"),
    ("move", ({"x": 1}, [1, "a"]),
     """move(): argument 'by[1]' must be a number, got string "a\""""),
    ("scale", ({"n": 1, "unit": "blue"},),
     """scale(): argument 'unit' must be a Color (one of "red", "green"), got string "blue\""""),
    ("scale", (1, 2), "scale(): takes 1 argument, got 2"),
    ("total", (1, "2"), """total(): argument 'values[1]' must be an integer, got string "2\""""),
    ("whoami", (1,), "whoami(): argument 'suffix' must be a string, got number 1"),
    ("whoami", ("a", "b"), "whoami(): takes 1 argument, got 2"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "args", "message"), ERRORS)
async def test_misfits_are_argument_errors_naming_the_parameter(
    method: str, args: tuple[Any, ...], message: str
) -> None:
    assert (await refusal(typed_kite(), method, *args)).message == message


async def test_a_plain_typed_method_is_served_inline_and_stays_callable() -> None:
    k = typed_kite()
    method = k.methods["add"]
    assert method.described is not None
    assert [p.name for p in method.described.params] == ["a", "b"]

    # The decorator returns the function itself.
    @k.method("twice")
    def twice(n: int) -> int:
        return 2 * n

    assert twice(4) == 8
    assert await call(k, "twice", 4) == 8


def test_registration_refuses_annotations_without_json_form() -> None:
    k = Kite("k", "1.0.0")
    with pytest.raises(TypeError, match=r"f\(\): parameter 'data': cannot read a bytes"):

        @k.method()
        def f(data: bytes) -> None: ...

    with pytest.raises(TypeError, match=r"g\(\): \*\*kw is not supported"):

        @k.method()
        def g(**kw: int) -> None: ...

    with pytest.raises(TypeError, match=r"h\(\): blocking=True is for plain functions"):

        @k.method(blocking=True)
        async def h() -> None: ...

    with pytest.raises(TypeError, match=r"j\(\): blocking=True is for plain functions"):

        @k.handle("j", blocking=True)
        async def j(r: Request) -> None: ...

    with pytest.raises(TypeError, match="JSON object keys are strings"):

        @k.method()
        def i(d: dict[int, int]) -> None: ...


# -- conversions, one annotation at a time ------------------------------------------------------

CONVERSIONS: list[tuple[Any, Any, Any]] = [
    (int, 3, 3),
    (int, 3.0, 3),
    (float, 3, 3.0),
    (bool, False, False),
    (str, "é", "é"),
    (None, None, None),
    (Any, {"a": [1]}, {"a": [1]}),
    (list[int], [1, 2.0], [1, 2]),
    (Sequence[str], ["a"], ["a"]),
    (list, [1, "a"], [1, "a"]),
    (tuple[int, str], [1, "a"], (1, "a")),
    (tuple[int, ...], [1, 2], (1, 2)),
    (dict[str, float], {"a": 1}, {"a": 1.0}),
    (int | None, None, None),
    (int | str, "a", "a"),
    (Literal["a", 1], 1, 1),
    (Color, "green", Color.GREEN),
    (Level, 2, Level.HIGH),
    (Movie, {"title": "x"}, {"title": "x"}),
    (Movie, {"title": "x", "year": 1999}, {"title": "x", "year": 1999}),
    (Point, {"x": 1, "name": "n"}, Point(1.0, 0.0, "n")),
    (Annotated[int, "a count"], 1, 1),
    (UserId, 7, 7),
]


@pytest.mark.parametrize(("annotation", "value", "expected"), CONVERSIONS)
def test_conversions(annotation: Any, value: Any, expected: Any) -> None:
    spec = compile_type(annotation)
    result = value if spec.convert is None else spec.convert(value)
    assert result == expected
    assert type(result) is type(expected)


MISFITS: list[tuple[Any, Any, str]] = [
    (int, True, "must be an integer, got boolean true"),
    (float, "1", 'must be a number, got string "1"'),
    (float, 10**400, "must be a number, got number " + "1" + "0" * 38 + "…"),
    (bool, 1, "must be a boolean, got number 1"),
    (list[int], {}, "must be an array of integers, got object {}"),
    (int | None, "x", 'must be an integer or null, got string "x"'),
    (Literal["a", 1], True, 'must be one of "a", 1, got boolean true'),
    (Level, 3, "must be a Level (one of 1, 2), got number 3"),
    (Movie, {"year": 1}, 'is missing field "title" (a string)'),
    (dict[str, int], {"k": "v"}, 'must be an integer, got string "v"'),
    (int, "x" * 100, 'must be an integer, got string "' + "x" * 38 + "…"),
]


@pytest.mark.parametrize(("annotation", "value", "problem"), MISFITS)
def test_misfits(annotation: Any, value: Any, problem: str) -> None:
    spec = compile_type(annotation)
    assert spec.convert is not None
    with pytest.raises(MismatchError) as info:
        spec.convert(value)
    assert info.value.problem == problem


SCHEMAS: list[tuple[Any, dict[str, Any]]] = [
    (int, {"type": "integer"}),
    (float, {"type": "number"}),
    (Any, {}),
    (int | None, {"type": ["integer", "null"]}),
    (list[str], {"type": "array", "items": {"type": "string"}}),
    (tuple[int, str], {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
                       "minItems": 2, "maxItems": 2}),
    (dict[str, bool], {"type": "object", "additionalProperties": {"type": "boolean"}}),
    (Literal["a", "b"], {"enum": ["a", "b"]}),
    (Color, {"title": "Color", "enum": ["red", "green"]}),
    (Point | None, {"anyOf": [compile_type(Point).schema, {"type": "null"}]}),
    (Movie, {"title": "Movie", "type": "object",
             "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
             "required": ["title"], "additionalProperties": False}),
    (Annotated[int, "a count"], {"type": "integer", "description": "a count"}),
]  # fmt: skip


@pytest.mark.parametrize(("annotation", "schema"), SCHEMAS)
def test_json_schemas(annotation: Any, schema: dict[str, Any]) -> None:
    assert compile_type(annotation).schema == schema


@dataclasses.dataclass
class Node:
    children: list[Node]


def test_recursive_dataclasses_are_refused() -> None:
    with pytest.raises(TypeError, match="recursive"):
        compile_type(Node)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10,
)  # fmt: skip
ANNOTATIONS = [int, float, str, bool, None, list[int], tuple[int, str], dict[str, float],
               int | None, Literal["a", 1], Color, Movie, Point, list[Point | None]]  # fmt: skip


@given(st.sampled_from(ANNOTATIONS), json_values)
def test_any_json_value_converts_or_mismatches_and_round_trips(annotation: Any, value: Any) -> None:
    spec = compile_type(annotation)
    assert spec.convert is not None
    assert spec.to_json is not None
    try:
        converted = spec.convert(value)
    except MismatchError as exc:  # a sentence, never another exception
        problem = exc.problem
        assert problem.startswith(("must be", "is missing", "has an unexpected"))
        return
    assert spec.to_json(converted) == value or annotation in (Point, list[Point | None])
    assert json.loads(json.dumps(spec.to_json(converted))) == spec.to_json(converted)


@pytest.mark.parametrize("annotation", [a for a, _ in SCHEMAS] + ANNOTATIONS)
def test_schemas_are_json_schema_2020_12(annotation: Any) -> None:
    Draft202012Validator.check_schema(compile_type(annotation).schema)


@given(st.sampled_from(ANNOTATIONS), json_values)
def test_the_schema_accepts_what_the_converter_accepts(annotation: Any, value: Any) -> None:
    """The published schema (checked by the `jsonschema` validator) and the converter agree
    on every JSON value: other tools can rely on the description."""
    spec = compile_type(annotation)
    assert spec.convert is not None
    try:
        spec.convert(value)
        accepted = True
    except MismatchError:
        accepted = False
    assert Draft202012Validator(spec.schema).is_valid(value) == accepted


# -- the Request parameter and authentication --------------------------------------------------


async def test_request_parameter_sees_the_authenticated_caller() -> None:
    k = Kite("k", "1.0.0")
    k.authenticate = lambda r: "alice"

    @k.method()
    def who(r: Request) -> str:
        return r.username

    assert k.methods["who"].authenticate
    assert await call(k, "who") == "alice"


def test_auth_follows_handle_rules() -> None:
    k = Kite("k", "1.0.0")

    @k.method(auth=False)
    def public() -> None: ...

    @k.method()
    def private() -> None: ...

    assert not k.methods["public"].authenticate
    assert k.methods["private"].authenticate
    open_kite = Kite("k", "1.0.0", Config(disable_authentication=True))
    open_kite.method()(private)
    assert not open_kite.methods["private"].authenticate


async def test_errors_raised_by_the_function_keep_their_type() -> None:
    k = Kite("k", "1.0.0", Config(disable_authentication=True))

    @k.method()
    def fail(kind: str) -> None:
        if kind == "kite":
            raise kite.KiteError("custom", type="customError", code="E1")
        raise ValueError("plain")

    with pytest.raises(kite.KiteError) as info:
        await call(k, "fail", "kite")
    assert (info.value.type, info.value.message, info.value.code) == ("customError", "custom", "E1")
    with pytest.raises(kite.GenericError, match="plain"):
        await call(k, "fail", "other")


async def test_typed_methods_run_the_handler_chain() -> None:
    k = typed_kite()
    k.methods["add"].post_handle(lambda r: "post")
    k.methods["add"].final_func(lambda r, result, error: (result * 10, error))
    assert await call(k, "add", 1, 2) == 30
    with trio.fail_after(5):
        assert await call(k, "greet", "x") == ["hello, x"]


@given(st.sampled_from(["add", "greet", "whoami", "total", "anything", "countdown"]), json_values)
def test_the_fast_binder_agrees_with_the_general_one(method: str, values: Any) -> None:
    """`bind_args` (one pass when every value fits) binds what `bind` binds, or fails alike."""
    k = typed_kite()
    signature = compile_signature(k.methods[method].handler.__wrapped__, method)  # type: ignore[attr-defined]
    assert signature.bind_args is not None
    request = Request("", method, "", dnode.Partial(values), None, None, k)  # type: ignore[arg-type]
    try:
        expected: Any = signature.bind(request)[0]
    except ArgumentError as exc:
        expected = exc
    if isinstance(expected, ArgumentError):
        with pytest.raises(ArgumentError) as info:
            signature.bind_args(request)
        assert info.value.message == expected.message
    else:
        assert signature.bind_args(request) == expected
