"""Call timeouts of one connection, watched by one task instead of a cancel scope per call.

How this works: a trio cancel scope with a deadline costs about as much to enter and leave as
the rest of a small RPC, and most callers pass a timeout. Waiting calls are instead *armed*
here: calls made with the same timeout expire in the order they were made, so each timeout
value keeps its calls in an insertion-ordered dict (arming and disarming are O(1) dict
operations) and the first entry of each group is the next to expire. Each group is one item
of a `TimerHeap` (one task for the connection, started by the first armed call), due when its
first call is; `expire()` wakes the waiting caller, which raises the timeout error itself. A
call that ends first disarms itself; a group emptied that way is simply found empty when its
timer comes.
"""

from __future__ import annotations

from typing import Protocol

import trio

from ._timer_heap import TimerHeap

__all__ = ["CallDeadlines", "Expirable"]


class Expirable(Protocol):
    """A waiting call: `expire()` marks it timed out and wakes its caller."""

    def expire(self) -> None: ...


class CallDeadlines:
    """The deadlines of one connection's waiting calls (see the module docstring)."""

    __slots__ = ("_groups", "_scheduled", "_timers")

    def __init__(self, nursery: trio.Nursery) -> None:
        self._groups: dict[float, dict[Expirable, float]] = {}
        self._scheduled: set[float] = set()  # groups with an item in `_timers`
        self._timers: TimerHeap[float] = TimerHeap(nursery, self._expire)

    def arm(self, call: Expirable, timeout: float) -> None:
        """Expire `call` `timeout` seconds from now unless it is disarmed first."""
        deadline = trio.current_time() + timeout
        group = self._groups.get(timeout)
        if group is None:
            group = self._groups[timeout] = {}
        group[call] = deadline
        if timeout not in self._scheduled:
            self._scheduled.add(timeout)
            self._timers.add(timeout, deadline)

    def disarm(self, call: Expirable, timeout: float) -> None:
        """`call` ended (answered, failed, cancelled or expired): forget its deadline."""
        group = self._groups.get(timeout)
        if group is not None and group.pop(call, None) is not None and not group:
            del self._groups[timeout]

    def _expire(self, timeout: float, now: float) -> float | None:
        """A group's timer: expire its calls that are due; when its next one is."""
        group = self._groups.get(timeout)
        while group:
            call, deadline = next(iter(group.items()))
            if deadline > now:
                return deadline  # a call made after an earlier one ended, or not yet due
            del group[call]
            call.expire()
        self._groups.pop(timeout, None)
        self._scheduled.discard(timeout)
        return None
