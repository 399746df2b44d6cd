"""Token bucket semantics of juju/ratelimit 1.0.1 and `Method.throttle` over RPC (§4.8)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from kite_rpc_helpers import client_kite, connected, math_kite

from kite import RequestLimitError, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_starts_full_and_refills_one_per_interval() -> None:
    clock = Clock()
    bucket = TokenBucket(10, 2, clock=clock)
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    clock.now += 9.9
    assert not bucket.take()
    clock.now += 0.1
    assert bucket.take()
    assert not bucket.take()
    clock.now += 100
    assert bucket.available == 2


def test_full_bucket_quirk_gives_capacity_plus_one() -> None:
    clock = Clock()
    bucket = TokenBucket(1, 2, clock=clock)
    clock.now += 5  # sat full for several intervals
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_validation() -> None:
    with pytest.raises(ValueError, match="fill interval"):
        TokenBucket(0, 1)
    with pytest.raises(ValueError, match="capacity"):
        TokenBucket(1, 0)


@given(st.lists(st.floats(min_value=0, max_value=5), max_size=40))
def test_never_more_than_capacity_plus_refills(steps: list[float]) -> None:
    clock = Clock()
    bucket = TokenBucket(1.0, 3, clock=clock)
    taken = 0
    for step in steps:
        clock.now += step
        taken += bucket.take()
    # Start full (3), +1 per elapsed interval, +1 for the full-bucket quirk.
    assert taken <= 3 + int(sum(steps)) + 1


async def test_throttled_method_answers_request_limit_error(autojump_clock: Any) -> None:
    server = math_kite()
    server.handle_func("limited", lambda r: "ok").throttle(60, 2).throttle(1, 100)
    async with connected(server, client_kite()) as (client, _, _, _):
        results = []
        ids = set()
        for _ in range(5):
            try:
                results.append(await client.tell("limited"))
            except RequestLimitError as exc:
                results.append(exc.message)
                ids.add(exc.id)
        assert results == ["ok", "ok"] + ["The maximum request rate is exceeded."] * 3
        assert len(ids) == 3  # each refusal has its own request id
        await trio.sleep(60)
        assert await client.tell("limited") == "ok"
