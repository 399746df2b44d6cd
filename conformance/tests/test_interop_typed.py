"""Typed methods (`Kite.method`) and `kite.methods` between Python and Go kites.

The Go client ``goclient`` calls a Python kite's typed methods ``add``, ``greet`` and
``progress``: results, callbacks into the Go client, and ``argumentError``s naming the
parameter, read by Go as Go's own errors. It also reads the kite's ``kite.methods``
description. A Python client does the same over a real WebSocket, and asking the Go kite
``gomath`` for its methods is a clear `MethodsNotDescribedError`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from conformance._gopeers import GoBuild, go_peers_or_skip, open_go_peer
from conformance._interop import goclient, parse_lines
from kite import ArgumentError, Config, Kite, MethodsNotDescribedError

pytestmark = pytest.mark.go


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


def typed_math() -> Kite:
    """A kite ``math`` serving three typed methods, authentication disabled."""
    k = Kite("math", "1.0.0", Config(disable_authentication=True))

    @k.method()
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    @k.method("greet")
    async def greet(name: str, times: int = 1) -> list[str]:
        """Greet someone, `times` times."""
        return [f"hello, {name}"] * times

    @k.method()
    async def progress(steps: int, report: Callable[[int], Awaitable[object]]) -> str:
        """Count to `steps`, reporting each step to the caller."""
        for i in range(1, steps + 1):
            await report(i)
        return "done"

    return k


def _error(message: str) -> dict[str, Any]:
    return {"type": "argumentError", "message": message, "code": ""}


CALLS = [
    ("add", "[2,3]", [5]),
    ("add", "[1.5,2]", [3.5]),
    ("greet", '["bob",2]', [["hello, bob", "hello, bob"]]),
    ("greet", '[{"name":"al","times":2}]', [["hello, al", "hello, al"]]),
    ("greet", '["bob"]', [["hello, bob"]]),
    ("progress", '[3,"$callback"]', [
        {"args": [1], "callback": "1"}, {"args": [2], "callback": "1"},
        {"args": [3], "callback": "1"}, "done",
    ]),
    ("add", '["x",1]', [_error("add(): argument 'a' must be a number, got string \"x\"")]),
    ("add", "[1]", [_error("add(): missing argument 'b' (a number)")]),
    ("add", "[1,2,3]", [_error("add(): takes 2 arguments, got 3")]),
    ("greet", '["bob",1.5]',
     [_error("greet(): argument 'times' must be an integer, got number 1.5")]),
    ("progress", "[3,4]",
     [_error("progress(): argument 'report' must be a function, got number 4")]),
]  # fmt: skip


def _without_ids(lines: list[Any]) -> list[Any]:
    for line in lines:
        if isinstance(line, dict) and isinstance(line.get("error"), dict):
            error = line["error"]
            assert len(error.pop("id")) == 16  # the request id, as Go's errors carry
    return [line.get("error", line) if isinstance(line, dict) else line for line in lines]


@pytest.mark.parametrize(("method", "args", "expected"), CALLS)
async def test_go_client_calls_typed_methods(
    go_build: GoBuild, method: str, args: str, expected: list[Any]
) -> None:
    with trio.fail_after(60):
        async with typed_math().serve(host="127.0.0.1", port=0) as server:
            result = await goclient(go_build, server.url, "websocket", method, args)
    failed = isinstance(expected[-1], dict) and "type" in expected[-1]
    assert result.returncode == (1 if failed else 0), result.stderr
    assert _without_ids(parse_lines(result)) == expected


async def test_go_client_over_xhr(go_build: GoBuild) -> None:
    with trio.fail_after(60):
        async with typed_math().serve(host="127.0.0.1", port=0) as server:
            result = await goclient(go_build, server.url, "xhr", "add", "[2,3]")
    assert parse_lines(result) == [5]


async def test_go_client_reads_kite_methods(go_build: GoBuild) -> None:
    with trio.fail_after(60):
        async with typed_math().serve(host="127.0.0.1", port=0) as server:
            result = await goclient(go_build, server.url, "websocket", "kite.methods")
    assert result.returncode == 0, result.stderr
    (answer,) = parse_lines(result)
    methods = {m["name"]: m for m in answer["methods"]}
    assert {"add", "greet", "progress", "kite.ping", "kite.methods"} <= set(methods)
    add, greet, progress = methods["add"], methods["greet"], methods["progress"]
    assert add["doc"] == "Add two numbers."
    assert [(p["name"], p["schema"], p["required"]) for p in add["params"]] == [
        ("a", {"type": "number"}, True), ("b", {"type": "number"}, True),
    ]  # fmt: skip
    assert add["result"] == {"type": "number"}
    assert greet["doc"] == "Greet someone, `times` times."
    assert greet["params"][1] == {
        "name": "times", "schema": {"type": "integer"}, "required": False, "default": 1,
    }  # fmt: skip
    assert greet["result"] == {"type": "array", "items": {"type": "string"}}
    assert progress["doc"] == "Count to `steps`, reporting each step to the caller."
    assert [p["name"] for p in progress["params"]] == ["steps", "report"]
    assert progress["params"][0]["schema"] == {"type": "integer"}
    assert progress["result"] == {"type": "string"}
    assert methods["kite.ping"]["params"] is None


async def test_python_client_calls_typed_methods_over_websocket() -> None:
    k = typed_math()
    seen: list[int] = []
    with trio.fail_after(30):
        async with (
            k.serve(host="127.0.0.1", port=0) as server,
            Kite("client", "1.0.0").dial(server.url, transport="websocket") as remote,
        ):
            assert await remote.tell("add", 2, 3, timeout=10) == 5
            assert await remote.tell("greet", {"name": "al"}, timeout=10) == ["hello, al"]
            assert await remote.tell("progress", 3, seen.append, timeout=10) == "done"
            with pytest.raises(ArgumentError) as info:
                await remote.tell("add", "x", 1, timeout=10)
            described = await remote.methods(timeout=10)
    assert seen == [1, 2, 3]
    assert info.value.message == "add(): argument 'a' must be a number, got string \"x\""
    assert described == k.describe()
    assert json.loads(json.dumps([m.to_json() for m in described])) == [
        m.to_json() for m in described
    ]


async def test_a_go_kite_does_not_describe_its_methods(go_build: GoBuild) -> None:
    with trio.fail_after(60):
        async with (
            open_go_peer(go_build, "gomath", "-quiet") as math,
            Kite("client", "1.0.0").dial(math.url, transport="websocket") as remote,
        ):
            with pytest.raises(MethodsNotDescribedError) as info:
                await remote.methods(timeout=10)
            assert await remote.tell("square", 3, timeout=10) == 9  # the connection goes on
    assert str(info.value) == (
        "methodNotFound: this kite does not describe its methods "
        "(it has no kite.methods; Go kites don't)"
    )
