"""Hostile input: a table of malformed requests and frames, each checked against a live kite.

Every row of `ROWS` is data: what to send (raw HTTP bytes, or WebSocket frames after a SockJS
WebSocket handshake), the answer the HTTP RFCs, RFC 6455, the SockJS protocol or Go kite give,
and where that answer comes from. For each row the suite checks that the answer is that one,
that the server still serves (a fresh call succeeds), and that a neighbouring client, calling
without pause on its own session the whole time, loses nothing. The long form also sends every
row to Go's `gomath` and shows its answer beside ours (the rows where Go differs say why).

Answers are written as `HTTP <status>`, `close <code>` (a WebSocket close frame),
`dropped` (TCP closed without a close frame) or `open` (no answer: the connection stays up).
"""

from __future__ import annotations

import contextlib
import os
import struct
from dataclasses import dataclass

import trio
import trio.lowlevel

from bench._peers import serve_process
from conformance._gopeers import GoPeersUnavailableError, build_go_peers
from kite import Config, Kite, KiteError, Request

from ._report import Outcome
from ._wire import post, websocket_handshake, ws_frame

__all__ = ["ROWS", "Row", "run"]

#: Seconds to wait for an answer before calling the connection `open` (long, short form).
ANSWER_TIMEOUT = {True: 3.0, False: 2.0}


def _frame(opcode: int, payload: bytes, **kw: object) -> bytes:
    return ws_frame(opcode, payload, **kw)  # type: ignore[arg-type]


def _text(payload: bytes, **kw: object) -> bytes:
    return ws_frame(0x1, payload, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Row:
    """One hostile input: `http` bytes (a whole request) or `frames` sent on an open SockJS
    WebSocket; `expected` as in the module doc; `source` says who defines that answer."""

    name: str
    expected: str
    source: str
    http: bytes = b""
    frames: tuple[bytes, ...] = ()
    session: bool = False  # http: sent to a freshly opened XHR session (`{sid}` in the bytes)


_post = post


ROWS: tuple[Row, ...] = (
    Row("garbage request line", "HTTP 400", "RFC 9112 §3", http=b"HELLO WORLD\r\n\r\n"),
    Row(
        "header line without a colon",
        "HTTP 400",
        "RFC 9112 §5",
        http=b"GET /kite HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    ),
    Row(
        "negative Content-Length",
        "HTTP 400",
        "RFC 9112 §6.3",
        http=b"POST /kite HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    ),
    Row(
        "two different Content-Lengths",
        "HTTP 400",
        "RFC 9112 §6.3",
        http=b"POST /kite HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
    ),
    Row(
        "1 MB header line",
        "HTTP 431",
        "RFC 6585 §5, our 16 KiB head (Go: 1 MB, so 200)",
        http=b"GET /kite HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n",
    ),
    Row(
        "session id with %00",
        "HTTP 404",
        "ours (Go, sockjs-node: any [^/.]+ id, 200)",
        http=_post("/kite/000/a%00b/xhr"),
    ),
    Row(
        "session id <script>",
        "HTTP 404",
        "ours (Go, sockjs-node: any [^/.]+ id, 200)",
        http=_post("/kite/000/<script>/xhr"),
    ),
    Row(
        "5,000-character session id",
        "HTTP 404",
        "ours (Go, sockjs-node: any [^/.]+ id, 200)",
        http=_post("/kite/000/" + "x" * 5000 + "/xhr"),
    ),
    Row("session id with a dot", "HTTP 404", "SockJS protocol", http=_post("/kite/000/a.b/xhr")),
    Row(
        "xhr_send to an unknown session",
        "HTTP 404",
        "SockJS protocol",
        http=_post("/kite/000/nosuchsession/xhr_send", b'["x"]'),
    ),
    Row(
        "xhr_send with broken JSON",
        "HTTP 500",
        "SockJS protocol (Broken JSON encoding.)",
        http=_post("/kite/000/{sid}/xhr_send", b'["x"'),
        session=True,
    ),
    Row(
        "xhr_send without a body",
        "HTTP 500",
        "SockJS protocol (Payload expected.)",
        http=_post("/kite/000/{sid}/xhr_send"),
        session=True,
    ),
    Row(
        "xhr_send not a list",
        "HTTP 500",
        "SockJS protocol (Go: 204, ignored)",
        http=_post("/kite/000/{sid}/xhr_send", b'{"a":1}'),
        session=True,
    ),
    Row(
        "WebSocket version 7",
        "HTTP 400",
        "RFC 6455 §4.2.2, Go",
        http=b"GET /kite/000/abc/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 7\r\n\r\n",
    ),
    Row(
        "text frame, invalid UTF-8",
        "close 1007",
        "RFC 6455 §8.1 (Go: no check, drops on bad JSON)",
        frames=(_text(b"\xff\xfe"),),
    ),
    Row("reserved bit set", "close 1002", "RFC 6455 §5.2", frames=(_text(b'["x"]', rsv=4),)),
    Row(
        "unmasked client frame",
        "close 1002",
        "RFC 6455 §5.1",
        frames=(_text(b'["x"]', mask=False),),
    ),
    Row("reserved opcode 0x3", "close 1002", "RFC 6455 §5.2", frames=(_frame(0x3, b"x"),)),
    Row("continuation without a start", "close 1002", "RFC 6455 §5.4", frames=(_frame(0x0, b"x"),)),
    Row("ping with 126 bytes", "close 1002", "RFC 6455 §5.5", frames=(_frame(0x9, b"p" * 126),)),
    Row("fragmented ping", "close 1002", "RFC 6455 §5.5", frames=(_frame(0x9, b"p", fin=False),)),
    Row(
        "close code 999",
        "close 1002",
        "RFC 6455 §7.4",
        frames=(_frame(0x8, struct.pack("!H", 999)),),
    ),
    Row(
        "message of 2 GiB announced",
        "close 1009",
        "RFC 6455 §7.4.1 (Go: no limit, waits)",
        frames=(_text(b"", length=1 << 31),),
    ),
    Row(
        "SockJS payload not JSON",
        "dropped",
        "sockjs-go (ends the session, drops TCP)",
        frames=(_text(b'["x"'),),
    ),
    Row(
        "dnode message not JSON",
        "open",
        "Go kite (logged, ignored)",
        frames=(_text(b'["not json"]'),),
    ),
    Row(
        "dnode method a number",
        "open",
        "Go kite (logged, ignored)",
        frames=(_text(b'["{\\"method\\":5,\\"arguments\\":[]}"]'),),
    ),
    Row(
        "callback id that does not exist",
        "open",
        "Go kite (ignored)",
        frames=(_text(b'["{\\"method\\":99999,\\"arguments\\":[]}"]'),),
    ),
    Row(
        "JSON nested 100,000 deep",
        "open",
        "ours (Go: refused by its decoder, ignored)",
        frames=(_text(b'["' + b"[" * 100_000 + b'"]'),),
    ),
)


# -- sending a row ---------------------------------------------------------------------------


async def _read_http_status(stream: trio.SocketStream, wait: float) -> str:
    data = b""
    with trio.move_on_after(wait):
        while b"\r\n" not in data:
            chunk = await stream.receive_some(65536)
            if not chunk:
                return f"HTTP {_status(data)}" if data else "dropped"
            data += chunk
        return f"HTTP {_status(data)}"
    return "open"


def _status(data: bytes) -> str:
    parts = data.split(b"\r\n", 1)[0].split()
    return parts[1].decode() if len(parts) > 1 else "?"


async def _open_xhr_session(port: int, wait: float) -> str:
    sid = os.urandom(8).hex()
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(_post(f"/kite/000/{sid}/xhr"))
        await _read_http_status(stream, wait)
    return sid


async def _send_http(port: int, row: Row, wait: float) -> str:
    data = row.http
    if row.session:
        data = data.replace(b"{sid}", (await _open_xhr_session(port, wait)).encode())
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        with contextlib.suppress(trio.BrokenResourceError):  # answered and closed early
            await stream.send_all(data)
        try:
            return await _read_http_status(stream, wait)
        except trio.BrokenResourceError:
            return "dropped"


async def _send_frames(port: int, row: Row, wait: float) -> str:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(websocket_handshake())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = await stream.receive_some(65536)
            if not chunk:
                return "dropped"
            buffer += chunk
        buffer = buffer.split(b"\r\n\r\n", 1)[1]
        try:
            for frame in row.frames:
                await stream.send_all(frame)
        except trio.BrokenResourceError:
            return "dropped"
        return await _read_close(stream, buffer, wait)


async def _read_close(stream: trio.SocketStream, buffer: bytes, wait: float) -> str:
    """Frames from the server until a close frame (its code), EOF or the timeout."""
    with trio.move_on_after(wait):
        while True:
            while len(buffer) >= 2:
                opcode, n = buffer[0] & 0x0F, buffer[1] & 0x7F
                start = 2
                if n == 126:
                    if len(buffer) < 4:
                        break
                    n, start = struct.unpack("!H", buffer[2:4])[0], 4
                elif n == 127:
                    if len(buffer) < 10:
                        break
                    n, start = struct.unpack("!Q", buffer[2:10])[0], 10
                if len(buffer) < start + n:
                    break
                payload, buffer = buffer[start : start + n], buffer[start + n :]
                if opcode == 0x8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    return f"close {code}"
            try:
                chunk = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                return "dropped"
            if not chunk:
                return "dropped"
            buffer += chunk
    return "open"


async def answer(port: int, row: Row, wait: float) -> str:
    """What the server on `port` answers to `row` (`open`: nothing within `wait` seconds)."""
    send = _send_frames if row.frames else _send_http
    return await send(port, row, wait)


# -- the suite -------------------------------------------------------------------------------


def _server_kite() -> Kite:
    k = Kite("math", "1.0.0", Config(disable_authentication=True))

    def square(r: Request) -> float:
        n = r.args.one().float()
        return n * n

    k.handle_func("square", square)
    return k


async def _against(
    port: int, rows: tuple[Row, ...], neighbour_url: str, wait: float
) -> tuple[list[str], int, int]:
    """Every row's answer, with a neighbour calling all along: (answers, neighbour calls, lost)."""
    answers: list[str] = []
    calls = lost = 0
    client = Kite("neighbour", "1.0.0", Config())
    async with client.dial(neighbour_url, transport="websocket", timeout=10) as remote:
        done = trio.Event()

        async def neighbour() -> None:
            nonlocal calls, lost
            while not done.is_set():
                calls += 1
                try:
                    if await remote.tell("square", 7, timeout=10) != 49:
                        lost += 1
                except KiteError:
                    lost += 1
                await trio.lowlevel.checkpoint()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(neighbour)
            for row in rows:
                answers.append(await answer(port, row, wait))
                # the server still serves a fresh client after the row
                fresh = Kite("fresh", "1.0.0", Config())
                async with fresh.dial(neighbour_url, transport="websocket", timeout=10) as f:
                    await f.tell("square", 2, timeout=10)
            done.set()
    return answers, calls, lost


def run(long: bool) -> Outcome:
    """The hostile-input suite (see the module doc)."""
    outcome = Outcome("hostile")

    async def ours() -> tuple[list[str], int, int]:
        async with _server_kite().serve(host="127.0.0.1", port=0) as served:
            return await _against(served.port, ROWS, served.url, ANSWER_TIMEOUT[long])

    answers, calls, lost = trio.run(ours)
    go_answers: list[str] = [""] * len(ROWS)
    if long:
        try:
            gomath = build_go_peers().path("gomath")
            with serve_process([str(gomath), "-port", "0", "-quiet"]) as peer:
                go_answers, _, _ = trio.run(
                    _against, peer.port, ROWS, peer.kite_url, ANSWER_TIMEOUT[long]
                )
        except GoPeersUnavailableError as exc:
            outcome.notes.append(f"Go kite skipped: {exc}")
    for row, got, go in zip(ROWS, answers, go_answers, strict=True):
        line: dict[str, object] = {"input": row.name, "expected": row.expected, "ours": got}
        if long:
            line["go"] = go
        line["by"] = row.source
        outcome.rows.append(line)
        outcome.check(got == row.expected, f"{row.name}: answered {got}, want {row.expected}")
    outcome.notes.append(f"neighbour: {calls} calls during the rows, {lost} lost")
    outcome.check(lost == 0, f"the neighbouring client lost {lost} of {calls} calls")
    return outcome
