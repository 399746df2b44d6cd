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
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio
import trio.testing

from kite import (
    Config,
    Kite,
    KiteError,
    KiteKey,
    KontrolError,
    KontrolQuery,
    NoKitesAvailableError,
    Transport,
)

from ._capture_clock import CaptureClock, capture_origin
from ._captures import CAPTURES_DIR, Event, Scenario, http_exchanges
from ._gomath import keys_dir
from ._replay_calls import Cursor, compare_outcomes, drive_calls
from ._replay_client import (
    _fake_server,
    _fake_xhr_server,
    _read_http_request,
    _response_bytes,
)
from ._replay_script import RecordedCall, UnreplayableError, read_script

__all__ = ["KontrolPlan", "kontrol_client_plan", "replay_kontrol_client_diff"]

#: Real seconds every task must have waited before the mock clock jumps (loopback I/O is done
#: long before; a jump cannot overtake bytes already in flight on the same machine).
AUTOJUMP_THRESHOLD = 0.05

#: How far (seconds) our heartbeat gaps may be from Go's recorded ones.
HEARTBEAT_SLACK = 0.5


#: The Kontrol methods a Go kite's Kontrol client calls.
KONTROL_METHODS = frozenset({"register", "getKites", "getToken", "getKey"})


@dataclass(frozen=True, slots=True)
class KontrolPlan:
    """What the recorded Go program did with Kontrol, read from its traffic: registered a URL
    over its Kontrol connection (``register ws``, Go's ``RegisterForever``) or over HTTP
    (``register http``, ``RegisterHTTPForever``), or asked Kontrol (``query``: ``getKites``,
    ``getToken`` or ``getKey``), then called the kites found (`calls`)."""

    program: str  # "query", "register ws", "register http"
    kontrol: RecordedCall | None  # the Kontrol call (None for HTTP registration)
    url: str  # the registered URL (registrations)
    kite_key: str  # the kite key the program authenticated with ("" when none)
    identity: Mapping[str, Any]  # the program's kite identity
    calls: tuple[RecordedCall, ...] = ()  # calls on the kites found, in order

    @property
    def layer(self) -> str:
        """The replay layer named on the scenario's line."""
        what = {
            "query": "kite.kontrol_client",
            "register ws": "kite.register_forever",
            "register http": "kite.register_http_forever",
        }[self.program]
        return f"sockets, {what}, mock clock"


def kontrol_client_plan(sc: Scenario) -> KontrolPlan | None:
    """What the recorded Kontrol client did (None: the traffic holds no Kontrol client).

    Raises:
        UnreplayableError: a combination this replay cannot drive (see its message).
    """
    for ev in sc.events:
        if ev.kind == "http-request" and ev.dir == "c2s" and ev.target == "/register":
            try:
                body = json.loads(ev.body or "")
            except ValueError:
                raise UnreplayableError("an HTTP /register body that is not JSON") from None
            auth = body.get("auth") if isinstance(body, dict) else None
            key = auth.get("key", "") if isinstance(auth, dict) else ""
            kite = body.get("kite") if isinstance(body, dict) else None
            return KontrolPlan(
                "register http",
                None,
                str(body.get("url", "")),
                str(key) if isinstance(auth, dict) and auth.get("type") == "kiteKey" else "",
                kite if isinstance(kite, dict) else {},
            )
    script = read_script(sc)
    asked = [c for c in script.calls if c.method in KONTROL_METHODS]
    if not asked:
        return None
    first = asked[0]
    if len(asked) > 1:
        raise UnreplayableError(
            f"the Go program made {len(asked)} Kontrol calls "
            f"({', '.join(c.method for c in asked)}); this replay drives one"
        )
    key = first.auth[1] if first.auth is not None and first.auth[0] == "kiteKey" else ""
    others = tuple(c for c in script.calls if c is not first)
    if first.method == "register":
        args = first.with_args if isinstance(first.with_args, list) else []
        url = args[0].get("url", "") if args and isinstance(args[0], dict) else ""
        if others:
            raise UnreplayableError("calls besides Kontrol's register; this replay drives none")
        return KontrolPlan("register ws", first, str(url), key, first.kite)
    if any(c.link == first.link for c in others):
        raise UnreplayableError("other calls on the Kontrol connection; this replay drives none")
    if others and first.method != "getKites":
        raise UnreplayableError(f"calls on other kites after {first.method}")
    return KontrolPlan("query", first, "", key, first.kite, others)


async def replay_kontrol_client_diff(
    sc: Scenario, tolerated: set[str], *, captures: Path = CAPTURES_DIR, event_timeout: float = 5.0
) -> str | None:
    """Replay Go Kontrol's (and the found kite's) recorded side at our Kontrol client, on a
    mock clock in a thread of its own; the first difference, or None."""
    plan = kontrol_client_plan(sc)
    if plan is None:
        raise UnreplayableError("the traffic holds no call of a Kontrol client")
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
    cursors = {link: Cursor() for link in conns}
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
            kind = _served_as(sc, {e.conn for e in opens})
            if kind == "http":
                nursery.start_soon(
                    _serve_http, sc, link, listeners[link], may_close[link], event_timeout, fail
                )
            elif kind == "xhr":
                nursery.start_soon(
                    _serve_xhr,
                    sc,
                    {e.conn for e in opens},
                    listeners[link],
                    (may_close[link], cursors[link], event_timeout),
                    fail,
                )
            else:
                nursery.start_soon(
                    _serve_ws,
                    sc,
                    [e.conn for e in opens],
                    listeners[link],
                    (may_close[link], cursors[link]),
                    (tolerated, event_timeout, replace),
                    fail,
                )
        kontrol_link = plan.kontrol.link if plan.kontrol is not None else "kontrol"
        opened = {e.conn for e in conns.get(kontrol_link, [])}
        xhr = _served_as(sc, opened) == "xhr"
        transport = Transport.XHR_POLLING if xhr else Transport.WEBSOCKET
        with trio.move_on_after(event_timeout * 4) as scope:
            fail(await _drive(plan, ports, may_close, printed, clock, cursors, transport))
        if scope.cancelled_caught:
            fail(f"our client did not finish within {event_timeout * 4:g} s (mock time)")
        nursery.cancel_scope.cancel()
    if diffs:
        return diffs[0]
    back = {new: old for old, new in replace.items()}
    return _compare_printed(sc, plan, printed, back)


def _served_as(sc: Scenario, conns: set[int]) -> str:
    """How a recorded server was spoken to: ``websocket``, ``xhr`` (SockJS XHR polling) or
    ``http`` (Kontrol's ``/register`` and ``/heartbeat``), by its first request's target."""
    first = next((e for e in sc.events if e.conn in conns and e.kind == "http-request"), None)
    target = (first.target or "") if first is not None else ""
    if target.endswith("/websocket") or first is None:
        return "websocket"
    if target.endswith(("/xhr", "/xhr_send")):
        return "xhr"
    return "http"


async def _serve_xhr(
    sc: Scenario,
    conns: set[int],
    listener: trio.SocketListener,
    how: tuple[trio.Event, Cursor, float],
    fail: Callable[[str | None], None],
) -> None:
    """One fake SockJS XHR server: the link's polls and sends, paired in order."""
    may_close, cursor, event_timeout = how
    try:
        fail(await _fake_xhr_server(sc, listener, may_close, event_timeout, cursor, conns))
    finally:
        cursor.move(math.inf)


async def _serve_ws(
    sc: Scenario,
    conns: list[int],
    listener: trio.SocketListener,
    ending: tuple[trio.Event, Cursor],
    how: tuple[set[str], float, dict[str, str]],
    fail: Callable[[str | None], None],
) -> None:
    """One fake SockJS server: the link's captured connections, accepted one after another."""
    may_close, cursor = ending
    try:
        await _accept_in_turn(sc, conns, listener, may_close, cursor, how, fail)
    finally:
        cursor.move(math.inf)


async def _accept_in_turn(
    sc: Scenario,
    conns: list[int],
    listener: trio.SocketListener,
    may_close: trio.Event,
    cursor: Cursor,
    how: tuple[set[str], float, dict[str, str]],
    fail: Callable[[str | None], None],
) -> None:
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
                    cursor=cursor,
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


def _kite_of(plan: KontrolPlan, clock: CaptureClock, transport: Transport) -> Kite:
    """Our twin of the recorded program's kite: its identity, its kite key."""

    def text(key: str, default: str) -> str:
        value = plan.identity.get(key)
        return value if isinstance(value, str) and value else default

    config = Config(
        environment=text("environment", "unknown"),
        region=text("region", "unknown"),
        transport=transport,
    )
    if plan.kite_key:
        config = config.with_kite_key(KiteKey.parse(plan.kite_key, now=clock()))
    return Kite(text("name", "goquery"), text("version", "1.0.0"), config)


def _query(value: Any) -> KontrolQuery:
    """A `KontrolQuery` from the recorded query object (unknown fields ignored)."""
    fields = ("username", "environment", "name", "version", "region", "hostname", "id")
    got = value if isinstance(value, dict) else {}
    return KontrolQuery(**{f: str(got.get(f) or "") for f in fields})


def _outcome_json(exc: Exception) -> dict[str, Any]:
    """An error as the recorded programs print it (``peer.ErrorMap``): a kite error's own
    type, others (Go's local ``no kites availabile`` among them) as ``goError``."""
    if isinstance(exc, KiteError) and not isinstance(exc, NoKitesAvailableError):
        return {"error": {"type": exc.type, "message": exc.message}}
    return {"error": {"type": "goError", "message": str(exc)}}


async def _drive(
    plan: KontrolPlan,
    ports: dict[str, int],
    may_close: dict[str, trio.Event],
    printed: list[Any],
    clock: CaptureClock,
    cursors: dict[str, Cursor],
    transport: Transport,
) -> str | None:
    """Do what the Go program did, with our kite's Kontrol client over `transport`; `printed`
    gets what it would print. Keys, tokens and renewals run on the capture's `clock`. The
    first difference between our outcomes and the recorded answers, or None."""
    kontrol_link = plan.kontrol.link if plan.kontrol is not None else "kontrol"
    kontrol_url = f"http://127.0.0.1:{ports[kontrol_link]}/kite"
    k = _kite_of(plan, clock, transport)
    if plan.program.startswith("register"):
        async with k.kontrol_client(url=kontrol_url, wall_clock=clock):
            if plan.program == "register ws":
                await k.register_forever(plan.url)
            else:
                await k.register_http_forever(plan.url)
            await may_close[kontrol_link].wait()  # Kontrol's side played, then SIGTERM
        return None
    asked = plan.kontrol
    assert asked is not None
    args = asked.with_args if isinstance(asked.with_args, list) else []
    first_arg = args[0] if args else {}
    async with k.kontrol_client(url=kontrol_url, wall_clock=clock):
        try:
            if asked.method == "getKey":
                printed.append({"key": await k.get_key()})
            elif asked.method == "getToken":
                printed.append({"token": await k.get_token(_query(first_arg))})
            else:
                query = first_arg.get("query") if isinstance(first_arg, dict) else None
                clients = await k.get_kites(_query(query))
                printed.append(
                    {
                        "kites": [
                            {"kite": c.kite.to_json(), "token": c.auth.key, "url": c.url}
                            for c in clients
                        ]
                    }
                )
                if plan.calls:
                    diff = await _call_found(plan, clients, ports, may_close, printed, cursors)
                    if diff is not None:
                        return diff
        except (KiteError, KontrolError) as exc:
            printed.append(_outcome_json(exc))
            diff = _expected_failure(asked, exc)
            if diff is not None:
                return diff
        else:
            diff = _expected_success(asked)
            if diff is not None:
                return diff
        await may_close[kontrol_link].wait()
    return None


def _expected_failure(asked: RecordedCall, exc: Exception) -> str | None:
    """Our Kontrol call failed: Go's must have too (an error answer, or no kites found)."""
    where = f"{asked.method} (event {asked.index})"
    answer = asked.answer or {}
    error = answer.get("error")
    if isinstance(error, dict):
        want = {"type": error.get("type"), "message": error.get("message")}
        got = _outcome_json(exc)["error"]
        if got != want:
            return f"{where}: want error {want}, got {got}"
        return None
    result = answer.get("result")
    kites = result.get("kites") if isinstance(result, dict) else None
    if asked.method == "getKites" and kites == [] and isinstance(exc, NoKitesAvailableError):
        return None
    return f"{where}: Go's answer {answer!r:.100}, our client failed: {exc}"


def _expected_success(asked: RecordedCall) -> str | None:
    """Our Kontrol call succeeded: Go's answer must not have been an error."""
    answer = asked.answer or {}
    if isinstance(answer.get("error"), dict):
        return f"{asked.method} (event {asked.index}): want error {answer['error']}, got a result"
    return None


async def _call_found(
    plan: KontrolPlan,
    clients: list[Any],
    ports: dict[str, int],
    may_close: dict[str, trio.Event],
    printed: list[Any],
    cursors: dict[str, Cursor],
) -> str | None:
    """Make the recorded calls on the kite found (the one served where they went, else the
    first, as ``goquery``); the first difference with the recorded answers, or None."""
    link = plan.calls[0].link
    if any(c.link != link for c in plan.calls):
        raise UnreplayableError("calls on several kites found; this replay drives one")
    port = ports.get(link)
    chosen = next((c for c in clients if f":{port}/" in c.url), clients[0])
    async with chosen:
        outcomes = await drive_calls(
            chosen, plan.calls, cursors[link], call_timeout=None, authenticate=False
        )
        for call, ours in zip(plan.calls, outcomes, strict=True):
            if ours.error is not None:
                printed.append({"error": {k: ours.error[k] for k in ("type", "message")}})
            else:
                printed.append({"method": call.method, "result": ours.result})
        await may_close[link].wait()
    return compare_outcomes(plan.calls, outcomes)


def _compare_printed(
    sc: Scenario, plan: KontrolPlan, printed: list[Any], back: dict[str, str]
) -> str | None:
    """What our calls returned against what ``goquery`` printed, when it printed JSON lines
    (errors by type and message: their ids and codes are per run)."""
    if plan.program != "query":
        return None
    outputs = [o for o in sc.client_outputs if o.get("label") == "goquery"]
    if not outputs:
        return None
    try:
        lines = [json.loads(x) for x in str(outputs[0].get("stdout", "")).split("\n") if x]
    except ValueError:
        return None
    for line in lines:
        if isinstance(line, dict) and isinstance(line.get("error"), dict):
            line["error"] = {k: line["error"].get(k) for k in ("type", "message")}
    text = json.dumps(printed)
    for new, old in back.items():
        text = text.replace(new, old)
    ours = json.loads(text)
    if ours != lines:
        return f"printed: want {lines!r:.160}, got {ours!r:.160}"
    return None
