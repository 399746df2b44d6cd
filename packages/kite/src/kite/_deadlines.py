"""Call timeouts of one connection, watched by one task instead of a cancel scope per call.

How this works: a trio cancel scope with a deadline costs about as much to enter and leave as
the rest of a small RPC, and most callers pass a timeout. Waiting calls are instead *armed*
here: calls made with the same timeout expire in the order they were made, so each timeout
value keeps its calls in an insertion-ordered dict (arming and disarming are O(1) dict
operations) and the first entry of each group is the next to expire. One watcher task,
started on the first armed call and living in the connection's nursery, sleeps until the
earliest such deadline and expires what is due (`expire()` wakes the waiting caller, which
raises the timeout error itself). A call that ends first disarms itself. An earlier deadline
than the one the watcher sleeps towards (a shorter timeout) wakes it to re-plan.
"""

from __future__ import annotations

import math
from typing import Protocol

import trio

__all__ = ["CallDeadlines", "Expirable"]


class Expirable(Protocol):
    """A waiting call: `expire()` marks it timed out and wakes its caller."""

    def expire(self) -> None: ...


class CallDeadlines:
    """The deadlines of one connection's waiting calls (see the module docstring)."""

    __slots__ = ("_groups", "_running", "_target", "_wakeup")

    def __init__(self) -> None:
        self._groups: dict[float, dict[Expirable, float]] = {}
        self._running = False
        self._target = math.inf  # when the watcher next wakes up
        self._wakeup: trio.Event | None = None

    def arm(self, call: Expirable, timeout: float, nursery: trio.Nursery) -> None:
        """Expire `call` `timeout` seconds from now unless it is disarmed first."""
        deadline = trio.current_time() + timeout
        group = self._groups.get(timeout)
        if group is None:
            group = self._groups[timeout] = {}
        group[call] = deadline
        if not self._running:
            self._running = True
            nursery.start_soon(self._watch)
        elif deadline < self._target and self._wakeup is not None:
            self._wakeup.set()

    def disarm(self, call: Expirable, timeout: float) -> None:
        """`call` ended (answered, failed, cancelled or expired): forget its deadline."""
        group = self._groups.get(timeout)
        if group is not None and group.pop(call, None) is not None and not group:
            del self._groups[timeout]

    async def _watch(self) -> None:
        groups = self._groups
        while True:
            now = trio.current_time()
            target = math.inf
            for timeout, group in list(groups.items()):
                while group:
                    call, deadline = next(iter(group.items()))
                    if deadline > now:
                        target = min(target, deadline)
                        break
                    del group[call]
                    call.expire()
                if not group:
                    del groups[timeout]
            self._target = target
            self._wakeup = trio.Event()
            with trio.move_on_at(target):
                await self._wakeup.wait()
