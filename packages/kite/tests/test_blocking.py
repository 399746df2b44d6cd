"""Blocking handlers (`blocking=True`) run in worker threads: the kite's other work goes on."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing
from kite_rpc_helpers import client_kite

from kite import Config, Kite, Peer, Request, memory_pipe_pair

WAIT = 10.0  # how long a handler waits for the test to release it (never reached when green)


def blocking_kite(*, blocking: bool, typed: bool) -> tuple[Kite, threading.Event]:
    """A kite whose `hold` blocks its thread until `release` is set (or WAIT passes)."""
    k = Kite("k", "1.0.0", Config(disable_authentication=True))
    release = threading.Event()

    if typed:

        @k.method(blocking=blocking)
        def hold(seconds: float = WAIT) -> bool:
            return release.wait(seconds)

    else:

        @k.handle("hold", blocking=blocking)
        def hold_request(r: Request) -> bool:
            seconds = r.args.one().float() if not r.args.is_nil else WAIT
            return release.wait(seconds)

    return k, release


@asynccontextmanager
async def two_callers(k: Kite) -> AsyncIterator[tuple[Peer, Peer, trio.Nursery]]:
    """Two connections to `k` (in-memory pipes) and a nursery for calls."""
    a1, b1 = memory_pipe_pair()
    a2, b2 = memory_pipe_pair()
    async with (
        k.accept(a1),
        k.accept(a2),
        client_kite().connect_pipe(b1) as first,
        client_kite().connect_pipe(b2) as second,
        trio.open_nursery() as nursery,
    ):
        yield first, second, nursery


@pytest.mark.parametrize("typed", [True, False], ids=["method", "handle"])
async def test_a_blocking_handler_does_not_delay_another_connections_ping(typed: bool) -> None:
    k, release = blocking_kite(blocking=True, typed=typed)
    held: list[bool] = []
    with trio.fail_after(WAIT * 2):
        async with two_callers(k) as (first, second, nursery):

            async def hold() -> None:
                held.append(await first.tell("hold"))

            nursery.start_soon(hold)
            await trio.testing.wait_all_tasks_blocked()
            # The handler's thread is waiting for `release`; the other connection goes on.
            assert await second.tell("kite.ping") == "pong"
            assert not release.is_set()
            release.set()
    assert held == [True]  # released by the test, after the ping


async def test_a_plain_handler_that_blocks_delays_everything() -> None:
    """The contrast: without `blocking=True` the kite does nothing else until the handler
    returns (here: gives up waiting), so the ping is answered after it."""
    k, _ = blocking_kite(blocking=False, typed=True)
    order: list[str] = []
    async with two_callers(k) as (first, second, nursery):

        async def hold() -> None:
            order.append(f"hold released={await first.tell('hold', 0.2)}")

        async def ping() -> None:
            await trio.testing.wait_all_tasks_blocked()
            order.append(await second.tell("kite.ping"))

        nursery.start_soon(hold)
        nursery.start_soon(ping)
    assert order == ["hold released=False", "pong"]


async def test_the_thread_limiter_bounds_blocking_handlers() -> None:
    k = Kite("k", "1.0.0", Config(disable_authentication=True))
    k.thread_limiter = trio.CapacityLimiter(1)
    lock = threading.Lock()
    running = [0]
    most = [0]

    @k.method(blocking=True)
    def work() -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    a, b = memory_pipe_pair()
    with trio.fail_after(10):
        async with (
            k.accept(a),
            client_kite().connect_pipe(b) as peer,
            trio.open_nursery() as nursery,
        ):
            for _ in range(4):
                nursery.start_soon(peer.tell, "work")
    assert most == [1]


async def test_a_disconnect_abandons_the_thread() -> None:
    """The connection ends while the handler's thread runs: the request stops waiting at
    once (the thread finishes on its own later; its result is dropped)."""
    k, release = blocking_kite(blocking=True, typed=True)
    a, b = memory_pipe_pair()
    with trio.fail_after(WAIT / 2):  # well before the thread gives up by itself
        async with k.accept(a), client_kite().connect_pipe(b) as peer:
            peer.start_soon(peer.tell, "hold")
            await trio.testing.wait_all_tasks_blocked()
        # Both ends closed and the request was cancelled although the thread still runs.
    assert not release.is_set()
    release.set()
