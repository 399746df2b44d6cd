"""Exponential back-off: cenkalti/backoff v1.1.0's `ExponentialBackOff`, the version Go kite pins.

How this works: each `next_backoff()` returns the current interval randomised by
+-`randomization`, then multiplies the interval by `multiplier` (capped at `max_interval`).
After `max_elapsed` seconds since the last `reset()` it returns None ("stop");
`max_elapsed=None` never stops and then never reads the clock. Defaults are Go's (0.5 s,
x1.5, +-50 %, at most 60 s, give up after 15 min). `Backoff` is the same with "never stop",
what a reconnecting `Client` uses between redials. Callers pick their own parameters
(`DIAL_BACKOFF`, `HTTP_REGISTER_BACKOFF` in `_kontrol._registration`, the token renewer's retry).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass

import trio

__all__ = ["Backoff", "ExponentialBackoff"]


@dataclass(slots=True)
class ExponentialBackoff:
    """cenkalti/backoff v1.1.0 `ExponentialBackOff` (the version Go kite pins).

    Each `next_backoff()` returns the current interval randomised by +-`randomization`, then
    multiplies the interval (capped at `max_interval`). After `max_elapsed` seconds since the
    last `reset()` it returns None ("stop"); `max_elapsed=None` never stops.
    """

    initial: float = 0.5
    randomization: float = 0.5
    multiplier: float = 1.5
    max_interval: float = 60.0
    max_elapsed: float | None = 15 * 60.0
    clock: Callable[[], float] = trio.current_time
    rand: Callable[[], float] = random.random
    _current: float = dataclasses.field(default=0.0, init=False)
    _start: float | None = dataclasses.field(default=None, init=False)

    def reset(self) -> None:
        """Back to the initial interval; elapsed time counts from now."""
        self._current = self.initial
        self._start = self.clock() if self.max_elapsed is not None else 0.0

    def next_backoff(self) -> float | None:
        """Seconds to wait before the next attempt, or None when it is time to give up."""
        if self._start is None:
            self.reset()
        assert self._start is not None
        if self.max_elapsed is not None and self.clock() - self._start > self.max_elapsed:
            return None
        current = self._current
        delta = self.randomization * current
        value = current - delta + self.rand() * 2 * delta
        if current >= self.max_interval / self.multiplier:
            self._current = self.max_interval
        else:
            self._current = current * self.multiplier
        return value


class Backoff(ExponentialBackoff):
    """The redial back-off of a reconnecting `Client`: Go's defaults, never gives up.

    `maximum` is `max_interval` under the name this class has always used.
    """

    __slots__ = ()

    def __init__(
        self,
        initial: float = 0.5,
        multiplier: float = 1.5,
        randomization: float = 0.5,
        maximum: float = 60.0,
    ) -> None:
        super().__init__(
            initial=initial,
            randomization=randomization,
            multiplier=multiplier,
            max_interval=maximum,
            max_elapsed=None,
        )

    @property
    def maximum(self) -> float:
        """The longest interval (alias of `max_interval`)."""
        return self.max_interval

    @maximum.setter
    def maximum(self, value: float) -> None:
        self.max_interval = value

    def next_delay(self) -> float:
        """The next wait: the current interval +- `randomization`, then grow the interval."""
        delay = self.next_backoff()
        if delay is None:  # only when a caller set max_elapsed
            raise RuntimeError("back-off gave up (max_elapsed passed)")
        return delay
