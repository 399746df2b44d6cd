"""PostgreSQL specifics: Go Kontrol's exact schema, UUID rules, outages and reconnection."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import trio
from psycopg import sql

from kite.protocol import KiteIdentity
from kontrol import (
    InvalidKiteError,
    KeyDeletedError,
    KeyPair,
    KontrolQuery,
    QueryError,
    StorageUnavailableError,
    open_postgres_storage,
)

pytestmark = pytest.mark.postgres

MakeKite = Callable[..., KiteIdentity]
MakeKey = Callable[..., KeyPair]


def _columns(conn: psycopg.Connection, schema: str, table: str) -> dict[str, tuple[str, str]]:
    rows = conn.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    ).fetchall()
    return {name: (dtype, nullable) for name, dtype, nullable in rows}


async def test_schema_is_go_kontrols(pg_dsn: str, pg_schema: str) -> None:
    async with open_postgres_storage(pg_dsn, schema=pg_schema, cleanup_interval=None):
        pass
    tz = "timestamp with time zone"
    with psycopg.connect(pg_dsn) as conn:
        assert _columns(conn, pg_schema, "key") == {
            "id": ("uuid", "NO"),
            "public": ("text", "NO"),
            "private": ("text", "NO"),
            "created_at": (tz, "NO"),
            "deleted_at": (tz, "YES"),
        }
        text_cols = ("username", "environment", "kitename", "version", "region", "hostname", "url")
        assert _columns(conn, pg_schema, "kite") == {
            **dict.fromkeys(text_cols, ("text", "NO")),
            "id": ("uuid", "NO"),
            "created_at": (tz, "NO"),
            "updated_at": (tz, "NO"),
            "key_id": ("uuid", "NO"),
        }
        persistence = dict(
            conn.execute(
                "SELECT c.relname, c.relpersistence FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relname IN ('kite', 'key')",
                (pg_schema,),
            ).fetchall()
        )
        assert persistence == {"kite": "u", "key": "p"}  # kite.kite is UNLOGGED, as in Go
        indexes = {
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (pg_schema,)
            )
        }
        go_names = {
            "key_pkey",
            "key_public_unique",
            "key_private_unique",
            "kite_pkey",
            "kite_updated_at_btree_idx",
            "kite_key_public_idx",
            "kite_key_deleted_at_public_idx",
        }
        assert go_names <= indexes
        constraints = {
            r[0]
            for r in conn.execute(
                "SELECT conname FROM pg_constraint c JOIN pg_namespace n"
                " ON n.oid = c.connamespace WHERE n.nspname = %s",
                (pg_schema,),
            )
        }
        assert {"kite_key_id_fkey", "key_created_at_lte_deleted_at_check"} <= constraints


async def test_rows_are_what_go_kontrol_reads(
    make_kite: MakeKite, make_key: MakeKey, pg_dsn: str, pg_schema: str
) -> None:
    """A row we write is a row Go's `SELECT * FROM kite.kite` scans (its column order)."""
    async with open_postgres_storage(pg_dsn, schema=pg_schema, cleanup_interval=None) as s:
        key = make_key()
        await s.add_key(key)
        k = make_kite()
        await s.upsert(k, "http://127.0.0.1:3636/kite", key.id)
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute(
            sql.SQL("SELECT * FROM {}.kite").format(sql.Identifier(pg_schema))
        ).fetchone()
    assert row is not None
    assert [str(x) for x in row[:8]] == [
        k.username,
        k.environment,
        k.name,
        k.version,
        k.region,
        k.hostname,
        k.id,
        "http://127.0.0.1:3636/kite",
    ]
    assert str(row[10]) == key.id


async def test_adopts_an_existing_schema_and_migrates_once(
    make_key: MakeKey, pg_dsn: str, pg_schema: str
) -> None:
    async with open_postgres_storage(pg_dsn, schema=pg_schema, cleanup_interval=None) as s:
        key = make_key()
        await s.add_key(key)
    # A database set up by Go's scripts has the tables but not our bookkeeping table.
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE {}.kontrol_migrations").format(sql.Identifier(pg_schema)))
    async with open_postgres_storage(pg_dsn, schema=pg_schema, cleanup_interval=None) as s:
        assert await s.get_key(key.id) == key
    async with open_postgres_storage(pg_dsn, schema=pg_schema, cleanup_interval=None) as s:
        assert await s.list_keys() == [key]


async def test_concurrent_opens_migrate_safely(pg_dsn: str, pg_schema: str) -> None:
    async def open_one() -> None:
        async with open_postgres_storage(pg_dsn, schema=pg_schema, cleanup_interval=None) as s:
            await s.list_keys()

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(open_one)


async def test_non_uuid_ids(
    make_kite: MakeKite, make_key: MakeKey, pg_dsn: str, pg_schema: str
) -> None:
    async with open_postgres_storage(pg_dsn, schema=pg_schema, cleanup_interval=None) as s:
        key = make_key()
        await s.add_key(key)
        with pytest.raises(InvalidKiteError, match="not a UUID"):
            await s.upsert(make_kite(id="not-a-uuid"), "http://h/kite", key.id)
        with pytest.raises(QueryError) as info:
            await s.get(KontrolQuery(id="not-a-uuid"))
        # Go Kontrol's text for the same query (lib/pq's error)
        assert info.value.message == 'pq: invalid input syntax for type uuid: "not-a-uuid"'
        assert await s.heartbeat("not-a-uuid") is False
        assert await s.delete("not-a-uuid") is False


async def test_unreachable_server_is_a_typed_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dsn = f"postgresql://kite:kite@127.0.0.1:{port}/kite"
    with pytest.raises(StorageUnavailableError, match="cannot connect"):
        async with open_postgres_storage(dsn, connect_timeout=1):
            pass


# -- a private cluster we may stop and start ------------------------------------------------


def _pg_bin() -> str | None:
    env = os.environ.get("KITE_TEST_PG_BIN")
    if env and os.path.exists(os.path.join(env, "pg_ctl")):
        return env
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


class PrivateCluster:
    """A throw-away PostgreSQL cluster in a temp dir on a free port (root runs it as postgres)."""

    def __init__(self, bindir: str, datadir: Path, port: int) -> None:
        self.bindir, self.datadir, self.port = bindir, datadir, port
        self.dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: str) -> None:
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "-A", "trust", "-E", "UTF8")

    def start(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.datadir} -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.datadir / "log"),
            "-w",
            "-o",
            opts,
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop")


@pytest.fixture
def private_cluster() -> Iterator[PrivateCluster]:
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (set KITE_TEST_PG_BIN)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start a private cluster")
    parent = Path(tempfile.mkdtemp(prefix="kite-pg-"))
    datadir = parent / "data"
    datadir.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(parent, "postgres")
        shutil.chown(datadir, "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cluster = PrivateCluster(bindir, datadir, port)
    try:
        cluster.init()
        cluster.start()
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(parent, ignore_errors=True)
        pytest.skip(f"cannot start a private PostgreSQL cluster: {exc.stderr!r}")
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            cluster.stop("immediate")
        shutil.rmtree(parent, ignore_errors=True)


@pytest.mark.slow
async def test_survives_a_server_restart(
    make_kite: MakeKite, make_key: MakeKey, private_cluster: PrivateCluster
) -> None:
    async with open_postgres_storage(
        private_cluster.dsn, cleanup_interval=None, connect_timeout=2, max_connections=2
    ) as s:
        key = make_key()
        await s.add_key(key)
        k = make_kite()
        await s.upsert(k, "http://h/kite", key.id)

        await trio.to_thread.run_sync(private_cluster.stop)
        with pytest.raises(StorageUnavailableError):
            await s.get(KontrolQuery(id=k.id))
        with pytest.raises(StorageUnavailableError):
            await s.upsert(make_kite(), "http://h/kite", key.id)

        await trio.to_thread.run_sync(private_cluster.start)
        # the same storage object reconnects by itself; a clean stop keeps even UNLOGGED rows
        [rec] = await s.get(KontrolQuery(id=k.id))
        assert rec.kite == k

        # a crash empties the UNLOGGED registry (as with Go Kontrol); key pairs survive
        await trio.to_thread.run_sync(private_cluster.stop, "immediate")
        await trio.to_thread.run_sync(private_cluster.start)
        assert await s.get(KontrolQuery(id=k.id)) == []
        assert await s.heartbeat(k.id) is False  # the caller re-registers
        assert await s.get_key(key.id) == key
        await s.upsert(k, "http://h/kite", key.id)
        await s.delete_key(key.id)
        with pytest.raises(KeyDeletedError):
            await s.get_key(key.id)
        assert uuid.UUID((await s.get(KontrolQuery(id=k.id)))[0].kite.id)
