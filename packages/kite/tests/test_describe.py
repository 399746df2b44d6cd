"""`Kite.describe()`, the built-in `kite.methods` and `remote.methods()`."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from kite_rpc_helpers import client_kite, connected
from kite_typed_helpers import typed_kite

from kite import (
    Auth,
    AuthenticationError,
    Config,
    Kite,
    MethodDescription,
    MethodNotFoundError,
    MethodsNotDescribedError,
    ParamDescription,
    Request,
)


def by_name(methods: list[MethodDescription]) -> dict[str, MethodDescription]:
    return {m.name: m for m in methods}


def test_describe_typed_methods() -> None:
    methods = by_name(typed_kite().describe())
    assert methods["add"] == MethodDescription(
        "add",
        "Add two numbers.",
        (
            ParamDescription("a", {"type": "number"}, required=True),
            ParamDescription("b", {"type": "number"}, required=True),
        ),
        {"type": "number"},
        auth=False,
    )
    assert methods["greet"].to_json() == {
        "name": "greet",
        "doc": "Greet someone, `times` times.",
        "params": [
            {"name": "name", "schema": {"type": "string"}, "required": True},
            {"name": "times", "schema": {"type": "integer"}, "required": False, "default": 1},
        ],
        "result": {"type": "array", "items": {"type": "string"}},
        "auth": False,
    }
    progress = methods["progress"]
    assert progress.doc == "Count to `steps`, reporting each step to the caller."
    assert progress.params is not None
    assert [p.name for p in progress.params] == ["steps", "report"]
    assert progress.params[0].schema == {"type": "integer"}
    assert progress.params[1].schema["x-kite-function"] == {"arguments": [{"type": "integer"}]}
    assert progress.result == {"type": "string"}
    # Defaults as JSON, *args as a variadic parameter, `from_` as `from`, Request left out.
    move = methods["move"].params
    assert move is not None
    assert [(p.name, p.required, p.default) for p in move] == [
        ("p", True, None), ("by", False, [1.0, 0.0]), ("color", False, "red"),
    ]  # fmt: skip
    total = methods["total"].params
    assert total == (ParamDescription("values", {"type": "integer"}, False, None, variadic=True),)
    assert [p.name for p in methods["countdown"].params or ()] == ["from", "cb"]
    assert [p.name for p in methods["whoami"].params or ()] == ["suffix"]
    for method in methods.values():  # standard JSON Schema, for other tools
        Draft202012Validator.check_schema(method.result)
        for param in method.params or ():
            Draft202012Validator.check_schema(param.schema)


def test_handle_methods_are_described_by_their_docstring_only() -> None:
    k = Kite("k", "1.0.0")

    @k.handle("square", blocking=True)
    def square(r: Request) -> float:
        """Square a number."""
        n = r.args.one().float()
        return n * n

    methods = by_name(k.describe())
    assert methods["square"] == MethodDescription("square", "Square a number.", None, {}, True)
    assert methods["kite.ping"].doc == 'Answer "pong".'
    assert methods["kite.methods"].auth is False


async def test_remote_methods_equal_describe() -> None:
    k = typed_kite()
    async with connected(k, client_kite()) as (peer, _, _, _):
        described = await peer.methods(timeout=5)
        raw = await peer.tell("kite.methods", timeout=5)
    assert described == k.describe()
    assert raw == {"methods": [m.to_json() for m in k.describe()]}
    assert [m.name for m in described] == sorted(m.name for m in described)


def auth_kite() -> Kite:
    k = Kite("k", "1.0.0")

    def authenticate(r: Request) -> str:
        if r.auth is None or r.auth.key != "secret":
            raise AuthenticationError("no")
        return "alice"

    k.authenticate = authenticate

    @k.method(auth=False)
    def public() -> None:
        """Anyone."""

    @k.method()
    def private() -> None:
        """Members only."""

    return k


@pytest.mark.parametrize(
    ("auth", "visible"),
    [
        (None, {"public", "kite.ping", "kite.methods"}),
        (Auth("kiteKey", "wrong"), {"public", "kite.ping", "kite.methods"}),
        (Auth("kiteKey", "secret"), None),  # everything
    ],
)
async def test_methods_lists_what_the_caller_may_call(auth: Auth | None, visible: Any) -> None:
    k = auth_kite()
    async with connected(k, client_kite(), auth=auth) as (peer, _, _, _):
        names = {m.name for m in await peer.methods(timeout=5)}
    assert names == (visible if visible is not None else set(k.methods))


async def test_a_kite_without_kite_methods_is_a_clear_error() -> None:
    """What a Go kite answers (`methodNotFound`) becomes `MethodsNotDescribedError`; the
    live Go kite is in conformance/tests/test_interop_typed.py."""
    k = Kite("old", "1.0.0", Config(disable_authentication=True))

    @k.handle("kite.methods")
    def go_answer(r: Request) -> None:
        raise MethodNotFoundError("Method not found: kite.methods")  # what Go answers

    async with connected(k, client_kite()) as (peer, _, _, _):
        with pytest.raises(MethodsNotDescribedError) as info:
            await peer.methods(timeout=5)
    assert isinstance(info.value, MethodNotFoundError)
    assert str(info.value) == (
        "methodNotFound: this kite does not describe its methods "
        "(it has no kite.methods; Go kites don't)"
    )
