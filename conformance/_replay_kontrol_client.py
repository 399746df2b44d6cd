"""The client role of Kontrol captures: our real Kontrol client against Go Kontrol's recording.

How this works: the captures of ``goquery`` (``getKites`` + a call on the kite found,
``getToken``, ``getKey``) and of ``gomath -register ws|http`` are replayed with our kite's
Kontrol client (`kite.Kite.kontrol_client`) doing what the Go program did: ``get_kites`` and a
`KiteClient` call, ``get_token``, ``get_key``, ``register_forever`` (Go's ``RegisterForever``)
or ``register_http_forever`` (Go's ``RegisterHTTPForever``). Each recorded server (``kontrol``,
``math``) becomes a fake server on 127.0.0.1:

- a SockJS WebSocket server (`_replay_client._fake_server`) per captured connection, sending
  the recorded frames (addresses of the other recorded servers rewritten to their fakes, e.g.
  the kite URL in ``getKites``' answer) and comparing what our client sends with what Go's
  sent (masked as `_replay.compare_text` does);
- an HTTP server for ``/register`` and ``/heartbeat``, our requests paired with Go's in order:
  target (kite id masked), ``Content-Type``, body, and the gaps between heartbeats.

Kontrol's heartbeats (``kite.heartbeat`` every 2 s, HTTP ``/heartbeat`` every 2 s) would take
seconds of real time, so the whole exchange runs in its own ``trio.run`` on a
`trio.testing.MockClock` with autojump: when every task waits (our kite for its next beat, the
fake server for our kite), the clock jumps to the next deadline. The sockets are real; the
threshold leaves loopback I/O time to arrive before a jump. What the Go program printed is
compared with what our calls returned.
"""

from __future__ import annotations

import functools
import itertools
import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio
import trio.testing

from kite import Config, Kite, KiteKey, KontrolQuery

from ._capture_clock import CaptureClock, capture_origin
from ._captures import CAPTURES_DIR, Event, Scenario, http_exchanges
from ._gomath import gomath_kite, keys_dir
from ._replay_client import _fake_server, _read_http_request, _response_bytes

__all__ = ["KontrolPlan", "kontrol_client_plan", "replay_kontrol_client_diff"]

#: Real seconds every task must have waited before the mock clock jumps (loopback I/O is done
#: long before; a jump cannot overtake bytes already in flight on the same machine).
AUTOJUMP_THRESHOLD = 0.05

#: How far (seconds) our heartbeat gaps may be from Go's recorded ones.
HEARTBEAT_SLACK = 0.5


@dataclass(frozen=True, slots=True)
class KontrolPlan:
    """What the recorded Go program did with Kontrol: ``goquery`` (its flags) or ``gomath
    -register ws|http`` (the registered URL)."""

    program: str  # "goquery", "register ws", "register http"
    flags: dict[str, str]

    @property
    def layer(self) -> str:
        """The replay layer named on the scenario's line."""
        what = {
            "goquery": "kite.kontrol_client",
            "register ws": "kite.register_forever",
            "register http": "kite.register_http_forever",
        }[self.program]
        return f"sockets, {what}, mock clock"


def kontrol_client_plan(sc: Scenario) -> KontrolPlan | None:
    """The Kontrol client program that ran during the capture, if any."""
    for step in sc.steps:
        if not step.get("during_capture"):
            continue
        argv = shlex.split(str(step.get("cmd", "")))
        if argv[:1] == ["bin/goquery"]:
            return KontrolPlan("goquery", _flags(argv[1:]))
        if argv[:1] == ["bin/gomath"] and "-register" in argv:
            flags = {k: v for k, v in _flags(argv[1:]).items() if k != "auth"}
            return KontrolPlan(f"register {flags['register']}", flags)
    return None


def _flags(argv: list[str]) -> dict[str, str]:
    """``-name value`` pairs; a flag followed by another flag (``-auth``) maps to ``""``."""
    out: dict[str, str] = {}
    i = 0
    while i < len(argv):
        name = argv[i].lstrip("-")
        if i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            out[name] = argv[i + 1]
            i += 2
        else:
            out[name] = ""
            i += 1
    return out


async def replay_kontrol_client_diff(
    sc: Scenario, tolerated: set[str], *, captures: Path = CAPTURES_DIR, event_timeout: float = 5.0
) -> str | None:
    """Replay Go Kontrol's (and the found kite's) recorded side at our Kontrol client, on a
    mock clock in a thread of its own; the first difference, or None."""
    plan = kontrol_client_plan(sc)
    if plan is None:
        raise ValueError(f"{sc.name}: no goquery or gomath -register during the capture")
    run = functools.partial(_replay, sc, plan, tolerated, captures, event_timeout)
    clock = trio.testing.MockClock(autojump_threshold=AUTOJUMP_THRESHOLD)
    return await trio.to_thread.run_sync(functools.partial(trio.run, run, clock=clock))


async def _replay(
    sc: Scenario, plan: KontrolPlan, tolerated: set[str], captures: Path, event_timeout: float
) -> str | None:
    conns: dict[str, list[Event]] = {}
    for ev in sc.events:
        if ev.kind == "tcp-open":
            conns.setdefault(ev.link or "", []).append(ev)
    listeners = {link: (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0] for link in conns}
    ports = {link: lst.socket.getsockname()[1] for link, lst in listeners.items()}
    # the recorded addresses of the servers, pointed at our fakes
    replace = {
        opens[0].listen: f"127.0.0.1:{ports[link]}"
        for link, opens in conns.items()
        if opens[0].listen
    }
    may_close = {link: trio.Event() for link in conns}
    diffs: list[str] = []
    printed: list[Any] = []
    clock = CaptureClock(capture_origin(sc, keys_dir(captures)))
    clock()  # the capture's first event is now

    async with trio.open_nursery() as nursery:

        def fail(diff: str | None) -> None:
            if diff is not None:
                diffs.append(diff)
                nursery.cancel_scope.cancel()

        for link, opens in conns.items():
            if _is_http(sc, opens[0].conn):
                nursery.start_soon(
                    _serve_http, sc, link, listeners[link], may_close[link], event_timeout, fail
                )
            else:
                nursery.start_soon(
                    _serve_ws,
                    sc,
                    [e.conn for e in opens],
                    listeners[link],
                    may_close[link],
                    (tolerated, event_timeout, replace),
                    fail,
                )
        with trio.move_on_after(event_timeout * 4) as scope:
            await _drive(plan, captures, ports, may_close, printed, clock)
        if scope.cancelled_caught:
            fail(f"our client did not finish within {event_timeout * 4:g} s (mock time)")
        nursery.cancel_scope.cancel()
    if diffs:
        return diffs[0]
    back = {new: old for old, new in replace.items()}
    return _compare_printed(sc, plan, printed, back)


def _is_http(sc: Scenario, conn: int) -> bool:
    first = next(e for e in sc.events if e.conn == conn and e.kind == "http-request")
    return not (first.target or "").endswith("/websocket")


async def _serve_ws(
    sc: Scenario,
    conns: list[int],
    listener: trio.SocketListener,
    may_close: trio.Event,
    how: tuple[set[str], float, dict[str, str]],
    fail: Callable[[str | None], None],
) -> None:
    """One fake SockJS server: the link's captured connections, accepted one after another."""
    tolerated, event_timeout, replace = how
    async with listener:
        for i, conn in enumerate(conns):
            last = i == len(conns) - 1
            closing = may_close if last else trio.Event()
            stream = await listener.accept()
            arrived: list[tuple[Event, float]] = []
            async with stream:
                diff = await _fake_server(
                    sc,
                    stream,
                    tolerated,
                    closing,
                    event_timeout,
                    conn=conn,
                    replace=replace,
                    arrived=arrived,
                )
            if diff is None:
                diff = _ws_gaps(arrived)
            if diff is not None:
                fail(f"{sc.name} conn {conn}: {diff}" if len(conns) > 1 else diff)
                return


async def _serve_http(
    sc: Scenario,
    link: str,
    listener: trio.SocketListener,
    may_close: trio.Event,
    event_timeout: float,
    fail: Callable[[str | None], None],
) -> None:
    """One fake HTTP server (Kontrol's ``/register``, ``/heartbeat``): our requests take Go's
    recorded answers in order, whatever TCP connection they come on."""
    from ._replay import compare_text, mask_text

    conns = {e.conn for e in sc.events if e.kind == "tcp-open" and e.link == link}
    exchanges = [x for x in http_exchanges([sc]) if x.request.conn in conns]
    taken = 0
    arrived: list[float] = []
    done = trio.Event()

    async def handle(stream: trio.SocketStream) -> None:
        nonlocal taken
        buf = bytearray()
        async with stream:
            while True:
                try:
                    got = await _read_http_request(stream, buf)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    got = None
                if got is None:
                    if taken == len(exchanges):
                        done.set()
                    return
                line, body = got
                if taken == len(exchanges):
                    fail(f"our client sent more than Go's: {line!r}")
                    return
                request, response = exchanges[taken].request, exchanges[taken].response
                taken += 1
                arrived.append(trio.current_time())
                want_line = mask_text(f"{request.method} {request.target}")
                where = f"event {request.index} (c2s http-request {want_line})"
                if mask_text(line) != want_line:
                    fail(f"{where}: want {want_line!r}, got {mask_text(line)!r}")
                    return
                if request.body or body:
                    diff = compare_text(
                        request.body or "", body.decode("utf-8", "replace"), what="body"
                    )
                    if diff is not None:
                        fail(f"{where}: {diff}")
                        return
                gap = _gap_difference(exchanges, taken - 1, arrived)
                if gap is not None:
                    fail(f"{where}: {gap}")
                    return
                if taken == len(exchanges):
                    may_close.set()
                if response is not None:
                    await stream.send_all(_response_bytes(response))

    async with listener, trio.open_nursery() as nursery:

        async def accept_all() -> None:
            while True:
                nursery.start_soon(handle, await listener.accept())

        nursery.start_soon(accept_all)
        await may_close.wait()
        with trio.move_on_after(event_timeout) as scope:
            await done.wait()  # our client closes its connection (Go's: SIGTERM)
        if scope.cancelled_caught:
            fail(f"our client did not close its HTTP connection within {event_timeout:g} s")
        nursery.cancel_scope.cancel()


def _ws_gaps(arrived: list[tuple[Event, float]]) -> str | None:
    """The times between our client's messages against Go's (``kite.heartbeat`` pings)."""
    for (ev0, t0), (ev1, t1) in itertools.pairwise(arrived):
        want, got = ev1.t - ev0.t, t1 - t0
        if abs(want - got) > HEARTBEAT_SLACK:
            where = f"event {ev1.index} (c2s {ev1.kind})"
            return f"{where}: sent {got:.2f} s after the previous message, Go {want:.2f} s"
    return None


def _gap_difference(exchanges: list[Any], i: int, arrived: list[float]) -> str | None:
    """The time since the previous request against Go's (heartbeats), None when close."""
    if i == 0:
        return None
    want = exchanges[i].request.t - exchanges[i - 1].request.t
    got = arrived[i] - arrived[i - 1]
    if abs(want - got) > HEARTBEAT_SLACK:
        return f"sent {got:.2f} s after the previous request, Go {want:.2f} s"
    return None


async def _drive(
    plan: KontrolPlan,
    captures: Path,
    ports: dict[str, int],
    may_close: dict[str, trio.Event],
    printed: list[Any],
    clock: CaptureClock,
) -> None:
    """Do what the Go program did, with our kite's Kontrol client; `printed` gets what it
    would print. Keys, tokens and renewals run on the capture's `clock`."""
    kontrol_url = f"http://127.0.0.1:{ports['kontrol']}/kite"
    keys = keys_dir(captures)
    if plan.program.startswith("register"):
        k = gomath_kite(auth=True, captures=captures, clock=clock)
        url = plan.flags["register-url"]
        async with k.kontrol_client(url=kontrol_url, wall_clock=clock):
            if plan.program == "register ws":
                await k.register_forever(url)
            else:
                await k.register_http_forever(url)
            await may_close["kontrol"].wait()  # Kontrol's side played (heartbeats), then SIGTERM
        return
    raw = (keys / Path(plan.flags["kitekey"]).name).read_text()
    key = KiteKey.parse(raw, now=clock())
    k = Kite("goquery", "1.0.0", Config().with_kite_key(key))
    user = key.username
    query = KontrolQuery(
        username=plan.flags.get("q-username") or user,
        **{
            field: plan.flags.get(f"q-{field}", "")
            for field in ("environment", "name", "version", "region", "hostname", "id")
        },
    )
    mode = plan.flags.get("mode", "getkites")
    async with k.kontrol_client(url=kontrol_url, wall_clock=clock):
        if mode == "getkey":
            printed.append({"key": await k.get_key()})
        elif mode == "gettoken":
            printed.append({"token": await k.get_token(query)})
        else:
            clients = await k.get_kites(query)
            printed.append(
                {
                    "kites": [
                        {"kite": c.kite.to_json(), "token": c.auth.key, "url": c.url}
                        for c in clients
                    ]
                }
            )
            method = plan.flags.get("method")
            if method:
                args = json.loads(plan.flags.get("args", "[]"))
                first = clients[0]
                async with first:
                    result = await first.tell(method, *args)
                    printed.append({"method": method, "result": result})
                    await _wait_link_of(first.url, ports, may_close)
        await may_close["kontrol"].wait()


async def _wait_link_of(url: str, ports: dict[str, int], may_close: dict[str, trio.Event]) -> None:
    for link, port in ports.items():
        if f":{port}/" in url:
            await may_close[link].wait()


def _compare_printed(
    sc: Scenario, plan: KontrolPlan, printed: list[Any], back: dict[str, str]
) -> str | None:
    """What our calls returned against what the Go program printed (``goquery`` only)."""
    if plan.program != "goquery":
        return None
    outputs = [o for o in sc.client_outputs if o.get("label") == "goquery"]
    if not outputs:
        return None
    lines = [json.loads(x) for x in str(outputs[0].get("stdout", "")).split("\n") if x]
    text = json.dumps(printed)
    for new, old in back.items():
        text = text.replace(new, old)
    ours = json.loads(text)
    if ours != lines:
        return f"printed: want {lines!r:.160}, got {ours!r:.160}"
    return None
