"""The token renewer: keeps a Kontrol-issued token fresh for as long as its client lives.

How this works (docs/protocol.md §5.8). Go's `TokenRenewer` renews at `exp - 30 s` and when a call
fails with `token is expired`, retrying a failure after 1 s + 10 s; but it *stops* on
`no kites found`, on disconnect, and whenever a timer fires while its loop is not listening,
which is why a Go client's renewal dies after a day or two. This one is a single task in the
owning client's nursery (`run`), so it stops exactly when the client closes, and otherwise:

* sleeps until `renewal_time(token)` on the **wall clock** (JWT times are UTC seconds), in
  slices of at most `max_sleep` seconds so a suspended machine or a stepped clock cannot make
  it oversleep;
* wakes at once on `renew_now()` (the client saw `token is expired`);
* fetches a new token (`fetch()`, i.e. Kontrol `getToken` with `{"id": <remote id>}`), and on
  any failure -- Kontrol unreachable, restarting, `no kites found` while the remote kite
  re-registers -- logs a warning and retries with exponential back-off (11 s, x1.5, at most
  5 min), forever; a token already past `exp` is logged as an error each time;
* on success hands a new token to `adopt(token)` (which installs it and fires
  `on_token_renew`) and starts over with the new `exp`; a token that is already due (a
  Kontrol whose token cache outlives `exp - 30 s`) is asked for again after the back-off
  delay instead of at once, so the renewer never spins.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable

import trio

from .._auth._token_errors import TokenError
from .._auth._tokens import RENEW_RETRY_INTERVAL, parse_unverified, renewal_time
from .._backoff import ExponentialBackoff
from .._errors import KiteError

__all__ = ["TokenRenewer"]

log = logging.getLogger("kite.renewer")


class TokenRenewer:
    """Renews one client's token before it expires (see the module docstring).

    Args:
        fetch: gets a fresh token from Kontrol (raises `KiteError` on failure).
        current: the token in use now.
        adopt: installs a renewed token (plain or async).
        name: how the client is named in log lines.
        wall_clock: UTC seconds (default `time.time`; tests tie it to trio's clock).
        max_sleep: longest single sleep, seconds (default 60).
        retry: back-off of failed renewals (default 11 s, x1.5, +-10 %, max 300 s, forever).
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[str]],
        current: Callable[[], str],
        adopt: Callable[[str], Awaitable[None] | None],
        *,
        name: str = "",
        wall_clock: Callable[[], float] = time.time,
        max_sleep: float = 60.0,
        retry: ExponentialBackoff | None = None,
    ) -> None:
        if max_sleep <= 0:
            raise ValueError("max_sleep must be positive")
        self._fetch = fetch
        self._current = current
        self._adopt = adopt
        self.name = name
        self._wall_clock = wall_clock
        self._max_sleep = max_sleep
        self._retry = (
            retry
            if retry is not None
            else ExponentialBackoff(
                initial=RENEW_RETRY_INTERVAL + 1.0,
                randomization=0.1,
                multiplier=1.5,
                max_interval=300.0,
                max_elapsed=None,
            )
        )
        self._wakeup = trio.Event()
        #: Successful renewals so far.
        self.renewals = 0
        #: Failed renewal attempts so far.
        self.failures = 0

    def renew_now(self) -> None:
        """Ask for a renewal at once (what a `token is expired` answer triggers)."""
        self._wakeup.set()

    def next_renewal(self) -> float | None:
        """Wall-clock time of the next timed renewal (`exp - 30 s`), None if never."""
        return renewal_time(self._current())

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Renew forever; cancel the surrounding scope (close the client) to stop."""
        task_status.started()
        while True:
            await self._wait_for_renewal()
            await self._renew()

    async def _wait_for_renewal(self) -> None:
        at = self.next_renewal()
        if at is None:
            log.warning(
                "token renewer %s: the token has no readable expiry; renewing only when a "
                "call reports 'token is expired'",
                self.name,
            )
        while not self._wakeup.is_set():
            slice_ = self._max_sleep
            if at is not None:
                remaining = at - self._wall_clock()
                if remaining <= 0:
                    break
                slice_ = min(slice_, remaining)
            with trio.move_on_after(slice_):
                await self._wakeup.wait()
        self._wakeup = trio.Event()

    async def _renew(self) -> None:
        self._retry.reset()
        while True:
            try:
                token = await self._fetch()
                _check_token(token)
            except KiteError as exc:
                self.failures += 1
                delay = self._pause()
                log.warning(
                    "token renewer %s: %s Cannot renew token; retrying in %d seconds...",
                    self.name,
                    exc,
                    math.ceil(delay),
                )
                self._log_if_expired()
                await trio.sleep(delay)
                continue
            if token != self._current():
                result = self._adopt(token)
                if inspect.isawaitable(result):
                    await result
                self.renewals += 1
                log.info("token renewer %s: token renewed", self.name)
            due = renewal_time(token)
            if due is None or due > self._wall_clock():
                return
            # Kontrol answered with a token that is itself due (its token cache outlives
            # `exp - 30 s` when its TTL and leeway are tuned so): ask again later, not at once.
            delay = self._pause()
            log.warning(
                "token renewer %s: Kontrol returned a token that is due for renewal already; "
                "asking again in %d seconds",
                self.name,
                math.ceil(delay),
            )
            await trio.sleep(delay)

    def _pause(self) -> float:
        delay = self._retry.next_backoff()
        return delay if delay is not None else self._retry.max_interval

    def _log_if_expired(self) -> None:
        try:
            exp = parse_unverified(self._current()).claims.exp
        except TokenError:
            return
        if exp and exp <= self._wall_clock():
            log.error("token renewer %s: the token has expired; still trying", self.name)


def _check_token(token: object) -> None:
    """Go's `TokenRenewer.parse`: the new token must be a readable JWT."""
    if not isinstance(token, str):
        raise KiteError(f"Cannot parse token: not a string: {token!r}")
    try:
        parse_unverified(token)
    except TokenError as exc:
        raise KiteError(f"Cannot parse token: {exc}") from None
