"""Every storage method on both back-ends (the `backend` fixture runs each test twice)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio

from kite.protocol import KiteIdentity
from kontrol import (
    InvalidKeyPairError,
    InvalidKiteError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyPair,
    KeyPairExistsError,
    KiteIdTakenError,
    KontrolQuery,
    ManualClock,
    QueryError,
    Storage,
    StorageError,
    VersionError,
)

MakeKite = Callable[..., KiteIdentity]
MakeKey = Callable[..., KeyPair]
Register = Callable[..., Awaitable[tuple[KeyPair, list[KiteIdentity]]]]
Opener = Callable[..., AbstractAsyncContextManager[Any]]


@pytest.fixture
def registered(make_kite: MakeKite, make_key: MakeKey) -> Register:
    """`await registered(storage, n=1, **fields)`: store a new key pair and `n` kites."""

    async def register(
        storage: Storage, n: int = 1, **fields: str
    ) -> tuple[KeyPair, list[KiteIdentity]]:
        key = make_key()
        await storage.add_key(key)
        kites = [make_kite(**fields) for _ in range(n)]
        for k in kites:
            await storage.upsert(k, f"http://127.0.0.1:{len(k.id)}/kite", key.id)
        return key, kites

    return register


# -- kites ----------------------------------------------------------------------------------


async def test_upsert_then_get_by_every_field(
    registered: Register, storage: Storage, clock: ManualClock
) -> None:
    key, [k] = await registered(storage)
    for field in ("username", "environment", "name", "version", "region", "hostname", "id"):
        q = KontrolQuery(**{field: getattr(k, field)})
        [rec] = await storage.get(q)
        assert rec.kite == k
        assert rec.url == "http://127.0.0.1:36/kite"
        assert rec.key_id == key.id
        assert rec.updated_at == pytest.approx(clock.now)
    assert await storage.get(KontrolQuery.from_kite(k)) != []


async def test_query_fields_are_anded_and_empty_means_any(
    make_kite: MakeKite, make_key: MakeKey, storage: Storage
) -> None:
    key = make_key()
    await storage.add_key(key)
    a = make_kite("math", username="alice")
    b = make_kite("math", username="bob", region="eu")
    c = make_kite("echo", username="alice")
    for k in (a, b, c):
        await storage.upsert(k, "http://h/kite", key.id)

    async def ids(**q: str) -> set[str]:
        return {r.kite.id for r in await storage.get(KontrolQuery(**q))}

    assert await ids(name="math") == {a.id, b.id}
    assert await ids(username="alice") == {a.id, c.id}
    assert await ids(username="alice", name="math") == {a.id}
    assert await ids(name="math", region="eu") == {b.id}
    assert await ids(name="nope") == set()
    assert await ids(id=c.id) == {c.id}
    assert await ids(id=str(uuid.uuid4())) == set()


async def test_exact_version_is_a_string_match(registered: Register, storage: Storage) -> None:
    await registered(storage, version="1.0.0")
    assert len(await storage.get(KontrolQuery(name="math", version="1.0.0"))) == 1
    # "1.0" parses as a version, so it is compared as a string (Go does the same)
    assert await storage.get(KontrolQuery(name="math", version="1.0")) == []


async def test_version_constraints(
    make_kite: MakeKite, make_key: MakeKey, storage: Storage
) -> None:
    key = make_key()
    await storage.add_key(key)
    versions = ["0.9.0", "1.0.0", "1.1.5", "1.2.0-beta", "2.0.0", "not-a-version"]
    by_version = {}
    for v in versions:
        k = make_kite(version=v)
        by_version[v] = k.id
        await storage.upsert(k, "http://h/kite", key.id)

    async def found(constraint: str, **q: str) -> set[str]:
        recs = await storage.get(KontrolQuery(username="anchor", version=constraint, **q))
        return {r.kite.version for r in recs}

    assert await found(">= 1.0, < 2.0") == {"1.0.0", "1.1.5"}
    assert await found("~> 1.1") == {"1.1.5"}
    assert await found("!= 1.0.0") == {"0.9.0", "1.1.5", "1.2.0-beta", "2.0.0"}
    assert await found("= 1.0") == {"1.0.0"}
    assert await found(">= 2.0") == {"2.0.0"}
    # Go would return a single name-match unchecked; we always apply the constraint
    assert await found(">= 3.0") == set()
    # other fields still narrow the candidates exactly
    assert await found(">= 0", id=by_version["2.0.0"]) == {"2.0.0"}
    assert await found(">= 0", region="unk") == set()


@pytest.mark.parametrize(
    ("query", "message", "error"),
    [
        (KontrolQuery(), "all query fields are empty", QueryError),
        (KontrolQuery(version=">= 1.0"), "all query fields are empty", QueryError),
        (KontrolQuery(version=">1", id="x", region="r"), "all query fields are empty", QueryError),
        (KontrolQuery(name="math", version=">>1"), "Malformed constraint: >>1", VersionError),
        (KontrolQuery(name="m", version="1.0, nope"), "Malformed constraint:  nope", VersionError),
    ],
)
async def test_malformed_queries_fail_with_go_texts(
    registered: Register,
    storage: Storage,
    query: KontrolQuery,
    message: str,
    error: type[Exception],
) -> None:
    await registered(storage)
    with pytest.raises(error) as info:
        await storage.get(query)
    assert str(info.value) == message


async def test_upsert_refreshes_and_rewrites_the_row(
    registered: Register, make_key: MakeKey, storage: Storage, clock: ManualClock
) -> None:
    _, [k] = await registered(storage)
    key2 = make_key()
    await storage.add_key(key2)
    clock.advance(30)
    moved = dataclasses.replace(k, version="1.0.1")
    await storage.upsert(moved, "http://new/kite", key2.id)
    [rec] = await storage.get(KontrolQuery(id=k.id))
    assert rec.kite == moved
    assert (rec.url, rec.key_id) == ("http://new/kite", key2.id)
    assert rec.updated_at == pytest.approx(clock.now)


async def test_upsert_leaves_another_users_live_row_alone(
    registered: Register, storage: Storage, clock: ManualClock
) -> None:
    """An id is its user's while the row lives; once it expired (`ttl`), anyone may take it."""
    key, [k] = await registered(storage)
    bob = dataclasses.replace(k, username="bob", name="evil")
    with pytest.raises(KiteIdTakenError, match=r"^kite id is registered by another user$"):
        await storage.upsert(bob, "http://bob/kite", key.id)
    [rec] = await storage.get(KontrolQuery(id=k.id))
    assert (rec.kite, rec.updated_at) == (k, pytest.approx(clock.now))
    clock.advance(storage.ttl - 1)
    with pytest.raises(KiteIdTakenError):
        await storage.upsert(bob, "http://bob/kite", key.id)
    clock.advance(2)
    await storage.upsert(bob, "http://bob/kite", key.id)
    [rec] = await storage.get(KontrolQuery(id=k.id))
    assert (rec.kite, rec.url) == (bob, "http://bob/kite")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"region": ""}, "Empty Kite field: region"),
        ({"id": ""}, "Empty Kite field: id"),
        ({"name": "a/b"}, "Field \"name\" must not contain '/'"),
    ],
)
async def test_invalid_kites_are_refused_and_nothing_is_stored(
    make_kite: MakeKite, make_key: MakeKey, storage: Storage, change: dict[str, str], message: str
) -> None:
    key = make_key()
    await storage.add_key(key)
    k = make_kite(**change)
    with pytest.raises(InvalidKiteError, match=message):
        await storage.upsert(k, "http://h/kite", key.id)
    assert await storage.get(KontrolQuery(username="anchor")) == []


async def test_upsert_checks_url_and_key(
    make_kite: MakeKite, make_key: MakeKey, storage: Storage
) -> None:
    key = make_key()
    await storage.add_key(key)
    k = make_kite()
    with pytest.raises(InvalidKiteError, match=r"^empty url$"):
        await storage.upsert(k, "", key.id)
    with pytest.raises(InvalidKiteError, match="invalid register URL"):
        await storage.upsert(k, "http://[::1/kite", key.id)
    with pytest.raises(InvalidKiteError, match=r"^keyId is empty\. Aborting upsert$"):
        await storage.upsert(k, "http://h/kite", "")
    with pytest.raises(KeyNotFoundError, match="no key pair found"):
        await storage.upsert(k, "http://h/kite", str(uuid.uuid4()))
    assert await storage.get(KontrolQuery(id=k.id)) == []


async def test_heartbeat_and_delete(
    registered: Register, storage: Storage, clock: ManualClock
) -> None:
    _, [k] = await registered(storage)
    clock.advance(10)
    assert await storage.heartbeat(k.id) is True
    [rec] = await storage.get(KontrolQuery(id=k.id))
    assert rec.updated_at == pytest.approx(clock.now)
    assert await storage.heartbeat(k.id, url="http://moved/kite") is True
    [rec] = await storage.get(KontrolQuery(id=k.id))
    assert rec.url == "http://moved/kite"
    assert await storage.heartbeat(str(uuid.uuid4())) is False
    assert await storage.heartbeat("") is False
    assert await storage.delete(k.id) is True
    assert await storage.delete(k.id) is False
    assert await storage.get(KontrolQuery(id=k.id)) == []


async def test_uuid_ids_are_canonical(
    make_kite: MakeKite, make_key: MakeKey, storage: Storage
) -> None:
    key = make_key()
    await storage.add_key(key)
    k = make_kite(id=str(uuid.uuid4()).upper())
    await storage.upsert(k, "http://h/kite", key.id.upper())
    [rec] = await storage.get(KontrolQuery(id=k.id))
    assert rec.kite.id == k.id.lower()
    assert rec.key_id == key.id
    [rec] = await storage.get(KontrolQuery(id=k.id.lower().replace("-", "")))
    assert await storage.heartbeat(k.id.lower()) is True


# -- liveness -------------------------------------------------------------------------------


async def test_expired_kites_are_invisible_before_cleanup(
    registered: Register, storage: Storage, clock: ManualClock
) -> None:
    _, [old] = await registered(storage)
    clock.advance(60)
    _, [young] = await registered(storage)
    clock.advance(storage.ttl - 60)  # `old` is exactly ttl old: still alive
    assert {r.kite.id for r in await storage.get(KontrolQuery(name="math"))} == {old.id, young.id}
    clock.advance(0.5)
    assert {r.kite.id for r in await storage.get(KontrolQuery(name="math"))} == {young.id}
    # a heartbeat revives a row that expired but was not cleaned up yet
    assert await storage.heartbeat(old.id) is True
    assert len(await storage.get(KontrolQuery(name="math"))) == 2


async def test_clean_expired_deletes_rows(
    registered: Register, storage: Storage, clock: ManualClock
) -> None:
    _, kites = await registered(storage, n=3)
    clock.advance(storage.ttl / 2)
    _, [fresh] = await registered(storage)
    assert await storage.clean_expired() == 0
    clock.advance(storage.ttl / 2 + 1)
    assert await storage.clean_expired() == 3
    assert await storage.heartbeat(kites[0].id) is False
    assert [r.kite.id for r in await storage.get(KontrolQuery(name="math"))] == [fresh.id]


async def test_ttl_is_configurable(
    registered: Register, open_backend: Opener, clock: ManualClock
) -> None:
    async with open_backend(ttl=5.0) as storage:
        _, [k] = await registered(storage)
        clock.advance(5.5)
        assert await storage.get(KontrolQuery(id=k.id)) == []


async def test_cleaner_task_runs_on_its_interval(
    registered: Register,
    open_backend: Opener,
    clock: ManualClock,
    mock_clock: trio.testing.MockClock,
) -> None:
    # trio time moves only by `jump` here (autojump would also jump while a worker thread runs).
    # `probe` shares the database but never expires anything: it sees rows until deleted.
    async with open_backend(cleanup_interval=120.0) as storage, open_backend(ttl=1e9) as probe:
        _, [k] = await registered(storage)
        clock.advance(storage.ttl + 1)
        mock_clock.jump(119)
        await trio.testing.wait_all_tasks_blocked()
        assert await probe.get(KontrolQuery(id=k.id)) != []  # expired, not cleaned yet
        mock_clock.jump(1)
        for _ in range(500):  # the cleaner now runs in a worker thread: poll for its effect
            if not await probe.get(KontrolQuery(id=k.id)):
                break
        else:
            pytest.fail("the cleaner never removed the expired kite")


# -- key pairs ------------------------------------------------------------------------------


async def test_key_pairs(make_key: MakeKey, storage: Storage, clock: ManualClock) -> None:
    with pytest.raises(KeyNotFoundError, match="kontrol has no key pair"):
        await storage.current_key()
    first, second = make_key("a"), make_key("b")
    await storage.add_key(first)
    clock.advance(1)
    await storage.add_key(second)
    assert await storage.get_key(first.id) == first
    assert await storage.get_key_by_public(second.public) == second
    assert await storage.list_keys() == [first, second]
    assert await storage.current_key() == second

    await storage.delete_key(second.id)
    await storage.delete_key(second.id)  # twice is fine
    with pytest.raises(KeyDeletedError, match=r"^key pair is removed$"):
        await storage.get_key(second.id)
    with pytest.raises(KeyDeletedError):
        await storage.get_key_by_public(second.public)
    assert await storage.list_keys() == [first]
    assert await storage.current_key() == first


async def test_key_lookups_that_find_nothing(storage: Storage) -> None:
    for call in (storage.get_key, storage.get_key_by_public, storage.delete_key):
        for arg in ("", str(uuid.uuid4()), "not-a-uuid"):
            with pytest.raises(KeyNotFoundError, match=r"^no key pair found$"):
                await call(arg)


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (KeyPair("", "p", "q"), "KeyPair ID field is empty"),
        (KeyPair("id", "", "q"), "KeyPair Public field is empty"),
        (KeyPair("id", "p", ""), "KeyPair Private field is empty"),
    ],
)
async def test_invalid_key_pairs(storage: Storage, pair: KeyPair, message: str) -> None:
    with pytest.raises(InvalidKeyPairError, match=rf"^{message}$"):
        await storage.add_key(pair)
    assert await storage.list_keys() == []


async def test_duplicate_key_pairs_are_refused(make_key: MakeKey, storage: Storage) -> None:
    key = make_key()
    await storage.add_key(key)
    for dup in (
        key,
        KeyPair(str(uuid.uuid4()), key.public, "other"),
        KeyPair(str(uuid.uuid4()), "other", key.private),
    ):
        with pytest.raises(KeyPairExistsError):
            await storage.add_key(dup)
    assert await storage.list_keys() == [key]


def test_key_pair_repr_hides_the_private_key(make_key: MakeKey) -> None:
    key = make_key()
    assert key.private not in repr(key)


# -- concurrency, restarts, sharing ---------------------------------------------------------


async def test_concurrent_calls(make_kite: MakeKite, make_key: MakeKey, storage: Storage) -> None:
    key = make_key()
    await storage.add_key(key)
    kites = [make_kite(f"k{i % 5}") for i in range(60)]
    bad = make_kite(region="")
    errors: list[Exception] = []

    async def register(k: object) -> None:
        try:
            await storage.upsert(k, "http://h/kite", key.id)  # type: ignore[arg-type]
        except InvalidKiteError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery:
        for k in [*kites[:30], bad, *kites[30:]]:
            nursery.start_soon(register, k)
        nursery.start_soon(storage.get, KontrolQuery(name="k1"))
    assert len(errors) == 1
    assert len(await storage.get(KontrolQuery(username="anchor"))) == 60


async def test_a_cancelled_call_leaves_the_storage_usable(
    registered: Register, make_kite: MakeKite, storage: Storage
) -> None:
    key, _ = await registered(storage)
    with trio.move_on_after(0):
        await storage.upsert(make_kite(), "http://h/kite", key.id)
    assert len(await storage.get(KontrolQuery(username="anchor"))) in (1, 2)
    await registered(storage)


async def test_data_survives_close_and_reopen(
    registered: Register, make_key: MakeKey, open_backend: Opener
) -> None:
    async with open_backend() as storage:
        key, [k] = await registered(storage)
        await storage.delete_key(key.id)
        live = make_key()
        await storage.add_key(live)
    async with open_backend() as storage:
        [rec] = await storage.get(KontrolQuery(id=k.id))
        assert rec.kite == k
        with pytest.raises(KeyDeletedError):
            await storage.get_key(key.id)
        assert await storage.current_key() == live


async def test_two_instances_share_one_registry(registered: Register, open_backend: Opener) -> None:
    async with open_backend() as a, open_backend() as b:
        key, [k] = await registered(a)
        [rec] = await b.get(KontrolQuery(id=k.id))
        assert rec.kite == k
        assert await b.get_key(key.id) == key
        assert await b.delete(k.id) is True
        assert await a.get(KontrolQuery(id=k.id)) == []


async def test_closed_storage_refuses_calls(open_backend: Opener) -> None:
    async with open_backend() as storage:
        pass
    with pytest.raises(StorageError, match="closed"):
        await storage.get(KontrolQuery(name="x"))
    await storage.aclose()  # idempotent


@pytest.mark.slow
async def test_ten_thousand_kites(make_kite: MakeKite, make_key: MakeKey, storage: Storage) -> None:
    key = make_key()
    await storage.add_key(key)
    names = [f"service{i % 100}" for i in range(10_000)]

    async def register(chunk: list[str]) -> None:
        for name in chunk:
            await storage.upsert(make_kite(name), "http://h/kite", key.id)

    async with trio.open_nursery() as nursery:
        for i in range(8):
            nursery.start_soon(register, names[i::8])
    assert len(await storage.get(KontrolQuery(name="service7"))) == 100
    assert len(await storage.get(KontrolQuery(username="anchor", version="~> 1.0"))) == 10_000
