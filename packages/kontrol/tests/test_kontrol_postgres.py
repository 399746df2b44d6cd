"""Kontrol on PostgreSQL (Go Kontrol's schema): the same flows as on SQLite, Go's PostgreSQL
texts, and two Kontrol processes sharing one database. Needs `KITE_TEST_POSTGRES_DSN`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from kontrol_test_support import (
    KONTROL_PUB,
    MATH_ID,
    MATH_URL,
    ROGUE_PEM,
    ROGUE_PUB,
    dial,
    make_kontrol,
    math_kite,
    register,
    verify_token,
    wall_clock,
)

import kite
from kite import KiteError
from kontrol import Kontrol, KontrolOptions, KontrolQuery, open_postgres_storage

pytestmark = pytest.mark.postgres


@asynccontextmanager
async def pg_kontrol(dsn: str, schema: str, **kwargs: Any) -> AsyncIterator[Kontrol]:
    async with open_postgres_storage(
        dsn, schema=schema, cleanup_interval=None, clock=wall_clock
    ) as storage:
        kontrol = make_kontrol(storage, **kwargs)
        async with kontrol.running():
            yield kontrol


async def test_register_getkites_token_on_postgres(pg_dsn: str, pg_schema: str) -> None:
    async with (
        pg_kontrol(pg_dsn, pg_schema) as kontrol,
        dial(kontrol, math_kite()) as (peer, _),
    ):
        assert await register(peer) == {"url": MATH_URL, "heartbeatInterval": 0}
        found = await peer.tell("getKites", {"query": {"username": "anchor", "name": "math"}})
        (entry,) = found["kites"]
        assert entry["kite"]["id"] == MATH_ID
        assert entry["keyId"] == (await kontrol.current_key_pair()).id
        assert verify_token(entry["token"], math_kite().identity) == "anchor"
        assert await peer.tell("getKey") == KONTROL_PUB.strip()
        with pytest.raises(KiteError) as info:
            await peer.tell("getKites", {"query": {"id": "not-a-uuid"}})
        assert info.value.message == 'pq: invalid input syntax for type uuid: "not-a-uuid"'
    async with pg_kontrol(pg_dsn, pg_schema) as kontrol:
        assert await kontrol.storage.get(KontrolQuery(id=MATH_ID)) == []


async def test_non_uuid_kite_id_is_refused_not_lost(pg_dsn: str, pg_schema: str) -> None:
    async with (
        pg_kontrol(pg_dsn, pg_schema) as kontrol,
        dial(kontrol, math_kite("not-a-uuid")) as (peer, _),
    ):
        with pytest.raises(KiteError) as info:
            await register(peer)
        assert info.value.type == "genericError"
        assert "uuid" in info.value.message


async def test_two_kontrols_share_registrations_and_keys(pg_dsn: str, pg_schema: str) -> None:
    shared = KontrolOptions(shared_storage=True)  # both at one URL: neither removes the other
    async with (
        pg_kontrol(pg_dsn, pg_schema, options=shared) as first,
        pg_kontrol(pg_dsn, pg_schema, key_pair=None, options=shared) as second,
        dial(first, math_kite()) as (peer, _),
        dial(second, math_kite("5175d11a-1b25-424e-8100-bdc202c0c02c", "goquery")) as (q, _),
    ):
        await register(peer)
        found = await q.tell("getKites", {"query": {"username": "anchor", "name": "math"}})
        assert [k["url"] for k in found["kites"]] == [MATH_URL]
        both = await q.tell("getKites", {"query": {"username": "anchor", "name": "kontrol"}})
        assert {k["kite"]["id"] for k in both["kites"]} == {first.id, second.id}
        # A rotation made by one Kontrol is used by the other at once.
        await first.rotate_key_pair(kite.KeyPair(ROGUE_PUB, ROGUE_PEM))
        await first.delete_key_pair(public=KONTROL_PUB)
        result = await register(q)
        assert result["publicKey"] == ROGUE_PUB.strip()
