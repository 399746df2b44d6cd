"""`Kite.serve`: the HTTP surface at `/kite`, user routes, Go kite's SockJS timings, and the
session timers (driven by `sockjs.ServerSession` deadlines) on a mock clock."""

from __future__ import annotations

import gc
import json
import socket
import warnings
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from kite_rpc_helpers import math_kite

import sockjs
from kite import Backoff, Config, PipeClosedError, ServerLimits, kite_sockjs_options
from kite._http import (
    ConnectionClosedError,
    HTTPClient,
    HTTPRequest,
    open_http_server,
    open_ws_client,
)
from kite._sockjs._http_pipe import HTTPSessionPipe
from kite._timer_heap import TimerHeap


def test_kite_sockjs_options_are_go_kites() -> None:
    options = kite_sockjs_options(Config())
    assert (options.prefix, options.websocket, options.raw_websocket) == ("/kite", True, False)
    assert (options.heartbeat_delay, options.disconnect_delay) == (10.0, 10.0)
    assert options.response_limit == 128 * 1024
    custom = kite_sockjs_options(Config(sockjs_heartbeat_delay=2, sockjs_websocket=False))
    assert (custom.heartbeat_delay, custom.websocket) == (2.0, False)


async def test_http_surface_and_user_routes() -> None:
    server = math_kite()

    async def hello(request: HTTPRequest) -> None:
        await request.respond(
            200, [("Content-Type", "text/plain")], b"hello " + request.path.encode()
        )

    server.handle_http("/hello", hello)  # before serving ...
    async with server.serve(host="127.0.0.1", port=0) as served, HTTPClient() as client:
        server.handle_http("/later", hello)  # ... and while serving
        base = f"http://127.0.0.1:{served.port}"
        welcome = await client.request("GET", served.url)
        assert (welcome.status, welcome.body) == (200, b"Welcome to SockJS!\n")
        info = json.loads((await client.request("GET", served.url + "/info")).body)
        assert (info["websocket"], info["cookie_needed"], info["origins"]) == (True, False, ["*:*"])
        assert (await client.request("GET", base + "/hello/x")).body == b"hello /hello/x"
        assert (await client.request("GET", base + "/later")).body == b"hello /later"
        missing = await client.request("GET", base + "/nothing")
        assert (missing.status, missing.body) == (404, b"404 page not found\n")
        wrong = await client.request("GET", served.url + "/1/2/xhr_send")
        assert (wrong.status, wrong.header("Allow")) == (405, "POST, OPTIONS")


def session(nursery: trio.Nursery | None = None, **options: Any) -> HTTPSessionPipe:
    """An HTTP session whose clock is a `TimerHeap` in `nursery` (none: it never ticks)."""
    opts = sockjs.Options(**options)
    timers = TimerHeap(nursery, HTTPSessionPipe.on_timer) if nursery is not None else None
    return HTTPSessionPipe("s1", "xhr", opts, ServerLimits(), None, timers)


async def test_heartbeat_every_delay_while_attached(autojump_clock: Any) -> None:
    async with trio.open_nursery() as nursery:
        s = session(nursery, heartbeat_delay=10, disconnect_delay=10)
        _, stream = s.attach(None)  # like a WebSocket: never full
        start = trio.current_time()
        assert await stream.next_frame() == "o"
        times = []
        for _ in range(3):
            assert await stream.next_frame() == "h"
            times.append(trio.current_time() - start)
        assert times == [10, 20, 30]
        await s.send("x")
        assert await stream.next_frame() == 'a["x"]'
        assert await stream.next_frame() == "h"  # data does not reset the heartbeat (Go)
        assert trio.current_time() - start == 40
        nursery.cancel_scope.cancel()


async def test_poll_session_expires_after_disconnect_delay(autojump_clock: Any) -> None:
    async with trio.open_nursery() as nursery:
        s = session(nursery, heartbeat_delay=25, disconnect_delay=5)
        _, poll = s.attach(1)
        assert await poll.next_frame() == "o"
        assert await poll.next_frame() is None  # a poll is finished after one frame
        await s.send("queued")  # no receiver: waits in the machine's queue
        start = trio.current_time()
        with pytest.raises(PipeClosedError):
            await s.receive()  # the application sees the end when the session expires
        assert trio.current_time() - start == 5
        assert s.finished
        with pytest.raises(PipeClosedError):
            await s.send("too late")
        nursery.cancel_scope.cancel()


async def test_application_close_is_served_until_expiry(autojump_clock: Any) -> None:
    async with trio.open_nursery() as nursery:
        s = session(nursery, heartbeat_delay=25, disconnect_delay=5)
        _, poll = s.attach(1)
        assert await poll.next_frame() == "o"
        await s.aclose()
        for _ in range(2):  # every later poll gets the close frame ...
            _, poll = s.attach(1)
            assert await poll.next_frame() == 'c[3000,"Go away!"]'
            await trio.sleep(4)
        assert not s.finished
        await trio.sleep(2)  # ... until disconnect_delay after the last one
        assert s.finished
        nursery.cancel_scope.cancel()


async def test_http_session_schedule_on_one_timer_heap(autojump_clock: Any) -> None:
    """Heartbeats and expiry of HTTP sessions come from the endpoint's one `TimerHeap`, at
    the machine's deadlines, also when a deadline moves earlier than the one armed (a poll
    finished: expiry `disconnect_delay` later, before the held poll's next `h` was due)."""
    async with trio.open_nursery() as nursery:
        timers = TimerHeap(nursery, HTTPSessionPipe.on_timer)
        opts = sockjs.Options(heartbeat_delay=25, disconnect_delay=5)
        a = HTTPSessionPipe("a", "xhr", opts, ServerLimits(), None, timers)
        b = HTTPSessionPipe("b", "xhr", opts, ServerLimits(), None, timers)
        start = trio.current_time()

        def now() -> float:
            return trio.current_time() - start

        _, poll = a.attach(1)
        assert await poll.next_frame() == "o"
        _, poll_b = b.attach(1)
        assert await poll_b.next_frame() == "o"  # b's expiry is due at 5 from now on
        await trio.sleep(3)
        _, poll = a.attach(1)  # held: `h` due at 28
        assert await poll.next_frame() == "h"
        assert (now(), b.finished) == (28, True)  # b expired meanwhile, at 5
        assert await poll.next_frame() is None  # the `h` finished the poll: expiry at 33
        await trio.sleep(2)
        _, poll = a.attach(1)  # at 30, held: `h` due at 55
        await trio.sleep(1)
        await a.send("x")  # at 31 the poll gets it and is finished: expiry moves to 36
        assert await poll.next_frame() == 'a["x"]'
        with pytest.raises(PipeClosedError):
            await a.receive()
        assert (now(), a.finished) == (36, True)
        await trio.sleep(30)  # the stale entry (55) fires and changes nothing
        assert a.finished
        assert len(timers) == 0
        nursery.cancel_scope.cancel()


async def test_interrupted_poll_ends_the_session_at_once(autojump_clock: Any) -> None:
    s = session()
    _, poll = s.attach(1)
    assert await poll.next_frame() == "o"
    rid, poll = s.attach(1)
    s.interrupt(rid)
    assert await poll.next_frame() is None
    assert s.finished
    with pytest.raises(PipeClosedError):
        await s.receive()


@given(st.integers(min_value=1, max_value=60))
def test_backoff_is_gos(steps: int) -> None:
    backoff = Backoff()
    interval = 0.5
    for _ in range(steps):
        delay = backoff.next_delay()
        assert interval * 0.5 <= delay <= interval * 1.5
        interval = min(interval * 1.5, 60.0)
    backoff.reset()
    assert backoff.next_delay() <= 0.75


async def test_http_sessions_are_bounded() -> None:
    """One session over `ServerLimits.sessions` is refused with 503; the open ones still work."""
    server = math_kite()
    limits = ServerLimits(sessions=2)
    async with server.serve(host="127.0.0.1", port=0, limits=limits) as served, HTTPClient() as c:
        opened = [await c.request("POST", f"{served.url}/000/s{i}/xhr") for i in range(2)]
        assert [(r.status, r.body) for r in opened] == [(200, b"o\n"), (200, b"o\n")]
        refused = await c.request("POST", f"{served.url}/000/s2/xhr")
        assert (refused.status, refused.body) == (503, b"too many sessions\n")
        sent = await c.request("POST", f"{served.url}/000/s2/xhr_send", body=b'["x"]')
        assert sent.status == 404  # nothing was created for the refused one
        ping = '{"method":"kite.ping","arguments":[{"responseCallback":"[Function]"}],'
        ping += '"callbacks":{"0":[0,"responseCallback"]}}'
        body = json.dumps([ping]).encode()
        assert (await c.request("POST", f"{served.url}/000/s0/xhr_send", body=body)).status == 204
        answer = await c.request("POST", f"{served.url}/000/s0/xhr")
        assert b"pong" in answer.body


def test_server_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="sessions"):
        ServerLimits(sessions=0)


def _port_is_free(port: int) -> bool:
    """True when a fresh socket can listen on 127.0.0.1:`port` (no other listener holds it)."""
    probe = socket.socket()
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()
    except OSError:
        return False
    finally:
        probe.close()
    return True


async def test_cancelled_run_closes_its_listener() -> None:
    k = math_kite(config=Config(ip="127.0.0.1", port=0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        async with trio.open_nursery() as nursery:
            served = await nursery.start(k.run)
            port = served.port
            assert not _port_is_free(port)
            nursery.cancel_scope.cancel()
        del served
        gc.collect()
    assert _port_is_free(port)
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_cancelled_http_server_closes_its_listener() -> None:
    """Cancelling the block (no `aclose()` on the way out) still closes the listening socket."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with trio.CancelScope() as scope:
            async with open_http_server("127.0.0.1", 0) as http:
                port = http.port
                assert not _port_is_free(port)
                scope.cancel()
                await trio.sleep_forever()
        del http
        gc.collect()
    assert _port_is_free(port)
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def _task_count() -> int:
    """Tasks alive in this trio run (walking the task tree from the root)."""
    count = 0
    nurseries = list(trio.lowlevel.current_root_task().child_nurseries)
    while nurseries:
        for task in nurseries.pop().child_tasks:
            count += 1
            nurseries.extend(task.child_nurseries)
    return count


def _open_idle_websockets(port: int, count: int) -> list[socket.socket]:
    """Blocking clients (in a thread): open SockJS WebSocket sessions and read their `o`."""
    socks = []
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(
            f"GET /kite/000/s{i}/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
        )
        data = b""
        while not data.endswith(b"\x81\x01o"):
            data += sock.recv(4096)
        socks.append(sock)
    return socks


async def test_an_idle_websocket_session_costs_one_task() -> None:
    # The HTTP connection's task reads the socket for the kite; no writer, timer or peer
    # task per session (heartbeats come from one task for all of them).
    async with math_kite().serve(host="127.0.0.1", port=0) as served:
        warm = await trio.to_thread.run_sync(_open_idle_websockets, served.port, 1)
        await trio.sleep(0.2)
        before = _task_count()
        socks = await trio.to_thread.run_sync(_open_idle_websockets, served.port, 20)
        await trio.sleep(0.2)
        assert _task_count() - before == 20
        assert served.endpoint.websocket_count == 21
        for sock in socks + warm:
            sock.close()
        with trio.fail_after(5):
            await trio.testing.wait_all_tasks_blocked(0.1)  # every EOF has been read
        assert served.endpoint.websocket_count == 0
        assert _task_count() == before - 1  # every connection task is gone (the warm one too)


async def test_shutdown_says_go_away_to_idle_websocket_sessions() -> None:
    served_kite = math_kite()
    async with served_kite.serve(host="127.0.0.1", port=0) as served:
        url = served.url.replace("http", "ws")
        async with open_ws_client(url + "/000/a/websocket") as ws:
            assert await ws.receive() == "o"
            with trio.fail_after(5):
                await served.aclose(grace_period=1)
                assert await ws.receive() == 'c[3000,"Go away!"]'  # then TCP drops
                with pytest.raises(ConnectionClosedError):
                    await ws.receive()
            assert served.endpoint.websocket_count == 0


async def test_websocket_heartbeats_every_delay_from_the_endpoint_timer(
    autojump_clock: Any,
) -> None:
    from kite._http import HTTPLimits, WebSocketConnection
    from kite._sockjs._endpoint import SockJSEndpoint
    from kite._sockjs._websocket_pipe import WebSocketSessionPipe

    async def never(pipe: Any) -> None:  # pragma: no cover - no session is planned here
        raise AssertionError

    a, b = trio.testing.memory_stream_pair()
    server_ws = WebSocketConnection(a, HTTPLimits(), client=False)
    client_ws = WebSocketConnection(b, HTTPLimits(), client=True)
    options = sockjs.Options(heartbeat_delay=10.0)
    async with trio.open_nursery() as nursery:
        endpoint = SockJSEndpoint(options, never, nursery)
        session = WebSocketSessionPipe(server_ws, "s", options)
        start = trio.current_time()
        await session.open()
        endpoint._heartbeats.add(session, session.machine.next_deadline() or 0)
        seen = [(await client_ws.receive(), trio.current_time() - start) for _ in range(5)]
        assert seen == [("o", 0), ("h", 10), ("h", 20), ("h", 30), ("h", 40)]
        await session.aclose()
        assert await client_ws.receive() == 'c[3000,"Go away!"]'
        await trio.sleep(30)  # a closed session is dropped from the timer
        assert len(endpoint._heartbeats) == 0
        nursery.cancel_scope.cancel()
