"""Requests served inline by the reader, and the role swap when a handler suspends (`_peer`)."""

from __future__ import annotations

import contextvars
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing
from kite_rpc_helpers import client_kite, math_kite

from kite import Kite, MemoryPipe, Peer, PeerLimits, PipeClosedError, Request, memory_pipe_pair


class TaskCounter(trio.abc.Instrument):
    """Counts the tasks the RPC core spawns (named after `kite._rpc._peer` functions)."""

    def __init__(self) -> None:
        self.spawned: list[str] = []
        self.alive: set[trio.lowlevel.Task] = set()

    def task_spawned(self, task: trio.lowlevel.Task) -> None:
        if task.name.startswith("kite._rpc._peer."):
            self.spawned.append(task.name)
            self.alive.add(task)

    def task_exited(self, task: trio.lowlevel.Task) -> None:
        self.alive.discard(task)


@asynccontextmanager
async def counting() -> AsyncIterator[TaskCounter]:
    counter = TaskCounter()
    trio.lowlevel.add_instrument(counter)
    try:
        yield counter
    finally:
        trio.lowlevel.remove_instrument(counter)


@asynccontextmanager
async def served(
    server: Kite, client: Kite | None = None
) -> AsyncIterator[tuple[Peer, MemoryPipe]]:
    """`server.serve_pipe` in a task of a nursery, `client` dialled over a memory pipe."""
    a, b = memory_pipe_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve_pipe, a)
        async with (client or client_kite()).connect_pipe(b) as peer:
            yield peer, a


async def test_plain_requests_spawn_no_task_on_either_side() -> None:
    async with served(math_kite()) as (client, _), counting() as counter:
        for i in range(50):
            assert await client.tell("square", i) == i * i
        assert await client.tell("echo", "x", [1, 2]) == ["x", [1, 2]]
        with pytest.raises(Exception, match="boom"):
            await client.tell("boom")
        for _ in range(10):
            await client.tell("kite.ping")  # requests the other way round too
    assert counter.spawned == []


async def test_an_idle_served_connection_has_no_task_of_its_own() -> None:
    async with counting() as counter, served(math_kite()) as (client, _):
        await client.tell("square", 3)
        await trio.testing.wait_all_tasks_blocked()
        # only the dialling side's `Peer._run` (open_peer runs in one task); the served side
        # reads in serve_pipe's caller
        assert [t.name for t in counter.alive] == ["kite._rpc._peer.Peer._run"]


async def test_a_suspended_handler_does_not_block_the_connection() -> None:
    server = math_kite()
    release = trio.Event()
    started = trio.Event()

    @server.handle("wait")
    async def wait(r: Request) -> str:
        started.set()
        await release.wait()
        return "released"

    async with served(server) as (client, _), counting() as counter:
        results: list[Any] = []
        async with trio.open_nursery() as nursery:

            async def call_wait() -> None:
                results.append(await client.tell("wait"))

            nursery.start_soon(call_wait)
            await started.wait()
            # the first request is held by serve_pipe's own task; reading moved to a new one
            assert counter.spawned == ["kite._rpc._peer.Peer._read"]
            for i in range(5):
                assert await client.tell("square", i) == i * i
            assert results == []
            release.set()
        assert results == ["released"]
        assert counter.spawned == ["kite._rpc._peer.Peer._read"]  # no task per plain request


async def test_handlers_awaiting_the_caller_while_others_are_served() -> None:
    async with served(math_kite()) as (client, _):
        results: list[Any] = []
        async with trio.open_nursery() as nursery:
            for _ in range(5):

                async def call_back() -> None:
                    results.append(await client.tell("callMeBack"))

                nursery.start_soon(call_back)
            for i in range(5):
                assert await client.tell("square", i) == i * i
        assert results == ["hello from go client"] * 5


async def test_cancel_scopes_of_a_suspended_handler_belong_to_its_task(
    autojump_clock: Any,
) -> None:
    server = math_kite()

    @server.handle("bounded")
    async def bounded(r: Request) -> str:
        with trio.move_on_after(1) as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(trio.sleep, 0.5)
                await trio.sleep(r.args.one().float())
        return "timed out" if scope.cancelled_caught else "in time"

    async with served(server) as (client, _):
        async with trio.open_nursery() as nursery:
            got: list[str] = []

            async def one(seconds: float) -> None:
                got.append(await client.tell("bounded", seconds))

            nursery.start_soon(one, 5)
            nursery.start_soon(one, 0.1)
        assert sorted(got) == ["in time", "timed out"]
        assert await client.tell("square", 2) == 4


@pytest.mark.parametrize("holder", ["owner", "swapped"])
async def test_disconnect_cancels_a_suspended_handler(holder: str) -> None:
    """The handler runs in serve_pipe's own task (`owner`) or in a former reader task."""
    server = math_kite()
    started, cancelled = trio.Event(), trio.Event()
    first_release = trio.Event()

    @server.handle("first")
    async def first(r: Request) -> None:
        await first_release.wait()

    @server.handle("hang")
    async def hang(r: Request) -> None:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    a, b = memory_pipe_pair()
    async with counting() as counter, trio.open_nursery() as nursery:
        nursery.start_soon(server.serve_pipe, a)
        async with client_kite().connect_pipe(b) as client:
            if holder == "swapped":  # the owner task holds `first`, a reader task takes `hang`
                client.start_soon(client.tell, "first")
                await trio.testing.wait_all_tasks_blocked()
            client.start_soon(client.tell, "hang")
            await started.wait()
        # leaving connect_pipe closed the pipe: serve_pipe's nursery ends, handlers cancelled
    assert cancelled.is_set()
    assert counter.alive == set()


async def test_concurrency_limit_and_backlog_with_inline_requests() -> None:
    server = math_kite(limits=PeerLimits(max_concurrent_requests=2, request_backlog=3))
    release = trio.Event()
    running = 0
    peak = 0

    @server.handle("wait")
    async def wait(r: Request) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        return r.args.one().int()

    a, b = memory_pipe_pair(max_buffer=0)
    results: list[int] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve_pipe, a)
        async with client_kite().connect_pipe(b) as client, trio.open_nursery() as calls:
            for i in range(8):

                async def one(i: int = i) -> None:
                    results.append(await client.tell("wait", i))

                calls.start_soon(one)
            await trio.testing.wait_all_tasks_blocked()
            assert running == 2  # two running, three in the (full) backlog, the rest unread
            release.set()
    assert sorted(results) == list(range(8))
    assert peak == 2


async def test_callbacks_stay_serial_and_sync_ones_spawn_no_task(autojump_clock: Any) -> None:
    server = math_kite()
    order: list[Any] = []

    @server.handle("burst")
    async def burst(r: Request) -> str:
        cb = r.args.one().function()
        for i in range(6):
            await cb(i)
        return "done"

    async def tick(i: int) -> None:
        order.append(("start", i))
        if i % 3 == 1:
            await trio.sleep(1)  # suspends: the lane moves to this task, the rest queue behind
        order.append(("end", i))

    async with served(server) as (client, _):
        async with counting() as counter:
            assert await client.tell("countdown", {"cb": order.append, "from": 3}) == "done"
        assert order == [3, 2, 1]
        assert counter.spawned == []  # the ticks' sends did not block: countdown ran inline
        order.clear()
        assert await client.tell("burst", tick) == "done"  # the result after every tick
    assert order == [(kind, i) for i in range(6) for kind in ("start", "end")]


class FloodPipe:
    """A pipe that always has a message ready: `receive` never waits, never checkpoints."""

    def __init__(self) -> None:
        self.received = 0
        self.closed = False

    async def send(self, message: str) -> None:
        raise PipeClosedError()

    async def receive(self) -> str:
        if self.closed:
            raise PipeClosedError()
        self.received += 1
        return '{"method":"kite.ping","arguments":[{"withArgs":[]}],"callbacks":{}}'

    async def aclose(self) -> None:
        self.closed = True


async def test_a_pipe_that_never_blocks_does_not_starve_other_tasks() -> None:
    pipe = FloodPipe()
    with trio.move_on_after(30):  # a bound for a broken build, never reached when it works
        async with trio.open_nursery() as nursery:
            nursery.start_soon(Kite("flooded", "1.0.0").serve_pipe, pipe)
            for _ in range(3):
                await trio.lowlevel.checkpoint()  # this task still gets to run
            nursery.cancel_scope.cancel()  # and the reader sees the cancellation
    assert 0 < pipe.received < 10_000
    assert pipe.closed


async def test_request_ids_are_drawn_once_and_only_when_used() -> None:
    server = math_kite()
    ids: list[str] = []

    @server.handle("ids")
    def read_ids(r: Request) -> str:
        ids.extend([r.id, r.id])
        return r.id

    async with served(server) as (client, _):
        answer = await client.tell("ids")
    assert ids == [answer, answer]
    assert len(answer) == 16
    int(answer, 16)


async def test_raw_requests_answered_inline_in_order() -> None:
    """Requests arriving back to back are answered in arrival order (all inline)."""
    a, b = memory_pipe_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(math_kite().serve_pipe, a)
        for cid in range(1, 6):
            await b.send(
                json.dumps(
                    {
                        "method": "square",
                        "arguments": [{"responseCallback": "[Function]", "withArgs": [cid]}],
                        "callbacks": {str(cid): ["0", "responseCallback"]},
                    }
                )
            )
        answers = [json.loads(await b.receive()) for _ in range(5)]
        await b.aclose()
    assert [m["method"] for m in answers] == [1, 2, 3, 4, 5]
    assert [m["arguments"][0]["result"] for m in answers] == [1, 4, 9, 16, 25]


async def test_each_inline_request_has_its_own_context() -> None:
    server = math_kite()
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    @server.handle("swap")
    async def swap(r: Request) -> str:
        before = var.get()
        var.set(r.args.one().string())
        if r.args.one().string() == "slow":
            await trio.lowlevel.checkpoint()  # suspends: finished by another task
        return f"{before}->{var.get()}"

    async with served(server) as (client, _):
        assert await client.tell("swap", "a") == "unset->a"
        assert await client.tell("swap", "slow") == "unset->slow"
        assert await client.tell("swap", "b") == "unset->b"


async def test_serve_pipe_hooks_and_closing_the_pipe_from_outside() -> None:
    """What a server does at shutdown: close the session's pipe; serve_pipe then returns."""
    server = math_kite()
    events: list[str] = []
    started, cancelled = trio.Event(), trio.Event()
    server.on_connect(lambda peer: events.append("connect"))
    server.on_disconnect(lambda peer: events.append(f"disconnect closed={peer.closed}"))

    @server.handle("hang")
    async def hang(r: Request) -> None:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    a, b = memory_pipe_pair()
    async with counting() as counter, trio.open_nursery() as nursery:
        nursery.start_soon(server.serve_pipe, a)
        async with client_kite().connect_pipe(b) as client:
            assert await client.tell("square", 5) == 25
            client.start_soon(client.tell, "hang")
            await started.wait()
            await a.aclose()  # the server closes the session
            await client.wait_closed()
            with pytest.raises(PipeClosedError):
                await b.receive()
    assert cancelled.is_set()
    assert events == ["connect", "disconnect closed=True"]
    assert counter.alive == set()


async def test_the_idle_owner_task_takes_the_reading_role_back() -> None:
    server = math_kite()

    @server.handle("yield")
    async def yield_once(r: Request) -> int:
        await trio.lowlevel.checkpoint()  # every request suspends
        return r.args.one().int()

    async with counting() as counter, served(server) as (client, _):
        for i in range(10):
            assert await client.tell("yield", i) == i
        await trio.testing.wait_all_tasks_blocked()
        # serve_pipe's task and the reader tasks take turns: every other swap is a new task
        assert counter.spawned.count("kite._rpc._peer.Peer._read") == 5
        assert [t.name for t in counter.alive if "Peer._read" in t.name] == []
