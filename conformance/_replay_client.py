"""The client role of the replay: our client against a server that plays Go's recorded answers.

How this works: `replay_client_role_diff` reads what the Go client did from the recorded
traffic (`_replay_script.read_script`: its calls with their arguments, callbacks,
authentication, order and overlap, and how it answered the server's calls), builds a client
kite with the recorded identity (`kite.Kite`, answering the server's calls as Go's did), dials
a fake server on 127.0.0.1 that plays the Go server's side of the capture, and makes the same
calls (`_replay_calls.drive_calls`). The fake server accepts
one connection and walks the capture's events in order: where the Go server sent something, it
sends the recorded bytes (the ``101`` with ``Sec-WebSocket-Accept`` recomputed for our key, the
recorded WebSocket frames); where the Go client sent something, it reads what our client sent
and compares: the request line (SockJS server/session ids free), the WebSocket messages as
SockJS payloads, dnode messages and kite envelopes with the nondeterministic values masked
(`_replay.compare_text`), and the end of the connection. What each call returned (its result
or error) and what its callbacks were called with are compared with the recorded answers and
invocations, and, for a single call, with what ``goclient`` printed. Over XHR
(`_fake_xhr_server`) connections are not paired: our polls and sends take Go's recorded ones in
order.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from kite import Config, Kite

from ._captures import CAPTURES_DIR, Event, Scenario
from ._replay_calls import (
    CallOutcome,
    Cursor,
    compare_outcomes,
    drive_calls,
    serve_recorded_answers,
)
from ._replay_script import RecordedCall, UnreplayableError, read_script
from ._replay_wire import ReplayError, ServerReader

__all__ = ["kite_path", "replay_client_role_diff"]

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_SOCKJS_TARGET = re.compile(r"^(.*)/[^/.]+/[^/.]+/(?:websocket|xhr|xhr_send|xhr_streaming)$")


def kite_path(sc: Scenario) -> str:
    """The path (and query) of the URL the recorded client dialled: ``/kite``, through a
    reverse proxy ``/proxy/<kite id>``, through a tunnel proxy ``/proxy?kiteID=<kite id>``
    (read from its first SockJS request's target)."""
    for ev in sc.events:
        if ev.kind == "http-request" and ev.dir == "c2s" and ev.target:
            path = _dialled(ev.target)
            if path is not None:
                return path
    return "/kite"


def _dialled(target: str) -> str | None:
    """The URL path and query a SockJS client dialled to send a request to `target` (the
    transport's ``/<server>/<session>/<transport>`` sits between them)."""
    path, _, query = target.partition("?")
    match = _SOCKJS_TARGET.match(path)
    if match is None:
        return None
    return match.group(1) + (f"?{query}" if query else "")


def _target(path: str, transports: str) -> re.Pattern[str]:
    base, _, query = path.partition("?")
    tail = r"\?" + re.escape(query) if query else ""
    return re.compile(f"^{re.escape(base)}/[0-9]{{3}}/[^/.]+/({transports}){tail}$")


def _ws_target(path: str) -> re.Pattern[str]:
    return _target(path, "websocket")


def _xhr_target(path: str) -> re.Pattern[str]:
    return _target(path, "xhr|xhr_send")


_OPCODES = {"ws-continuation": 0, "ws-text": 1, "ws-binary": 2, "ws-close": 8, "ws-ping": 9}

#: Our client ends a WebSocket session with a close frame; Go's just drops the TCP connection.
CLOSE_FRAME = "our client sends a close frame before closing (Go just drops TCP)"


def _server_frame(event: Event, replace: dict[str, str] | None = None) -> bytes:
    payload = event.payload
    if replace and event.kind == "ws-text" and event.data is not None:
        text = event.data
        for old, new in replace.items():
            text = text.replace(old, new)
        payload = text.encode()
    if event.kind == "ws-close" and event.code is not None:
        payload = struct.pack("!H", event.code) + (event.reason or "").encode()
    first = (0x80 if event.fin else 0) | ((event.rsv or 0) << 4) | _OPCODES[event.kind]
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, 126, n)
    else:
        head = struct.pack("!BBQ", first, 127, n)
    return head + payload


def _fragment(ev: Event) -> bool:
    """True for a frame that is part of a fragmented message the decoder reassembled."""
    return ev.kind == "ws-continuation" or ev.fin is False


async def _read_request(stream: trio.SocketStream) -> tuple[str, dict[str, str]]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = await stream.receive_some(65536)
        if not data:
            raise ReplayError("our client closed before sending a request")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    if rest:
        raise ReplayError("our client sent data before the handshake answer")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def _fake_server(
    sc: Scenario,
    stream: trio.SocketStream,
    tolerated: set[str],
    may_close: trio.Event,
    event_timeout: float,
    *,
    conn: int | None = None,
    replace: dict[str, str] | None = None,
    arrived: list[tuple[Event, float]] | None = None,
    cursor: Cursor | None = None,
) -> str | None:
    """Play the Go server's side of `sc` on `stream`; the first difference, or None.

    `conn`: play only that captured connection; `replace`: text replaced in the frames sent
    (the recorded URLs of other servers, pointed at their fake twins); `arrived` gets each
    compared client message with the time (``trio.current_time()``) ours arrived; `cursor`
    is moved to each client event before it is waited for.
    """
    return await _play(
        sc,
        stream,
        tolerated,
        may_close,
        event_timeout,
        conn,
        replace,
        arrived,
        cursor or Cursor(),
    )


async def _play(
    sc: Scenario,
    stream: trio.SocketStream,
    tolerated: set[str],
    may_close: trio.Event,
    event_timeout: float,
    conn: int | None,
    replace: dict[str, str] | None,
    arrived: list[tuple[Event, float]] | None,
    cursor: Cursor,
) -> str | None:
    reader = ServerReader(stream)
    reader._websocket = True
    client_closed = False
    for ev in sc.events:
        if conn is not None and ev.conn != conn:
            continue
        if ev.kind == "tcp-open" or (ev.kind == "ws-message" and ev.dir == "s2c"):
            continue
        if ev.dir == "c2s" and ev.is_ws and ev.kind != "ws-message" and _fragment(ev):
            continue  # compared as the whole message (the decoder's ws-message)
        where = f"event {ev.index} ({ev.dir} {ev.kind})"
        if ev.dir == "c2s":
            cursor.move(ev.index)
        if ev.dir == "s2c":
            try:
                if ev.kind == "http-response":
                    continue  # answered with the request below
                if ev.kind == "tcp-close":
                    await stream.aclose()
                elif ev.is_ws and not client_closed:
                    await stream.send_all(_server_frame(ev, replace))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            continue
        if ev.kind == "http-request":
            with trio.move_on_after(event_timeout):
                line, headers = await _read_request(stream)
                method, _, rest = line.partition(" ")
                target = rest.rpartition(" ")[0]
                dialled = _dialled(ev.target or "") or "/kite"
                if method != ev.method or not _ws_target(dialled).match(target):
                    want = f"{ev.method} {dialled} + /<server>/<session>/websocket"
                    return f"{where}: want {want}, got {line!r}"
                response = next(
                    e for e in sc.events if e.kind == "http-response" and e.conn == ev.conn
                )
                accept = base64.b64encode(
                    hashlib.sha1(
                        (headers.get("sec-websocket-key", "") + _WS_GUID).encode()
                    ).digest()
                ).decode()
                head = f"HTTP/1.1 {response.status} {response.reason}\r\n"
                for name, value in response.headers:
                    if name.lower() == "sec-websocket-accept":
                        value = accept
                    head += f"{name}: {value}\r\n"
                await stream.send_all((head + "\r\n").encode("latin-1"))
                continue
            return f"{where}: our client sent no request within {event_timeout:g} s"
        if ev.kind == "tcp-close":
            may_close.set()
            with trio.move_on_after(event_timeout):
                got = await reader.next_event()
                if got.kind == "ws-close":
                    tolerated.add(CLOSE_FRAME)
                    got = await reader.next_event()
                if got.kind != "tcp-close":
                    return (
                        f"{where}: want the end of the connection, got {got.kind} {got.body[:60]!r}"
                    )
                client_closed = True
                continue
            return f"{where}: our client did not close within {event_timeout:g} s"
        with trio.move_on_after(event_timeout):
            got = await reader.next_event()
            from ._replay import compare_text

            want_kind = f"ws-{ev.opcode}" if ev.kind == "ws-message" else ev.kind
            if got.kind != want_kind:
                return f"{where}: want {want_kind}, got {got.kind} {got.body[:60]!r}"
            from ._replay import NUMBER_TEXT

            diff = compare_text(
                ev.data or "",
                got.body.decode("utf-8", "replace"),
                what="payload",
                numbers=tolerated if sc.name in NUMBER_TEXT else None,
            )
            if diff is not None:
                return f"{where}: {diff}"
            if arrived is not None:
                arrived.append((ev, trio.current_time()))
            continue
        return f"{where}: our client sent nothing within {event_timeout:g} s"
    return None


async def replay_client_role_diff(
    sc: Scenario, tolerated: set[str], *, captures: Path = CAPTURES_DIR, event_timeout: float = 5.0
) -> str | None:
    """Replay the Go server's side of `sc` at our client making the recorded Go client's calls
    (`_replay_script.read_script`); the first difference, or None.

    Raises:
        UnreplayableError: the traffic holds nothing this replay can drive (see its message).
    """
    script = read_script(sc)
    calls = script.calls
    if not calls:
        raise UnreplayableError("the traffic holds no call from a kite client")
    conns = {c.conn for c in calls}
    transport = script.transports.get(calls[0].conn, "websocket")
    if transport == "websocket" and len(conns) > 1:
        raise UnreplayableError(
            f"the Go client made its calls over {len(conns)} WebSocket connections; "
            "this replay drives one"
        )
    client = _client_kite(calls[0].kite)
    serve_recorded_answers(client, script)

    outcome: list[str | None] = []
    may_close = trio.Event()
    cursor = Cursor()
    done = trio.Event()
    outcomes: list[CallOutcome] = []
    listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    port = listener.socket.getsockname()[1]
    async with trio.open_nursery() as nursery:

        async def serve_one() -> None:
            if transport == "xhr":
                diff = await _fake_xhr_server(sc, listener, may_close, event_timeout, cursor)
            else:
                async with listener:
                    stream = await listener.accept()
                async with stream:
                    diff = await _fake_server(
                        sc, stream, tolerated, may_close, event_timeout, cursor=cursor
                    )
            cursor.move(math.inf)
            outcome.append(diff)
            may_close.set()  # a recording that ends with the connection open ends here
            done.set()
            if diff is not None:
                nursery.cancel_scope.cancel()  # no need to wait for our client

        nursery.start_soon(serve_one)
        with trio.move_on_after(event_timeout * 4):
            try:
                async with client.dial(
                    f"http://127.0.0.1:{port}{kite_path(sc)}", transport=transport
                ) as remote:
                    with trio.move_on_after(event_timeout * 3):
                        outcomes = await drive_calls(
                            remote, calls, cursor, call_timeout=event_timeout
                        )
                    await may_close.wait()  # bounded by the deadline above
            except (OSError, trio.BrokenResourceError) as exc:
                outcome.append(f"our client could not dial the fake server: {exc!r}")
        with trio.move_on_after(event_timeout):
            await done.wait()
        nursery.cancel_scope.cancel()
    if outcome and outcome[0] is not None:
        return outcome[0]
    if not outcome:
        return "the fake server did not finish"
    if len(outcomes) != len(calls):
        return f"our client did not make the {len(calls)} calls within {event_timeout * 3:g} s"
    return compare_outcomes(calls, outcomes) or _compare_output(sc, calls, outcomes)


def _client_kite(identity: Mapping[str, Any], config: Config | None = None) -> Kite:
    """Our twin of the recorded client kite: its name, version, username, environment and
    region (the id and hostname are this machine's; the replay masks them), on `config`
    (default: `Config()`) with those fields replaced."""

    def text(key: str, default: str) -> str:
        value = identity.get(key)
        return value if isinstance(value, str) and value else default

    config = (config or Config()).replace(
        username=text("username", "unknown"),
        environment=text("environment", "unknown"),
        region=text("region", "unknown"),
    )
    return Kite(text("name", "goclient"), text("version", "1.0.0"), config)


@dataclass
class _XHRScript:
    """The captured XHR exchanges, matched in order per kind (poll / send) with ours."""

    exchanges: list[tuple[Event, Event | None]]  # (request, response) in capture order
    matched: set[int] = field(default_factory=set)  # request event indices matched so far
    changed: trio.Event = field(default_factory=trio.Event)
    next_of: dict[str, int] = field(default_factory=dict)

    def take(self, kind: str) -> tuple[Event, Event | None] | None:
        """The next captured exchange of `kind` (``xhr`` or ``xhr_send``) not yet taken."""
        start = self.next_of.get(kind, 0)
        for i in range(start, len(self.exchanges)):
            request, response = self.exchanges[i]
            if (request.target or "").endswith("/" + kind):
                self.next_of[kind] = i + 1
                return request, response
        return None

    def mark(self, request: Event) -> None:
        self.matched.add(request.index)
        self.changed.set()
        self.changed = trio.Event()

    def released(self, response: Event) -> bool:
        """True once every request the client made before `response` was matched."""
        return all(
            request.index in self.matched
            for request, _ in self.exchanges
            if request.index < response.index
        )


async def _read_http_request(stream: trio.SocketStream, buf: bytearray) -> tuple[str, bytes] | None:
    """One request (``METHOD target``, body) from `stream`; None at end of stream."""
    while b"\r\n\r\n" not in buf:
        data = await stream.receive_some(65536)
        if not data:
            return None
        buf += data
    end = buf.index(b"\r\n\r\n")
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[: end + 4]
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(buf) < length:
        data = await stream.receive_some(65536)
        if not data:
            return None
        buf += data
    body = bytes(buf[:length])
    del buf[:length]
    return head[0].rsplit(" ", 1)[0], body


def _response_bytes(response: Event) -> bytes:
    head = f"HTTP/1.1 {response.status} {response.reason}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in response.headers)
    return (head + "\r\n").encode("latin-1") + (response.body or "").encode()


async def _fake_xhr_server(
    sc: Scenario,
    listener: trio.SocketListener,
    may_close: trio.Event,
    event_timeout: float,
    cursor: Cursor,
    conns: set[int] | None = None,
) -> str | None:
    """Play the Go server's XHR answers to our client's polls and sends, in capture order.

    Connections are not paired (our client may spread its requests differently over TCP):
    our polls take Go's polls in order and our sends Go's sends; a poll is answered once every
    request the Go client made before that answer has been matched by one of ours.
    """
    from ._captures import http_exchanges
    from ._replay import compare_text

    exchanges = [
        (x.request, x.response)
        for x in http_exchanges([sc])
        if conns is None or x.request.conn in conns
    ]
    script = _XHRScript(exchanges)

    def move_cursor() -> None:  # to the first send of Go's not matched yet
        sends = [
            r.index
            for r, _ in exchanges
            if r.index not in script.matched and (r.target or "").endswith("/xhr_send")
        ]
        cursor.move(min(sends, default=math.inf))

    move_cursor()
    errors: list[str] = []
    closes = [
        e.index
        for e in sc.events
        if e.dir == "c2s" and e.kind == "tcp-close" and (conns is None or e.conn in conns)
    ]
    first_close = min(closes, default=len(sc.events))

    async def handle(stream: trio.SocketStream) -> None:
        buf = bytearray()
        async with stream:
            while True:
                try:
                    got = await _read_http_request(stream, buf)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return
                if got is None:
                    return
                line, body = got
                target = line.partition(" ")[2]
                match = _xhr_target(kite_path(sc)).match(target)
                if not line.startswith("POST ") or match is None:
                    errors.append(f"unexpected request {line!r}")
                    nursery.cancel_scope.cancel()
                    return
                taken = script.take(match.group(1))
                if taken is None:
                    if match.group(1) == "xhr":
                        await trio.sleep_forever()  # a poll beyond the recording: held open
                    errors.append(f"our client sent more than Go's: {line!r} {body[:60]!r}")
                    nursery.cancel_scope.cancel()
                    return
                request, response = taken
                where = f"event {request.index} (c2s http-request {request.target})"
                if request.body or body:
                    diff = compare_text(
                        request.body or "", body.decode("utf-8", "replace"), what="payload"
                    )
                    if diff is not None:
                        errors.append(f"{where}: {diff}")
                        nursery.cancel_scope.cancel()
                        return
                script.mark(request)
                move_cursor()
                if all(r.index in script.matched for r, _ in script.exchanges):
                    may_close.set()
                if response is None:
                    continue
                if response.index > first_close:
                    await trio.sleep_forever()  # Go answered after its client had gone
                while not script.released(response):
                    await script.changed.wait()
                try:
                    await stream.send_all(_response_bytes(response))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return

    with trio.move_on_after(event_timeout * 4) as scope:
        async with trio.open_nursery() as nursery:

            async def accept_all() -> None:
                async with listener:
                    while True:
                        nursery.start_soon(handle, await listener.accept())

            nursery.start_soon(accept_all)
            await may_close.wait()
            # our client has made every request Go's did; let it finish and close
            await trio.sleep(0.2)
            nursery.cancel_scope.cancel()
    if errors:
        return errors[0]
    if scope.cancelled_caught:
        missing = [r for r, _ in script.exchanges if r.index not in script.matched]
        where = (
            f"event {missing[0].index} ({missing[0].method} {missing[0].target})" if missing else ""
        )
        return f"our client did not make the request of {where} within {event_timeout * 4:g} s"
    return None


def _compare_output(
    sc: Scenario, calls: tuple[RecordedCall, ...], outcomes: list[CallOutcome]
) -> str | None:
    """With one call, what ours returned (and its callbacks saw) against what ``goclient``
    printed: its result or ``{"error": ...}`` last, a ``{"args", "callback"}`` line per
    callback invocation before it (a dotted path from the argument list)."""
    printed = [o for o in sc.client_outputs if o.get("label") == "goclient"]
    if len(calls) != 1 or not printed:
        return None
    try:
        lines = [json.loads(x) for x in str(printed[0].get("stdout", "")).split("\n") if x]
    except ValueError:
        return None
    if not lines:
        return None
    ours = outcomes[0]
    want = lines[-1]
    if isinstance(want, dict) and isinstance(want.get("error"), dict):
        want_error = {k: want["error"].get(k) for k in ("type", "message")}
        got_error = {k: (ours.error or {}).get(k) for k in ("type", "message")}
        if want_error != got_error:
            return f"call result: want error {want_error}, got {ours.error or ours.result!r:.80}"
    elif ours.error is not None or want != ours.result:
        got = ours.error if ours.error is not None else ours.result
        return f"call result: want {want!r:.80}, got {got!r:.80}"
    seen = [
        {"args": args, "callback": ".".join(str(p) for p in path)}
        for path, args in ours.invocations
    ]
    if lines[:-1] != seen:
        return f"callbacks: want {lines[:-1]!r:.120}, got {seen!r:.120}"
    return None
