"""The built-in `kite.*` methods (docs/protocol.md §4.9)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import trio
from kite_rpc_helpers import client_kite, connected, math_kite

from kite import AuthenticationError, GenericError, Kite, MethodNotFoundError


async def test_ping_never_needs_auth() -> None:
    async with connected(math_kite(auth=True), client_kite()) as (client, _, _, _):
        assert await client.tell("kite.ping") == "pong"
        with pytest.raises(AuthenticationError):
            await client.tell("kite.systemInfo")


async def test_builtins_stay_authenticated_when_disabled_after_construction() -> None:
    server = Kite("math", "1.0.0")
    # too late for the built-ins (Go does the same, docs/protocol.md §4.7)
    server.disable_authentication = True
    server.handle_func("open", lambda r: "ok")
    async with connected(server, client_kite()) as (client, _, _, _):
        assert await client.tell("open") == "ok"
        with pytest.raises(AuthenticationError, match="No authentication information"):
            await client.tell("kite.heartbeat", 1, lambda: None)


async def test_system_info_shape() -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, spipe):
        info = await client.tell("kite.systemInfo")
    assert list(info) == [
        "state",
        "diskUsage",
        "diskTotal",
        "memoryUsage",
        "totalMemoryLimit",
        "homeDir",
        "uname",
    ]
    assert info["state"] == "RUNNING"
    assert info["diskTotal"] >= info["diskUsage"] >= 0
    assert info["totalMemoryLimit"] >= info["memoryUsage"] >= 0
    assert all(isinstance(info[k], int) for k in ("diskUsage", "diskTotal", "memoryUsage"))
    assert info["uname"] in ("linux", "darwin", "windows")
    assert '"result":{"state":"RUNNING","diskUsage":' in spipe.sent[0]


async def test_heartbeat_pings_and_replacement(autojump_clock: Any) -> None:
    first: list[float] = []
    second: list[float] = []
    async with connected(math_kite(), client_kite()) as (client, _, _, spipe):
        start = trio.current_time()
        beat = await client.tell("kite.heartbeat", 2.7, lambda: first.append(trio.current_time()))
        assert beat is None
        assert first == [start]  # first ping arrives before the reply
        await trio.sleep(4.5)
        await client.tell("kite.heartbeat", 1, lambda: second.append(trio.current_time()))
        await trio.sleep(3.5)
    assert [round(t - start, 3) for t in first] == [0, 2, 4]  # 2.7 s truncated to 2 s
    assert len(second) == 4  # immediately, then every second; the first ticker stopped
    assert '{"method":1,"arguments":[],"callbacks":{}}' in spipe.sent


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (None, "empty heartbeat request"),
        ([1], "Invalid array length"),
        ([0, "not a callback"], "invalid function"),
    ],
)
async def test_heartbeat_errors_are_generic(args: list[Any] | None, message: str) -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        with pytest.raises(GenericError) as info:
            await client.call("kite.heartbeat", args)
    assert info.value.message == message


async def test_log_and_print(caplog: pytest.LogCaptureFixture, capsys: Any) -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        with caplog.at_level(logging.INFO, logger="kite"):
            assert await client.tell("kite.log", "hello") is None
        assert await client.tell("kite.print", "héllo!!") == 8
    assert "goclient: hello" in caplog.text
    assert capsys.readouterr().out == "héllo!!"


async def test_terminal_builtins_only_when_enabled() -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        for name in ("kite.prompt", "kite.getPass"):
            with pytest.raises(MethodNotFoundError):
                await client.tell(name, "? ")
    enabled = Kite("t", "1.0.0", enable_terminal_builtins=True)
    assert {"kite.prompt", "kite.getPass"} <= set(enabled.methods)
    assert "kite.notify" not in enabled.methods


def test_builtin_registration_table() -> None:
    k = Kite("t", "1.0.0")
    auth = {name: m.authenticate for name, m in k.methods.items()}
    assert auth == {
        "kite.ping": False,
        "kite.methods": False,  # not in Go; lists only what the caller may call
        "kite.systemInfo": True,
        "kite.heartbeat": True,
        "kite.log": True,
        "kite.print": True,
    }
    json.dumps(auth)
