"""Recording live traffic in the captures' format: a loopback proxy, a decoder, a scenario runner.

How this works (format in ``captures/FORMAT.md``):

- `RecordingProxy` is a trio TCP proxy on 127.0.0.1. Each link (``math=0:127.0.0.1:3636``)
  listens on a port and forwards every accepted connection to its upstream. Every chunk read
  from either side is written to ``NAME.raw.jsonl`` *before* it is forwarded, as
  ``{"conn", "dir", "b64", "t"}``, with ``open``/``close`` markers per connection and direction
  and ``start``/``stop`` lines for the proxy; ``t`` is seconds since the proxy started.
- `decode_raw` turns those lines into the decoded events of ``NAME.jsonl``. Each direction of
  each connection is a small parser fed the chunks in capture order: HTTP/1.1 messages (head,
  then a body framed by ``Content-Length``, ``chunked`` or the end of the stream) until a
  ``101`` switches both directions to WebSocket frames. An event is emitted when its last byte
  has arrived, so events follow the raw lines' order; ``t`` is the time of the chunk holding its
  first byte, ``t_end`` of the chunk holding its last. Payloads of SockJS exchanges get a
  ``sockjs`` reading (frame type, messages, ``dnode`` = the messages parsed as JSON). The
  WebSocket parser is our own (wsproto does not expose masks and fragment boundaries); HTTP
  heads are parsed here too rather than with h11 (a dependency of `kite`), whose client and
  server state machines each follow one role and would have to be mirrored against each
  other to follow both directions of a capture.
- `record_scenario` runs one scenario: a ``gomath`` server (the Go program, or our Python twin
  of `_gomath`), the proxy in front of it, a ``goclient`` call through the proxy; then writes the
  three files of the scenario.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shlex
import shutil
import struct
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import trio

__all__ = [
    "NONDETERMINISTIC",
    "Link",
    "RecordError",
    "Recording",
    "RecordingProxy",
    "decode_raw",
    "decode_raw_file",
    "dump_events",
    "parse_raw_lines",
    "raw_line",
    "record_scenario",
    "sockjs_client",
    "sockjs_server",
]

Json = dict[str, Any]


def raw_line(obj: Mapping[str, Any]) -> str:
    """One line of a ``.jsonl`` file: compact JSON, non-ASCII kept (U+2028 included)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def dump_events(events: Iterable[Mapping[str, Any]]) -> str:
    """The text of a ``.jsonl`` file: one compact JSON object per line, ``\\n`` after each."""
    return "".join(raw_line(e) + "\n" for e in events)


def parse_raw_lines(text: str) -> list[Json]:
    """The objects of a ``.jsonl`` text, split on ``\\n`` only (payloads may hold U+2028)."""
    return [json.loads(line) for line in text.split("\n") if line.strip()]


# ---------------------------------------------------------------------------------------------
# the proxy


@dataclass(frozen=True, slots=True)
class Link:
    """One proxied server: ``name=listen_port:upstream_host:upstream_port`` (port 0 = any)."""

    name: str
    listen_port: int
    upstream_host: str
    upstream_port: int

    @classmethod
    def parse(cls, spec: str) -> Link:
        """Parse ``math=13636:127.0.0.1:3636``."""
        name, _, rest = spec.partition("=")
        listen, host, port = rest.split(":")
        return cls(name, int(listen), host, int(port))

    def spec(self, listen_port: int | None = None) -> str:
        """The ``name=listen:host:port`` text (with the port actually bound)."""
        port = self.listen_port if listen_port is None else listen_port
        return f"{self.name}={port}:{self.upstream_host}:{self.upstream_port}"


@dataclass(slots=True)
class RecordingProxy:
    """A loopback TCP proxy writing every chunk that crosses it to a ``raw.jsonl`` stream.

    Use `serve` inside a nursery (``await nursery.start(proxy.serve)``); `ports` then holds the
    bound port of each link, `open_connections` how many connections are still running.
    """

    links: Sequence[Link]
    out: IO[str]
    chunk_size: int = 65536
    ports: dict[str, int] = field(default_factory=dict)
    open_connections: int = 0
    _start: float = 0.0
    _next_conn: int = 0
    _idle: trio.Event = field(default_factory=trio.Event)

    def _t(self) -> float:
        return round(time.monotonic() - self._start, 6)

    def _write(self, obj: Json) -> None:
        self.out.write(raw_line(obj) + "\n")
        self.out.flush()

    async def serve(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen on every link until cancelled; write ``start`` once bound, ``stop`` at the end."""
        self._start = time.monotonic()
        listeners: list[tuple[Link, trio.SocketListener]] = []
        for link in self.links:
            (listener,) = await trio.open_tcp_listeners(link.listen_port, host="127.0.0.1")
            self.ports[link.name] = listener.socket.getsockname()[1]
            listeners.append((link, listener))
        self._write(
            {
                "event": "start",
                "maps": [link.spec(self.ports[link.name]) for link in self.links],
                "pid": os.getpid(),
                "t": self._t(),
            }
        )
        try:
            async with trio.open_nursery() as nursery:
                for link, listener in listeners:
                    nursery.start_soon(self._accept, link, listener, nursery)
                task_status.started()
        finally:
            self._write({"event": "stop", "t": self._t()})
            with trio.CancelScope(shield=True):
                for _, listener in listeners:
                    await listener.aclose()

    async def wait_idle(self) -> None:
        """Wait until no proxied connection is open (put a deadline around the call)."""
        while self.open_connections:
            await self._idle.wait()

    async def _accept(
        self, link: Link, listener: trio.SocketListener, nursery: trio.Nursery
    ) -> None:
        while True:
            client = await listener.accept()
            conn = self._next_conn
            self._next_conn += 1
            self.open_connections += 1
            nursery.start_soon(self._connection, link, conn, client)

    async def _connection(self, link: Link, conn: int, client: trio.SocketStream) -> None:
        try:
            async with client:
                try:
                    upstream = await trio.open_tcp_stream(link.upstream_host, link.upstream_port)
                except OSError:
                    return
                async with upstream:
                    peer = client.socket.getpeername()
                    self._write(
                        {
                            "conn": conn,
                            "event": "open",
                            "dir": "c2s",
                            "link": link.name,
                            "client": f"{peer[0]}:{peer[1]}",
                            "listen": f"127.0.0.1:{self.ports[link.name]}",
                            "upstream": f"{link.upstream_host}:{link.upstream_port}",
                            "t": self._t(),
                        }
                    )
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._pump, conn, "c2s", client, upstream)
                        nursery.start_soon(self._pump, conn, "s2c", upstream, client)
        finally:
            self.open_connections -= 1
            if not self.open_connections:
                idle, self._idle = self._idle, trio.Event()
                idle.set()

    async def _pump(
        self, conn: int, direction: str, src: trio.SocketStream, dst: trio.SocketStream
    ) -> None:
        while True:
            try:
                chunk = await src.receive_some(self.chunk_size)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                chunk = b""
            if not chunk:
                self._write({"conn": conn, "event": "close", "dir": direction, "t": self._t()})
                with suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    await dst.send_eof()
                return
            self._write(
                {
                    "conn": conn,
                    "dir": direction,
                    "b64": base64.b64encode(chunk).decode(),
                    "t": self._t(),
                }
            )
            try:
                await dst.send_all(chunk)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return


# ---------------------------------------------------------------------------------------------
# the decoder


class _Bytes:
    """Buffered bytes of one direction, remembering which chunk (its ``t``) each byte came in."""

    __slots__ = ("data", "times")

    def __init__(self) -> None:
        self.data = bytearray()
        self.times: list[tuple[int, float]] = []  # (offset where a chunk starts, its t)

    def feed(self, chunk: bytes, t: float) -> None:
        self.times.append((len(self.data), t))
        self.data += chunk

    def t_at(self, offset: int) -> float:
        """The ``t`` of the chunk holding byte `offset`."""
        found = self.times[0][1]
        for start, t in self.times:
            if start > offset:
                break
            found = t
        return found

    def consume(self, n: int) -> bytes:
        out = bytes(self.data[:n])
        del self.data[:n]
        times = [(start - n, t) for start, t in self.times]
        keep = [(s, t) for s, t in times if s > 0]
        first = [(0, t) for s, t in times if s <= 0][-1:]
        self.times = first + keep if self.data else []
        return out


def _text(data: bytes) -> tuple[str, str]:
    """``("data", text)`` when `data` is UTF-8, else ``("data_b64", base64)``."""
    try:
        return "data", data.decode("utf-8")
    except UnicodeDecodeError:
        return "data_b64", base64.b64encode(data).decode()


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def sockjs_client(text: str) -> Json | None:
    """The ``sockjs`` reading of a client payload (a JSON array of strings)."""
    value = _json_or_none(text)
    if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
        return {"error": "not a sockjs client frame"}
    return {"messages": value, "dnode": [_json_or_none(m) for m in value]}


def sockjs_server(text: str) -> Json | None:
    """The ``sockjs`` reading of a server frame (``o``, ``h``, ``a[...]``, ``c[code,reason]``)."""
    if text in ("o", "h"):
        return {"frame": text}
    if text.startswith("a"):
        value = _json_or_none(text[1:])
        if isinstance(value, list) and all(isinstance(m, str) for m in value):
            return {"frame": "a", "messages": value, "dnode": [_json_or_none(m) for m in value]}
    if text.startswith("c"):
        value = _json_or_none(text[1:])
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], int):
            return {"frame": "c", "close": value}
    return None


def _path(target: str) -> str:
    return target.split("?", 1)[0]


#: SockJS transports whose answer streams (chunked) for as long as the session lasts.
_STREAMING = ("/xhr_streaming", "/eventsource", "/htmlfile")

_OPCODES = {
    0: "ws-continuation",
    1: "ws-text",
    2: "ws-binary",
    8: "ws-close",
    9: "ws-ping",
    10: "ws-pong",
}


class _Direction:
    """The parser of one direction of one connection."""

    def __init__(self, conn: int, direction: str, decoder: _Connection) -> None:
        self.conn = conn
        self.dir = direction
        self.buf = _Bytes()
        self.mode = "http"  # "http", "ws", "raw", "wait" (an Upgrade request awaits its answer)
        self.owner = decoder
        self.fragments: list[Json] = []  # a fragmented WebSocket message so far
        self.fragment_data = bytearray()
        self.streaming: Json | None = None  # a chunked response being streamed
        self.closed = False  # this direction's EOF has been seen

    def base(self, t: float, t_end: float) -> Json:
        return {"t": t, "t_end": t_end, "conn": self.conn, "dir": self.dir}

    def feed(self, chunk: bytes, t: float) -> Iterator[Json]:
        self.buf.feed(chunk, t)
        yield from self.parse(eof=False)

    def parse(self, *, eof: bool) -> Iterator[Json]:
        while self.buf.data and self.mode != "wait":
            try:
                if self.mode == "http":
                    event = self._http(eof)
                elif self.mode == "ws":
                    event = self._ws()
                else:
                    event = self._raw()
            except ValueError:  # a bad length or chunk size: the rest is kept as bytes
                self.mode, self.streaming = "raw", None
                continue
            if event is None:
                return
            yield from event

    def close(self, *, final: bool = False) -> Iterator[Json]:
        """At EOF: the rest. Bytes waiting for an upgrade's answer wait on unless `final`."""
        self.closed = True
        if self.mode == "wait" and not final:
            return
        if self.mode == "wait":
            self.mode = "raw"
        yield from self.parse(eof=True)
        if self.buf.data:
            yield from self._raw()

    # -- raw bytes nobody could decode
    def _raw(self) -> list[Json]:
        t, t_end = self.buf.t_at(0), self.buf.t_at(len(self.buf.data) - 1)
        data = self.buf.consume(len(self.buf.data))
        return [
            {**self.base(t, t_end), "kind": "tcp-data", "data_b64": base64.b64encode(data).decode()}
        ]

    # -- HTTP/1.1
    def _http(self, eof: bool) -> list[Json] | None:
        if self.streaming is not None:
            return self._body_chunk(eof)
        data = self.buf.data
        end = data.find(b"\r\n\r\n")
        if end < 0:
            if eof:
                self.mode = "raw"
                return []
            return None
        head = bytes(data[:end]).decode("latin-1").split("\r\n")
        start_line, header_lines = head[0], head[1:]
        headers: list[list[str]] = []
        for line in header_lines:
            name, sep, value = line.partition(":")
            if not sep:
                self.mode = "raw"
                return []
            headers.append([name, value.strip(" \t")])
        lower = {name.lower(): value for name, value in headers}
        offset = end + 4
        if self.dir == "c2s":
            parts = start_line.split(" ")
            if len(parts) != 3:
                self.mode = "raw"
                return []
            method, target, version = parts
            self.owner.requests.append(f"{method} {target}")
            self.owner.heads.append(method == "HEAD")
            fields: Json = {
                "kind": "http-request",
                "method": method,
                "target": target,
                "version": version,
                "headers": headers,
            }
            length = 0  # a request without Content-Length or chunked has no body
        else:
            version, _, rest = start_line.partition(" ")
            status_text, _, reason = rest.partition(" ")
            if not status_text.isdigit():
                self.mode = "raw"
                return []
            status = int(status_text)
            # the request it answers leaves the queue once the response is complete
            request = self.owner.requests[0] if self.owner.requests else ""
            head_request = self.owner.heads[0] if self.owner.heads else False
            fields = {
                "kind": "http-response",
                "version": version,
                "status": status,
                "reason": reason,
                "headers": headers,
                "request": request,
            }
            no_body = head_request or status in (101, 204, 304) or 100 <= status < 200
            length = 0 if no_body else -1  # -1: until the end of the stream
            if no_body:
                return self._message(fields, offset, 0)
        if "chunked" in lower.get("transfer-encoding", "").lower():
            return self._chunked(fields, offset, eof)
        if "content-length" in lower:
            length = int(lower["content-length"])
        if length < 0:
            if not eof:
                return None
            length = len(data) - offset
        if len(data) < offset + length:
            return None
        return self._message(fields, offset, length)

    def _message(self, fields: Json, offset: int, length: int) -> list[Json]:
        t = self.buf.t_at(0)
        t_end = self.buf.t_at(offset + length - 1)
        body = self.buf.consume(offset + length)[offset:]
        event = {**self.base(t, t_end), **fields}
        return [self._with_body(event, body)]

    def _with_body(self, event: Json, body: bytes) -> Json:
        key, text = _text(body)
        event["body" if key == "data" else "body_b64"] = text
        kind = event["kind"]
        if kind == "http-response":
            self.owner.answered()
        if kind == "http-request" and any(k.lower() == "upgrade" for k, _ in event["headers"]):
            self.mode = "wait"  # what follows is WebSocket if the answer is a 101
        elif event.get("status") == 101:
            self.owner.upgrade()
        elif kind == "http-response" and self.owner.sides["c2s"].mode == "wait":
            self.owner.sides["c2s"].mode = "http"
        if key != "data":
            return event
        if kind == "http-request" and _path(event["target"]).endswith("/xhr_send"):
            event["sockjs"] = sockjs_client(text)
        elif kind == "http-response" and _path(event["request"].partition(" ")[2]).endswith("/xhr"):
            event["sockjs"] = sockjs_server(text.removesuffix("\n"))
        return event

    def _chunked(self, fields: Json, offset: int, eof: bool) -> list[Json] | None:
        """A chunked body, whole once complete; a streaming SockJS answer as it comes."""
        target = _path(str(fields.get("request", "")).partition(" ")[2])
        if fields["kind"] == "http-response" and target.endswith(_STREAMING):
            # its head now, then one ``http-body-chunk`` per HTTP chunk as it arrives
            t = self.buf.t_at(0)
            self.buf.consume(offset)
            self.streaming = fields
            self.owner.answered()
            return [{**self.base(t, t), **fields, "body": ""}]
        data = self.buf.data
        pos, body = offset, bytearray()
        while (line_end := data.find(b"\r\n", pos)) >= 0:
            size = int(bytes(data[pos:line_end]).split(b";")[0], 16)
            if size == 0:
                trailer = data.find(b"\r\n\r\n", line_end)
                if trailer < 0:
                    break
                t, t_end = self.buf.t_at(0), self.buf.t_at(trailer + 3)
                self.buf.consume(trailer + 4)
                return [self._with_body({**self.base(t, t_end), **fields}, bytes(body))]
            if len(data) < line_end + 2 + size + 2:
                break
            body += data[line_end + 2 : line_end + 2 + size]
            pos = line_end + 2 + size + 2
        return self._raw() if eof else None

    def _body_chunk(self, eof: bool) -> list[Json] | None:
        data = self.buf.data
        line_end = data.find(b"\r\n")
        if line_end < 0:
            return self._raw() if eof else None
        size = int(bytes(data[:line_end]).split(b";")[0] or b"0", 16)
        end = line_end + 2 + size + 2
        if size == 0:
            end = line_end + 4 if data[line_end : line_end + 4] == b"\r\n\r\n" else -1
            if end < 0:
                return self._raw() if eof else None
            self.buf.consume(end)
            self.streaming = None
            return []
        if len(data) < end:
            return self._raw() if eof else None
        t, t_end = self.buf.t_at(0), self.buf.t_at(end - 1)
        chunk = self.buf.consume(end)[line_end + 2 : line_end + 2 + size]
        key, text = _text(chunk)
        event = {**self.base(t, t_end), "kind": "http-body-chunk", key: text}
        if key == "data":
            # one frame per line; the xhr_streaming prelude (2048 ``h`` then ``\n``) is none
            lines = [x for x in text.split("\n") if x and not (len(x) > 1 and x.strip("h") == "")]
            readings = [sockjs_server(x) for x in lines]
            if len(readings) <= 1:
                event["sockjs"] = readings[0] if readings else None
            else:
                event["sockjs"] = {"frames": readings}
        return [event]

    # -- WebSocket frames
    def _ws(self) -> list[Json] | None:
        data = self.buf.data
        if len(data) < 2:
            return None
        b0, b1 = data[0], data[1]
        length, pos = b1 & 0x7F, 2
        if length == 126:
            if len(data) < 4:
                return None
            (length,) = struct.unpack_from("!H", data, 2)
            pos = 4
        elif length == 127:
            if len(data) < 10:
                return None
            (length,) = struct.unpack_from("!Q", data, 2)
            pos = 10
        masked = bool(b1 & 0x80)
        mask = b""
        if masked:
            if len(data) < pos + 4:
                return None
            mask = bytes(data[pos : pos + 4])
            pos += 4
        if len(data) < pos + length:
            return None
        t, t_end = self.buf.t_at(0), self.buf.t_at(pos + length - 1)
        payload = self.buf.consume(pos + length)[pos:]
        if masked:
            payload = _unmask(payload, mask)
        opcode = b0 & 0x0F
        fin = bool(b0 & 0x80)
        event: Json = {
            **self.base(t, t_end),
            "kind": _OPCODES.get(opcode, f"ws-opcode-{opcode}"),
            "fin": fin,
            "rsv": (b0 >> 4) & 0x07,
            "masked": masked,
            "payload_len": length,
        }
        if masked:
            event["mask"] = mask.hex()
        out = [event]
        if opcode == 8:
            code = struct.unpack_from("!H", payload)[0] if len(payload) >= 2 else None
            event["code"] = code
            event["reason"] = payload[2:].decode("utf-8", "replace")
            if len(payload) == 1 or _text(payload[2:])[0] == "data_b64":
                event["data_b64"] = base64.b64encode(payload).decode()  # the bytes as they were
        elif opcode == 2:
            event["data_b64"] = base64.b64encode(payload).decode()
        else:
            key, text = _text(payload)
            event[key] = text
            if opcode == 1 and fin and key == "data":
                event["sockjs"] = self._sockjs(text)
        if opcode in (1, 2) and not fin:
            self.fragments = [event]
            self.fragment_data = bytearray(payload)
        elif opcode == 0 and self.fragments:
            self.fragments.append(event)
            self.fragment_data += payload
            if fin:
                out.append(self._message_of_fragments())
        return out

    def _sockjs(self, text: str) -> Json | None:
        return sockjs_client(text) if self.dir == "c2s" else sockjs_server(text)

    def _message_of_fragments(self) -> Json:
        first, last = self.fragments[0], self.fragments[-1]
        data = bytes(self.fragment_data)
        text = first["kind"] == "ws-text"
        message: Json = {
            **self.base(first["t"], last["t_end"]),
            "kind": "ws-message",
            "opcode": "text" if text else "binary",
            "frames": len(self.fragments),
            "payload_len": len(data),
        }
        key, value = _text(data) if text else ("data_b64", base64.b64encode(data).decode())
        message[key] = value
        if text and key == "data":
            message["sockjs"] = self._sockjs(value)
        self.fragments, self.fragment_data = [], bytearray()
        return message


def _unmask(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""


class _Connection:
    """Both directions of one connection, and what they share (requests awaiting answers)."""

    def __init__(self, conn: int) -> None:
        self.requests: list[str] = []
        self.heads: list[bool] = []
        self.sides = {d: _Direction(conn, d, self) for d in ("c2s", "s2c")}

    def answered(self) -> None:
        """The oldest request has its (complete) response."""
        if self.requests:
            del self.requests[0], self.heads[0]

    def upgrade(self) -> None:
        for side in self.sides.values():
            side.mode = "ws"


def decode_raw(lines: Iterable[Mapping[str, Any]]) -> list[Json]:
    """The decoded events (``NAME.jsonl``) of the raw lines (``NAME.raw.jsonl``), in order."""
    conns: dict[int, _Connection] = {}
    out: list[Json] = []
    for line in lines:
        event = line.get("event")
        if event in ("start", "stop"):
            continue
        conn = int(line["conn"])
        if event == "open":
            conns[conn] = _Connection(conn)
            extra = {k: v for k, v in line.items() if k not in ("conn", "event", "dir", "t")}
            out.append({"t": line["t"], "conn": conn, "dir": line["dir"], "kind": "tcp-open"})
            out[-1].update(extra)
            continue
        side = conns.setdefault(conn, _Connection(conn)).sides[line["dir"]]
        if event == "close":
            out.extend(side.close())
            out.append({"t": line["t"], "conn": conn, "dir": line["dir"], "kind": "tcp-close"})
            continue
        try:
            chunk = base64.b64decode(line["b64"])
        except binascii.Error:
            continue
        out.extend(side.feed(chunk, line["t"]))
        other = conns[conn].sides["s2c" if line["dir"] == "c2s" else "c2s"]
        if other.buf.data:  # bytes that waited for this side (e.g. frames after an upgrade)
            out.extend(other.close() if other.closed else other.parse(eof=False))
    for conn_ in conns.values():  # what was left waiting (a capture cut short)
        for side in conn_.sides.values():
            if side.buf.data:
                out.extend(side.close(final=True))
    out.sort(key=lambda e: e["t"])  # stable: by first byte, ties in completion order
    return out


def decode_raw_file(path: Path) -> list[Json]:
    """`decode_raw` of a ``NAME.raw.jsonl`` file."""
    return decode_raw(parse_raw_lines(path.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------------------------
# recording a scenario

#: Values that change from run to run in a goclient → gomath recording (``meta.nondeterministic``).
NONDETERMINISTIC: tuple[str, ...] = (
    "t / t_end (timing) and TCP chunk boundaries",
    "tcp-open.client (ephemeral client port); listen/upstream ports (picked at random here)",
    "SockJS server_id (3 digits) and session_id (20 hex chars) in "
    "/kite/<server_id>/<session_id>/{websocket,xhr,xhr_send}",
    "Sec-WebSocket-Key / Sec-WebSocket-Accept headers",
    "WebSocket masking keys (mask) of client->server frames",
    "Date headers",
    "kite.id (uuid v4) inside the dnode 'kite' objects",
    "kite.hostname (os.Hostname())",
    "error.id (16 hex char request id) in kite error objects",
)


class RecordError(Exception):
    """A scenario could not be recorded (bad output folder, a peer that would not start)."""


@dataclass(frozen=True, slots=True)
class Recording:
    """What `record_scenario` wrote: the three files, the client's exit code and output."""

    name: str
    directory: Path
    returncode: int
    stdout: str
    events: int

    @property
    def files(self) -> tuple[Path, Path, Path]:
        """``NAME.raw.jsonl``, ``NAME.jsonl``, ``NAME.meta.json``."""
        d, n = self.directory, self.name
        return (d / f"{n}.raw.jsonl", d / f"{n}.jsonl", d / f"{n}.meta.json")


async def record_scenario(
    name: str,
    *,
    directory: Path,
    method: str,
    args: str = "[]",
    transport: str = "websocket",
    python_server: bool = False,
    server_flags: Sequence[str] = (),
    description: str | None = None,
    expect: str | None = None,
    settle: float = 2.0,
    client_timeout: float = 30.0,
    client_flags: Sequence[str] = (),
    raw_frames: bytes | None = None,
) -> Recording:
    """Record ``goclient -method METHOD -args ARGS`` → proxy → ``gomath`` into `directory`.

    Args:
        name: the scenario name (the files are ``NAME.raw.jsonl``, ``NAME.jsonl``,
            ``NAME.meta.json``; existing ones are replaced).
        directory: where to write them; the captures' ``keys/`` are copied there when missing
            (the replay reads them).
        method, args, transport: goclient's ``-method``, ``-args`` (JSON text), ``-transport``.
        python_server: serve our Python twin of gomath (`_gomath.gomath_kite`) instead of Go's.
        server_flags: extra flags for Go's gomath (e.g. ``-auth``); not with `python_server`.
        description: ``meta.description`` (a default names the call and transport).
        expect: a regex goclient's stdout must match (``meta.checks``).
        settle: seconds to wait for the peers to close their connections after the call.
        client_timeout: seconds goclient may take.
        client_flags: extra flags for goclient (e.g. ``-calls JSON -parallel``, ``-kitekey``).
        raw_frames: instead of goclient, a raw WebSocket client (`raw_websocket_client`) opens
            a SockJS WebSocket and sends these bytes after the open frame, then a close frame
            (a ``rawclient`` step: the replay tests the server role only).
    """
    from ._captures import CAPTURES_DIR
    from ._gopeers import build_go_peers, run_go_program

    if python_server and server_flags:
        raise RecordError("server flags are for Go's gomath; the Python twin takes none")
    _prepare(directory, CAPTURES_DIR)
    build = build_go_peers()
    cwd = build.bin_dir.parent
    raw_path = directory / f"{name}.raw.jsonl"
    client_argv = ["-url", "", "-transport", transport, "-method", method, "-args", args]
    client_argv += client_flags
    steps: list[Json] = []
    async with _server(build, python_server, server_flags, directory) as (port, server_step):
        steps.append(server_step)
        link = Link("math", 0, "127.0.0.1", port)
        recorded_at = time.time()  # the capture's clock: the replay judges keys and tokens on it
        with raw_path.open("w", encoding="utf-8") as raw:
            proxy = RecordingProxy([link], raw)
            async with trio.open_nursery() as nursery:
                await nursery.start(proxy.serve)
                steps.append(
                    {
                        "action": "start-proxy",
                        "cmd": f"conformance._recorder.RecordingProxy --map "
                        f"{link.spec(proxy.ports['math'])}",
                        "maps": ["math"],
                    }
                )
                client_argv[1] = f"http://127.0.0.1:{proxy.ports['math']}/kite"
                started = time.monotonic()
                if raw_frames is None:
                    result = await run_go_program(
                        build, "goclient", client_argv, time_limit=client_timeout
                    )
                else:
                    result = await raw_websocket_client(proxy.ports["math"], raw_frames)
                seconds = round(time.monotonic() - started, 3)
                with trio.move_on_after(settle):
                    await proxy.wait_idle()
                all_closed = proxy.open_connections == 0
                nursery.cancel_scope.cancel()
    if raw_frames is not None:
        label, cmd = "rawclient", shlex.join(["rawclient", "ws-frames", raw_frames.hex()])
    else:
        label, cmd = "goclient", shlex.join(["bin/goclient", *client_argv])
    steps.append(
        {
            "action": "run",
            "label": label,
            "cmd": cmd,
            "rc": result.returncode,
            "during_capture": True,
            "seconds": seconds,
        }
    )
    checks = []
    if expect is not None:
        ok = re.search(expect, result.stdout) is not None
        checks.append({"label": label, "regex": expect, "ok": ok})
    server = "Python" if python_server else "Go"
    kind = "XHR" if transport == "xhr" else "WebSocket"
    call = f"{method}({args.strip()[1:-1]})"
    if "-calls" in client_flags:
        call = "several methods on one connection (-calls)"
    default = f"goclient calls {call} on {server} gomath. Transport: {kind}."
    if raw_frames is not None:
        default = f"a raw WebSocket client sends {raw_frames.hex()} to {server} gomath."
    meta: Json = {
        "name": name,
        "description": description or default,
        "recorded_at": round(recorded_at, 3),
        "cwd": str(_relative(cwd)),
        "env": {"KITE_HOME": "(an empty temporary folder)"},
        "steps": steps,
        "proxy": steps[1]["cmd"],
        "client_outputs": [{"label": label, "rc": result.returncode, "stdout": result.stdout}],
        "checks": checks,
        "verified": all(c["ok"] for c in checks),
        "all_connections_closed_before_stop": all_closed,
        "nondeterministic": list(NONDETERMINISTIC),
        "software": {
            "go toolchain": build.toolchain,
            "server": "conformance._gomath.gomath_kite (Python)" if python_server else "gomath",
            "recorder": "conformance._recorder (python -m conformance.record)",
        },
        "notes": [f"goclient stderr: {result.stderr[-2000:]}"] if result.stderr.strip() else [],
    }
    events = _write_decoded(directory, name, meta)
    return Recording(name, directory, result.returncode, result.stdout, events)


async def raw_websocket_client(port: int, frames: bytes, time_limit: float = 10.0) -> Any:
    """A raw client: SockJS WebSocket handshake on 127.0.0.1:`port`, wait for the open frame,
    send `frames` (as given: masked or not), read what the server answers, then, unless the
    server has closed TCP within 0.5 s, send a close frame 1000 and read until it does.

    Returns a `GoResult` whose ``stdout`` is every byte read after the handshake, in hex.
    """
    from ._gopeers import GoResult

    stream = await trio.open_tcp_stream("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    close = b"\x88\x82" + b"\x00\x00\x00\x00" + b"\x03\xe8"  # masked (zero key) close 1000
    received = b""
    with trio.move_on_after(time_limit):
        await stream.send_all(
            (
                "GET /kite/000/rawclient/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        while b"\r\n\r\n" not in received:
            received += await stream.receive_some(4096)
        received = received.split(b"\r\n\r\n", 1)[1]
        while len(received) < 3:  # "o"
            received += await stream.receive_some(4096)
        try:
            await stream.send_all(frames)
            closed = False
            with trio.move_on_after(0.5):  # the server's answer to the frames comes first
                while chunk := await stream.receive_some(4096):
                    received += chunk
                closed = True
            if not closed:  # still open: end it the proper way
                await stream.send_all(close)
                while chunk := await stream.receive_some(4096):
                    received += chunk
        except trio.BrokenResourceError:
            pass
    await stream.aclose()
    return GoResult(returncode=0, stdout=received.hex() + "\n", stderr="")


def _write_decoded(directory: Path, name: str, meta: Json) -> int:
    """Decode ``NAME.raw.jsonl`` into ``NAME.jsonl``, write ``NAME.meta.json``; the event count."""
    raw_path = directory / f"{name}.raw.jsonl"
    events = decode_raw_file(raw_path)
    (directory / f"{name}.jsonl").write_text(dump_events(events), encoding="utf-8")
    counts: dict[str, int] = {}
    for event in events:
        counts[event["kind"]] = counts.get(event["kind"], 0) + 1
    meta = {**meta, "event_counts": counts}
    meta["files"] = {"raw": raw_path.name, "decoded": f"{name}.jsonl"}
    text = json.dumps(meta, ensure_ascii=False, indent=2) + "\n"
    (directory / f"{name}.meta.json").write_text(text, encoding="utf-8")
    return len(events)


def _prepare(directory: Path, captures: Path) -> None:
    """Create `directory`, with a copy of the captures' ``keys/`` (the replay reads them)."""
    directory.mkdir(parents=True, exist_ok=True)
    if directory.resolve() != captures.resolve() and not (directory / "keys").exists():
        shutil.copytree(captures / "keys", directory / "keys")


def _relative(path: Path) -> Path:
    root = Path(__file__).resolve().parent.parent
    try:
        return path.resolve().relative_to(root)
    except ValueError:
        return path


@asynccontextmanager
async def _server(
    build: Any, python_server: bool, flags: Sequence[str], directory: Path
) -> AsyncIterator[tuple[int, Json]]:
    """The recorded server, running for the block: (its port, its ``steps`` entry)."""
    if python_server:
        from kite import kite_sockjs_options

        from ._gomath import gomath_kite

        k = gomath_kite(captures=directory)
        options = kite_sockjs_options(k.config, allowed_origins=("*",))  # Go's: every origin
        async with k.serve("127.0.0.1", 0, options=options, grace_period=0.5) as server:
            yield (
                server.port,
                {
                    "action": "start-in-process",
                    "label": "gomath",
                    "cmd": "python: conformance._gomath.gomath_kite().serve('127.0.0.1', 0)",
                    "during_capture": False,
                },
            )
        return
    from ._gopeers import open_go_peer

    async with open_go_peer(build, "gomath", *flags) as peer:
        cmd = shlex.join(["bin/gomath", "-port", "0", *flags])
        yield (
            peer.port,
            {
                "action": "start-background",
                "label": "gomath",
                "cmd": cmd,
                "during_capture": False,
            },
        )
