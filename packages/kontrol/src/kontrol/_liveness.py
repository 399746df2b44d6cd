"""Liveness of registrations: Go Kontrol's heartbeat rules, with faster removal.

How this works (docs/protocol.md §6.4). Two trackers, both driven by trio's clock (so tests run
them under `MockClock`), both owned by a nursery:

* `PingTracker`, one per `register` over a kite connection. Kontrol hands the kite a
  `kite.heartbeat` callback; every invocation is a `ping()`. The tracker refreshes the storage
  entry on a ping at most once per `update_interval` (the first ping at once; the interval
  must be strictly exceeded, as Go's `onceevery`). When no ping arrives for
  `heartbeat_interval + heartbeat_delay` the tracker stops and calls `expire` (Go only stops
  refreshing and lets the storage TTL remove the entry 30-210 s later; we remove it at once).
  A ping after that restarts tracking (`ping()` returns True: the caller re-registers, as Go).
  The tracker runs in the connection's nursery, so a disconnect cancels it; Kontrol removes
  the registration on disconnect itself.
* `HTTPTracker`, one per kite id registered over HTTP `/register`: a deadline reset by each
  `/heartbeat` and a refresh every `update_interval` (Go's ticker). When the deadline passes,
  the id is forgotten (the next `/heartbeat` gets `registeragain`) and `expire` runs. Kontrol
  drives all of them from one task, `HTTPTrackers` (a heap of due times), not a task each:
  10,000 HTTP kites are then ~14 small objects each instead of a task with its coroutine,
  cancel scopes and timers (~32), which also keeps the garbage collector's full passes short.

Failures of `refresh`/`expire` (storage errors) are logged and never stop a tracker.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable

import trio

from kite import TimerHeap

from ._errors import KontrolError

__all__ = ["HTTPTracker", "HTTPTrackers", "PingTracker"]

log = logging.getLogger("kontrol")

Action = Callable[[], Awaitable[None]]


async def _safely(action: Action, what: str) -> None:
    try:
        await action()
    except KontrolError as exc:
        log.warning("kontrol: %s failed: %s", what, exc.message)


class PingTracker:
    """Go's register updater for one registration over a kite connection (see module doc)."""

    def __init__(
        self,
        *,
        refresh: Action,
        expire: Action,
        timeout: float,
        update_interval: float,
    ) -> None:
        """Args:
        refresh: refresh the storage entry (Go's `storage.Update`).
        expire: the kite went silent: remove its registration.
        timeout: seconds without a ping before expiry (`HeartbeatInterval + HeartbeatDelay`).
        update_interval: minimum seconds between refreshes (`UpdateInterval`).
        """
        self.refresh = refresh
        self.expire = expire
        self.timeout = timeout
        self.update_interval = update_interval
        self.active = False
        self.pings = 0
        self.refreshes = 0
        self._pinged = trio.Event()
        self._last_refresh = -math.inf
        self._scope: trio.CancelScope | None = None

    def ping(self) -> bool:
        """Record a heartbeat; True when the tracker had stopped and must be restarted."""
        self.pings += 1
        self._pinged.set()
        return not self.active

    def stop(self) -> None:
        """Stop tracking without expiring (a newer registration took over)."""
        self.active = False
        if self._scope is not None:
            self._scope.cancel()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Track pings until the kite goes silent (then `expire`) or `stop` is called."""
        self.active = True
        with trio.CancelScope() as self._scope:
            task_status.started()
            while True:
                with trio.move_on_after(self.timeout):
                    await self._pinged.wait()
                if not self._pinged.is_set():
                    self.active = False
                    await _safely(self.expire, "expiring a silent kite")
                    return
                self._pinged = trio.Event()
                now = trio.current_time()
                if now - self._last_refresh > self.update_interval:
                    self._last_refresh = now
                    self.refreshes += 1
                    await _safely(self.refresh, "refreshing a registration")
        self.active = False


class HTTPTracker:
    """Go's per-id heartbeat timer and updater for HTTP registrations (see module doc)."""

    __slots__ = (
        "deadline",
        "done",
        "expire",
        "next_update",
        "refresh",
        "timeout",
        "update_interval",
    )

    def __init__(
        self,
        *,
        refresh: Action,
        expire: Action,
        timeout: float,
        update_interval: float,
    ) -> None:
        """Args as `PingTracker`; `refresh` may be replaced (a re-registration's new URL)."""
        self.refresh = refresh
        self.expire = expire
        self.timeout = timeout
        self.update_interval = update_interval
        now = trio.current_time()
        self.deadline = now + timeout
        self.next_update = now + update_interval
        self.done = False

    def heartbeat(self) -> None:
        """Reset the deadline (a `/heartbeat` or a re-registration)."""
        self.deadline = trio.current_time() + self.timeout

    def due(self) -> float:
        """When `step` next has something to do."""
        return min(self.deadline, self.next_update)

    def step(self, now: float) -> tuple[Action, str] | None:
        """Advance to `now`: the action due (`expire` once the deadline passed, which ends the
        tracker; else `refresh` every `update_interval`) and what it is, or None."""
        if now >= self.deadline:
            self.done = True
            return self.expire, "expiring a silent HTTP kite"
        if now >= self.next_update:
            self.next_update += self.update_interval
            return self.refresh, "refreshing an HTTP registration"
        return None

    async def run(self) -> None:
        """Drive this tracker alone in the calling task until it expires (`HTTPTrackers`
        drives many from one task)."""
        try:
            while not self.done:
                await trio.sleep_until(self.due())
                due = self.step(trio.current_time())
                if due is not None:
                    await _safely(*due)
        finally:
            self.done = True


class HTTPTrackers:
    """Many `HTTPTracker`s driven by one task (a `kite` timer heap), not a task each.

    A heartbeat only moves a deadline later, so a tracker handled before it is due just goes
    back on the heap at its new time. Each due action runs in a task of its own, so a slow
    storage call delays no other kite.
    """

    __slots__ = ("_nursery", "_timers")

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self._timers: TimerHeap[HTTPTracker] = TimerHeap(nursery, self._due)

    def add(self, tracker: HTTPTracker) -> None:
        """Drive `tracker` until it expires."""
        self._timers.add(tracker, tracker.due())

    def _due(self, tracker: HTTPTracker, now: float) -> float | None:
        if tracker.done:
            return None
        due = tracker.step(now)  # None when a heartbeat moved the deadline past `now`
        if due is not None:
            self._nursery.start_soon(_safely, *due)
        return None if tracker.done else tracker.due()
