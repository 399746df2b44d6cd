"""Liveness with Go's intervals under trio's MockClock: pings, refresh cadence, silent kites,
disconnects, take-over by a re-registration, HTTP heartbeats, and a Kontrol restart.

The clock is driven by hand (`advance`): the storage runs statements in worker threads, and an
autojumping clock could jump past a timer while a statement is still running.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from kontrol_test_support import (
    ANCHOR_KEY,
    CAPTURES,
    KONTROL_PUB,
    MATH_ID,
    MATH_URL,
    NOW,
    dial,
    make_kontrol,
    math_kite,
    register,
    running_kontrol,
    sqlite_storage,
)

import kite
from kontrol import Kontrol, KontrolOptions, KontrolQuery


async def settle(kontrol: Kontrol) -> None:
    """Let every task react to what happened, including storage statements in worker threads:
    a storage call returns only after the statements queued before it (SQLite runs them in
    order), so tasks blocked on the storage have moved on when it returns."""
    for _ in range(3):
        await trio.testing.wait_all_tasks_blocked()
        await kontrol.storage.list_keys()
    await trio.testing.wait_all_tasks_blocked()


async def advance(clock: trio.testing.MockClock, kontrol: Kontrol, seconds: int) -> None:
    """Move the clock one second at a time, letting everything settle after each step."""
    for _ in range(seconds):
        clock.jump(1)
        await settle(kontrol)


async def registered(kontrol: Kontrol, kite_id: str = MATH_ID) -> list[Any]:
    return await kontrol.storage.get(KontrolQuery(id=kite_id))


def silent_kite() -> tuple[kite.Kite, list[Any]]:
    """A kite whose `kite.heartbeat` keeps the callback but pings only when told to."""
    math = math_kite()
    callbacks: list[Any] = []

    def heartbeat(r: kite.Request) -> None:
        callbacks.append(r.args.slice(2)[1].function())

    math.handle_func("kite.heartbeat", heartbeat, auth=False)
    return math, callbacks


async def test_silent_kite_expires_and_a_late_ping_registers_it_again(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    async with running_kontrol(tmp_path / "k.db") as kontrol:
        math, callbacks = silent_kite()
        async with dial(kontrol, math) as (peer, _):
            await register(peer)
            await settle(kontrol)
            (ping,) = callbacks
            await advance(mock_clock, kontrol, 29)
            assert len(await registered(kontrol)) == 1
            await advance(mock_clock, kontrol, 2)  # 10 s interval + 20 s delay without a ping
            assert await registered(kontrol) == []
            await ping()
            await settle(kontrol)
            (record,) = await registered(kontrol)
            assert record.url == MATH_URL
            # ... and it is tracked again: silence removes it again.
            await advance(mock_clock, kontrol, 31)
            assert await registered(kontrol) == []


async def test_pings_refresh_storage_once_per_update_interval(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    async with (
        running_kontrol(tmp_path / "k.db") as kontrol,
        dial(kontrol, math_kite()) as (peer, _),
    ):
        await register(peer)  # the real kite.heartbeat: a ping now, then every 10 s
        await settle(kontrol)
        (record,) = await registered(kontrol)
        assert record.updated_at == NOW
        await advance(mock_clock, kontrol, 65)
        (record,) = await registered(kontrol)
        assert record.updated_at == NOW  # pings at 10..60 s: 60 s not strictly exceeded
        await advance(mock_clock, kontrol, 10)
        (record,) = await registered(kontrol)
        assert record.updated_at == NOW + 70  # Go: refreshes at 0, 70 (and 130) s
        await advance(mock_clock, kontrol, 200)
        assert len(await registered(kontrol)) == 1  # pinging kites never expire


async def test_disconnect_removes_at_once_and_reregistration_takes_over(tmp_path: Path) -> None:
    async with running_kontrol(tmp_path / "k.db") as kontrol:
        async with dial(kontrol, math_kite()) as (peer, _):
            await register(peer)
            assert len(await registered(kontrol)) == 1
        assert await registered(kontrol) == []
        async with dial(kontrol, math_kite()) as (old, _):
            await register(old, "http://old/kite")
            async with dial(kontrol, math_kite()) as (new, _):
                await register(new, "http://new/kite")
                await old.aclose()  # the old connection ends late: the new one owns the kite
                await settle(kontrol)
                assert [r.url for r in await registered(kontrol)] == ["http://new/kite"]
            assert await registered(kontrol) == []


async def test_kontrol_restart_keeps_keys_and_kites_register_again(tmp_path: Path) -> None:
    db = tmp_path / "k.db"
    math = math_kite()
    async with running_kontrol(db) as first:
        first_id = first.id
        async with dial(first, math) as (peer, _):
            await register(peer)
        assert len(await first.storage.get(KontrolQuery(id=first_id))) == 1
    async with sqlite_storage(db) as storage:
        # Kontrol itself is deregistered on exit, and the stored key pair is reused.
        assert await storage.get(KontrolQuery(id=first_id)) == []
        second = make_kontrol(storage, key_pair=None)
        async with second.running():
            assert second.id != first_id
            async with dial(second, math) as (peer, _):
                assert await peer.tell("getKey") == KONTROL_PUB.strip()
                await register(peer)
                assert len(await registered(second)) == 1
            # HTTP heartbeat tracking is in memory: after a restart kites must register again.
            beat = second.handle_heartbeat_http(f"id={MATH_ID}")
            assert beat.body == b"registeragain"


async def _crashed_run(db: Path, kontrol: Kontrol, dead_id: str) -> None:
    """What a Kontrol killed with SIGKILL leaves in the storage: its own entry (another id, the
    same URL), a kite that died while Kontrol was down, and the math kite that is still alive."""
    async with running_kontrol(db):  # stores the key pair
        pass
    async with sqlite_storage(db) as storage:
        pair = await storage.current_key()
        old_self = dataclasses.replace(kontrol.identity, id=str(uuid.uuid4()))
        await storage.upsert(old_self, kontrol.self_url, pair.id)
        await storage.upsert(math_kite(dead_id, name="dead").identity, MATH_URL, pair.id)
        await storage.upsert(math_kite().identity, MATH_URL, pair.id)


@pytest.mark.parametrize("shared", [False, True])
async def test_restart_after_a_crash_serves_dead_kites_one_heartbeat_timeout_at_most(
    tmp_path: Path, mock_clock: trio.testing.MockClock, shared: bool
) -> None:
    """SIGKILL, 5 s down, restart: Kontrol's old entry is gone at once; the live kite registers
    again; the dead kite is served until 30 s after the restart, then no more. With
    `shared_storage` both stay until the storage TTL (another Kontrol could refresh them)."""
    db = tmp_path / "k.db"
    dead_id = str(uuid.uuid4())
    async with sqlite_storage(db) as storage:
        options = KontrolOptions(shared_storage=shared)
        kontrol = make_kontrol(storage, key_pair=None, options=options)
        await _crashed_run(db, kontrol, dead_id)
        mock_clock.jump(5)
        async with kontrol.running():
            await settle(kontrol)
            kontrols = await storage.get(KontrolQuery(username="anchor", name="kontrol"))
            assert kontrol.id in {r.kite.id for r in kontrols}
            assert len(kontrols) == (2 if shared else 1)
            assert len(await registered(kontrol, dead_id)) == 1
            async with dial(kontrol, math_kite()) as (peer, _):
                await advance(mock_clock, kontrol, 3)
                await register(peer)  # the live kite is back within a heartbeat
                await advance(mock_clock, kontrol, 26)
                assert len(await registered(kontrol, dead_id)) == 1  # 29 s after the restart
                await advance(mock_clock, kontrol, 2)
                assert len(await registered(kontrol, dead_id)) == (1 if shared else 0)
                (live,) = await registered(kontrol)
                assert live.url == MATH_URL
                kontrols = await storage.get(KontrolQuery(username="anchor", name="kontrol"))
                assert len(kontrols) == (2 if shared else 1)


async def _http_register(kontrol: Kontrol, **overrides: Any) -> Any:
    body = _capture_register_body()
    body.update(overrides)
    return await kontrol.handle_register_http(json.dumps(body).encode())


def _capture_register_body() -> dict[str, Any]:
    for line in (CAPTURES / "kontrol-register-http.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["kind"] == "http-request" and event["target"] == "/register":
            body: dict[str, Any] = json.loads(event["body"])
            body["auth"]["key"] = ANCHOR_KEY
            return body
    raise AssertionError("no /register request in the capture")


async def test_http_register_and_heartbeats_match_capture(
    tmp_path: Path, mock_clock: trio.testing.MockClock
) -> None:
    options = KontrolOptions(heartbeat_interval=2)
    async with running_kontrol(tmp_path / "k.db", options=options) as kontrol:
        answer = await _http_register(kontrol)
        assert answer.status == 200
        assert answer.headers == (("Content-Type", "text/plain; charset=utf-8"),)
        assert answer.body == b'{"url":"http://127.0.0.1:13636/kite","heartbeatInterval":2}\n'
        kite_id = _capture_register_body()["kite"]["id"]
        (record,) = await registered(kontrol, kite_id)
        assert (record.kite.username, record.url) == ("anchor", MATH_URL)
        for _ in range(40):  # a heartbeat every 2 s keeps it; refreshed every 60 s
            await advance(mock_clock, kontrol, 2)
            beat = kontrol.handle_heartbeat_http(f"id={kite_id}")
            assert (beat.status, beat.body) == (200, b"pong")
        (record,) = await registered(kontrol, kite_id)
        assert record.updated_at == NOW + 60
        await advance(mock_clock, kontrol, 23)  # 2 s interval + 20 s delay without a heartbeat
        assert await registered(kontrol, kite_id) == []
        beat = kontrol.handle_heartbeat_http(f"id={kite_id}")
        assert (beat.status, beat.body) == (200, b"registeragain")


async def test_http_heartbeat_answers(tmp_path: Path) -> None:
    async with running_kontrol(tmp_path / "k.db") as kontrol:
        missing = kontrol.handle_heartbeat_http("")
        assert (missing.status, missing.body) == (400, b"query id is empty\n")
        assert ("X-Content-Type-Options", "nosniff") in missing.headers
        unknown = kontrol.handle_heartbeat_http("id=nobody")
        assert (unknown.status, unknown.body) == (200, b"registeragain")


async def test_http_register_errors(tmp_path: Path) -> None:
    from kontrol_test_support import ROGUE_KEY

    async with running_kontrol(tmp_path / "k.db") as kontrol:
        cases = [
            (b"", 400, "wrong register input: 'EOF'"),
            (
                b"[1]",
                400,
                "wrong register input: 'json: cannot unmarshal array into Go value of"
                " type protocol.RegisterArgs'",
            ),
        ]
        for body, status, message in cases:
            answer = await kontrol.handle_register_http(body)
            assert (answer.status, json.loads(answer.body)) == (status, {"err": message})
            assert answer.body.endswith(b"\n")
        for overrides, status, message in [
            ({"auth": {"type": "token", "key": "x"}}, 400, "unexpected authentication type: token"),
            ({"url": ""}, 400, "empty URL"),
            ({"auth": {"type": "kiteKey", "key": ROGUE_KEY}}, 401, "no key pair found"),
            (
                {"kite": {"name": "math", "username": "anchor", "id": MATH_ID}},
                400,
                "Empty Kite field: environment",
            ),
        ]:
            answer = await _http_register(kontrol, **overrides)
            assert (answer.status, json.loads(answer.body)) == (status, {"err": message})
        assert await registered(kontrol) == []


async def test_http_register_needs_a_running_kontrol(tmp_path: Path) -> None:
    async with sqlite_storage(tmp_path / "k.db") as storage:
        answer = await make_kontrol(storage).handle_register_http(b"{}")
        assert (answer.status, json.loads(answer.body)) == (503, {"err": "kontrol is not running"})
