"""A registration's kite id belongs to the user who registered it, for as long as the
registration lives: another user's `register` (kite connection) or `/register` (HTTP) with that
id is refused with `authenticationError` / 401, and the owner's entry stays as it was -- on SQLite
and on PostgreSQL. (Go Kontrol hands the id to whoever registers it last.)

Users: `anchor` (the owner) and `alice` (the other user), both with Go-issued kite keys."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from kontrol_test_support import (
    ALICE_KEY,
    ANCHOR_KEY,
    MATH_ID,
    MATH_URL,
    dial,
    make_kontrol,
    math_kite,
    register,
    wall_clock,
)

from kite import AuthenticationError, Peer
from kontrol import Kontrol, KontrolQuery, open_postgres_storage, open_sqlite_storage

BOB_URL = "http://127.0.0.1:16666/kite"
TAKEN = "kite id is registered by another user"
OpenKontrol = Callable[[], AbstractAsyncContextManager[Kontrol]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_kontrol(request: pytest.FixtureRequest, tmp_path: Path) -> OpenKontrol:
    """Opens a running Kontrol on a fresh database of the parametrised back-end."""

    @asynccontextmanager
    async def opened() -> AsyncIterator[Kontrol]:
        if request.param == "sqlite":
            storage_cm: AbstractAsyncContextManager[Any] = open_sqlite_storage(
                tmp_path / "kontrol.db", cleanup_interval=None, clock=wall_clock
            )
        else:
            dsn = request.getfixturevalue("pg_dsn")
            schema = request.getfixturevalue("pg_schema")
            storage_cm = open_postgres_storage(
                dsn, schema=schema, cleanup_interval=None, clock=wall_clock
            )
        async with storage_cm as storage:
            kontrol = make_kontrol(storage)
            async with kontrol.running():
                yield kontrol

    return opened


def _http_body(key: str, url: str) -> bytes:
    identity = math_kite().identity.to_json()
    auth = {"type": "kiteKey", "key": key}
    return json.dumps({"url": url, "kite": identity, "auth": auth}).encode()


async def _assert_owner_untouched(kontrol: Kontrol, asker: Peer) -> None:
    """anchor's math kite is found by name and by id, with anchor's URL, and only once."""
    by_name = await asker.tell("getKites", {"query": {"username": "anchor", "name": "math"}})
    by_id = await asker.tell("getKites", {"query": {"id": MATH_ID}})
    for found in (by_name, by_id):
        (entry,) = found["kites"]
        assert (entry["url"], entry["kite"]["id"], entry["kite"]["username"]) == (
            MATH_URL,
            MATH_ID,
            "anchor",
        )
    assert await asker.tell("getToken", {"id": MATH_ID})  # renewals (id only) find it too
    (record,) = await kontrol.storage.get(KontrolQuery(id=MATH_ID))
    assert (record.url, record.kite.username) == (MATH_URL, "anchor")


async def _assert_takeover_refused(kontrol: Kontrol, bob: Peer) -> None:
    """alice (`bob`, connected with her kite key) registers MATH_ID over her connection and
    over HTTP: both refused, anchor's entry untouched."""
    with pytest.raises(AuthenticationError) as info:
        await register(bob, BOB_URL)
    assert (info.value.type, info.value.message) == ("authenticationError", TAKEN)
    answer = await kontrol.handle_register_http(_http_body(ALICE_KEY, BOB_URL))
    assert (answer.status, json.loads(answer.body)) == (401, {"err": TAKEN})
    await _assert_owner_untouched(kontrol, bob)


async def test_another_user_cannot_take_a_connected_kites_id(open_kontrol: OpenKontrol) -> None:
    async with (
        open_kontrol() as kontrol,
        dial(kontrol, math_kite(), ANCHOR_KEY) as (owner, _),
    ):
        await register(owner)
        async with dial(kontrol, math_kite(), ALICE_KEY) as (bob, _):
            await _assert_takeover_refused(kontrol, bob)
        # the refused connection's end removes nothing; the owner keeps being refreshed
        await trio.sleep(0.2)
        await _assert_owner_untouched(kontrol, owner)
        assert kontrol.handle_heartbeat_http(f"id={MATH_ID}").body == b"registeragain"


async def test_another_user_cannot_take_an_http_registrations_id(
    open_kontrol: OpenKontrol,
) -> None:
    async with open_kontrol() as kontrol:
        answer = await kontrol.handle_register_http(_http_body(ANCHOR_KEY, MATH_URL))
        assert answer.status == 200
        async with dial(kontrol, math_kite(), ALICE_KEY) as (bob, _):
            await _assert_takeover_refused(kontrol, bob)
        assert kontrol.handle_heartbeat_http(f"id={MATH_ID}").body == b"pong"


async def test_the_owner_may_register_again_and_the_id_is_free_once_released(
    open_kontrol: OpenKontrol,
) -> None:
    async with open_kontrol() as kontrol:
        async with dial(kontrol, math_kite(), ANCHOR_KEY) as (owner, _):
            await register(owner)
            async with dial(kontrol, math_kite(), ANCHOR_KEY) as (again, _):
                assert (await register(again, MATH_URL))["url"] == MATH_URL
        # anchor's connections are gone: the registration ended and the id is free
        assert await kontrol.storage.get(KontrolQuery(id=MATH_ID)) == []
        async with dial(kontrol, math_kite(), ALICE_KEY) as (bob, _):
            assert (await register(bob, BOB_URL))["url"] == BOB_URL
            (record,) = await kontrol.storage.get(KontrolQuery(id=MATH_ID))
            assert (record.url, record.kite.username) == (BOB_URL, "alice")


async def test_a_row_left_by_a_previous_kontrol_is_still_owned(open_kontrol: OpenKontrol) -> None:
    """No connection holds the id (Kontrol restarted), but the row is live: still refused."""
    async with open_kontrol() as kontrol:
        await kontrol.storage.upsert(
            math_kite().identity, MATH_URL, (await kontrol.current_key_pair()).id
        )
        async with dial(kontrol, math_kite(), ALICE_KEY) as (bob, _):
            await _assert_takeover_refused(kontrol, bob)
