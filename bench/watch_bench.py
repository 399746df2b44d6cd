"""Kontrol watches: how long a registry change takes to reach a watcher.

Storage level (``kontrol.watch.storage[...]``): a change written through one storage and
received on another's ``subscribe_changes`` (PostgreSQL: two storages on one scratch schema,
so the change travels trigger -> NOTIFY -> the other's LISTEN connection; SQLite: the same
storage, the in-process trigger path). Timed from the start of the write (``upsert`` then
``delete``, each a change) to its arrival, so a figure includes the write's commit.

Kite level (``kontrol.watch.kite[...]``): a watcher (``KontrolClient.watch_kites``) on Kontrol
A, a kite registering over its kite connection to Kontrol B (PostgreSQL: A and B share the
database; SQLite: B is A), everything over SockJS on 127.0.0.1. ``register`` is timed from
sending ``register`` to the watcher's event, ``deregister`` from closing the kite's connection
to the watcher's event.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import trio

import kite
from bench import Measurement, Scenario
from bench.kontrol_bench import _drop_schemas, _postgres_dsn, _schema
from kite.protocol import KiteIdentity
from kontrol import KeyPair, Kontrol, Storage, open_postgres_storage, open_sqlite_storage

CHANGES = 400
SMOKE_CHANGES = 10
KITES = 100
SMOKE_KITES = 3


@contextlib.asynccontextmanager
async def _two_storages(backend: str, tmp: Path) -> AsyncIterator[tuple[Storage, Storage]]:
    if backend == "sqlite":
        async with open_sqlite_storage(tmp / "k.db", cleanup_interval=None) as lite:
            yield lite, lite
        return
    dsn = _postgres_dsn()
    schema = f"kite_bench_{uuid.uuid4().hex[:12]}"
    _schema.append(schema)
    async with (
        open_postgres_storage(dsn, schema=schema, cleanup_interval=None) as a,
        open_postgres_storage(dsn, schema=schema, cleanup_interval=None) as b,
    ):
        yield a, b


def _identity() -> KiteIdentity:
    return KiteIdentity(
        username="anchor", environment="bench", name="math", version="1.0.0",
        region="local", hostname="vm", id=str(uuid.uuid4()),
    )  # fmt: skip


def _run(backend: str, main: Any) -> Any:
    try:
        with tempfile.TemporaryDirectory(prefix="watch-bench-") as tmp:
            return trio.run(main, Path(tmp))
    finally:
        if backend == "postgres":
            _drop_schemas()


def _storage_scenario(backend: str) -> Scenario:
    def run(smoke: bool) -> Measurement:
        n = SMOKE_CHANGES if smoke else CHANGES

        async def main(tmp: Path) -> list[float]:
            async with _two_storages(backend, tmp) as (watched, writer):
                pair = KeyPair(str(uuid.uuid4()), "-----BEGIN PUBLIC KEY-----w", "private")
                await writer.add_key(pair)
                latencies = []
                with watched.subscribe_changes() as changes:
                    for _ in range(n):
                        k = _identity()
                        url = "http://127.0.0.1:1/kite"
                        for write in (writer.upsert(k, url, pair.id), writer.delete(k.id)):
                            t0 = time.perf_counter()
                            await write
                            with trio.fail_after(10):
                                await anext(changes)
                            latencies.append(time.perf_counter() - t0)
                return latencies

        latencies = _run(backend, main)
        return Measurement(len(latencies), sum(latencies), latencies, note="write -> event")

    return Scenario(f"kontrol.watch.storage[{backend}]", run, unit="change")


def _kite_scenario(backend: str, action: str) -> Scenario:
    def run(smoke: bool) -> Measurement:
        n = SMOKE_KITES if smoke else KITES

        async def main(tmp: Path) -> list[float]:
            pair = kite.generate_key_pair()
            key = kite.issue_kite_key(
                private_key=pair.private, public_key=pair.public, issuer="anchor",
                subject="anchor", kontrol_url="http://127.0.0.1/kite", now=time.time(),
            )  # fmt: skip
            config = kite.Config(username="anchor")
            async with _two_storages(backend, tmp) as (sa, sb):
                ka = Kontrol(config=config, storage=sa, key_pair=pair)
                kb = ka if sb is sa else Kontrol(config=config, storage=sb, key_pair=pair)
                async with contextlib.AsyncExitStack() as stack:
                    await stack.enter_async_context(ka.running())
                    a = await stack.enter_async_context(ka.serve("127.0.0.1", 0))
                    b = a
                    if kb is not ka:
                        await stack.enter_async_context(kb.running())
                        b = await stack.enter_async_context(kb.serve("127.0.0.1", 0))
                    me = kite.Kite("watcher", "1.0.0", config.replace(kite_key=key))
                    client = await stack.enter_async_context(me.kontrol_client(url=a.url))
                    watch = await stack.enter_async_context(client.watch_kites({"name": "math"}))
                    latencies = []
                    for _ in range(n):
                        math = kite.Kite("math", "1.0.0", config)
                        async with math.dial(b.url, auth=kite.Auth("kiteKey", key)) as peer:
                            t0 = time.perf_counter()
                            await peer.tell("register", {"url": "http://127.0.0.1:1/kite"})
                            with trio.fail_after(10):
                                event = await anext(watch)
                            if action == "register":
                                latencies.append(time.perf_counter() - t0)
                            t0 = time.perf_counter()
                        with trio.fail_after(10):
                            event = await anext(watch)
                        if action == "deregister":
                            latencies.append(time.perf_counter() - t0)
                        assert event.action == "deregister"
                    return latencies

        latencies = _run(backend, main)
        return Measurement(len(latencies), sum(latencies), latencies, note=f"{action} -> event")

    where = "B -> watcher on A" if backend == "postgres" else "same Kontrol"
    return Scenario(f"kontrol.watch.kite.{action}[{backend}, {where}]", run, unit="kite")


CASES = [
    _storage_scenario("sqlite"),
    _storage_scenario("postgres"),
    *(_kite_scenario(b, a) for b in ("sqlite", "postgres") for a in ("register", "deregister")),
]
