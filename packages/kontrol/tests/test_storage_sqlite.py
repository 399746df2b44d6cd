"""SQLite specifics: WAL file, kill -9 safety, group commit, the storage URL factory, exports."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

import dnode
import kontrol
from kite.protocol import KiteIdentity
from kontrol import (
    KeyPair,
    KontrolQuery,
    ManualClock,
    SQLiteStorage,
    StorageError,
    open_sqlite_storage,
    open_storage,
)

MakeKite = Callable[..., KiteIdentity]
MakeKey = Callable[..., KeyPair]

WRITER = textwrap.dedent(
    """
    import sys, uuid, trio
    from kite.protocol import KiteIdentity
    from kontrol import KeyPair, open_sqlite_storage

    async def main(path):
        async with open_sqlite_storage(path, cleanup_interval=None) as s:
            key = KeyPair(str(uuid.uuid4()), "pub", "priv")
            await s.add_key(key)
            for i in range(100_000):
                k = KiteIdentity(name="w", username="u", id=str(uuid.uuid4()), environment="e",
                                 region="r", version="1.0.0", hostname="h")
                await s.upsert(k, "http://h/kite", key.id)
                print(k.id, flush=True)  # committed

    trio.run(main, sys.argv[1])
    """
)


def test_kill_9_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        committed = [proc.stdout.readline().strip() for _ in range(200)]
        proc.kill()  # SIGKILL, mid-write
        proc.wait(timeout=30)
        committed += [line.strip() for line in proc.stdout if line.strip()]
    assert "" not in committed

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    stored = {r[0] for r in conn.execute("SELECT id FROM kite")}
    conn.close()
    assert set(committed) <= stored


async def test_wal_mode_and_reopen(make_key: MakeKey, tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    async with open_sqlite_storage(path, cleanup_interval=None) as s:
        assert s.path == str(path)
        await s.add_key(make_key())
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA user_version").fetchone() == (1,)
    conn.close()


async def test_unopenable_file_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        async with open_sqlite_storage(tmp_path / "missing-dir" / "k.db"):
            pass


async def test_concurrent_writes_are_group_committed_with_isolated_failures(
    make_kite: MakeKite,
    make_key: MakeKey,
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    async with open_sqlite_storage(tmp_path / "k.db", clock=clock, cleanup_interval=None) as s:
        key = make_key()
        await s.add_key(key)
        results: dict[int, str] = {}

        async def register(i: int) -> None:
            # every third one names an unknown key pair: only that job is rolled back
            key_id = key.id if i % 3 else "00000000-0000-0000-0000-000000000000"
            try:
                await s.upsert(make_kite(f"svc{i}"), "http://h/kite", key_id)
                results[i] = "ok"
            except kontrol.KeyNotFoundError:
                results[i] = "no key"

        async with trio.open_nursery() as nursery:
            for i in range(30):
                nursery.start_soon(register, i)
        assert results == {i: ("ok" if i % 3 else "no key") for i in range(30)}
        assert len(await s.get(KontrolQuery(username="anchor"))) == 20


async def test_open_storage_urls(make_key: MakeKey, tmp_path: Path) -> None:
    async with open_storage(f"sqlite://{tmp_path}/a.db", cleanup_interval=None) as s:
        assert isinstance(s, SQLiteStorage)
        assert s.path == f"{tmp_path}/a.db"
    async with open_storage("sqlite::memory:", cleanup_interval=None) as s:
        key = make_key()
        await s.add_key(key)
        assert await s.current_key() == key
    with pytest.raises(ValueError, match="unknown storage URL"):
        async with open_storage("etcd://127.0.0.1:2379"):
            pass


def test_public_names() -> None:
    public = (  # not its submodules, nor pytest's `@py_builtins` (it rewrites plugin packages)
        name
        for name in dir(kontrol)
        if name.isidentifier()
        and not name.startswith("_")
        and name != "annotations"
        and not isinstance(getattr(kontrol, name), types.ModuleType)
    )
    assert sorted(kontrol.__all__) == sorted(public)
    for name in kontrol.__all__:
        assert (
            name.isupper()
            or name == "Clock"
            or getattr(kontrol, name).__module__.startswith("kontrol")
            or getattr(kontrol, name) is getattr(dnode, name, None)  # go_json: dnode's rule
        )
