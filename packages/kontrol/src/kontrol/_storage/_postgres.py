"""PostgreSQL back-end: Go Kontrol's schema, so Go and Python Kontrols can share one database.

How this works:
* Tables are Go's `kite.key` and `kite.kite` (docs/protocol.md §6.3), created by numbered `.sql`
  migrations (`_migrations/postgres/`) that adopt a database Go's own scripts set up. The schema
  name is an option (default `kite`); connections set `search_path` to it, so the SQL never
  names it (tests use a private schema each).
* psycopg 3's async API is asyncio-only, so we use its sync API in worker threads:
  `trio.to_thread.run_sync` under a `CapacityLimiter(max_connections)`, with a small pool of
  idle autocommit connections. Each call takes an idle connection (or opens one), runs one
  statement (or one transaction) and gives it back. Statements are prepared by psycopg after a
  few uses. `statement_timeout` and `connect_timeout` bound every call.
* Failures: a broken connection is thrown away; if it was a reused idle one (e.g. the server
  restarted since) the call is retried once on a fresh connection, otherwise the caller gets
  `StorageUnavailableError`. Nothing else changes: the next call reconnects, so a Kontrol keeps
  serving while PostgreSQL is away and recovers by itself when it is back.
* Go compatibility details: `kite.id` and `kite.key.id` are `uuid` columns, so a kite id that
  is not a UUID cannot be stored (`upsert` raises `InvalidKiteError`; Go silently loses such a
  registration) and a query for one fails with Go's text
  `pq: invalid input syntax for type uuid: "<id>"`. Timestamps come from Kontrol's clock (Go
  uses the server's `now()`); TTL checks compare them with the same clock.
* Changes: a trigger (migration 0006) NOTIFYs every change of `kite`, whoever wrote it;
  `open_postgres_storage` listens (`_pg_listen`) and publishes them on `changes`.
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import psycopg
import psycopg.errors
import trio
from psycopg import sql

from kite import single_exception
from kite.protocol import KiteIdentity

from .._errors import (
    InvalidKiteError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyPairExistsError,
    KontrolError,
    QueryError,
    StorageError,
    StorageUnavailableError,
)
from .._model import KeyPair, KiteRecord, canonical_uuid
from .._query import QueryPlan
from ._base import (
    DEFAULT_CLEANUP_INTERVAL,
    DEFAULT_TTL,
    KITE_COLUMNS,
    UPSERT_UPDATE,
    Clock,
    ThreadedStorage,
    kite_records,
    upsert_owned_where,
    wall_clock,
    where_equal,
)
from ._migrate import migrations
from ._pg_listen import change_channel, listen_for_changes

__all__ = ["PostgresStorage", "open_postgres_storage"]

T = TypeVar("T")

_SCHEMA_RE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SELECT_COLUMNS = (
    "username, environment, kitename, version, region, hostname, id::text, url, key_id::text,"
    " extract(epoch FROM updated_at)::float8"
)
# A constant key for pg_advisory_xact_lock: only one process migrates a database at a time.
_MIGRATION_LOCK = 0x6B6F6E74726F6C  # "kontrol"


class PostgresStorage(ThreadedStorage):
    """`Storage` in PostgreSQL. Open it with `open_postgres_storage`."""

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "kite",
        ttl: float = DEFAULT_TTL,
        clock: Clock = wall_clock,
        max_connections: int = 4,
        connect_timeout: float = 5.0,
        statement_timeout: float = 10.0,
    ) -> None:
        if not _SCHEMA_RE.fullmatch(schema):
            raise ValueError(f"invalid schema name {schema!r}")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        super().__init__(ttl=ttl, clock=clock, limiter=trio.CapacityLimiter(max_connections))
        self._dsn = dsn
        self.schema = schema
        self._connect_kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(1, round(connect_timeout)),
            "options": (
                f"-c search_path={schema} -c statement_timeout={int(statement_timeout * 1000)}"
            ),
        }
        self._idle: collections.deque[psycopg.Connection[Any]] = collections.deque()
        self._idle_lock = threading.Lock()
        self._select_sql: dict[tuple[str, ...], str] = {}

    # -- connections -----------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self._dsn, **self._connect_kwargs)
        except psycopg.Error as exc:
            raise StorageUnavailableError(f"postgres: cannot connect: {exc}") from exc

    def _call(self, fn: Callable[[psycopg.Connection[Any]], T], what: str) -> T:
        """Run `fn` on a pooled connection (worker thread), translating psycopg errors."""
        for attempt in (0, 1):
            with self._idle_lock:
                conn = self._idle.pop() if self._idle else None
            reused = conn is not None
            if conn is None:
                conn = self._connect()
            try:
                result = fn(conn)
            except KontrolError:
                self._release(conn)
                raise
            except psycopg.Error as exc:
                if conn.broken or conn.closed or isinstance(exc, psycopg.OperationalError):
                    with contextlib.suppress(psycopg.Error):
                        conn.close()
                    if reused and attempt == 0:
                        continue  # a stale idle connection: retry once on a fresh one
                    raise StorageUnavailableError(f"postgres: {what}: {exc}") from exc
                self._release(conn)
                raise StorageError(f"postgres: {what}: {exc}") from exc
            self._release(conn)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _release(self, conn: psycopg.Connection[Any]) -> None:
        if conn.closed or conn.broken:
            return
        with self._idle_lock:
            if self._closed:
                conn.close()
            else:
                self._idle.append(conn)

    def migrate_sync(self) -> None:
        """Create the schema and apply pending migrations (blocking; once per open)."""
        ident = sql.Identifier(self.schema)

        def run(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS kontrol_migrations ("
                    " number integer PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
                done = {n for (n,) in conn.execute("SELECT number FROM kontrol_migrations")}
                for mig in migrations("postgres"):
                    if mig.number in done:
                        continue
                    conn.execute(mig.sql.encode())
                    conn.execute(
                        "INSERT INTO kontrol_migrations (number, name) VALUES (%s, %s)",
                        (mig.number, mig.name),
                    )

        self._call(run, "migrate")

    # -- kites -----------------------------------------------------------------------------

    def _sync_upsert(
        self, kite: KiteIdentity, url: str, key_id: str, now: float, cutoff: float
    ) -> bool:
        kite_id = canonical_uuid(kite.id)
        if kite_id is None:
            raise InvalidKiteError(f'kite id is not a UUID: "{kite.id}"')
        key_uuid = canonical_uuid(key_id)
        if key_uuid is None:
            raise KeyNotFoundError()
        params = (
            kite.username,
            kite.environment,
            kite.name,
            kite.version,
            kite.region,
            kite.hostname,
            kite_id,
            url,
            key_uuid,
            now,
            now,
            cutoff,
        )

        def run(conn: psycopg.Connection[Any]) -> bool:
            try:
                cur = conn.execute(
                    f"INSERT INTO kite ({KITE_COLUMNS}, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
                    " to_timestamp(%s), to_timestamp(%s))"
                    + UPSERT_UPDATE
                    + upsert_owned_where("to_timestamp(%s)"),
                    params,
                )
            except psycopg.errors.ForeignKeyViolation:
                raise KeyNotFoundError() from None
            return cur.rowcount > 0

        return self._call(run, "upsert")

    def _sync_heartbeat(self, kite_id: str, url: str | None, now: float) -> bool:
        uid = canonical_uuid(kite_id)
        if uid is None:
            return False

        def run(conn: psycopg.Connection[Any]) -> bool:
            cur = conn.execute(
                "UPDATE kite SET updated_at = to_timestamp(%s), url = coalesce(%s, url)"
                " WHERE id = %s",
                (now, url, uid),
            )
            return cur.rowcount > 0

        return self._call(run, "heartbeat")

    def _sync_delete(self, kite_id: str) -> bool:
        uid = canonical_uuid(kite_id)
        if uid is None:
            return False

        def run(conn: psycopg.Connection[Any]) -> bool:
            return conn.execute("DELETE FROM kite WHERE id = %s", (uid,)).rowcount > 0

        return self._call(run, "delete")

    def _sync_select(self, plan: QueryPlan, cutoff: float) -> list[KiteRecord]:
        params: list[object] = []
        for field, value in plan.equal:
            if field == "id":
                uid = canonical_uuid(value)
                if uid is None:
                    # Go passes the id to PostgreSQL and returns lib/pq's error text.
                    raise QueryError(f'pq: invalid input syntax for type uuid: "{value}"')
                value = uid
            params.append(value)
        params.append(cutoff)
        fields = tuple(f for f, _ in plan.equal)
        query = self._select_sql.get(fields)
        if query is None:
            where = where_equal(fields, "%s")
            query = (
                f"SELECT {_SELECT_COLUMNS} FROM kite"
                f" WHERE {where} AND updated_at >= to_timestamp(%s)"
            )
            self._select_sql[fields] = query

        def run(conn: psycopg.Connection[Any]) -> list[Any]:
            return conn.execute(query.encode(), params).fetchall()

        rows = self._call(run, "query")
        return kite_records(rows)

    def _sync_clean(self, cutoff: float) -> int:
        def run(conn: psycopg.Connection[Any]) -> int:
            return conn.execute(
                "DELETE FROM kite WHERE updated_at < to_timestamp(%s)", (cutoff,)
            ).rowcount

        return self._call(run, "clean")

    # -- key pairs -------------------------------------------------------------------------

    def _sync_add_key(self, pair: KeyPair, now: float) -> None:
        uid = canonical_uuid(pair.id)
        if uid is None:
            raise KeyPairExistsError(f'key pair id is not a UUID: "{pair.id}"')

        def run(conn: psycopg.Connection[Any]) -> None:
            try:
                conn.execute(
                    "INSERT INTO key (id, public, private, created_at)"
                    " VALUES (%s, %s, %s, to_timestamp(%s))",
                    (uid, pair.public, pair.private, now),
                )
            except psycopg.errors.UniqueViolation as exc:
                raise KeyPairExistsError(f"key pair already exists: {exc}") from None

        self._call(run, "add key")

    def _sync_get_key(self, column: str, value: str) -> KeyPair:
        if column == "id":
            uid = canonical_uuid(value)
            if uid is None:
                raise KeyNotFoundError()
            value = uid
        query = (
            f"SELECT id::text, public, private, deleted_at IS NOT NULL FROM key WHERE {column} = %s"
        )

        def run(conn: psycopg.Connection[Any]) -> Any:
            return conn.execute(query.encode(), (value,)).fetchone()

        row = self._call(run, "get key")
        if row is None:
            raise KeyNotFoundError()
        if row[3]:
            raise KeyDeletedError()
        return KeyPair(row[0], row[1], row[2])

    def _sync_list_keys(self) -> list[KeyPair]:
        def run(conn: psycopg.Connection[Any]) -> list[Any]:
            return conn.execute(
                "SELECT id::text, public, private FROM key WHERE deleted_at IS NULL"
                " ORDER BY created_at, id"
            ).fetchall()

        return [KeyPair(*r) for r in self._call(run, "list keys")]

    def _sync_delete_key(self, key_id: str, now: float) -> None:
        uid = canonical_uuid(key_id)
        if uid is None:
            raise KeyNotFoundError()

        def run(conn: psycopg.Connection[Any]) -> int:
            return conn.execute(
                "UPDATE key SET deleted_at ="
                " coalesce(deleted_at, greatest(created_at, to_timestamp(%s)))"
                " WHERE id = %s",
                (now, uid),
            ).rowcount

        if self._call(run, "delete key") == 0:
            raise KeyNotFoundError()

    async def listen_changes(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Publish the database's registry changes on `changes` until cancelled (its own
        connection, see `_pg_listen`); started once listening."""
        await listen_for_changes(
            self._dsn,
            self._connect_kwargs,
            change_channel(self.schema),
            self.changes,
            task_status=task_status,
        )

    def _sync_close(self) -> None:
        with self._idle_lock:
            conns = list(self._idle)
            self._idle.clear()
        for conn in conns:
            with contextlib.suppress(psycopg.Error):
                conn.close()


@single_exception
@contextlib.asynccontextmanager
async def open_postgres_storage(
    dsn: str,
    *,
    schema: str = "kite",
    ttl: float = DEFAULT_TTL,
    cleanup_interval: float | None = DEFAULT_CLEANUP_INTERVAL,
    clock: Clock = wall_clock,
    max_connections: int = 4,
    connect_timeout: float = 5.0,
    statement_timeout: float = 10.0,
    listen: bool = True,
) -> AsyncIterator[PostgresStorage]:
    """Connect to PostgreSQL, migrate Go Kontrol's schema, run the expiry cleaner while in use.

    Args:
        dsn: libpq connection string or `postgresql://` URL.
        schema: schema holding the `kite` and `key` tables (Go: `kite`).
        ttl: seconds after its last refresh that a registration expires (Go: 90).
        cleanup_interval: seconds between deletions of expired rows (Go: 120); None = never.
        clock: Unix-seconds clock used for every timestamp (tests inject one).
        max_connections: upper bound on connections (and concurrent database calls).
        connect_timeout: seconds to wait for a connection (libpq rounds to whole seconds).
        statement_timeout: server-side limit per statement, seconds.
        listen: listen for the registry changes of every process sharing the database
            (one more connection); without it `subscribe_changes` hears nothing.

    Raises:
        StorageUnavailableError: the server cannot be reached at open time.
        StorageError: the migration failed (e.g. missing privileges).
    """
    storage = PostgresStorage(
        dsn,
        schema=schema,
        ttl=ttl,
        clock=clock,
        max_connections=max_connections,
        connect_timeout=connect_timeout,
        statement_timeout=statement_timeout,
    )
    try:
        await trio.to_thread.run_sync(storage.migrate_sync, limiter=storage._limiter)
        async with trio.open_nursery() as nursery:
            if cleanup_interval is not None:
                nursery.start_soon(storage.run_cleaner, cleanup_interval)
            if listen:
                await nursery.start(storage.listen_changes)
            yield storage
            nursery.cancel_scope.cancel()
    finally:
        await storage.aclose()
