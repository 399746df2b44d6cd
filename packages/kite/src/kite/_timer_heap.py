"""One task for many timers: items due at given times, each handled when its time comes.

How this works: a heap of (due, seq, item). One task, started in the given nursery by the
first `add`, sleeps until the earliest due time (or until an item due earlier than that is
added) and calls `on_due(item, now)` for every item that is due; `on_due` returns the item's
next due time, or None to drop it. `on_due` must not block: it starts a task for slow work.
An item whose due time moved later (a heartbeat pushed a deadline) is simply handled early
and returns its new time; one whose due time moved earlier is added again, and `on_due`
drops the stale entry when it comes. Used where a task per item would cost memory and
garbage-collector time: the `h` frames of every WebSocket session of an endpoint, the
heartbeats and expiry of every HTTP session of an endpoint, the heartbeat deadlines of every
kite registered with Kontrol over HTTP.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from typing import Generic, TypeVar

import trio

__all__ = ["TimerHeap"]

T = TypeVar("T")


class TimerHeap(Generic[T]):
    """Items due at given times, handled by one task (see the module docstring)."""

    __slots__ = ("_heap", "_nursery", "_on_due", "_running", "_seq", "_target", "_wakeup")

    def __init__(self, nursery: trio.Nursery, on_due: Callable[[T, float], float | None]) -> None:
        self._nursery = nursery
        self._on_due = on_due
        self._heap: list[tuple[float, int, T]] = []
        self._seq = itertools.count()  # ties in due time never compare items
        self._running = False
        self._target = math.inf  # when the task next wakes up
        self._wakeup: trio.Event | None = None

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, item: T, due: float) -> None:
        """Call `on_due(item, now)` once `due` (trio time) has come."""
        heapq.heappush(self._heap, (due, next(self._seq), item))
        if not self._running:
            self._running = True
            self._nursery.start_soon(self._run)
        elif due < self._target and self._wakeup is not None:
            self._wakeup.set()

    async def _run(self) -> None:
        heap = self._heap
        on_due = self._on_due
        while True:
            self._target = heap[0][0] if heap else math.inf
            self._wakeup = trio.Event()
            with trio.move_on_at(self._target):
                await self._wakeup.wait()
            now = trio.current_time()
            while heap and heap[0][0] <= now:
                _, _, item = heapq.heappop(heap)
                due = on_due(item, now)
                if due is not None:
                    heapq.heappush(heap, (due, next(self._seq), item))
