"""Bytes the attackers send: WebSocket frames, the SockJS WebSocket handshake, XHR requests."""

from __future__ import annotations

import os
import struct

__all__ = ["post", "websocket_handshake", "ws_frame"]


def ws_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bool = True,
    length: int | None = None,
) -> bytes:
    """One WebSocket frame (client to server: masked with a zero key unless `mask` is off;
    `length` announces another payload length than the real one)."""
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    n = len(payload) if length is None else length
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    return head + (b"\0\0\0\0" if mask else b"") + payload


def websocket_handshake(version: int = 13) -> bytes:
    """The upgrade request of a SockJS WebSocket session with a fresh session id."""
    sid = os.urandom(8).hex()
    return (
        f"GET /kite/000/{sid}/websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        f"Sec-WebSocket-Version: {version}\r\n\r\n"
    ).encode()


def post(path: str, body: bytes = b"", *, close: bool = False) -> bytes:
    """A POST request for `path` with `body`."""
    extra = "Connection: close\r\n" if close else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body
