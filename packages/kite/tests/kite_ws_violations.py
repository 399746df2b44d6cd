"""WebSocket frames that break RFC 6455, and what Go kite (gorilla/websocket v1.2.0) answers.

Each case is the bytes a client sends after the handshake, and the frames Go kite's WebSocket
sends back before closing TCP: `GORILLA_ANSWERS`, as recorded from a live `gomath`
(`conformance/tests/test_ws_violations_go.py` checks them against it again, byte for byte, and
against our kite). Shared by that test and `test_ws_gorilla.py`.
"""

from __future__ import annotations

import base64
import struct

import trio

KEY = b"\x01\x02\x03\x04"


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = True,
    length: int | None = None,
    wide: int = 0,
) -> bytes:
    """One frame as a client would write it (or would not: every field can be wrong).

    `wide` forces a 16-bit (2) or 64-bit (8) length field for a short payload.
    """
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    mask_bit = 0x80 if mask else 0
    if wide == 8 or n >= 0x10000:
        head = struct.pack("!BBQ", b0, mask_bit | 127, n)
    elif wide == 2 or n >= 126:
        head = struct.pack("!BBH", b0, mask_bit | 126, n)
    else:
        head = bytes((b0, mask_bit | n))
    if not mask:
        return head + payload
    return head + KEY + bytes(b ^ KEY[i % 4] for i, b in enumerate(payload))


async def open_raw_websocket(port: int, path: str) -> tuple[trio.SocketStream, bytes]:
    """A WebSocket handshake by hand on 127.0.0.1; the stream and the bytes after the 101."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    key = base64.b64encode(b"0123456789abcdef").decode()
    await stream.send_all(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
            f"Upgrade: websocket\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    received = b""
    with trio.fail_after(5):
        while b"\r\n\r\n" not in received:
            received += await stream.receive_some(4096)
    head, rest = received.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return stream, rest


def close(code: int, reason: bytes = b"") -> bytes:
    """An unmasked close frame as a server writes it."""
    payload = struct.pack("!H", code) + reason
    return bytes((0x88, len(payload))) + payload


#: Sent bytes -> what Go kite answers before it closes TCP (then nothing more).
GORILLA_ANSWERS: dict[str, tuple[bytes, bytes]] = {
    "unmasked": (frame(1, b'["x"]', mask=False), close(1002, b"incorrect mask flag")),
    "unmasked-header-only": (
        frame(1, b"x" * 100, mask=False)[:20],
        close(1002, b"incorrect mask flag"),
    ),
    "unmasked-ping": (frame(9, b"hi", mask=False), close(1002, b"incorrect mask flag")),
    "unmasked-close": (frame(8, b"\x03\xe8", mask=False), close(1002, b"incorrect mask flag")),
    "rsv1": (frame(1, b'["x"]', rsv=4), close(1002, b"unexpected reserved bits 0x40")),
    "rsv2": (frame(1, b'["x"]', rsv=2), close(1002, b"unexpected reserved bits 0x20")),
    "rsv3": (frame(1, b'["x"]', rsv=1), close(1002, b"unexpected reserved bits 0x10")),
    "rsv-before-mask": (
        frame(1, b'["x"]', rsv=4, mask=False),
        close(1002, b"unexpected reserved bits 0x40"),
    ),
    "opcode-3": (frame(3, b"x"), close(1002, b"unknown opcode 3")),
    "opcode-11": (frame(11, b"x"), close(1002, b"unknown opcode 11")),
    "ping-126": (frame(9, b"x" * 126), close(1002, b"control frame length > 125")),
    "close-126": (frame(8, b"\x03\xe8" + b"x" * 124), close(1002, b"control frame length > 125")),
    "ping-fragmented": (frame(9, b"x", fin=False), close(1002, b"control frame not final")),
    "continuation-first": (
        frame(0, b"x"),
        close(1002, b"continuation after final message frame"),
    ),
    "unmasked-continuation": (
        frame(1, b'["', fin=False) + frame(0, b'x"]', mask=False),
        close(1002, b"incorrect mask flag"),
    ),
    # gorilla sends no close frame for these: sockjs-go's empty text frame, then TCP closes.
    "text-inside-fragments": (frame(1, b"a", fin=False) + frame(1, b"b"), b"\x81\x00"),
    "length-top-bit": (struct.pack("!BBQ", 0x81, 0x80 | 127, 1 << 63) + KEY, b"\x81\x00"),
    # close frames: gorilla's code and reason checks, and its echo
    "close-code-999": (frame(8, struct.pack("!H", 999)), close(1002, b"invalid close code")),
    "close-code-1004": (frame(8, struct.pack("!H", 1004)), close(1002, b"invalid close code")),
    "close-code-1005": (frame(8, struct.pack("!H", 1005)), close(1002, b"invalid close code")),
    "close-code-1006": (frame(8, struct.pack("!H", 1006)), close(1002, b"invalid close code")),
    "close-code-1015": (frame(8, struct.pack("!H", 1015)), close(1002, b"invalid close code")),
    "close-code-1016": (frame(8, struct.pack("!H", 1016)), close(1002, b"invalid close code")),
    "close-code-2999": (frame(8, struct.pack("!H", 2999)), close(1002, b"invalid close code")),
    "close-code-5000": (frame(8, struct.pack("!H", 5000)), close(1002, b"invalid close code")),
    "close-reason-not-utf8": (
        frame(8, struct.pack("!H", 1000) + b"\xff"),
        close(1002, b"invalid utf8 payload in close frame"),
    ),
    "close-1000": (frame(8, struct.pack("!H", 1000) + b"bye"), close(1000)),
    "close-1001": (frame(8, struct.pack("!H", 1001)), close(1001)),
    "close-1011": (frame(8, struct.pack("!H", 1011)), close(1011)),
    "close-3000": (frame(8, struct.pack("!H", 3000)), close(3000)),
    "close-4999": (frame(8, struct.pack("!H", 4999)), close(4999)),
    "close-empty": (frame(8, b""), b"\x88\x00"),
    "close-1-byte": (frame(8, b"\x03"), b"\x88\x00"),
    "close-inside-fragments": (
        frame(1, b'["', fin=False) + frame(8, struct.pack("!H", 1000)),
        close(1000),
    ),
}
