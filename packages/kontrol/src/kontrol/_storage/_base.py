"""The storage interface and the part both back-ends share.

How this works: `Storage` is the small async interface the Kontrol methods use (Go's `Storage`
plus `KeyPairStorage`, docs/protocol.md §6.3 and §6.6). Both back-ends are blocking DB-API drivers
(sqlite3, psycopg's sync API), so `ThreadedStorage` keeps every database call off the trio loop:
it validates arguments and plans queries on the loop, then runs one short, self-contained
blocking function per call in `trio.to_thread.run_sync` under a `CapacityLimiter` that also
bounds how many connections are in use. Such calls are not abandoned on cancellation: a cancelled
caller waits for its statement to finish, so a write is never left half done.

Liveness (§6.4): each row carries `updated_at`, written from the injectable `clock` (Unix
seconds; tests pass a fake). A row older than `ttl` (Go's `KeyTTL`, 90 s) is expired: every query
filters it out at once, and `clean_expired()` (run every `cleanup_interval`, Go's 120 s, by the
`open_*` context managers) deletes it.

Changes (`_changes`): each back-end publishes the registrations that appear and go away on
`changes`, a `ChangeFeed`; `subscribe_changes()` receives them.
"""

from __future__ import annotations

import functools
import logging
import random
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

import trio

from kite.protocol import KiteIdentity

from .._errors import InvalidKiteError, KeyNotFoundError, KiteIdTakenError, StorageError
from .._model import KeyPair, KiteRecord, validate_kite
from .._query import KontrolQuery, QueryPlan, plan_query
from ._changes import ChangeFeed, Subscription

__all__ = [
    "DEFAULT_CLEANUP_INTERVAL",
    "DEFAULT_TTL",
    "Clock",
    "ManualClock",
    "Storage",
    "ThreadedStorage",
]

log = logging.getLogger("kontrol.storage")

T = TypeVar("T")

#: Unix time in seconds (float), `time.time` unless a test injects another.
Clock = Callable[[], float]

#: Go's `KeyTTL`: a registration not refreshed for this long is gone.
DEFAULT_TTL = 90.0
#: Go's Postgres cleaner period.
DEFAULT_CLEANUP_INTERVAL = 120.0

# -- SQL shared by the SQLite and PostgreSQL storages (same `kite` table layout) -------------

#: The `kite` columns written on register, in the order of `kite_row`'s values.
KITE_COLUMNS = "username, environment, kitename, version, region, hostname, id, url, key_id"
#: The `ON CONFLICT (id)` action of an upsert: a re-registration replaces everything but
#: `created_at`.
UPSERT_UPDATE = (
    " ON CONFLICT (id) DO UPDATE SET username = excluded.username,"
    " environment = excluded.environment, kitename = excluded.kitename,"
    " version = excluded.version, region = excluded.region,"
    " hostname = excluded.hostname, url = excluded.url,"
    " key_id = excluded.key_id, updated_at = excluded.updated_at"
)


def upsert_owned_where(cutoff: str) -> str:
    """The condition of `UPSERT_UPDATE`: the stored row is the same user's, or expired
    (`updated_at` before `cutoff`, the back-end's placeholder); otherwise nothing changes and
    the statement counts no row (the id is another user's)."""
    return f" WHERE kite.username = excluded.username OR kite.updated_at < {cutoff}"


_COLUMN = {"name": "kitename"}


def where_equal(fields: Iterable[str], placeholder: str) -> str:
    """`col = ? AND ...` for the query fields (`name` is the `kitename` column)."""
    return " AND ".join(f"{_COLUMN.get(f, f)} = {placeholder}" for f in fields)


def kite_records(rows: Iterable[Sequence[Any]]) -> list[KiteRecord]:
    """Rows of (identity fields in `KITE_COLUMNS` order, url, key_id, updated_at) as records."""
    return [
        KiteRecord(
            KiteIdentity(
                username=r[0],
                environment=r[1],
                name=r[2],
                version=r[3],
                region=r[4],
                hostname=r[5],
                id=r[6],
            ),
            r[7],
            r[8],
            r[9],
        )
        for r in rows
    ]


class Storage(Protocol):
    """What Kontrol needs from a registry + key-pair store. Every method is safe to call
    concurrently from many trio tasks; failures raise the `kontrol` error tree only."""

    @property
    def ttl(self) -> float:
        """Seconds after its last refresh that a registration expires."""
        ...

    async def upsert(self, kite: KiteIdentity, url: str, key_id: str) -> None:
        """Register `kite` at `url` signed by key pair `key_id`, or refresh it (by `kite.id`);
        `KiteIdTakenError` when another user's live registration holds `kite.id`."""
        ...

    async def heartbeat(self, kite_id: str, url: str | None = None) -> bool:
        """Refresh a registration's liveness (and URL); False if no such kite is stored."""
        ...

    async def delete(self, kite_id: str) -> bool:
        """Remove a registration; False if there was none."""
        ...

    async def get(self, query: KontrolQuery) -> list[KiteRecord]:
        """Live kites matching `query`, in random order (Go shuffles)."""
        ...

    async def clean_expired(self) -> int:
        """Delete expired registrations now; returns how many."""
        ...

    def subscribe_changes(self) -> AbstractContextManager[Subscription]:
        """Receive the registrations that appear and go away while the block runs."""
        ...

    async def clean_not_refreshed_since(self, since: float) -> int:
        """Delete registrations last written before `since` (Unix seconds); returns how many."""
        ...

    async def add_key(self, pair: KeyPair) -> None:
        """Store a new key pair (it becomes the current one)."""
        ...

    async def get_key(self, key_id: str) -> KeyPair:
        """The key pair with this id; `KeyNotFoundError` / `KeyDeletedError` otherwise."""
        ...

    async def get_key_by_public(self, public: str) -> KeyPair:
        """The key pair with this exact public PEM; `KeyNotFoundError` / `KeyDeletedError`."""
        ...

    async def list_keys(self) -> list[KeyPair]:
        """Live (not deleted) key pairs, oldest first."""
        ...

    async def current_key(self) -> KeyPair:
        """The most recently added live key pair; `KeyNotFoundError` if there is none."""
        ...

    async def delete_key(self, key_id: str) -> None:
        """Mark a key pair deleted (kept, refused by lookups); deleting twice is fine."""
        ...

    async def aclose(self) -> None:
        """Close connections; further calls fail with `StorageError`."""
        ...


def _check_url(url: str) -> None:
    if not url:
        raise InvalidKiteError("empty url")
    try:
        urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise InvalidKiteError(f"invalid register URL: {exc}") from None


class ThreadedStorage:
    """Shared half of the back-ends: validation, planning, shuffling, liveness, thread hops.

    Subclasses implement the `_sync_*` methods; each runs in a worker thread and translates its
    driver's exceptions into the `kontrol` tree itself.
    """

    def __init__(
        self, *, ttl: float, clock: Clock, limiter: trio.CapacityLimiter | None = None
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self._ttl = ttl
        self._clock = clock
        self._limiter = limiter
        self._closed = False
        self.changes = ChangeFeed()

    @property
    def ttl(self) -> float:
        """Seconds after its last refresh that a registration expires."""
        return self._ttl

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        if self._closed:
            raise StorageError("storage is closed")
        return await self._dispatch(fn, *args)

    async def _dispatch(self, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking call in a worker thread (back-ends may batch instead)."""
        return await trio.to_thread.run_sync(functools.partial(fn, *args), limiter=self._limiter)

    # -- kites -----------------------------------------------------------------------------

    async def upsert(self, kite: KiteIdentity, url: str, key_id: str) -> None:
        """Register or refresh a kite.

        Unlike Go (which only refreshes url/key_id of an existing row), the identity columns
        are rewritten too, in one atomic statement; and unlike Go, a live (not expired) row
        of another user is left alone: the id is theirs until their registration ends.

        Raises:
            KiteIdTakenError: another user's live registration holds `kite.id`.
            InvalidKiteError: bad identity (Go's `Empty Kite field: ...` texts), empty or
                unparsable URL, empty key id (`keyId is empty. Aborting upsert`).
            KeyNotFoundError: `key_id` names no stored key pair.
            StorageError: the database failed.
        """
        validate_kite(kite)
        _check_url(url)
        if not key_id:
            raise InvalidKiteError("keyId is empty. Aborting upsert")
        now = self._clock()
        if not await self._run(self._sync_upsert, kite, url, key_id, now, now - self._ttl):
            raise KiteIdTakenError()

    async def heartbeat(self, kite_id: str, url: str | None = None) -> bool:
        """Refresh `updated_at` (and the URL if given) of a registration, even an expired one
        that is not cleaned up yet; False if no row has that id."""
        if url is not None:
            _check_url(url)
        if not kite_id:
            return False
        return await self._run(self._sync_heartbeat, kite_id, url, self._clock())

    async def delete(self, kite_id: str) -> bool:
        """Remove a registration by kite id; False if there was none."""
        if not kite_id:
            return False
        return await self._run(self._sync_delete, kite_id)

    async def get(self, query: KontrolQuery) -> list[KiteRecord]:
        """Live kites matching `query`, shuffled.

        Raises:
            QueryError: malformed query (Go's texts), nothing is read.
            StorageError: the database failed.
        """
        plan = plan_query(query)
        rows = await self._run(self._sync_select, plan, self._clock() - self._ttl)
        if plan.constraint is not None:
            rows = [r for r in rows if plan.accepts(r.kite)]
        random.shuffle(rows)
        return rows

    async def clean_expired(self) -> int:
        """Delete registrations whose last refresh is older than `ttl`; returns the count."""
        return await self._run(self._sync_clean, self._clock() - self._ttl)

    def subscribe_changes(self) -> AbstractContextManager[Subscription]:
        """Receive the registrations that appear and go away while the block runs
        (`ChangeFeed.subscribe`)."""
        return self.changes.subscribe()

    async def clean_not_refreshed_since(self, since: float) -> int:
        """Delete registrations whose last refresh is before `since`; returns the count."""
        return await self._run(self._sync_clean, since)

    async def run_cleaner(self, interval: float) -> None:
        """Call `clean_expired` every `interval` seconds forever; failures are logged only
        (a database outage must not stop the cleaner)."""
        while True:
            await trio.sleep(interval)
            try:
                removed = await self.clean_expired()
            except StorageError as exc:
                log.warning("storage: cleaning expired kites failed: %s", exc)
            else:
                if removed:
                    log.debug("storage: removed %d expired kites", removed)

    # -- key pairs -------------------------------------------------------------------------

    async def add_key(self, pair: KeyPair) -> None:
        """Store a key pair.

        Raises:
            InvalidKeyPairError: an empty field (Go's texts).
            KeyPairExistsError: the id, public or private key is already stored.
            StorageError: the database failed.
        """
        pair.validate()
        await self._run(self._sync_add_key, pair, self._clock())

    async def get_key(self, key_id: str) -> KeyPair:
        """The live key pair with this id (`KeyNotFoundError`, `KeyDeletedError`)."""
        if not key_id:
            raise KeyNotFoundError()
        return await self._run(self._sync_get_key, "id", key_id)

    async def get_key_by_public(self, public: str) -> KeyPair:
        """The live key pair with this public key (`KeyNotFoundError`, `KeyDeletedError`)."""
        if not public:
            raise KeyNotFoundError()
        return await self._run(self._sync_get_key, "public", public)

    async def list_keys(self) -> list[KeyPair]:
        """Live key pairs, oldest first."""
        return await self._run(self._sync_list_keys)

    async def current_key(self) -> KeyPair:
        """The newest live key pair (`KeyNotFoundError("kontrol has no key pair")`)."""
        keys = await self.list_keys()
        if not keys:
            raise KeyNotFoundError("kontrol has no key pair")
        return keys[-1]

    async def delete_key(self, key_id: str) -> None:
        """Soft-delete a key pair (`KeyNotFoundError` if unknown; deleting twice is fine)."""
        if not key_id:
            raise KeyNotFoundError()
        await self._run(self._sync_delete_key, key_id, self._clock())

    async def aclose(self) -> None:
        """Close the database connections (waits for calls in flight)."""
        if self._closed:
            return
        self._closed = True
        with trio.CancelScope(shield=True):
            await self._dispatch(self._sync_close)

    # -- implemented by back-ends (blocking, run in worker threads) ------------------------

    def _sync_upsert(
        self, kite: KiteIdentity, url: str, key_id: str, now: float, cutoff: float
    ) -> bool:
        """Insert or update the row (unless another user's row is newer than `cutoff`);
        whether it was written."""
        raise NotImplementedError

    def _sync_heartbeat(self, kite_id: str, url: str | None, now: float) -> bool:
        raise NotImplementedError

    def _sync_delete(self, kite_id: str) -> bool:
        raise NotImplementedError

    def _sync_select(self, plan: QueryPlan, cutoff: float) -> list[KiteRecord]:
        raise NotImplementedError

    def _sync_clean(self, cutoff: float) -> int:
        raise NotImplementedError

    def _sync_add_key(self, pair: KeyPair, now: float) -> None:
        raise NotImplementedError

    def _sync_get_key(self, column: str, value: str) -> KeyPair:
        raise NotImplementedError

    def _sync_list_keys(self) -> list[KeyPair]:
        raise NotImplementedError

    def _sync_delete_key(self, key_id: str, now: float) -> None:
        raise NotImplementedError

    def _sync_close(self) -> None:
        raise NotImplementedError


def wall_clock() -> float:
    """The default clock: `time.time()`."""
    return time.time()


class ManualClock:
    """A `Clock` that moves only when told to: inject it to test expiry without waiting.

    (Storage timestamps are wall-clock Unix seconds shared with other processes, so this is
    separate from trio's own clock and `trio.testing.MockClock`.)
    """

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        self.now += seconds
