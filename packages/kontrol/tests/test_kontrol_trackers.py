"""The liveness trackers against a model of Go's rules, for random heartbeat schedules
(trio's MockClock with autojump: the trackers themselves do no I/O here)."""

from __future__ import annotations

import math

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from kontrol import HTTPTracker, HTTPTrackers, PingTracker

TIMEOUT = 30.0
UPDATE = 60.0

# Gaps between heartbeats: never exactly on a deadline (x.5 seconds vs whole-second deadlines).
gaps_strategy = st.lists(st.integers(0, 40).map(lambda n: n + 0.5), max_size=20)


def _ping_model(gaps: list[float]) -> tuple[list[float], float]:
    """Go's register updater: refresh on a ping when more than UPDATE passed since the last
    refresh (the first ping refreshes); expiry TIMEOUT after the last ping (or the start)."""
    t, last, refreshes = 0.0, -math.inf, []
    for gap in gaps:
        if gap > TIMEOUT:
            return refreshes, t + TIMEOUT
        t += gap
        if t - last > UPDATE:
            refreshes.append(t)
            last = t
    return refreshes, t + TIMEOUT


@settings(max_examples=60)
@given(gaps_strategy)
def test_ping_tracker_follows_gos_rules(gaps: list[float]) -> None:
    refreshes: list[float] = []
    expiries: list[float] = []

    async def main() -> None:
        async def refresh() -> None:
            refreshes.append(trio.current_time())

        async def expire() -> None:
            expiries.append(trio.current_time())

        tracker = PingTracker(
            refresh=refresh, expire=expire, timeout=TIMEOUT, update_interval=UPDATE
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(tracker.run)
            for gap in gaps:
                await trio.sleep(gap)
                if not tracker.active:
                    assert tracker.ping() is True  # a late ping asks for a restart
                    break
                assert tracker.ping() is False

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    want_refreshes, want_expiry = _ping_model(gaps)
    assert refreshes == want_refreshes
    assert expiries == [want_expiry]


def _http_model(gaps: list[float]) -> tuple[list[float], float]:
    """Go's HTTP heartbeat: a ticker refreshes every UPDATE from registration; the deadline
    (TIMEOUT after the registration or the last heartbeat) stops it."""
    t = 0.0
    for gap in gaps:
        if gap > TIMEOUT:
            break
        t += gap
    deadline = t + TIMEOUT
    ticks = []
    tick = UPDATE
    while tick < deadline:
        ticks.append(tick)
        tick += UPDATE
    return ticks, deadline


@settings(max_examples=60)
@given(gaps_strategy)
def test_http_tracker_follows_gos_rules(gaps: list[float]) -> None:
    refreshes: list[float] = []
    expiries: list[float] = []

    async def main() -> None:
        async def refresh() -> None:
            refreshes.append(trio.current_time())

        async def expire() -> None:
            expiries.append(trio.current_time())

        tracker = HTTPTracker(
            refresh=refresh, expire=expire, timeout=TIMEOUT, update_interval=UPDATE
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tracker.run)
            for gap in gaps:
                await trio.sleep(gap)
                if tracker.done:
                    break
                tracker.heartbeat()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    want_refreshes, want_expiry = _http_model(gaps)
    assert refreshes == want_refreshes
    assert expiries == [want_expiry]


@settings(max_examples=40)
@given(st.lists(st.tuples(st.integers(0, 20), gaps_strategy), min_size=1, max_size=6))
def test_http_trackers_drive_many_trackers_from_one_task(
    kites: list[tuple[int, list[float]]],
) -> None:
    """Each kite (registered `start` seconds in, then heartbeating after `gaps`) gets exactly
    what a tracker of its own would: the same model, with one task for all of them."""
    refreshes: dict[int, list[float]] = {i: [] for i in range(len(kites))}
    expiries: dict[int, list[float]] = {i: [] for i in range(len(kites))}
    tasks: list[int] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            trackers = HTTPTrackers(nursery)

            async def kite(i: int, start: int, gaps: list[float]) -> None:
                await trio.sleep(start)
                t0 = trio.current_time()

                async def refresh() -> None:
                    refreshes[i].append(trio.current_time() - t0)

                async def expire() -> None:
                    expiries[i].append(trio.current_time() - t0)

                tracker = HTTPTracker(
                    refresh=refresh, expire=expire, timeout=TIMEOUT, update_interval=UPDATE
                )
                trackers.add(tracker)
                for gap in gaps:
                    await trio.sleep(gap)
                    if tracker.done:
                        break
                    tracker.heartbeat()

            for i, (start, gaps) in enumerate(kites):
                nursery.start_soon(kite, i, start, gaps)
            while any(not e for e in expiries.values()):
                names = [t.name for t in nursery.child_tasks]
                tasks.append(sum("TimerHeap._run" in n or "HTTPTracker.run" in n for n in names))
                await trio.sleep(1)
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    for i, (_, gaps) in enumerate(kites):
        want_refreshes, want_expiry = _http_model(gaps)
        assert refreshes[i] == want_refreshes
        assert expiries[i] == [want_expiry]
    assert max(tasks) == 1  # one driver task (the timer heap's), never a task per tracker
