"""Limits and timeouts of the HTTP/WebSocket layer, one frozen dataclass with documented defaults.

Go kite sets almost no limits (no read limit on WebSockets, no header/body caps beyond Go's
1 MiB header default); ours are generous enough for every recorded exchange (a 1 MiB RPC
payload travels as ~1.1 MiB of escaped JSON) while bounding what one client can make us hold.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import trio

__all__ = ["HTTPLimits"]

KiB = 1024
MiB = 1024 * KiB


@dataclass(frozen=True, slots=True)
class HTTPLimits:
    """Server and client limits. All sizes in bytes, all times in seconds.

    Attributes:
        max_header_size: largest request head (request line + headers); more gets 431.
        max_body_size: largest request body the server reads (and response body the HTTP
            client accepts); more gets 413 / BodyTooLargeError.
        max_message_size: largest assembled WebSocket message (bytes for binary messages,
            characters for text); more closes the connection with 1009.
        max_connections: concurrent connections the server serves; further clients wait in
            the kernel's accept backlog until a slot frees up.
        handshake_timeout: time allowed for the TLS handshake plus a complete request head
            (first request) or for a head to complete once its first byte arrived (later
            requests); Go's WebSocket handshake timeout is 15 s too.
        idle_timeout: how long a keep-alive connection may sit between requests. Above Go's
            client idle timeout (90 s) so that the client, not the server, closes idle
            connections and never reuses one we are closing.
        body_timeout: time allowed to receive a whole request body.
        close_timeout: how long a WebSocket close waits for the peer's close frame.
        receive_buffer_size: bytes asked of the socket per read.
        tcp_keepalive: TCP keep-alive period on every connection, accepted or dialled (Go's
            `net.Listen`/`net.Dialer` default of 15 s); finds dead peers of idle
            connections. None disables it.
    """

    max_header_size: int = 16 * KiB
    max_body_size: int = 16 * MiB
    max_message_size: int = 16 * MiB
    max_connections: int = 16384
    handshake_timeout: float = 15.0
    idle_timeout: float = 120.0
    body_timeout: float = 60.0
    close_timeout: float = 5.0
    receive_buffer_size: int = 64 * KiB
    tcp_keepalive: float | None = 15.0

    def __post_init__(self) -> None:
        for name in (
            "max_header_size",
            "max_body_size",
            "max_message_size",
            "max_connections",
            "receive_buffer_size",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("handshake_timeout", "idle_timeout", "body_timeout", "close_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.tcp_keepalive is not None and self.tcp_keepalive <= 0:
            raise ValueError("tcp_keepalive must be positive or None")


def set_keepalive(sock: trio.socket.SocketType | socket.socket, period: float | None) -> None:
    """Enable TCP keep-alive probes every `period` seconds (no-op for None or on failure)."""
    if period is None:
        return
    seconds = max(1, int(period))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name in ("TCP_KEEPIDLE", "TCP_KEEPINTVL"):
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, seconds)
    except OSError:
        pass  # not supported here: keep-alive is an optimisation, never a requirement
