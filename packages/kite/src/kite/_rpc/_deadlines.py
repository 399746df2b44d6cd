"""Call timeouts of one connection, watched by one task instead of a cancel scope per call.

How this works: a trio cancel scope with a deadline costs about as much to enter and leave as
the rest of a small RPC, and most callers pass a timeout. Waiting calls are instead *armed*
here: calls made with the same timeout expire in the order they were made, so each timeout
value keeps its calls in an insertion-ordered dict (arming and disarming are O(1) dict
operations) and the first entry of each group is the next to expire. Each group is one item
of a `TimerHeap` (one task for the connection, started by the first armed call), due when its
first call is; `expire()` wakes the waiting caller, which raises the timeout error itself. A
call that ends first disarms itself; a group emptied that way stays until its timer comes
and finds it empty (then it goes), so sequential calls reuse it.
"""

from __future__ import annotations

from typing import Protocol

import trio

from .._timer_heap import TimerHeap

__all__ = ["CallDeadlines", "Expirable"]


class Expirable(Protocol):
    """A waiting call: `expire()` marks it timed out and wakes its caller."""

    def expire(self) -> None: ...


class CallDeadlines:
    """The deadlines of one connection's waiting calls (see the module docstring)."""

    __slots__ = ("_groups", "_now", "_timers")

    def __init__(self, nursery: trio.Nursery) -> None:
        # A group exists exactly while its timer is in `_timers`; emptied by disarming, it
        # waits there for that timer (so back-to-back calls do not make a group each).
        self._groups: dict[float, dict[Expirable, float]] = {}
        self._timers: TimerHeap[float] = TimerHeap(nursery, self._expire)
        self._now = trio.lowlevel.current_clock().current_time  # `trio.current_time`, direct

    def arm(self, call: Expirable, timeout: float) -> None:
        """Expire `call` `timeout` seconds from now unless it is disarmed first."""
        deadline = self._now() + timeout
        group = self._groups.get(timeout)
        if group is None:
            group = self._groups[timeout] = {}
            self._timers.add(timeout, deadline)
        group[call] = deadline

    def disarm(self, call: Expirable, timeout: float) -> None:
        """`call` ended (answered, failed, cancelled or expired): forget its deadline."""
        group = self._groups.get(timeout)
        if group is not None:
            group.pop(call, None)

    def _expire(self, timeout: float, now: float) -> float | None:
        """A group's timer: expire its calls that are due; when its next one is."""
        group = self._groups[timeout]
        while group:
            call, deadline = next(iter(group.items()))
            if deadline > now:
                return deadline  # a call made after an earlier one ended, or not yet due
            del group[call]
            call.expire()
        del self._groups[timeout]
        return None
