"""Received WebSocket frames judged as gorilla/websocket v1.2.0 (Go kite's WebSocket) judges them.

How this works: once wsproto runs a connection (see `_websocket`), every received byte passes
through a `FrameGate` first. The gate reads each frame header and applies gorilla's checks, in
gorilla's order, then hands wsproto the frame in a form wsproto accepts for exactly what gorilla
accepts:

* a violation gorilla answers with close 1002 stops the bytes before that frame and is kept
  in `violation` (its reason is gorilla's text: ``incorrect mask flag``, ``unexpected reserved
  bits 0x40``, ``unknown opcode 3``, ``control frame length > 125``, ``control frame not
  final``, ``continuation after final message frame``, ``invalid close code``, ``invalid utf8
  payload in close frame``); a new message inside a fragmented one, and a 64-bit length with
  its top bit set, end the connection with no close frame (what Go kite's peers see);
* lengths are re-encoded in their shortest form (gorilla accepts longer ones);
* text frames are handed on as binary (gorilla does not check UTF-8: sockjs-go reads the
  bytes as JSON, invalid bytes as U+FFFD); `kinds` records which messages were text;
* a close frame with a 1-byte payload is handed on with none (gorilla reads it as "no
  status" and answers with an empty close frame).

Sans-IO: bytes in, bytes out, no trio.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from typing import Final

__all__ = ["FrameGate", "GateViolation"]

_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_CONTROL: Final = frozenset((_CLOSE, _PING, _PONG))

#: Close codes gorilla accepts from a peer (besides 3000-4999).
VALID_RECEIVED_CLOSE_CODES: Final = frozenset(
    (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013)
)


@dataclass(frozen=True, slots=True)
class GateViolation:
    """A frame gorilla refuses: close with `code` and `reason`, or drop TCP when `code` is None."""

    code: int | None
    reason: str


def _close_code_valid(code: int) -> bool:
    return code in VALID_RECEIVED_CLOSE_CODES or 3000 <= code <= 4999


def _head(b0: int, masked: bool, length: int) -> bytes:
    """A frame header with the shortest length encoding (mask key not included)."""
    mask_bit = 0x80 if masked else 0
    if length < 126:
        return bytes((b0, mask_bit | length))
    if length < 0x10000:
        return struct.pack("!BBH", b0, mask_bit | 126, length)
    return struct.pack("!BBQ", b0, mask_bit | 127, length)


class FrameGate:
    """Checks and normalises the frames received on one connection (see the module docstring).

    Args:
        server: whether we are the server (frames from the peer must be masked).
    """

    __slots__ = ("_buffer", "_fragmented", "_masked", "_remaining", "kinds", "violation")

    def __init__(self, *, server: bool) -> None:
        self._masked = server
        self._buffer = b""
        #: Payload bytes of the current data frame still to pass through unchanged.
        self._remaining = 0
        self._fragmented = False
        #: The opcode (text or binary) of each message handed on, oldest first.
        self.kinds: deque[int] = deque()
        #: The first violation met; no byte from its frame on is handed on.
        self.violation: GateViolation | None = None

    def feed(self, data: bytes) -> bytes:
        """Take received bytes; return the bytes to hand to wsproto."""
        if self.violation is not None:
            return b""
        buf = self._buffer + data if self._buffer else data
        out = bytearray()
        pos = 0
        end = len(buf)
        while pos < end:
            if self._remaining:
                n = min(self._remaining, end - pos)
                out += buf[pos : pos + n]
                pos += n
                self._remaining -= n
                continue
            used = self._frame(buf, pos, out)
            if used == 0:  # incomplete header (or control frame): wait for more bytes
                break
            if used < 0:  # refused: nothing from this frame on is handed on
                pos = end
                break
            pos += used
        self._buffer = buf[pos:] if pos < end else b""
        return bytes(out)

    def _frame(self, buf: bytes, pos: int, out: bytearray) -> int:
        """Judge the frame starting at `buf[pos]`; append what to hand on to `out`.

        Returns the bytes consumed (header, and the payload of a control frame), 0 when more
        bytes are needed, -1 when gorilla refuses the frame (`violation` says why).
        """
        have = len(buf) - pos
        if have < 2:
            return 0
        b0, b1 = buf[pos], buf[pos + 1]
        fin = b0 & 0x80
        opcode = b0 & 0x0F
        masked = bool(b1 & 0x80)
        length = b1 & 0x7F
        # gorilla's order: reserved bits, control frame rules, message order, opcode.
        rsv = b0 & 0x70
        if rsv:
            return self._refuse(1002, f"unexpected reserved bits 0x{rsv:x}")
        if opcode in _CONTROL:
            if length > 125:
                return self._refuse(1002, "control frame length > 125")
            if not fin:
                return self._refuse(1002, "control frame not final")
        elif opcode in (_TEXT, _BINARY):
            if self._fragmented:
                return self._refuse(None, "message start before final message frame")
        elif opcode == _CONTINUATION:
            if not self._fragmented:
                return self._refuse(1002, "continuation after final message frame")
        else:
            return self._refuse(1002, f"unknown opcode {opcode}")
        size = 2
        if length == 126:
            if have < 4:
                return 0
            length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
            size = 4
        elif length == 127:
            if have < 10:
                return 0
            length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
            size = 10
            if length >> 63:  # a negative int64 for gorilla: it reads nothing sensible
                return self._refuse(None, "negative frame length")
        if masked != self._masked:
            return self._refuse(1002, "incorrect mask flag")
        key = b""
        if masked:
            if have < size + 4:
                return 0
            key = buf[pos + size : pos + size + 4]
            size += 4
        if opcode not in _CONTROL:
            if opcode != _CONTINUATION:
                self.kinds.append(opcode)
                b0 = (b0 & 0x80) | _BINARY  # wsproto must not check UTF-8 (gorilla does not)
            self._fragmented = not fin
            out += _head(b0, masked, length) + key
            self._remaining = length
            return size
        if have < size + length:
            return 0
        payload = buf[pos + size : pos + size + length]
        if opcode == _CLOSE:
            plain = _unmask(payload, key) if masked else payload
            if len(plain) >= 2:
                if not _close_code_valid(int.from_bytes(plain[:2], "big")):
                    return self._refuse(1002, "invalid close code")
                try:
                    plain[2:].decode("utf-8")
                except UnicodeDecodeError:
                    return self._refuse(1002, "invalid utf8 payload in close frame")
            elif plain:  # one byte: no status, as gorilla reads it
                payload = b""
                length = 0
        out += _head(b0, masked, length) + key + payload
        return size + length

    def _refuse(self, code: int | None, reason: str) -> int:
        self.violation = GateViolation(code, reason)
        return -1


def _unmask(payload: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i & 3] for i, b in enumerate(payload))
