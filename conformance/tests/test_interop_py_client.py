"""Interop matrix, Python client → Go kite: `kite.Kite.dial` against the Go peer ``gomath``.

Every call gomath serves, over WebSocket and XHR: results, callbacks we pass (``countdown``),
calls the Go kite makes back to us on the same session (``callMeBack`` → our ``client.hello``)
and every error type, decoded to the `kite` exception classes with Go's texts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from conformance._gopeers import GoBuild, go_peers_or_skip, open_go_peer
from kite import (
    ArgumentError,
    Client,
    GenericError,
    Kite,
    KiteError,
    MethodNotFoundError,
    RequestLimitError,
)

pytestmark = pytest.mark.go

TRANSPORTS = ["websocket", "xhr"]


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


def python_client() -> Kite:
    client = Kite("pyclient", "1.0.0")
    client.handle_func("client.hello", lambda r: f"hello from python, {r.args.one().string()}")
    return client


@asynccontextmanager
async def gomath_session(go_build: GoBuild, transport: str) -> AsyncIterator[Client]:
    async with (
        open_go_peer(go_build, "gomath", "-quiet") as math,
        python_client().dial(math.url, transport=transport, timeout=10) as remote,  # type: ignore[arg-type]
    ):
        yield remote


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("method", "args", "result"),
    [
        ("square", [4], 16),
        ("square", [1.5], 2.25),
        ("add", [2, 3], 5),
        ("echo", [1, "two", None, True, {"x": [1.5, "é\u2028"]}, []], None),
        ("echo", [], None),
        ("kite.ping", [], "pong"),
    ],
    ids=["square", "square-float", "add", "echo-values", "echo-nothing", "ping"],
)
async def test_results(
    go_build: GoBuild, transport: str, method: str, args: list[Any], result: Any
) -> None:
    with trio.fail_after(30):
        async with gomath_session(go_build, transport) as remote:
            got = await remote.tell(method, *args, timeout=10)
    if method == "echo":
        assert got == (args or None)  # Go echoes `withArgs`; no args is `null`
    else:
        assert got == result


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_callbacks_we_pass_are_called(go_build: GoBuild, transport: str) -> None:
    seen: list[int] = []
    with trio.fail_after(30):
        async with gomath_session(go_build, transport) as remote:
            done = await remote.tell("countdown", {"from": 4, "cb": seen.append}, timeout=10)
    assert (done, seen) == ("done", [4, 3, 2, 1])


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_go_kite_calls_us_back(go_build: GoBuild, transport: str) -> None:
    with trio.fail_after(30):
        async with gomath_session(go_build, transport) as remote:
            answer = await remote.tell("callMeBack", timeout=10)
    assert answer == "hello from python, hello from math"


def _is_request_id(value: str) -> bool:
    return len(value) == 16 and all(c in "0123456789abcdef" for c in value)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("method", "args", "cls", "type_", "message", "code", "has_id"),
    [
        ("fail", ["no"], GenericError, "genericError", "no", "", True),
        ("failTyped", ["typed"], KiteError, "customError", "typed", "E_CUSTOM", True),
        ("boom", [], GenericError, "genericError", "boom: deliberate panic in handler", "", True),
        ("noSuchMethod", [1], MethodNotFoundError, "methodNotFound",
         "Method not found: noSuchMethod", "", False),
        ("square", ["x"], ArgumentError, "argumentError",
         'json: cannot unmarshal string into Go value of type float64. Data: "x"', "", True),
        ("square", [], ArgumentError, "argumentError", "Cannot unmarshal nil argument", "", True),
        ("add", [1], ArgumentError, "argumentError", "Invalid array length", "", True),
    ],
    ids=["fail", "failTyped", "boom", "methodNotFound", "arg-type", "arg-missing", "arg-count"],
)  # fmt: skip
async def test_errors(
    go_build: GoBuild,
    transport: str,
    method: str,
    args: list[Any],
    cls: type[KiteError],
    type_: str,
    message: str,
    code: str,
    has_id: bool,
) -> None:
    with trio.fail_after(30):
        async with gomath_session(go_build, transport) as remote:
            with pytest.raises(KiteError) as caught:
                await remote.tell(method, *args, timeout=10)
            assert await remote.tell("square", 3, timeout=10) == 9  # the session survives
    err = caught.value
    assert type(err) is cls
    assert (err.type, err.message, err.code) == (type_, message, code)
    assert _is_request_id(err.id) if has_id else err.id == ""


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_request_limit(go_build: GoBuild, transport: str) -> None:
    """gomath's ``limited`` is throttled to 2 calls a minute: the third is refused."""
    with trio.fail_after(30):
        async with gomath_session(go_build, transport) as remote:
            allowed = [await remote.tell("limited", timeout=10) for _ in range(2)]
            with pytest.raises(RequestLimitError) as caught:
                await remote.tell("limited", timeout=10)
    assert allowed == ["ok", "ok"]
    assert (caught.value.type, caught.value.message) == (
        "requestLimitError",
        "The maximum request rate is exceeded.",
    )
