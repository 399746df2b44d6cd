"""Bytes on the wire for the replay: captured client events back to bytes, server bytes to events.

How this works: the replay plays a captured client against our server over a real TCP socket.
`request_bytes` and `ws_frame_bytes` rebuild what the captured client sent from its decoded
events (HTTP request line, headers and body; WebSocket frames with their recorded FIN, RSV,
opcode and masking key, so even fragments and garbage frames go out as Go's peers sent them).
`ServerReader` reads what our server answers and cuts it into the same kinds of events the
capture decoder produced: ``http-response`` (Content-Length, chunked or until EOF bodies),
then, after a ``101``, WebSocket messages (fragments joined, as the capture's ``ws-message``
does), and ``tcp-close`` at end of stream. It reads lazily, only when the replay wants the next
event of that connection, with a deadline.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import trio

from ._captures import Event

__all__ = ["ReplayError", "ServerEvent", "ServerReader", "request_bytes", "ws_frame_bytes"]

_OPCODES = {
    "ws-continuation": 0x0,
    "ws-text": 0x1,
    "ws-binary": 0x2,
    "ws-close": 0x8,
    "ws-ping": 0x9,
    "ws-pong": 0xA,
}
_KINDS = {code: kind for kind, code in _OPCODES.items()}
_MAX_HEAD = 64 * 1024


class ReplayError(Exception):
    """Our server's bytes could not be read as HTTP/WebSocket, or it did not answer in time."""


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """One thing our server sent: an HTTP response, a WebSocket message, or end of stream."""

    kind: str  # http-response, ws-text, ws-binary, ws-close, ws-ping, ws-pong, tcp-close
    status: int | None = None
    reason: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""  # HTTP body, or the WebSocket message payload
    code: int | None = None
    close_reason: str | None = None


def request_bytes(event: Event) -> bytes:
    """The HTTP request a decoded ``http-request`` event describes, byte for byte."""
    head = f"{event.method} {event.target} {event.version}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in event.headers)
    return (head + "\r\n").encode("latin-1") + (event.body or "").encode()


def ws_frame_bytes(event: Event) -> bytes:
    """The client WebSocket frame a decoded ``ws-*`` event describes: masked as recorded (or
    not masked, when it was not), any opcode (``ws-opcode-3``), a close payload as its bytes
    when they were no code and UTF-8 reason (``data_b64``)."""
    kind = event.kind
    opcode = _OPCODES[kind] if kind in _OPCODES else int(kind.removeprefix("ws-opcode-"))
    if kind == "ws-close" and event.code is not None and event.data_b64 is None:
        payload = struct.pack("!H", event.code) + (event.reason or "").encode()
    else:
        payload = event.payload
    first = (0x80 if event.fin else 0) | ((event.rsv or 0) << 4) | opcode
    bit = 0 if event.masked is False else 0x80
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, bit | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, bit | 127, n)
    if not bit:
        return head + payload
    mask = bytes.fromhex(event.mask) if event.mask else b"\x00\x00\x00\x00"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if any(mask) else payload
    return head + mask + masked


class ServerReader:
    """Cuts one connection's server bytes into `ServerEvent`s, reading on demand."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buf = bytearray()
        self._eof = False
        self._websocket = False
        self.head_requests: list[bool] = []  # per request sent: was it HEAD (no body)?

    async def _fill(self) -> bool:
        if self._eof:
            return False
        try:
            data = await self._stream.receive_some(65536)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    async def _need(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not await self._fill():
                raise ReplayError(f"connection ended inside a message ({len(self._buf)}/{n} bytes)")
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    async def _line(self) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            if len(self._buf) > _MAX_HEAD or not await self._fill():
                raise ReplayError("connection ended inside an HTTP head")
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    async def next_event(self) -> ServerEvent:
        """The next event our server sent on this connection (``tcp-close`` at its end)."""
        if not self._buf and not await self._fill():
            return ServerEvent("tcp-close")
        if self._websocket:
            return await self._ws_message()
        return await self._http_response()

    async def _http_response(self) -> ServerEvent:
        status_line = (await self._line()).decode("latin-1")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise ReplayError(f"not an HTTP status line: {status_line!r}")
        status = int(parts[1])
        headers: list[tuple[str, str]] = []
        while line := await self._line():
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        lower = {n.lower(): v for n, v in headers}
        head_request = self.head_requests.pop(0) if self.head_requests else False
        body = b""
        if status == 101:
            self._websocket = True
        elif head_request or status in (204, 304) or 100 <= status < 200:
            pass
        elif "chunked" in lower.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int((await self._line()).split(b";")[0], 16)
                if size == 0:
                    while await self._line():
                        pass
                    break
                chunks.append(await self._need(size))
                await self._need(2)
            body = b"".join(chunks)
        elif "content-length" in lower:
            body = await self._need(int(lower["content-length"]))
        else:
            while await self._fill():
                pass
            body = bytes(self._buf)
            self._buf.clear()
        return ServerEvent(
            "http-response",
            status=status,
            reason=parts[2] if len(parts) > 2 else "",
            headers=tuple(headers),
            body=body,
        )

    async def _ws_frame(self) -> tuple[bool, int, bytes]:
        b0, b1 = await self._need(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self._need(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self._need(8))
        mask = await self._need(4) if b1 & 0x80 else b""
        payload = await self._need(n)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        return bool(b0 & 0x80), b0 & 0x0F, payload

    async def _ws_message(self) -> ServerEvent:
        fin, opcode, payload = await self._ws_frame()
        if opcode not in _KINDS or opcode == 0:
            raise ReplayError(f"unexpected WebSocket opcode {opcode:#x}")
        parts = [payload]
        while not fin:
            fin, more, payload = await self._ws_frame()
            if more != 0:
                raise ReplayError(f"opcode {more:#x} inside a fragmented message")
            parts.append(payload)
        body = b"".join(parts)
        kind = _KINDS[opcode]
        if kind == "ws-close":
            code = struct.unpack("!H", body[:2])[0] if len(body) >= 2 else None
            reason = body[2:].decode("utf-8", "replace")
            return ServerEvent(kind, body=body, code=code, close_reason=reason)
        return ServerEvent(kind, body=body)
