"""The live registrations: which connection or HTTP tracker owns each kite id.

Liveness: see `_liveness`. A registration made over a kite connection belongs to that
connection: when it ends, or the kite stops pinging, the registration is deleted at once (Go
never deletes on disconnect and waits for the storage TTL). A kite re-registering on a new
connection takes the registration over, so a late disconnect of the old connection does not
remove it.

Ownership: a kite id belongs to the user whose registration holds it, for as long as that
registration lives (connection, HTTP tracker or unexpired row): another user's `register` or
`/register` with that id is refused (`KiteIdTakenError`, sent as `authenticationError`) and
the holder's registration is untouched. Go Kontrol lets any user take any id over.

Registrations: every change of one kite id's registration (a `register` or a restart after
expiry with its row write, a refresh, the removal on disconnect or expiry, an HTTP `/register`
and its expiry) runs under that id's lock, so they apply in order: a removal never deletes the
row of a registration made after it, nor is a registration's row written after a newer one's.
A `register` records its connection as the owner *before* writing the row, after checking that
the connection has not ended; storage writes are never abandoned, so when the connection ends
(or the request is cancelled) while the row is written, the row is removed right after, by the
request itself or by `disconnected`. A registration never outlives its connection.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import trio

import kite
from kite.protocol import KiteIdentity

from ._errors import InvalidKiteError, KiteIdTakenError, KontrolError
from ._liveness import HTTPTracker, HTTPTrackers, PingTracker
from ._options import KontrolOptions
from ._storage import Storage

__all__ = ["Registrations"]

log = logging.getLogger("kontrol")


@dataclass(slots=True)
class _Registration:
    """A registration made over a kite connection."""

    peer: kite.Peer
    tracker: PingTracker


def _ended(peer: kite.Peer) -> bool:
    """Whether `peer`'s connection has ended (a call, so type checkers do not assume it
    unchanged across an `await`)."""
    return peer.closed


@dataclass(slots=True)
class _IdLock:
    """The lock of one kite id's registration and how many tasks hold or wait for it."""

    lock: trio.Lock = field(default_factory=trio.Lock)
    users: int = 0


class Registrations:
    """Kontrol's registrations in memory, each kept in step with its storage row.

    Args:
        storage: where the rows live.
        options: the heartbeat timeout and refresh interval of the trackers.
    """

    def __init__(self, storage: Storage, options: KontrolOptions) -> None:
        self.storage = storage
        self.options = options
        self._ws: dict[str, _Registration] = {}
        self._http: dict[str, HTTPTracker] = {}
        self._locks: dict[str, _IdLock] = {}  # kite id -> its registration's lock
        self._trackers: HTTPTrackers | None = None  # while running: drives `_http`

    def __len__(self) -> int:
        """Registrations alive: over a kite connection or kept by HTTP heartbeats."""
        return len(self._ws) + len(self._http)

    def start(self, nursery: trio.Nursery) -> None:
        """Track HTTP registrations with tasks in `nursery` (Kontrol's `running()`)."""
        self._trackers = HTTPTrackers(nursery)

    def stop(self) -> None:
        """Kontrol stopped: HTTP registrations are no longer tracked."""
        self._trackers = None
        self._http.clear()

    @contextlib.asynccontextmanager
    async def _kite_lock(self, kite_id: str) -> AsyncIterator[None]:
        """Serialise the changes of one kite id's registration (see "Registrations" in the
        module doc); the lock is forgotten when nobody holds or waits for it."""
        lock = self._locks.get(kite_id)
        if lock is None:
            lock = self._locks[kite_id] = _IdLock()
        lock.users += 1
        try:
            async with lock.lock:
                yield
        finally:
            lock.users -= 1
            if not lock.users:
                del self._locks[kite_id]

    async def register_connection(
        self, peer: kite.Peer, identity: KiteIdentity, url: str, key_id: str
    ) -> PingTracker | None:
        """Store a registration made over `peer`, owned by `peer`, and start its liveness
        tracking; returns the tracker whose `ping` the `kite.heartbeat` callback calls, or None
        when `peer` has already ended (nothing is stored then).

        Raises:
            KontrolError: the storage refused or failed (nothing stays stored).
        """
        kite_id = identity.id

        async def refresh() -> None:
            async with self._kite_lock(kite_id):
                reg = self._ws.get(kite_id)
                if reg is None or reg.tracker is not tracker:
                    return  # dropped, or a newer registration took over
                if not await self.storage.heartbeat(kite_id, url):
                    await self.storage.upsert(identity, url, key_id)

        tracker = PingTracker(
            refresh=refresh,
            expire=lambda: self._drop_connection_registration(kite_id, peer),
            timeout=self.options.heartbeat_timeout,
            update_interval=self.options.update_interval,
        )
        if not await self._store_connection_registration(peer, identity, url, key_id, tracker):
            return None
        return tracker

    async def _store_connection_registration(
        self,
        peer: kite.Peer,
        identity: KiteIdentity,
        url: str,
        key_id: str,
        tracker: PingTracker,
        *,
        restart: bool = False,
    ) -> bool:
        """Make `peer` the owner of `identity.id`'s registration and upsert the row, under the
        kite's lock; a new registration's tracker is started, a restarted one (`restart`) is
        run by the caller. False when nothing was stored: `peer` has ended, or (`restart`) a
        newer registration owns the kite.

        Ownership is taken *before* the row is written, so whatever interrupts the write (the
        connection ending, a cancellation, a storage error), the row never outlives its
        connection: a failed or cancelled write drops the registration here, and a connection
        that ended while the row was written (the write is never abandoned) is cleaned up here
        or, at the latest, by `disconnected`, which finds the claim.
        """
        kite_id = identity.id
        async with self._kite_lock(kite_id):
            current = self._ws.get(kite_id)
            if _ended(peer) or (restart and current is not None and current.tracker is not tracker):
                return False
            if current is not None and current.peer.kite.username != identity.username:
                raise KiteIdTakenError()
            if current is not None and current.tracker is not tracker:
                current.tracker.stop()  # a re-registration takes the kite over
            self._ws[kite_id] = _Registration(peer, tracker)
            try:
                await self.storage.upsert(identity, url, key_id)
            except BaseException as exc:
                # (a refused identity, e.g. a non-UUID id on PostgreSQL, has no row to delete)
                keep_row = isinstance(exc, InvalidKiteError)
                await self._drop_after_failed_registration(kite_id, peer, delete_row=not keep_row)
                raise
            if _ended(peer):  # ended while the row was written, and no cancellation reached us
                await self._drop_after_failed_registration(kite_id, peer)
                return False
            if not restart:
                peer.start_soon(tracker.run)
        return True

    async def _drop_after_failed_registration(
        self, kite_id: str, peer: kite.Peer, *, delete_row: bool = True
    ) -> None:
        """Undo a claim whose row write failed, was cancelled or outlived its connection
        (caller holds the kite's lock); never raises."""
        with trio.CancelScope(shield=True):
            try:
                await self._drop_locked(kite_id, peer, delete_row=delete_row)
            except KontrolError as exc:
                log.warning("kontrol: removing %s failed: %s", peer.kite, exc.message)

    def heartbeat_callback(
        self, peer: kite.Peer, tracker: PingTracker, identity: KiteIdentity, url: str, key_id: str
    ) -> Callable[..., None]:
        """The function sent to the kite with `kite.heartbeat`: each call is a ping; a ping
        after the tracker expired registers the kite again (Go's restart)."""

        restarting = False

        def ping(*_args: Any) -> None:
            nonlocal restarting
            if not tracker.ping() or restarting or peer.closed:
                return
            reg = self._ws.get(identity.id)
            if reg is not None and reg.tracker is not tracker:
                return  # a newer registration of this kite took over
            restarting = True

            async def restart() -> None:
                nonlocal restarting
                try:
                    stored = await self._store_connection_registration(
                        peer, identity, url, key_id, tracker, restart=True
                    )
                except KontrolError as exc:
                    log.warning("kontrol: re-registering %s failed: %s", identity, exc.message)
                    return
                finally:
                    restarting = False
                if stored:
                    await tracker.run()

            peer.start_soon(restart)

        return ping

    async def _drop_connection_registration(self, kite_id: str, peer: kite.Peer) -> None:
        async with self._kite_lock(kite_id):
            await self._drop_locked(kite_id, peer)

    async def _drop_locked(self, kite_id: str, peer: kite.Peer, *, delete_row: bool = True) -> None:
        """Remove `peer`'s registration of `kite_id` if `peer` still owns it; the row stays
        when an HTTP registration holds the id. The caller holds the kite's lock."""
        reg = self._ws.get(kite_id)
        if reg is None or reg.peer is not peer:
            return
        del self._ws[kite_id]
        if delete_row and kite_id not in self._http:
            await self.storage.delete(kite_id)

    async def disconnected(self, peer: kite.Peer) -> None:
        """A connection ended: its registration, if it still owns one, is removed."""
        kite_id = peer.kite.id
        reg = self._ws.get(kite_id)
        if reg is not None and reg.peer is peer:
            reg.tracker.stop()
            try:
                await self._drop_connection_registration(kite_id, peer)
            except KontrolError as exc:
                log.warning("kontrol: removing %s failed: %s", peer.kite, exc.message)

    async def register_http_kite(self, identity: KiteIdentity, url: str, key_id: str) -> None:
        """Store an HTTP registration and track it (`track_http`), under the kite's lock; once
        the row write started, a cancellation (the HTTP client went away) does not separate
        the two, so the row is never left untracked.

        Raises:
            KontrolError: the storage refused or failed.
        """
        async with self._kite_lock(identity.id):
            with trio.CancelScope(shield=True):
                await self.storage.upsert(identity, url, key_id)
                self.track_http(identity, url, key_id)

    def track_http(self, identity: KiteIdentity, url: str, key_id: str) -> None:
        """Start (or refresh) heartbeat tracking of an HTTP registration."""
        if self._trackers is None:
            raise KontrolError("kontrol is not running")
        kite_id = identity.id

        async def refresh() -> None:
            if not await self.storage.heartbeat(kite_id, url):
                await self.storage.upsert(identity, url, key_id)

        tracker = self._http.get(kite_id)
        if tracker is not None and not tracker.done:
            tracker.heartbeat()
            tracker.refresh = refresh
            return

        async def expire() -> None:
            async with self._kite_lock(kite_id):
                if self._http.get(kite_id) is tracker_ref[0]:
                    del self._http[kite_id]
                    if kite_id not in self._ws:
                        await self.storage.delete(kite_id)

        new = HTTPTracker(
            refresh=refresh,
            expire=expire,
            timeout=self.options.heartbeat_timeout,
            update_interval=self.options.update_interval,
        )
        tracker_ref = [new]
        self._http[kite_id] = new
        self._trackers.add(new)

    def http_heartbeat(self, kite_id: str) -> bool:
        """A `/heartbeat` for `kite_id`: True (`pong`) if tracked, else False (`registeragain`)."""
        tracker = self._http.get(kite_id)
        if tracker is None or tracker.done:
            return False
        tracker.heartbeat()
        return True
