"""Watching Kontrol: `getKites` with a watch function, the events Go's Kontrol sent
(`kite.Response` of a `protocol.KiteEvent`), `cancelWatcher`, the end of a watch with its
connection, deregistration at a missed heartbeat's deadline, the Python client's
`watch_kites`, and (PostgreSQL) watchers on one Kontrol seeing kites register on another."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from kontrol_test_support import (
    ANCHOR_KEY,
    MATH_ID,
    MATH_URL,
    dial,
    make_kontrol,
    math_kite,
    register,
    running_kontrol,
    sqlite_storage,
    verify_token,
)
from test_kontrol_liveness import advance, settle, silent_kite

import kite
from kite import Kite, KiteError
from kontrol import open_postgres_storage


class Recorder:
    """A watch function: keeps every argument list it is called with."""

    def __init__(self) -> None:
        self.calls: list[list[Any]] = []
        self._changed = trio.Event()

    def __call__(self, *args: Any) -> None:
        self.calls.append(list(args))
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, n: int) -> list[list[Any]]:
        with trio.fail_after(10):
            while len(self.calls) < n:
                await self._changed.wait()
        return self.calls


def watcher_kite() -> Kite:
    return Kite("watcher", "1.0.0", kite.Config(username="anchor"))


async def start_watch(
    peer: kite.Peer, query: dict[str, str], key: str = "watchCallback"
) -> tuple[dict[str, Any], Recorder]:
    recorder = Recorder()
    answer = await peer.tell("getKites", {"query": query, key: recorder}, timeout=5)
    return answer, recorder


@pytest.mark.parametrize("key", ["watchCallback", "watchHandler"])
async def test_register_and_disconnect_events_have_go_shape(tmp_path: Path, key: str) -> None:
    async with (
        running_kontrol(tmp_path / "k.db") as kontrol,
        dial(kontrol, watcher_kite()) as (watcher, _),
    ):
        answer, events = await start_watch(watcher, {"username": "anchor", "name": "math"}, key)
        assert list(answer) == ["kites", "watcherID"]
        assert answer["kites"] == []
        assert uuid.UUID(answer["watcherID"]).version == 4
        math = math_kite()
        async with dial(kontrol, math) as (peer, _):
            await register(peer)
            ((reg,),) = await events.wait_for(1)
        ((reg,), (dereg,)) = await events.wait_for(2)  # the connection ended: at once
    assert list(reg) == ["error", "result"]
    assert reg["error"] is None
    result = reg["result"]
    assert list(result) == ["action", "kite", "url", "token"]
    assert result["action"] == "REGISTER"
    assert result["kite"] == math.identity_json
    assert result["url"] == MATH_URL
    assert verify_token(result["token"], math.identity) == "anchor"
    assert dereg == {
        "error": None,
        "result": {
            "action": "DEREGISTER",
            "kite": math.identity_json,
            "url": MATH_URL,
            "token": result["token"],
        },
    }


async def test_only_matching_kites_and_the_current_ones_in_the_answer(tmp_path: Path) -> None:
    async with running_kontrol(tmp_path / "k.db") as kontrol:
        math = math_kite()
        other_id = str(uuid.uuid4())
        async with (
            dial(kontrol, math) as (peer, _),
            dial(kontrol, watcher_kite()) as (watcher, _),
        ):
            await register(peer)
            answer, events = await start_watch(watcher, {"username": "anchor", "name": "math"})
            (entry,) = answer["kites"]
            assert entry["kite"]["id"] == MATH_ID
            async with dial(kontrol, math_kite(other_id, name="physics")) as (other, _):
                await register(other, "http://127.0.0.1:1/kite")
            async with dial(kontrol, math_kite(str(uuid.uuid4()))) as (again, _):
                await register(again, "http://127.0.0.1:2/kite")
            calls = await events.wait_for(2)
            await settle(kontrol)
    assert [(c[0]["result"]["action"], c[0]["result"]["url"]) for c in calls] == [
        ("REGISTER", "http://127.0.0.1:2/kite"),
        ("DEREGISTER", "http://127.0.0.1:2/kite"),
    ]


async def test_missed_heartbeat_deregisters_at_its_deadline(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    async with running_kontrol(tmp_path / "k.db") as kontrol:
        math, _callbacks = silent_kite()
        async with (
            dial(kontrol, watcher_kite()) as (watcher, _),
            dial(kontrol, math) as (peer, _),
        ):
            _, events = await start_watch(watcher, {"username": "anchor", "name": "math"})
            await register(peer)
            await settle(kontrol)
            assert len(events.calls) == 1
            await advance(mock_clock, kontrol, 29)
            assert len(events.calls) == 1
            await advance(mock_clock, kontrol, 2)  # 10 s interval + 20 s delay without a ping
            assert [c[0]["result"]["action"] for c in events.calls] == ["REGISTER", "DEREGISTER"]


async def test_cancel_watcher_and_connection_end_stop_the_watch(tmp_path: Path) -> None:
    async with running_kontrol(tmp_path / "k.db") as kontrol:
        async with dial(kontrol, watcher_kite()) as (watcher, _):
            answer, events = await start_watch(watcher, {"username": "anchor"})
            assert len(kontrol.watchers) == 1
            assert await watcher.tell("cancelWatcher", answer["watcherID"], timeout=5) is None
            with pytest.raises(KiteError, match="Watcher not found"):
                await watcher.tell("cancelWatcher", answer["watcherID"], timeout=5)
            await settle(kontrol)
            assert len(kontrol.watchers) == 0
            async with dial(kontrol, math_kite()) as (peer, _):
                await register(peer)
            await settle(kontrol)
            assert events.calls == []
            await start_watch(watcher, {"username": "anchor"})
            assert len(kontrol.watchers) == 1
        await settle(kontrol)
        assert len(kontrol.watchers) == 0
        assert len(kontrol.storage.changes) == 0  # type: ignore[attr-defined]


async def test_get_kites_without_a_function_is_unchanged(tmp_path: Path) -> None:
    async with (
        running_kontrol(tmp_path / "k.db") as kontrol,
        dial(kontrol, watcher_kite()) as (watcher, _),
    ):
        answer = await watcher.tell(
            "getKites", {"query": {"name": "math"}, "watchCallback": None}, timeout=5
        )
    assert answer == {"kites": []}
    assert len(kontrol.watchers) == 0


async def test_python_client_watch_kites(tmp_path: Path) -> None:
    async with sqlite_storage(tmp_path / "k.db") as storage:
        kontrol = make_kontrol(storage)
        async with kontrol.running(), kontrol.serve("127.0.0.1", 0) as server:
            config = kite.Config(username="anchor", kite_key=ANCHOR_KEY, kontrol_url=server.url)
            me = Kite("watcher", "1.0.0", config)
            math = math_kite()
            async with me.kontrol_client() as client:
                await client.get_key()  # connected
                assert client.peer is not None
                callbacks = len(client.peer.callbacks)
                async with client.watch_kites({"username": "anchor", "name": "math"}) as watch:
                    assert watch.kites == []
                    async with math.dial(server.url, auth=kite.Auth("kiteKey", ANCHOR_KEY)) as p:
                        await register(p)
                        event = await anext(watch)
                        assert (event.action, event.kite, event.url) == (
                            "register",
                            math.identity,
                            MATH_URL,
                        )
                        assert verify_token(event.token, math.identity) == "anchor"
                    event = await anext(watch)
                    assert (event.action, event.kite.id) == ("deregister", MATH_ID)
                with trio.fail_after(5):
                    while len(kontrol.watchers):  # noqa: ASYNC110 - cancelWatcher was sent
                        await trio.sleep(0.01)
                assert len(client.peer.callbacks) == callbacks


async def test_python_client_refuses_a_kontrol_that_does_not_watch(tmp_path: Path) -> None:
    async with sqlite_storage(tmp_path / "k.db") as storage:
        kontrol = make_kontrol(storage)
        kontrol.handle_func("getKites", lambda r: {"kites": []}, auth=True)  # Go Kontrol's way
        async with kontrol.running(), kontrol.serve("127.0.0.1", 0) as server:
            config = kite.Config(username="anchor", kite_key=ANCHOR_KEY, kontrol_url=server.url)
            async with Kite("w", "1.0.0", config).kontrol_client() as client:
                with pytest.raises(kite.KontrolError, match="does not watch"):
                    async with client.watch_kites({"username": "anchor"}):
                        pass


@pytest.mark.postgres
async def test_watchers_see_kites_registered_on_another_kontrol(
    pg_dsn: str, pg_schema: str
) -> None:
    async with (
        open_postgres_storage(pg_dsn, schema=pg_schema, cleanup_interval=None) as a_store,
        open_postgres_storage(pg_dsn, schema=pg_schema, cleanup_interval=None) as b_store,
    ):
        a, b = make_kontrol(a_store), make_kontrol(b_store)
        async with a.running(), b.running():
            math = math_kite(str(uuid.uuid4()))
            async with dial(a, watcher_kite()) as (watcher, _):
                _, events = await start_watch(watcher, {"username": "anchor", "name": "math"})
                async with dial(b, math) as (peer, _):
                    await register(peer)
                    await events.wait_for(1)
                calls = await events.wait_for(2)
    assert [c[0]["result"]["action"] for c in calls] == ["REGISTER", "DEREGISTER"]
    assert calls[0][0]["result"]["kite"] == math.identity_json
