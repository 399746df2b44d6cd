"""Per-method rate limiting: Go's `Method.Throttle`, a juju/ratelimit 1.0.1 token bucket (§4.8).

How this works: the bucket starts full with `capacity` tokens and gains one per elapsed
`fill_interval`, counted in whole ticks since its creation. Each request that passed
authentication takes one token or is refused with `requestLimitError`. The clock is injectable
and defaults to `trio.current_time`, so tests drive it with trio's mock clock.

Like juju/ratelimit 1.0.1, the bucket does not move its "last refill" tick while it is full:
after sitting full for a fill interval, a burst can take `capacity + 1` tokens
(docs/protocol.md §4.8). We keep that so a Python kite throttles exactly like a Go one.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

__all__ = ["TokenBucket"]


class TokenBucket:
    """A token bucket shared by every connection calling one method.

    Args:
        fill_interval: seconds per added token (> 0).
        capacity: most tokens held (> 0); the bucket starts full.
        clock: returns the current time in seconds (default `trio.current_time`).
    """

    __slots__ = ("_avail", "_avail_tick", "_clock", "_start", "capacity", "fill_interval")

    def __init__(
        self,
        fill_interval: float,
        capacity: int,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        if fill_interval <= 0:
            raise ValueError("token bucket fill interval is not > 0")
        if capacity <= 0:
            raise ValueError("token bucket capacity is not > 0")
        self.fill_interval = float(fill_interval)
        self.capacity = int(capacity)
        self._clock = clock
        self._start = clock()
        self._avail = self.capacity
        self._avail_tick = 0

    def _adjust(self) -> None:
        tick = int((self._clock() - self._start) // self.fill_interval)
        if self._avail >= self.capacity:
            return  # juju 1.0.1: the tick is not remembered while full
        self._avail = min(self.capacity, self._avail + tick - self._avail_tick)
        self._avail_tick = tick

    @property
    def available(self) -> int:
        """Tokens that could be taken now."""
        self._adjust()
        return self._avail

    def take(self) -> bool:
        """Take one token if there is one; return whether it was taken (never waits)."""
        self._adjust()
        if self._avail <= 0:
            return False
        self._avail -= 1
        return True
