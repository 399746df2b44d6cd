"""Replaying recorded Go-kite traffic against our code: ``python -m conformance replay``.

How this works: for each scenario of a captures folder and each role, `replay_scenario` returns
an `Outcome` (pass, fail with the first difference, skip with the reason, or n/a when the role
has nothing of ours to test: the client role of captures whose client is a raw script).

- **server role, over sockets**: our server (the Python `gomath` twin of `_gomath`) listens on
  127.0.0.1 with ``kite.serve``; the capture's client side is played at it over real TCP
  connections, one per captured connection, event by event in capture order: HTTP requests and
  WebSocket frames are rebuilt byte for byte from the decoded events (`_replay_wire`). At each
  event the Go server sent, we read what our server sent on that connection and compare:
  HTTP status, headers (names case-insensitive, order free, ``Date``/``Expires`` ignored) and
  bodies, WebSocket messages, close frames, end of stream. SockJS frames and bodies must be
  byte-identical once the nondeterministic values the scenario's ``meta.json`` names (kite ids,
  hostnames, request ids, JWTs, SockJS entropy) are masked; when they are not, the first
  difference is reported as a JSON path (frame → dnode message → kite envelope) if the JSON
  values differ, else as the first differing byte. In `NUMBER_TEXT` scenarios numbers are
  compared as exact decimal values (strings and structure stay byte-exact).
- **client role**: our client against fake servers playing the Go servers' recorded side:
  captures of ``goclient`` (WebSocket and XHR, `_replay_client`), of ``goquery`` and
  ``gomath -register ws|http`` (our Kontrol client, `_replay_kontrol_client`, on a mock clock).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import trio

from kite import Kite, KiteServer, kite_sockjs_options
from kite.proxy import ReverseProxy, TunnelProxy

from ._capture_clock import CaptureClock, capture_origin
from ._captures import CAPTURES_DIR, Event, Scenario
from ._gomath import gomath_kite, keys_dir
from ._normalise import (
    first_difference,
    normalise_headers,
    normalise_json,
    number_spellings,
    numbers_in_place,
)
from ._replay_proxy import (
    PROXY_LINK,
    TUNNEL_LINK,
    AddressMap,
    TunnelURLs,
    behind_proxy,
    proxy_parties,
    reverse_proxy_twin,
    tunnel_proxy_twin,
)
from ._replay_wire import ReplayError, ServerEvent, ServerReader, request_bytes, ws_frame_bytes

__all__ = [
    "Outcome",
    "compare_text",
    "load_scenarios",
    "replay_all",
    "replay_scenario",
]

Role = Literal["server", "client"]
#: A server the replay runs in place of a recorded Go server.
Server = Kite | ReverseProxy | TunnelProxy
Status = Literal["pass", "fail", "skip", "n/a"]

#: Seconds to wait for each thing our server should send.
EVENT_TIMEOUT = 5.0

#: Differences our packages make on purpose, documented in packages/sockjs/README.md
#: ("Where we differ from sockjs-go"): a header Go sends → the value we send (None: absent).
#: The replay accepts them and names them on the scenario's line.
DOCUMENTED_HEADERS: dict[tuple[str, str], tuple[str | None, str]] = {
    ("cache-control", "no-store, no-cache, must-revalidate, max-age=0"): (
        "no-store, no-cache, no-transform, must-revalidate, max-age=0",
        "Cache-Control +no-transform",
    ),
    ("access-control-allow-credentials", "true"): (
        None,
        "no Allow-Credentials without Origin",
    ),
    ("etag", "375d8abcfc45e9e6caa9a0661d670d58"): (None, "iframe page"),
}
#: Request targets whose whole answer differs by design (documented), compared by status only.
DOCUMENTED_BODIES: dict[str, str] = {"/kite/iframe.html": "iframe page"}

#: Differences nobody has documented yet: the scenario is skipped with the reason, so that the
#: replay stays green while the difference is looked at. Keyed by a substring of the difference.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

#: Scenarios where Go forwards numbers as their original JSON text (Go's ``echo`` returns its
#: raw arguments, ``goclient`` sends ``json.Number``s), which a Python handler or caller
#: holding parsed values cannot reproduce: there a number may be spelled differently when it
#: is the same exact decimal value (``1e300`` / ``1e+300``, ``-0`` / ``0``); strings and
#: structure stay byte-exact. The respellings are named on the line.
NUMBER_TEXT: frozenset[str] = frozenset({"echo-values"})

#: After a client's TCP EOF, sockjs-go still writes: on a WebSocket session an empty text frame
#: (its unset close frame), to a pending XHR poll an empty ``200``; ours just closes. The client
#: has gone by then, so nothing can observe it; accepted and named on the line, but not
#: documented elsewhere yet.
EOF_EMPTY_FRAME = "no empty text frame after the client's EOF (undocumented)"
EOF_POLL_ANSWER = "no answer to a pending poll after the client's EOF (undocumented)"
#: Go's reverse proxy cancels a forwarded request whose client has sent its EOF and answers
#: ``502`` to the gone client; ours hands on the kite's answer. Nobody reads either.
EOF_PROXY_ANSWER = "the proxy's answer after the client's EOF: the kite's, not 502"

#: Kontrol scenarios whose server role cannot be replayed yet, and why.
KONTROL_SKIPS: dict[str, str] = {}

#: Scenarios whose server role cannot be replayed, and why.
SERVER_SKIPS: dict[str, str] = {
    "invalid-frame-crash": (
        "the Go server process died on this input (nil pointer); ours answers instead, by design"
    ),
}

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    # values named in meta.json `nondeterministic`, in raw JSON text at any escaping depth
    (re.compile(r'(\\*")id\1:\1[0-9a-f]{16}\1'), r"\1id\1:\1<request id>\1"),
    (re.compile(r'(\\*")hostname\1:\1[^"\\]*\1'), r"\1hostname\1:\1<hostname>\1"),
    (re.compile(r'(\\*")keyId\1:\1[^"\\]*\1'), r"\1keyId\1:\1<key id>\1"),
    (re.compile(r'"entropy":-?\d+'), '"entropy":0'),
    (
        re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
        "<uuid>",
    ),
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "<jwt>"),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of replaying one scenario in one role."""

    scenario: str
    role: Role
    status: Status
    detail: str = ""  # the first difference (fail) or the reason (skip, n/a)
    layer: str = ""  # what was exercised, e.g. "sockets"
    tolerated: tuple[str, ...] = ()  # documented divergences accepted on the way

    def line(self) -> str:
        """One line for the report: ``pass  server  square  [sockets]``."""
        layer = f"  [{self.layer}]" if self.layer else ""
        detail = f": {self.detail}" if self.detail else ""
        tolerated = f"  (tolerated: {', '.join(self.tolerated)})" if self.tolerated else ""
        return f"{self.status:<4}  {self.role:<6}  {self.scenario}{layer}{detail}{tolerated}"


# ---------------------------------------------------------------------------------------------
# loading from any folder (the `_captures` loader is bound to conformance/captures)


def load_scenarios(directory: Path = CAPTURES_DIR) -> Iterator[Scenario]:
    """Every scenario of a captures folder, in name order (``.jsonl`` split on ``\\n`` only)."""
    for meta_path in sorted(directory.glob("*.meta.json")):
        yield _load_one(directory, meta_path.name.removesuffix(".meta.json"))


def _load_one(directory: Path, name: str) -> Scenario:
    meta = json.loads((directory / f"{name}.meta.json").read_text(encoding="utf-8"))
    text = (directory / f"{name}.jsonl").read_text(encoding="utf-8")
    events = tuple(
        Event.from_json(i, json.loads(line))
        for i, line in enumerate(text.split("\n"))
        if line.strip()
    )
    return Scenario(name=name, meta=meta, events=events)


# ---------------------------------------------------------------------------------------------
# comparison


def mask_text(text: str) -> str:
    """Replace the nondeterministic values inside raw (possibly escaped) JSON text."""
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def compare_text(
    want: str, got: str, *, what: str = "frame", numbers: set[str] | None = None
) -> str | None:
    """Compare a Go text (SockJS frame, body) with ours; None when equal after masking.

    The first difference is given as a JSON path through the SockJS frame, its messages (the
    dnode messages) and, where it applies, the kite envelope; as a byte offset when the JSON
    values agree but the bytes do not. With `numbers` (scenarios of `NUMBER_TEXT`), messages
    that differ only in the spelling of equal numbers are accepted and the respellings noted
    in `numbers`.
    """
    masked_want, masked_got = mask_text(want), mask_text(got)
    if masked_want == masked_got:
        return None
    want_msgs, got_msgs = _messages(want), _messages(got)
    if want_msgs is not None and got_msgs is not None and want[:1] == got[:1]:
        if len(want_msgs) != len(got_msgs):
            return f"{what}: want {len(want_msgs)} SockJS messages, got {len(got_msgs)}"
        respelled: list[tuple[str, str]] = []
        for i, (w, g) in enumerate(zip(want_msgs, got_msgs, strict=True)):
            wv, gv = _json_or_none(w), _json_or_none(g)
            if wv is not None and gv is not None:
                diff = first_difference(normalise_json(wv), normalise_json(gv))
                if diff is not None:
                    return f"{what} message {i} (dnode): {diff}"
            if mask_text(w) != mask_text(g):
                spellings = (
                    number_spellings(mask_text(w), mask_text(g)) if numbers is not None else None
                )
                if spellings:
                    respelled.extend(spellings)
                    continue
                diff = _byte_diff(mask_text(w), mask_text(g))
                return f"{what} message {i}: same JSON, other bytes: {diff}"
        if numbers is not None and respelled and numbers_in_place(masked_want, masked_got):
            pairs = ", ".join(dict.fromkeys(f"{a} → {b}" for a, b in respelled))
            numbers.add(f"numbers re-spelled, equal as values: {pairs}")
            return None
    else:
        wv, gv = _json_or_none(want), _json_or_none(got)
        if wv is not None and gv is not None:
            diff = first_difference(normalise_json(wv), normalise_json(gv))
            if diff is not None:
                return f"{what} (JSON): {diff}"
    return f"{what}: {_byte_diff(masked_want, masked_got)}"


def _messages(text: str) -> list[str] | None:
    """The SockJS messages of an ``a`` frame or of a client payload (a JSON array of strings)."""
    if text[:1] == "a":
        value = _json_or_none(text[1:].rstrip("\n"))
    elif text[:1] == "[":
        value = _json_or_none(text)
    else:
        return None
    if isinstance(value, list) and all(isinstance(m, str) for m in value):
        return value
    return None


def _byte_diff(want: str, got: str) -> str:
    i = next((k for k, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), None)
    if i is None:
        i = min(len(want), len(got))
    return (
        f"at char {i}: want {want[max(0, i - 20) : i + 40]!r}, got {got[max(0, i - 20) : i + 40]!r}"
    )


def _documented_headers(
    want: list[tuple[str, str]], got: list[tuple[str, str]], tolerated: set[str]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Drop the header differences `DOCUMENTED_HEADERS` allows, noting them in `tolerated`."""
    want, got = list(want), list(got)
    for header in list(want):
        if header in got or header not in DOCUMENTED_HEADERS:
            continue
        ours, name = DOCUMENTED_HEADERS[header]
        mine = (header[0], ours) if ours is not None else None
        if mine is None and all(h[0] != header[0] for h in got):
            want.remove(header)
            tolerated.add(name)
        elif mine is not None and mine in got:
            want.remove(header)
            got.remove(mine)
            tolerated.add(name)
    return want, got


def _compare_event(
    want: Event,
    got: ServerEvent,
    request: str = "",
    tolerated: set[str] | None = None,
    numbers: bool = False,
) -> str | None:
    tolerated = set() if tolerated is None else tolerated
    want_kind = "ws-text" if want.kind == "ws-message" else want.kind
    if got.kind != want_kind:
        detail = f" ({got.status} {got.body[:60]!r})" if got.kind == "http-response" else ""
        if got.kind.startswith("ws-"):
            detail = f" ({got.body[:60]!r})"
        return f"want {want_kind}, got {got.kind}{detail}"
    if want.kind == "http-response":
        if got.status != want.status:
            return f"HTTP status: want {want.status}, got {got.status} ({got.body[:60]!r})"
        if request in DOCUMENTED_BODIES:
            tolerated.add(DOCUMENTED_BODIES[request])
            return None
        body = got.body.decode("utf-8", "replace")
        diff = compare_text(want.body or "", body, what="body")
        if diff is not None:
            return diff
        want_headers = [h for h in normalise_headers(want.headers) if h[0] != "content-length"]
        got_headers = [h for h in normalise_headers(got.headers) if h[0] != "content-length"]
        want_headers, got_headers = _documented_headers(want_headers, got_headers, tolerated)
        if want_headers != got_headers:
            missing = [h for h in want_headers if h not in got_headers]
            extra = [h for h in got_headers if h not in want_headers]
            return f"headers: missing {missing}, unexpected {extra}"
        return None
    if want.kind == "ws-close":
        if (want.code, want.reason or "") != (got.code, got.close_reason or ""):
            return f"close: want {want.code} {want.reason!r}, got {got.code} {got.close_reason!r}"
        return None
    if want.kind in ("ws-text", "ws-message"):
        return compare_text(
            want.data or "",
            got.body.decode("utf-8", "replace"),
            numbers=tolerated if numbers else None,
        )
    if want.payload != got.body:
        return f"{want.kind} payload: want {want.payload[:60]!r}, got {got.body[:60]!r}"
    return None


# ---------------------------------------------------------------------------------------------
# the server role


def _server_of(sc: Scenario) -> str | None:
    links = {e.link for e in sc.events if e.kind == "tcp-open"}
    return links.pop() if len(links) == 1 else None


def _gomath_flags(sc: Scenario) -> list[str]:
    for step in sc.steps:
        cmd = str(step.get("cmd", ""))
        if cmd.startswith("bin/gomath"):
            return cmd.split()[1:]
    return []


def _client_script(sc: Scenario) -> Iterator[Event]:
    """The capture's events with the server's fragmented messages joined into one event."""
    pending: list[Event] = []
    for ev in sc.events:
        if ev.kind == "ws-message":
            continue  # the decoder's reassembly; the frames themselves are replayed
        if ev.dir == "s2c" and ev.kind.startswith("ws-") and (pending or ev.fin is False):
            pending.append(ev)
            if ev.fin:
                data = "".join(p.data or "" for p in pending)
                yield Event(
                    index=pending[0].index,
                    kind="ws-message",
                    t=ev.t,
                    conn=ev.conn,
                    dir="s2c",
                    fin=True,
                    data=data,
                )
                pending = []
            continue
        yield ev


async def _replay_server(
    sc: Scenario, servers: dict[str, Server], event_timeout: float, tolerated: set[str]
) -> str | None:
    """Play the capture's client side at our servers (by the capture's link name, e.g.
    ``math``, ``kontrol``, ``proxy``); the first difference, or None."""
    async with AsyncExitStack() as stack:
        ports: dict[str, int] = {}
        for link, server_kite in servers.items():
            serving: AbstractAsyncContextManager[KiteServer]
            if isinstance(server_kite, ReverseProxy | TunnelProxy):
                serving = server_kite.serve("127.0.0.1", 0, grace_period=0.5)
            else:
                options = kite_sockjs_options(server_kite.config, allowed_origins=("*",))  # Go's
                serving = server_kite.serve("127.0.0.1", 0, options=options, grace_period=0.5)
            ports[link] = (await stack.enter_async_context(serving)).port
        addresses = AddressMap.of(sc, ports)
        tunnels = TunnelURLs()
        links = {e.conn: e.link or "" for e in sc.events if e.kind == "tcp-open"}
        streams: dict[int, trio.SocketStream] = {}
        readers: dict[int, ServerReader] = {}
        requests: dict[int, list[str]] = {}  # per connection: targets not yet answered
        eof_sent: set[int] = set()
        try:
            for ev in _client_script(sc):
                where = f"event {ev.index} (conn {ev.conn} {ev.dir} {ev.kind})"
                if ev.dir == "c2s":
                    if ev.kind == "tcp-open":
                        port = ports[links[ev.conn]]
                        streams[ev.conn] = await trio.open_tcp_stream("127.0.0.1", port)
                        readers[ev.conn] = ServerReader(streams[ev.conn])
                        continue
                    stream = streams[ev.conn]
                    ev = tunnels.event(addresses.event(ev, links[ev.conn]))
                    try:
                        if ev.kind == "http-request":
                            readers[ev.conn].head_requests.append(ev.method == "HEAD")
                            requests.setdefault(ev.conn, []).append(ev.target or "")
                            await stream.send_all(request_bytes(ev))
                        elif ev.kind == "tcp-close":
                            eof_sent.add(ev.conn)
                            await stream.send_eof()
                        elif ev.kind.startswith("ws-"):
                            await stream.send_all(ws_frame_bytes(ev))
                        elif ev.kind == "tcp-data":  # bytes no frame describes, as sent
                            await stream.send_all(ev.payload)
                    except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                        return f"{where}: our server closed the connection first ({exc!r})"
                    continue
                if ev.kind == "tcp-open":
                    continue
                with trio.move_on_after(event_timeout):
                    try:
                        got = await readers[ev.conn].next_event()
                    except ReplayError as exc:
                        return f"{where}: {exc}"
                    got = tunnels.learn(ev, got, tolerated)
                    target = ""
                    if ev.kind == "http-response" and requests.get(ev.conn):
                        target = requests[ev.conn].pop(0)
                    diff = _compare_event(ev, got, target, tolerated, sc.name in NUMBER_TEXT)
                    after_eof = ev.conn in eof_sent and got.kind == "tcp-close"
                    if diff is not None and after_eof and ev.kind == "ws-text" and not ev.data:
                        tolerated.add(EOF_EMPTY_FRAME)
                        continue  # the tcp-close is read again for the next event
                    if diff is not None and after_eof and ev.kind == "http-response":
                        tolerated.add(EOF_POLL_ANSWER)
                        continue
                    gone = ev.conn in eof_sent and links[ev.conn] == PROXY_LINK
                    if diff is not None and gone and got.kind == ev.kind == "http-response":
                        tolerated.add(EOF_PROXY_ANSWER)
                        continue
                    if diff is not None:
                        return f"{where}: {diff}"
                    continue
                return f"{where}: our server sent nothing within {event_timeout:g} s"
            for conn, reader in readers.items():
                with trio.move_on_after(0.2):
                    extra = await reader.next_event()
                    if extra.kind != "tcp-close":
                        return (
                            f"conn {conn}: our server sent more: {extra.kind} {extra.body[:60]!r}"
                        )
        finally:
            for stream in streams.values():
                await stream.aclose()
    return None


async def replay_server_role(
    sc: Scenario, *, captures: Path = CAPTURES_DIR, server_kite: Kite | None = None
) -> Outcome:
    """Replay one scenario's client side against our server.

    Args:
        sc: the scenario.
        captures: the folder it came from (its ``keys/`` configure the server).
        server_kite: the kite to serve instead of the `gomath_kite` twin (for tests).
    """
    if sc.name in SERVER_SKIPS:
        return Outcome(sc.name, "server", "skip", SERVER_SKIPS[sc.name])
    links = {e.link or "" for e in sc.events if e.kind == "tcp-open"}
    if not links <= {"math", "kontrol", PROXY_LINK, TUNNEL_LINK}:
        return Outcome(sc.name, "server", "skip", f"no Python twin for servers {sorted(links)}")
    if sc.name in KONTROL_SKIPS:
        return Outcome(sc.name, "server", "skip", KONTROL_SKIPS[sc.name])
    heartbeat = any(e.dir == "s2c" and e.sockjs and e.sockjs.frame == "h" for e in sc.events)
    layer = "sockets, heartbeat 0.3 s" if heartbeat else "sockets"
    async with _servers(sc, links, captures, server_kite) as servers:
        if heartbeat:  # Go's 10 s SockJS heartbeat, shortened so the replay stays fast
            for server in servers.values():
                k = server if isinstance(server, Kite) else server.kite
                k.config = k.config.replace(sockjs_heartbeat_delay=0.3)
        tolerated: set[str] = set()
        diff = await _replay_server(sc, servers, EVENT_TIMEOUT, tolerated)
    notes = tuple(sorted(tolerated))
    if diff is None:
        return Outcome(sc.name, "server", "pass", layer=layer, tolerated=notes)
    for (name, needle), reason in KNOWN_DIVERGENCES.items():
        if name == sc.name and needle in diff:
            return Outcome(sc.name, "server", "skip", f"{reason}; {diff}", layer, notes)
    return Outcome(sc.name, "server", "fail", diff, layer=layer, tolerated=notes)


@asynccontextmanager
async def _servers(
    sc: Scenario, links: set[str], captures: Path, server_kite: Kite | None
) -> AsyncIterator[dict[str, Server]]:
    """Our twins of the scenario's Go servers, by link name, running for the block."""
    servers: dict[str, Server] = {}
    clock = CaptureClock(capture_origin(sc, keys_dir(captures)))
    flags = _gomath_flags(sc)
    if "math" in links:
        servers["math"] = server_kite or gomath_kite(
            auth="-auth" in flags, kitekey="-kitekey" in flags, captures=captures, clock=clock
        )
    if TUNNEL_LINK in links:
        servers[TUNNEL_LINK] = tunnel_proxy_twin(sc, captures, clock)
    if PROXY_LINK in links:
        servers[PROXY_LINK] = reverse_proxy_twin(sc, captures, clock)
        if "math" in links:
            servers[behind_proxy("math")] = server_kite or gomath_kite(
                auth="-auth" in flags, kitekey="-kitekey" in flags, captures=captures, clock=clock
            )
    if "kontrol" in links:
        from ._replay_kontrol import running_kontrol

        async with running_kontrol(sc, captures, clock) as kontrol:
            servers["kontrol"] = kontrol
            yield servers
    else:
        yield servers


async def replay_scenario(sc: Scenario, *, captures: Path = CAPTURES_DIR) -> list[Outcome]:
    """Replay one scenario in each role."""
    return [
        await replay_server_role(sc, captures=captures),
        await replay_client_role(sc, captures=captures),
    ]


#: The client role of a capture whose client is a raw script: there is no client to test.
NO_CLIENT = (
    "no client under test: the recorded client is a raw script (recorder/rawclient.py); "
    "the server role covers this scenario"
)
NO_CLIENT_NO_SERVER = (
    "no client under test: the recorded client is a raw script (recorder/rawclient.py); "
    "the server role is skipped too (see its line)"
)


def _raw_client(sc: Scenario) -> Outcome | None:
    """The client role of a capture whose client is a raw script: n/a (nothing of ours)."""
    if any("rawclient" in " ".join(str(s.get("cmd", "")).split()[:2]) for s in sc.steps):
        why = NO_CLIENT_NO_SERVER if sc.name in SERVER_SKIPS else NO_CLIENT
        return Outcome(sc.name, "client", "n/a", why)
    return None


#: The client role of a capture with no kite client in its traffic.
NO_KITE_CLIENT = (
    "no client under test: the traffic holds no call from a kite client; "
    "the server role covers this scenario"
)


async def replay_client_role(sc: Scenario, *, captures: Path = CAPTURES_DIR) -> Outcome:
    """Replay one scenario's server side against our client, doing what the recorded Go
    client did as its traffic shows: Kontrol clients (``register``, ``getKites``,
    ``getToken``, ``getKey``, HTTP ``/register``) with our kite's Kontrol client
    (`_replay_kontrol_client`, on a mock clock, so Kontrol's heartbeats take no real time),
    other kite clients' calls with our `kite.Peer` (`_replay_client`).

    Never raises for a scenario's sake: what this replay cannot drive is ``skip`` with the
    reason, an exception is ``fail`` with it."""
    from ._replay_client import replay_client_role_diff
    from ._replay_kontrol_client import kontrol_client_plan, replay_kontrol_client_diff
    from ._replay_script import UnreplayableError, read_script
    from ._replay_tunnel import KITE as TUNNEL_KITE
    from ._replay_tunnel import replay_tunnel_kite_diff, tunnel_parties

    raw = _raw_client(sc)
    if raw is not None:
        return raw
    tolerated: set[str] = set()
    layer = ""
    try:
        tunnel = tunnel_parties(sc)
        parties = proxy_parties(sc)
        plan = kontrol_client_plan(sc) if parties is None and tunnel is None else None
        if tunnel is not None:
            layer = "sockets, through a tunnel proxy"
            diff = None
            for label, party in tunnel:
                if label == TUNNEL_KITE:
                    diff = await replay_tunnel_kite_diff(party, tolerated, captures=captures)
                else:
                    diff = await replay_client_role_diff(party, tolerated, captures=captures)
                if diff is not None:
                    diff = f"{label}: {diff}"
                    break
        elif parties is not None:
            layer = "sockets, through a reverse proxy"
            diff = None
            for label, party in parties:
                diff = await replay_client_role_diff(party, tolerated, captures=captures)
                if diff is not None:
                    diff = f"{label}: {diff}"
                    break
        elif plan is not None:
            layer = plan.layer
            diff = await replay_kontrol_client_diff(sc, tolerated, captures=captures)
        else:
            script = read_script(sc)
            if not script.calls:
                return Outcome(sc.name, "client", "n/a", NO_KITE_CLIENT)
            xhr = script.transports.get(script.calls[0].conn) == "xhr"
            layer = "sockets, XHR requests paired by order" if xhr else "sockets"
            diff = await replay_client_role_diff(sc, tolerated, captures=captures)
    except UnreplayableError as exc:
        return Outcome(sc.name, "client", "skip", f"cannot drive: {exc}", layer)
    except Exception as exc:  # noqa: BLE001 -- a bug in this scenario is its fail, not the run's end
        return Outcome(sc.name, "client", "fail", _crash(exc), layer)
    notes = tuple(sorted(tolerated))
    if diff is None:
        return Outcome(sc.name, "client", "pass", layer=layer, tolerated=notes)
    for (name, needle), reason in KNOWN_DIVERGENCES.items():
        if name == sc.name and needle in diff:
            return Outcome(sc.name, "client", "skip", f"{reason}; {diff}", layer, notes)
    return Outcome(sc.name, "client", "fail", diff, layer=layer, tolerated=notes)


def _crash(exc: BaseException) -> str:
    """One line naming an exception raised while replaying (the first of a group), and where."""
    import traceback

    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"the replay raised {type(exc).__name__}{where}: {text}".rstrip(": ")


async def replay_all(directory: Path = CAPTURES_DIR) -> list[Outcome]:
    """Replay every scenario of `directory` in each role; a scenario that cannot be loaded
    or replayed is that scenario's ``fail``, never the end of the run."""
    out: list[Outcome] = []
    for name, sc in _load_each(directory):
        if isinstance(sc, Outcome):
            out.append(sc)
            continue
        roles: tuple[tuple[Role, Any], ...] = (
            ("server", replay_server_role),
            ("client", replay_client_role),
        )
        for role, replay in roles:
            try:
                out.append(await replay(sc, captures=directory))
            except Exception as exc:  # noqa: BLE001 -- the scenario's fail, not the run's end
                out.append(Outcome(name, role, "fail", _crash(exc)))
    return out


def _load_each(directory: Path) -> Iterator[tuple[str, Scenario | Outcome]]:
    """Each scenario of `directory` by name, or the ``fail`` saying why it does not load."""
    for meta_path in sorted(directory.glob("*.meta.json")):
        name = meta_path.name.removesuffix(".meta.json")
        try:
            yield name, _load_one(directory, name)
        except Exception as exc:  # noqa: BLE001 -- a broken file is that scenario's fail
            yield name, Outcome(name, "server", "fail", f"cannot load: {_crash(exc)}")
