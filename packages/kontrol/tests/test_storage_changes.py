"""Registry changes from both storages: inserts, deletes, URL and identity updates, expiry
clean-ups, a failed write, and (PostgreSQL) another process's writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import trio
from psycopg import sql

from kite.protocol import STRING_ORDER, KiteIdentity
from kontrol import KeyPair, ManualClock, Storage
from kontrol._storage._changes import (
    ChangeFeed,
    FeedOverflowError,
    RegistryChange,
    change_from_json,
)

Opener = Callable[..., Any]


async def next_changes(sub: Any, n: int) -> list[RegistryChange]:
    out = []
    with trio.fail_after(10):
        async for change in sub:
            out.append(change)
            if len(out) == n:
                break
    return out


async def test_register_deregister_and_url_change(
    storage: Storage, make_kite: Callable[..., KiteIdentity], make_key: Callable[..., KeyPair]
) -> None:
    pair = make_key()
    await storage.add_key(pair)
    k = make_kite()
    with storage.subscribe_changes() as sub:
        await storage.upsert(k, "http://a/kite", pair.id)
        await storage.heartbeat(k.id)  # no change
        await storage.upsert(k, "http://a/kite", pair.id)  # nothing changed: no change
        await storage.upsert(k, "http://b/kite", pair.id)  # new URL: register again
        await storage.delete(k.id)
        got = await next_changes(sub, 3)
    assert got == [
        RegistryChange("register", k, "http://a/kite", pair.id),
        RegistryChange("register", k, "http://b/kite", pair.id),
        RegistryChange("deregister", k, "http://b/kite", pair.id),
    ]


async def test_identity_change_is_deregister_then_register(
    storage: Storage, make_kite: Callable[..., KiteIdentity], make_key: Callable[..., KeyPair]
) -> None:
    pair = make_key()
    await storage.add_key(pair)
    k = make_kite("math")
    renamed = KiteIdentity(**{**k.to_json(), "name": "algebra"})
    with storage.subscribe_changes() as sub:
        await storage.upsert(k, "http://a/kite", pair.id)
        await storage.upsert(renamed, "http://a/kite", pair.id)
        got = await next_changes(sub, 3)
    assert [(c.action, c.kite.name) for c in got] == [
        ("register", "math"),
        ("deregister", "math"),
        ("register", "algebra"),
    ]


async def test_expiry_cleanup_deregisters(
    storage: Storage,
    clock: ManualClock,
    make_kite: Callable[..., KiteIdentity],
    make_key: Callable[..., KeyPair],
) -> None:
    pair = make_key()
    await storage.add_key(pair)
    kites = [make_kite() for _ in range(3)]
    with storage.subscribe_changes() as sub:
        for k in kites:
            await storage.upsert(k, "http://a/kite", pair.id)
        await next_changes(sub, 3)  # the registrations
        clock.advance(storage.ttl + 1)
        assert await storage.clean_expired() == 3
        got = await next_changes(sub, 3)
    assert {c.kite.id for c in got} == {k.id for k in kites}
    assert {c.action for c in got} == {"deregister"}


async def test_a_refused_write_reports_nothing(
    storage: Storage, make_kite: Callable[..., KiteIdentity], make_key: Callable[..., KeyPair]
) -> None:
    pair = make_key()
    await storage.add_key(pair)
    good = make_kite()
    with storage.subscribe_changes() as sub:
        with pytest.raises(Exception, match="key"):
            await storage.upsert(make_kite(), "http://a/kite", make_key().id)  # unknown key
        async with trio.open_nursery() as nursery:  # batched with a good write (SQLite)
            nursery.start_soon(storage.upsert, good, "http://g/kite", pair.id)
            nursery.start_soon(storage.delete, make_kite().id)
        got = await next_changes(sub, 1)
    assert got == [RegistryChange("register", good, "http://g/kite", pair.id)]


@pytest.mark.postgres
async def test_postgres_sees_another_process_writes(
    pg_dsn: str,
    pg_schema: str,
    clock: ManualClock,
    make_kite: Callable[..., KiteIdentity],
    make_key: Callable[..., KeyPair],
) -> None:
    from kontrol import open_postgres_storage

    async with open_postgres_storage(pg_dsn, schema=pg_schema, clock=clock) as storage:
        pair = make_key()
        await storage.add_key(pair)
        k = make_kite()
        with storage.subscribe_changes() as sub:

            def write_like_go() -> None:  # Go Kontrol's statements, schema-qualified
                with psycopg.connect(pg_dsn, autocommit=True) as conn:
                    table = sql.Identifier(pg_schema, "kite")
                    conn.execute(
                        sql.SQL(
                            "INSERT INTO {} (username, environment, kitename, version, region,"
                            " hostname, id, url, key_id) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)"
                        ).format(table),
                        (*[getattr(k, f) for f in STRING_ORDER], "http://go/kite", pair.id),
                    )
                    conn.execute(
                        sql.SQL("UPDATE {} SET updated_at = now() WHERE id = %s").format(table),
                        (k.id,),
                    )
                    conn.execute(sql.SQL("DELETE FROM {} WHERE id = %s").format(table), (k.id,))

            await trio.to_thread.run_sync(write_like_go)
            got = await next_changes(sub, 2)
    assert got == [
        RegistryChange("register", k, "http://go/kite", pair.id),
        RegistryChange("deregister", k, "http://go/kite", pair.id),
    ]


async def test_feed_drops_a_subscriber_that_falls_behind() -> None:
    feed = ChangeFeed(buffer=2)
    change = RegistryChange("deregister", KiteIdentity(id="x"))
    with feed.subscribe() as slow, feed.subscribe() as fast:
        for _ in range(3):
            feed.publish(change)
            if _ < 2:
                assert await fast.__anext__() == change
        assert len(feed) == 1
        assert await slow.__anext__() == change
        assert await slow.__anext__() == change
        with pytest.raises(FeedOverflowError):
            await slow.__anext__()
        assert await fast.__anext__() == change


@pytest.mark.parametrize(
    "payload",
    [
        "[]",
        '{"action": "expire", "kite": {}}',
        '{"action": "register"}',
        '{"action": "register", "kite": {"id": "x"}, "truncated": true}',
        '{"action": "register", "kite": {}, "url": 5}',
    ],
)
def test_change_from_json_refuses(payload: str) -> None:
    with pytest.raises(ValueError):
        change_from_json(payload)
