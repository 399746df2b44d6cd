"""Handler chains and MethodHandling (docs/protocol.md §4.7), served over a real in-memory pipe."""

from __future__ import annotations

import math
from typing import Any

import pytest
from kite_rpc_helpers import client_kite, connected, math_kite

from kite import GenericError, Kite, MethodHandling, Request


def recorder(log: list[str], name: str, value: Any = None) -> Any:
    def handler(r: Request) -> Any:
        log.append(name)
        return value

    return handler


async def test_execution_order_and_shared_request() -> None:
    log: list[str] = []
    server = math_kite()
    server.pre_handle(recorder(log, "kite-pre"))
    server.post_handle(recorder(log, "kite-post"))

    async def main(r: Request) -> str:
        log.append("main")
        return str(r.context["from-pre"])

    def pre(r: Request) -> None:
        log.append("method-pre")
        r.context["from-pre"] = 42

    (
        server.handle_func("m", main)
        .pre_handle(pre)
        .post_handle(recorder(log, "method-post"))
        .final_func(lambda r, res, err: (log.append("method-final"), (res, err))[1])
    )
    server.final_func(lambda r, res, err: (log.append("kite-final"), (res, err))[1])
    async with connected(server, client_kite()) as (client, _, _, _):
        assert await client.tell("m") == "42"
    assert log == [
        "method-pre",
        "kite-pre",
        "main",
        "method-post",
        "kite-post",
        "method-final",
        "kite-final",
    ]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (MethodHandling.RETURN_METHOD, "main"),
        (MethodHandling.RETURN_FIRST, "pre2"),
        (MethodHandling.RETURN_LATEST, "post2"),
    ],
)
async def test_result_selection_modes(mode: MethodHandling, expected: str) -> None:
    server = math_kite()
    log: list[str] = []
    server.method_handling = mode
    method = server.handle_func("m", recorder(log, "main", "main"))
    server.method_handling = MethodHandling.RETURN_METHOD  # captured at registration
    method.pre_handle(recorder(log, "pre1", None)).pre_handle(recorder(log, "pre2", "pre2"))
    method.post_handle(recorder(log, "post1", "post1")).post_handle(recorder(log, "post2", "post2"))
    async with connected(server, client_kite()) as (client, _, _, _):
        assert await client.tell("m") == expected


async def test_return_latest_without_post_handlers_is_main() -> None:
    server = math_kite()
    server.method_handling = MethodHandling.RETURN_LATEST
    server.handle_func("m", lambda r: "main").pre_handle(lambda r: "pre")
    async with connected(server, client_kite()) as (client, _, _, _):
        assert await client.tell("m") == "main"


async def test_error_stops_chain_and_final_funcs_see_it() -> None:
    server = math_kite()
    log: list[str] = []
    seen: list[tuple[Any, str]] = []

    def failing_pre(r: Request) -> None:
        raise ValueError("pre failed")

    def final(r: Request, result: Any, error: Exception | None) -> tuple[Any, Exception | None]:
        seen.append((result, str(error)))
        return result, error

    server.handle_func("m", recorder(log, "main")).pre_handle(failing_pre).final_func(final)
    async with connected(server, client_kite()) as (client, _, _, _):
        with pytest.raises(GenericError, match="pre failed"):
            await client.tell("m")
    assert log == []
    assert seen == [(None, "pre failed")]


async def test_final_func_turns_error_into_success() -> None:
    """Go's test: sqrt(-4) fails in the handler and a final func answers "2i"."""
    server = math_kite()

    def sqrt(r: Request) -> float:
        return math.sqrt(r.args.one().float())

    async def imaginary(
        r: Request, result: Any, error: Exception | None
    ) -> tuple[Any, Exception | None]:
        if error is not None:
            return f"{math.sqrt(-r.args.one().float()):g}i", None
        return result, None

    server.handle_func("sqrt", sqrt).final_func(imaginary)
    async with connected(server, client_kite()) as (client, _, _, _):
        assert await client.tell("sqrt", -4) == "2i"
        assert await client.tell("sqrt", 9) == 3


async def test_handle_replaces_and_decorator_keeps_callable() -> None:
    k = Kite("k", "1.0.0")

    @k.handle("x")
    def x(r: Request) -> str:
        return "first"

    k.handle_func("x", lambda r: "second")
    assert k.methods["x"].handler(None) == "second"  # type: ignore[arg-type]
    assert x(None) == "first"  # type: ignore[arg-type]
