"""Call timeouts watched by one task per connection (`kite._rpc._deadlines`), on a mock clock."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.lowlevel
from kite_rpc_helpers import client_kite, connected, math_kite

from kite import KiteTimeoutError


async def test_mixed_timeouts_expire_in_deadline_order(autojump_clock: Any) -> None:
    expired: list[tuple[float, float]] = []
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        start = trio.current_time()

        async def call(seconds: float) -> None:
            with pytest.raises(KiteTimeoutError) as info:
                await client.tell("sleep", 60_000, timeout=seconds)
            expired.append((seconds, trio.current_time() - start))
            assert str(info.value) == f'timeout: No response to "sleep" method in {seconds:g}s'

        async with trio.open_nursery() as nursery:
            # A long timeout first, then shorter ones: the watcher must wake up earlier.
            for timeout in (30, 20, 5, 20, 10):
                nursery.start_soon(call, timeout)
                await trio.lowlevel.checkpoint()
        assert [t for t, _ in expired] == [5, 10, 20, 20, 30]
        assert all(elapsed == pytest.approx(t, abs=0.01) for t, elapsed in expired)
        assert len(client.callbacks) == 0


async def test_answered_calls_leave_no_deadline_behind(autojump_clock: Any) -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        for i in range(200):
            assert await client.tell("square", i, timeout=1 + i % 3) == i * i
        deadlines = client._deadlines
        assert deadlines is not None
        # One group per timeout value, empty, until its timer comes.
        assert deadlines._groups == {1: {}, 2: {}, 3: {}}
        # Much later, nothing expires that was answered; the connection still works.
        await trio.sleep(10)
        assert deadlines._groups == {}
        assert len(deadlines._timers) == 0
        assert await client.tell("square", 3, timeout=0.5) == 9


async def test_a_timeout_does_not_disturb_other_waiting_calls(autojump_clock: Any) -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        async with trio.open_nursery() as nursery:
            results: list[str] = []

            async def patient() -> None:
                results.append(await client.tell("sleep", 3000, timeout=10))

            nursery.start_soon(patient)
            with pytest.raises(KiteTimeoutError):
                await client.tell("sleep", 3000, timeout=1)
        assert results == ["slept"]


async def test_cancelling_a_timed_call_disarms_it(autojump_clock: Any) -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        with trio.move_on_after(1):
            await client.tell("sleep", 60_000, timeout=5)
        deadlines = client._deadlines
        assert deadlines is not None
        assert deadlines._groups == {5: {}}
        assert await client.tell("square", 2, timeout=5) == 4
