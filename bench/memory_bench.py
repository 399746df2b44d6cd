"""Resident memory per idle connection of one Python kite (goal: at most 20 KiB each).

A fresh ``kite.serve`` process (``bench._peers.pykite``) gets one warm-up session (so code
paths and caches are loaded), then this process opens N SockJS WebSocket sessions to it
(``GET /kite/<server>/<session>/websocket``, waiting for each ``o`` open frame) and leaves
them idle. The server's ``VmRSS`` growth after a short settle, divided by N, is the figure;
kernel socket buffers are not in RSS. RLIMIT_NOFILE is raised in both processes.
"""

from __future__ import annotations

import os
import socket
import time

from bench import Measurement, Scenario, SkipError
from bench._peers import python_peer, raise_nofile_limit, rss_bytes, serve_process

GOAL_KIB = 20.0
BATCH = 250
SETTLE_SECONDS = 1.0


def _request(port: int, n: int) -> bytes:
    session = os.urandom(6).hex()
    return (
        f"GET /kite/{n % 1000:03d}/{session}/websocket HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://127.0.0.1:{port}\r\n\r\n"
    ).encode()


def _open(port: int, n: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(_request(port, n))
    return sock


def _await_open(sock: socket.socket) -> None:
    """Read the 101 answer and the SockJS ``o`` frame (an unmasked text frame b'\\x81\\x01o')."""
    data = b""
    while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1].startswith(b"\x81\x01o"):
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError(f"server closed the connection: {data[:200]!r}")
        data += chunk
    if not data.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"no WebSocket upgrade: {data[:200]!r}")


def _idle_connections(count: int) -> Measurement:
    limit = raise_nofile_limit(count + 1024)
    if limit < count + 64:
        raise SkipError(f"RLIMIT_NOFILE allows only {limit} descriptors for {count} connections")
    with serve_process(python_peer("pykite")) as peer:
        warm = _open(peer.port, 0)
        _await_open(warm)
        warm.close()
        time.sleep(0.3)
        before = rss_bytes(peer.pid)
        socks: list[socket.socket] = []
        start = time.perf_counter()
        try:
            for first in range(0, count, BATCH):
                batch = [_open(peer.port, n) for n in range(first, min(count, first + BATCH))]
                socks += batch
                for sock in batch:
                    _await_open(sock)
            seconds = time.perf_counter() - start
            time.sleep(SETTLE_SECONDS)
            after = rss_bytes(peer.pid)
        finally:
            for sock in socks:
                sock.close()
    kib = (after - before) / count / 1024
    return Measurement(
        count,
        seconds,
        note=f"{kib:.1f} KiB/conn (goal <= {GOAL_KIB:.0f}), RSS {before >> 20}->{after >> 20} MiB",
        meets_goal=kib <= GOAL_KIB,
        extra={"kib_per_connection": kib, "rss_before": before, "rss_after": after},
    )


def _case(count: int) -> Scenario:
    return Scenario(
        f"memory.idle_ws[{count:,} conns]",
        lambda smoke: _idle_connections(50 if smoke else count),
        unit="conn",
    )


CASES: list[Scenario] = [_case(1_000), _case(10_000)]
