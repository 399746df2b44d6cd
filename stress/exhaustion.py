"""Exhaustion: attacks on a kite's resources, each with its bound and the time a fresh client
needs to be served while the attack goes on.

The kite runs in this process (its counters are read directly); every attacker uses real
127.0.0.1 sockets. Per attack the suite records how many attackers, the bound that ends or caps
them (a timeout or a limit, from `HTTPLimits`, `sockjs.Options` or `PeerLimits`), whether the
server let go of them within that bound, and how long a fresh client took to dial and get an
answer in the middle of the attack. The short form uses short timeouts and fewer attackers.

* slowloris: request heads sent one byte a second: cut at `handshake_timeout`;
* idle connections: TCP connections that never send: cut at `handshake_timeout`;
* never-polled XHR sessions: opened (`o`) and never polled: gone `disconnect_delay` later;
* never-reading clients: WebSocket clients calling a method with a 1 MB answer and never
  reading: each stalls only its own connection (TCP back-pressure), and is gone when it leaves;
* callback floods: one client sending calls without waiting for answers: at most
  `max_concurrent_requests` run and `request_backlog` wait; the rest is refused at once
  (`requestLimitError`), the client's other calls and everyone else's go on.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable

import trio

from kite import Config, Kite, KiteError, Request
from kite._http import HTTPLimits

from ._report import Outcome, machine_load
from ._wire import post, websocket_handshake, ws_frame

__all__ = ["run"]

ATTACKERS = {
    True: {"slowloris": 500, "idle": 1000, "xhr": 1000, "noread": 50, "flood": 20_000},
    False: {"slowloris": 50, "idle": 100, "xhr": 100, "noread": 10, "flood": 2_000},
}
HANDSHAKE_TIMEOUT = {True: 15.0, False: 1.0}
DISCONNECT_DELAY = {True: 10.0, False: 0.5}
#: Extra seconds allowed past a bound before a still-held resource counts as a problem.
SLACK = 3.0


def _victim(long: bool) -> Kite:
    k = Kite(
        "math",
        "1.0.0",
        Config(disable_authentication=True, sockjs_disconnect_delay=DISCONNECT_DELAY[long]),
    )

    def square(r: Request) -> float:
        n = r.args.one().float()
        return n * n

    def big(r: Request) -> str:
        return "x" * 1_000_000

    k.handle_func("square", square)
    k.handle_func("big", big)
    return k


async def _fresh_client(url: str) -> float:
    """Seconds a new client needs to dial and get an answer."""
    start = time.perf_counter()
    client = Kite("fresh", "1.0.0", Config())
    async with client.dial(url, transport="websocket", timeout=30) as remote:
        await remote.tell("square", 3, timeout=30)
    return time.perf_counter() - start


async def _held_connections(port: int) -> int:
    """TCP connections to `port` the kernel still shows as established (server side)."""
    own = f":{port:04X}"
    count = 0
    for line in (await trio.Path("/proc/net/tcp").read_text()).splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(own) and fields[3] == "01":
            count += 1
    return count


async def _slowloris(port: int, n: int, nursery: trio.Nursery) -> list[trio.SocketStream]:
    streams = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(n)]

    async def drip(stream: trio.SocketStream) -> None:
        try:
            await stream.send_all(b"GET /kite HTTP/1.1\r\nX-Slow: ")
            while True:
                await trio.sleep(1)
                await stream.send_all(b"a")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return

    for s in streams:
        nursery.start_soon(drip, s)
    return streams


async def _idle(port: int, n: int, nursery: trio.Nursery) -> list[trio.SocketStream]:
    return [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(n)]


async def _open_xhr(port: int, n: int, nursery: trio.Nursery) -> list[trio.SocketStream]:
    for _ in range(n):
        async with await trio.open_tcp_stream("127.0.0.1", port) as s:
            sid = os.urandom(8).hex()
            await s.send_all(post(f"/kite/000/{sid}/xhr", close=True))
            while await s.receive_some(4096):
                pass
    return []


async def _attack_and_measure(
    outcome: Outcome,
    name: str,
    bound: str,
    bound_s: float,
    served: object,
    attack: Callable[[int, int, trio.Nursery], Awaitable[list[trio.SocketStream]]],
    n: int,
    held: Callable[[], Awaitable[int]],
) -> None:
    port = served.port  # type: ignore[attr-defined]
    url = served.url  # type: ignore[attr-defined]
    baseline = await held()
    async with trio.open_nursery() as nursery:
        started = time.perf_counter()
        streams = await attack(port, n, nursery)
        at_peak = await held() - baseline
        fresh = await _fresh_client(url)
        released = None
        with trio.move_on_after(bound_s + SLACK):
            while await held() > baseline:  # noqa: ASYNC110 - polling a kernel table
                await trio.sleep(0.25)
            released = time.perf_counter() - started
        nursery.cancel_scope.cancel()
    for s in streams:
        await s.aclose()
    outcome.rows.append(
        {
            "attack": name,
            "attackers": n,
            "held at peak": at_peak,
            "bound": bound,
            "released after s": "-" if released is None else f"{released:.1f}",
            "fresh client s": f"{fresh:.3f}",
        }
    )
    outcome.check(released is not None, f"{name}: still held {bound_s + SLACK:.0f} s later")


async def _noread(outcome: Outcome, served: object, n: int) -> None:
    """Never-reading clients: each asks for 1 MB answers on a raw WebSocket and never reads."""
    port = served.port  # type: ignore[attr-defined]
    identity = dict.fromkeys(("username", "environment", "name", "version", "region"), "x")
    identity |= {"hostname": "x", "id": "x"}
    request = {
        "method": "big",
        "arguments": [{"kite": identity, "withArgs": [], "responseCallback": "[Function]"}],
        "callbacks": {"0": ["0", "responseCallback"]},
        "links": [],
    }
    call = json.dumps(json.dumps(request))
    frame = ws_frame(0x1, f"[{call}]".encode())
    streams = []
    for _ in range(n):
        s = await trio.open_tcp_stream("127.0.0.1", port)
        await s.send_all(websocket_handshake())
        for _ in range(20):
            await s.send_all(frame)
        streams.append(s)
    await trio.sleep(1)
    fresh = await _fresh_client(served.url)  # type: ignore[attr-defined]
    for s in streams:
        await s.aclose()
    outcome.rows.append(
        {
            "attack": "never-reading clients",
            "attackers": n,
            "held at peak": f"{n} x 20 MB asked",
            "bound": "TCP back-pressure per connection",
            "released after s": "on close",
            "fresh client s": f"{fresh:.3f}",
        }
    )


async def _flood(outcome: Outcome, served: object, n: int) -> None:
    """One client fires `n` calls at once on one session; a neighbour keeps calling."""
    url = served.url  # type: ignore[attr-defined]
    answered = refused = 0
    neighbour_lost = 0
    flooder = Kite("flood", "1.0.0", Config())
    neighbour = Kite("neighbour", "1.0.0", Config())
    async with (
        flooder.dial(url, transport="websocket", timeout=30) as f,
        neighbour.dial(url, transport="websocket", timeout=30) as nb,
    ):

        async def one(i: int) -> None:
            nonlocal answered, refused
            try:
                await f.tell("square", i, timeout=60)
                answered += 1
            except KiteError as exc:
                if exc.type != "requestLimitError" and "limit" not in exc.message.lower():
                    raise
                refused += 1

        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(one, i)
            fresh = await _fresh_client(url)
            for _ in range(20):
                try:
                    await nb.tell("square", 2, timeout=30)
                except KiteError:
                    neighbour_lost += 1
    outcome.rows.append(
        {
            "attack": "call flood",
            "attackers": f"1 client, {n} calls",
            "held at peak": f"{answered} answered, {refused} refused",
            "bound": "PeerLimits: 100 running + 100 waiting",
            "released after s": "-",
            "fresh client s": f"{fresh:.3f}",
        }
    )
    outcome.check(answered + refused == n, f"flood: {n - answered - refused} calls unanswered")
    outcome.check(neighbour_lost == 0, f"flood: the neighbour lost {neighbour_lost} calls")


def run(long: bool) -> Outcome:
    """The exhaustion suite (see the module doc)."""
    outcome = Outcome("exhaustion")
    outcome.notes.append(f"kite in this process; {machine_load()}")
    sizes = ATTACKERS[long]
    timeout = HANDSHAKE_TIMEOUT[long]
    delay = DISCONNECT_DELAY[long]

    async def main() -> None:
        limits = HTTPLimits(handshake_timeout=timeout)
        async with _victim(long).serve(host="127.0.0.1", port=0, http_limits=limits) as served:

            async def tcp_held() -> int:
                return await _held_connections(served.port)

            async def sessions() -> int:
                return served.endpoint.session_count

            await _attack_and_measure(
                outcome,
                "slowloris",
                f"handshake_timeout {timeout:g} s",
                timeout,
                served,
                _slowloris,
                sizes["slowloris"],
                tcp_held,
            )
            await _attack_and_measure(
                outcome,
                "idle connections",
                f"handshake_timeout {timeout:g} s",
                timeout,
                served,
                _idle,
                sizes["idle"],
                tcp_held,
            )
            await _attack_and_measure(
                outcome,
                "never-polled XHR sessions",
                f"disconnect_delay {delay:g} s",
                delay,
                served,
                _open_xhr,
                sizes["xhr"],
                sessions,
            )
            await _noread(outcome, served, sizes["noread"])
            await _flood(outcome, served, sizes["flood"])

    trio.run(main)
    return outcome
