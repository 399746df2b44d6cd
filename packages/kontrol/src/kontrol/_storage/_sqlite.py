"""SQLite back-end: the default, embedded registry in one file.

How this works: one `sqlite3` connection in autocommit mode, used by one worker thread at a time,
so calls never block the trio loop. Calls are *group-committed*: a call queues a job; if no
flush is running, it becomes the flusher and hands every queued job to one worker thread, which
runs them in a single transaction (a SAVEPOINT per job, so one job's failure rolls back only that
job). Under concurrent load many registrations then cost one thread hop and one commit; a lone
call is simply one autocommit statement.
The file runs in WAL mode with `synchronous=NORMAL`: a committed call survives the process being
killed (`kill -9`) and a restart; a power cut can lose the last commits but never corrupts the
file. Foreign keys are on (`kite.key_id` must name a stored key pair, as in Go's PostgreSQL
schema). Ids that are UUIDs are stored in PostgreSQL's canonical lower-case form, so both
back-ends answer the same; other ids are kept as given (only PostgreSQL requires UUIDs).

Registry changes come from TEMP triggers (`_sqlite_changes`): a job's changes are kept only if
the job committed, and are published after its batch, so only this process sees them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import trio

from kite import single_exception
from kite.protocol import KiteIdentity

from .._errors import (
    KeyDeletedError,
    KeyNotFoundError,
    KeyPairExistsError,
    KontrolError,
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
from ._changes import RegistryChange
from ._migrate import migrations
from ._sqlite_changes import install_change_triggers

__all__ = ["SQLiteStorage", "open_sqlite_storage"]

T = TypeVar("T")


def _norm_id(kite_id: str) -> str:
    return canonical_uuid(kite_id) or kite_id


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    """Turn sqlite3 exceptions into the kontrol tree (integrity errors are handled by callers)."""
    try:
        yield
    except KontrolError:
        raise
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text or "unable to open" in text:
            raise StorageUnavailableError(f"sqlite: {what}: {text}") from exc
        raise StorageError(f"sqlite: {what}: {text}") from exc
    except sqlite3.Error as exc:
        raise StorageError(f"sqlite: {what}: {exc}") from exc


class _Job:
    """One queued call: the blocking function and, once run, its result or error."""

    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = trio.Event()


def _run_batch(conn: sqlite3.Connection, batch: list[_Job], changes: list[RegistryChange]) -> None:
    """Worker thread: run the jobs, in one transaction when there are several; the triggers
    append the changes of committed jobs to `changes` (a failed job's are dropped)."""
    if len(batch) == 1:
        job = batch[0]
        try:
            job.result = job.fn()
        except KontrolError as exc:
            job.error = exc
            changes.clear()
        return
    with _translated("batch"):
        # IMMEDIATE takes the write lock up front (waiting up to busy_timeout for another
        # process), so a read followed by a write in one batch cannot fail to upgrade its lock.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job in batch:
                conn.execute("SAVEPOINT job")
                mark = len(changes)
                try:
                    job.result = job.fn()
                except KontrolError as exc:
                    job.error = exc
                    conn.execute("ROLLBACK TO job")
                    del changes[mark:]
                conn.execute("RELEASE job")
            conn.execute("COMMIT")
        except BaseException:
            changes.clear()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


class SQLiteStorage(ThreadedStorage):
    """`Storage` in an SQLite file (or `":memory:"`). Open it with `open_sqlite_storage`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        path: str,
        ttl: float = DEFAULT_TTL,
        clock: Clock = wall_clock,
    ) -> None:
        super().__init__(ttl=ttl, clock=clock)  # no limiter: `_dispatch` serialises
        self._conn = conn
        self.path = path
        self._select_sql: dict[tuple[str, ...], str] = {}
        self._queue: list[_Job] = []
        self._flushing = False
        self._pending_changes: list[RegistryChange] = []  # filled by the triggers
        install_change_triggers(conn, self._pending_changes.append)

    async def _dispatch(self, fn: Callable[..., T], *args: object) -> T:
        job = _Job(functools.partial(fn, *args))
        self._queue.append(job)
        # Like a thread call, a queued job is never abandoned: a cancelled caller still waits
        # for it (briefly) and then sees the cancellation.
        with trio.CancelScope(shield=True):
            if self._flushing:
                await job.done.wait()
            else:
                await self._flush()
        await trio.lowlevel.checkpoint_if_cancelled()
        if job.error is not None:
            raise job.error
        result: T = job.result
        return result

    async def _flush(self) -> None:
        self._flushing = True
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                changes = self._pending_changes
                try:
                    await trio.to_thread.run_sync(_run_batch, self._conn, batch, changes)
                    for change in changes:
                        self.changes.publish(change)
                except KontrolError as exc:
                    for job in batch:
                        job.error = exc
                except Exception as exc:  # noqa: BLE001 - every waiting caller gets the failure
                    err = StorageError(f"sqlite: unexpected failure: {exc!r}")
                    err.__cause__ = exc
                    for job in batch:
                        job.error = err
                finally:
                    changes.clear()
                    for job in batch:
                        job.done.set()
        finally:
            self._flushing = False

    @classmethod
    def connect_sync(cls, path: str, *, busy_timeout: float = 5.0) -> sqlite3.Connection:
        """Open (creating if needed) and migrate the database file; blocking."""
        with _translated("open"):
            conn = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                _apply_migrations(conn)
            except BaseException:
                conn.close()
                raise
        return conn

    # -- kites -----------------------------------------------------------------------------

    def _sync_upsert(
        self, kite: KiteIdentity, url: str, key_id: str, now: float, cutoff: float
    ) -> bool:
        with _translated("upsert"):
            try:
                cur = self._conn.execute(
                    f"INSERT INTO kite ({KITE_COLUMNS}, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    + UPSERT_UPDATE
                    + upsert_owned_where("?"),
                    (
                        kite.username,
                        kite.environment,
                        kite.name,
                        kite.version,
                        kite.region,
                        kite.hostname,
                        _norm_id(kite.id),
                        url,
                        _norm_id(key_id),
                        now,
                        now,
                        cutoff,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                if "FOREIGN KEY" in str(exc):
                    raise KeyNotFoundError() from None
                raise
            return cur.rowcount > 0

    def _sync_heartbeat(self, kite_id: str, url: str | None, now: float) -> bool:
        with _translated("heartbeat"):
            cur = self._conn.execute(
                "UPDATE kite SET updated_at = ?, url = coalesce(?, url) WHERE id = ?",
                (now, url, _norm_id(kite_id)),
            )
            return cur.rowcount > 0

    def _sync_delete(self, kite_id: str) -> bool:
        with _translated("delete"):
            cur = self._conn.execute("DELETE FROM kite WHERE id = ?", (_norm_id(kite_id),))
            return cur.rowcount > 0

    def _sync_select(self, plan: QueryPlan, cutoff: float) -> list[KiteRecord]:
        fields = tuple(f for f, _ in plan.equal)
        sql = self._select_sql.get(fields)
        if sql is None:
            where = where_equal(fields, "?")
            sql = f"SELECT {KITE_COLUMNS}, updated_at FROM kite WHERE {where} AND updated_at >= ?"
            self._select_sql[fields] = sql
        params = [_norm_id(v) if f == "id" else v for f, v in plan.equal]
        with _translated("query"):
            rows = self._conn.execute(sql, (*params, cutoff)).fetchall()
        return kite_records(rows)

    def _sync_clean(self, cutoff: float) -> int:
        with _translated("clean"):
            return self._conn.execute("DELETE FROM kite WHERE updated_at < ?", (cutoff,)).rowcount

    # -- key pairs -------------------------------------------------------------------------

    def _sync_add_key(self, pair: KeyPair, now: float) -> None:
        with _translated("add key"):
            try:
                self._conn.execute(
                    "INSERT INTO key (id, public, private, created_at) VALUES (?, ?, ?, ?)",
                    (_norm_id(pair.id), pair.public, pair.private, now),
                )
            except sqlite3.IntegrityError as exc:
                raise KeyPairExistsError(f"key pair already exists: {exc}") from None

    def _sync_get_key(self, column: str, value: str) -> KeyPair:
        if column == "id":
            value = _norm_id(value)
        with _translated("get key"):
            row = self._conn.execute(
                f"SELECT id, public, private, deleted_at FROM key WHERE {column} = ?", (value,)
            ).fetchone()
        if row is None:
            raise KeyNotFoundError()
        if row[3] is not None:
            raise KeyDeletedError()
        return KeyPair(row[0], row[1], row[2])

    def _sync_list_keys(self) -> list[KeyPair]:
        with _translated("list keys"):
            rows = self._conn.execute(
                "SELECT id, public, private FROM key WHERE deleted_at IS NULL"
                " ORDER BY created_at, rowid"
            ).fetchall()
        return [KeyPair(*r) for r in rows]

    def _sync_delete_key(self, key_id: str, now: float) -> None:
        with _translated("delete key"):
            cur = self._conn.execute(
                "UPDATE key SET deleted_at = coalesce(deleted_at, max(created_at, ?)) WHERE id = ?",
                (now, _norm_id(key_id)),
            )
            if cur.rowcount == 0:
                raise KeyNotFoundError()

    def _sync_close(self) -> None:
        with _translated("close"):
            self._conn.close()


def _apply_migrations(conn: sqlite3.Connection) -> None:
    (current,) = conn.execute("PRAGMA user_version").fetchone()
    for mig in migrations("sqlite"):
        if mig.number <= current:
            continue
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{mig.sql}\nPRAGMA user_version = {mig.number};")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


@single_exception
@contextlib.asynccontextmanager
async def open_sqlite_storage(
    path: str | os.PathLike[str],
    *,
    ttl: float = DEFAULT_TTL,
    cleanup_interval: float | None = DEFAULT_CLEANUP_INTERVAL,
    clock: Clock = wall_clock,
    busy_timeout: float = 5.0,
) -> AsyncIterator[SQLiteStorage]:
    """Open (create, migrate) an SQLite registry and run its expiry cleaner while in use.

    Args:
        path: database file (created if missing) or `":memory:"`.
        ttl: seconds after its last refresh that a registration expires (Go: 90).
        cleanup_interval: seconds between deletions of expired rows (Go: 120); None = never
            (expired rows are still invisible to queries).
        clock: Unix-seconds clock used for every timestamp (tests inject one).
        busy_timeout: how long a call waits for another process's write lock.

    Raises:
        StorageError: the file cannot be opened or migrated.
    """
    name = os.fspath(path)
    conn = await trio.to_thread.run_sync(
        lambda: SQLiteStorage.connect_sync(name, busy_timeout=busy_timeout)
    )
    storage = SQLiteStorage(conn, path=name, ttl=ttl, clock=clock)
    try:
        async with trio.open_nursery() as nursery:
            if cleanup_interval is not None:
                nursery.start_soon(storage.run_cleaner, cleanup_interval)
            yield storage
            nursery.cancel_scope.cancel()
    finally:
        await storage.aclose()
