"""`kite._timer_heap.TimerHeap`: many timers from one task, on a mock clock."""

from __future__ import annotations

from typing import Any

import trio

from kite._timer_heap import TimerHeap


async def test_items_fire_in_due_order_rearm_and_drop(autojump_clock: Any) -> None:
    fired: list[tuple[str, float]] = []
    repeats = {"every 3": 3}

    def on_due(item: str, now: float) -> float | None:
        fired.append((item, now))
        period = repeats.get(item)
        return now + period if period is not None and now < 9 else None

    async with trio.open_nursery() as nursery:
        timers: TimerHeap[str] = TimerHeap(nursery, on_due)
        start = trio.current_time()
        timers.add("at 10", start + 10)
        timers.add("every 3", start + 3)
        await trio.sleep(1)
        timers.add("at 2", start + 2)  # earlier than what the task sleeps towards
        await trio.sleep(20)
        assert len(timers) == 0
        assert [(item, round(t - start)) for item, t in fired] == [
            ("at 2", 2),
            ("every 3", 3),
            ("every 3", 6),
            ("every 3", 9),
            ("at 10", 10),
        ]
        assert len(nursery.child_tasks) == 1  # one task for all of them
        nursery.cancel_scope.cancel()
