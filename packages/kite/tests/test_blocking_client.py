"""`kite.connect`: a blocking client for plain Python, with trio in a background thread.

The served kite runs in the test's trio loop on 127.0.0.1; the blocking side runs in other
threads (`trio.to_thread.run_sync`), a thread with a running asyncio loop, or a separate
Python process that never imports trio itself.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trio

import kite

CONFIG = kite.Config()  # no kite key, nothing read from the environment


def math_kite() -> kite.Kite:
    math = kite.Kite("math", "1.0.0", kite.Config(disable_authentication=True))
    math.handle_func("square", lambda r: r.args.one().float() ** 2)

    @math.handle("countdown")
    async def countdown(r: kite.Request) -> str:
        n, callback = r.args.slice(2)
        for i in range(n.int(), 0, -1):
            await callback.function()(i)
        return "done"

    @math.handle("withReply")
    async def with_reply(r: kite.Request) -> float:
        got = trio.Event()
        replies: list[float] = []

        def reply(value: float) -> None:
            replies.append(value)
            got.set()

        await r.args.one().function()(reply)
        await got.wait()
        return replies[0] * 10

    @math.handle("forever")
    async def forever(r: kite.Request) -> None:
        if not r.args.is_nil:
            await r.args.one().function()()  # "started"
        await trio.sleep_forever()

    return math


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with math_kite().serve(host="127.0.0.1", port=0) as server:
        yield server.url


async def in_thread(fn: Callable[[], Any]) -> Any:
    """Run blocking code in a thread while the test's loop keeps serving."""
    return await trio.to_thread.run_sync(fn)


async def run_script(code: str, url: str, tmp_path: Path) -> str:
    """Run `code` with `url` as its argument in a fresh Python; its standard output."""
    done = await trio.run_process(
        [sys.executable, "-c", code, url],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
        env={**os.environ, "KITE_HOME": str(tmp_path)},  # no kite.key of the user's
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


# ----------------------------------------------------------------------------------------------
# plain Python


SCRIPT = """\
import sys
import kite

with kite.connect(sys.argv[1]) as remote:
    print(remote.tell("square", 4))
    calls = []
    print(remote.tell("countdown", 3, calls.append), calls)
"""


async def test_a_plain_script_calls_a_kite_with_and_without_callbacks(
    url: str, tmp_path: Path
) -> None:
    assert "trio" not in SCRIPT
    assert await run_script(SCRIPT, url, tmp_path) == "16\ndone [3, 2, 1]\n"


async def test_callbacks_run_in_a_worker_thread_in_order_before_the_answer(url: str) -> None:
    def blocking() -> tuple[Any, list[tuple[int, str]]]:
        seen: list[tuple[int, str]] = []
        with kite.connect(url, config=CONFIG) as remote:
            result = remote.tell(
                "countdown", 3, lambda i: seen.append((i, threading.current_thread().name))
            )
        return result, seen

    result, seen = await in_thread(blocking)
    assert result == "done"
    assert [i for i, _ in seen] == [3, 2, 1]
    caller = await in_thread(lambda: threading.current_thread().name)
    assert all(name not in (caller, threading.main_thread().name) for _, name in seen)


async def test_a_callback_may_call_the_kite_and_the_remotes_functions(url: str) -> None:
    def blocking() -> tuple[Any, Any, list[float]]:
        squares: list[float] = []
        with kite.connect(url, config=CONFIG) as remote:
            first = remote.tell("countdown", 3, lambda i: squares.append(remote.tell("square", i)))
            second = remote.tell("withReply", lambda reply: reply(7))
        return first, second, squares

    first, second, squares = await in_thread(blocking)
    assert (first, second, squares) == ("done", 70, [9, 4, 1])


async def test_four_threads_call_at_once(url: str) -> None:
    def blocking() -> list[Any]:
        barrier = threading.Barrier(4)
        results: list[Any] = [None] * 4

        def worker(index: int, remote: kite.BlockingClient) -> None:
            try:
                barrier.wait(timeout=30)
                results[index] = [remote.tell("square", index * 10 + i) for i in range(10)]
            except Exception as exc:  # reported below, in the test's thread
                results[index] = exc

        with kite.connect(url, config=CONFIG) as remote:
            threads = [threading.Thread(target=worker, args=(i, remote)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
        return results

    results = await in_thread(blocking)
    assert results == [[float((n * 10 + i) ** 2) for i in range(10)] for n in range(4)]


async def test_several_clients_in_several_threads(url: str) -> None:
    def one(n: int) -> Any:
        with kite.connect(url, config=CONFIG, transport="xhr" if n % 2 else "websocket") as r:
            return r.tell("square", n)

    async with trio.open_nursery() as nursery:
        results: dict[int, Any] = {}

        async def run(n: int) -> None:
            results[n] = await trio.to_thread.run_sync(one, n)

        for n in range(4):
            nursery.start_soon(run, n)
    assert results == {n: n * n for n in range(4)}


async def test_from_a_thread_whose_asyncio_loop_is_running_as_in_jupyter(url: str) -> None:
    async def notebook_cell() -> Any:
        assert asyncio.get_running_loop().is_running()
        with kite.connect(url, config=CONFIG) as remote:  # a blocking call inside the loop
            return remote.tell("square", 5)

    assert await in_thread(lambda: asyncio.run(notebook_cell())) == 25


async def test_a_kontrol_query_finds_the_kite_first(
    kontrol_server: Any, kite_config: kite.Config
) -> None:
    math = kite.Kite("math", "1.0.0", kite_config)
    math.handle_func("square", lambda r: r.args.one().float() ** 2)
    async with math.serve() as server, math.kontrol_client():
        await math.register_forever(server.url)

        def blocking() -> Any:
            query = {"username": "testuser", "name": "math"}
            with kite.connect(query, config=kite_config, timeout=10) as remote:
                return remote.target, remote.tell("square", 6)

        target, result = await in_thread(blocking)
    assert result == 36
    assert target == "/testuser//math////"


# ----------------------------------------------------------------------------------------------
# errors: the async API's types, one exception each


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_a_refused_connection_is_one_connect_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/kite"
    with pytest.raises(kite.ConnectError):
        await in_thread(lambda: kite.connect(url, config=CONFIG, transport="websocket"))


async def test_remote_errors_and_timeouts_have_the_async_types(url: str) -> None:
    def blocking() -> list[BaseException]:
        errors = []
        with kite.connect(url, config=CONFIG) as remote:
            for method, timeout in (("nope", None), ("forever", 0.2)):
                try:
                    remote.tell(method, timeout=timeout)
                except kite.KiteError as exc:
                    errors.append(exc)
            assert remote.tell("square", 2) == 4  # still usable
        return errors

    missing, late = await in_thread(blocking)
    assert type(missing) is kite.MethodNotFoundError
    assert type(late) is kite.KiteTimeoutError


async def test_closing_fails_waiting_calls_and_later_ones(url: str) -> None:
    def blocking() -> tuple[BaseException | None, str]:
        started = threading.Event()
        failure: list[BaseException] = []
        remote = kite.connect(url, config=CONFIG)

        def waiter() -> None:
            try:
                remote.tell("forever", started.set)
            except kite.KiteError as exc:
                failure.append(exc)

        thread = threading.Thread(target=waiter)
        thread.start()
        assert started.wait(timeout=30)
        remote.close()
        thread.join(timeout=30)
        remote.close()  # again: nothing
        with pytest.raises(RuntimeError, match="closed") as later:
            remote.tell("square", 1)
        return failure[0] if failure else None, str(later.value)

    failure, later = await in_thread(blocking)
    assert isinstance(failure, kite.DisconnectError)
    assert later.endswith("the client is closed")


async def test_connect_refuses_to_block_a_trio_thread(url: str) -> None:
    with pytest.raises(RuntimeError, match="dial"):
        kite.connect(url, config=CONFIG)


CTRL_C_SCRIPT = """\
import signal, sys, threading
import kite

def started():  # runs in a worker thread while the main thread waits for the answer
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

with kite.connect(sys.argv[1]) as remote:
    try:
        remote.tell("forever", started)
    except KeyboardInterrupt:
        print("interrupted")
    print(remote.tell("square", 3))
"""


async def test_ctrl_c_interrupts_a_waiting_call_and_the_client_goes_on(
    url: str, tmp_path: Path
) -> None:
    assert await run_script(CTRL_C_SCRIPT, url, tmp_path) == "interrupted\n9\n"
