"""`kite._http.SocketStream`: trio's stream contract over a real socket, without a scheduler
trip per call (fairness and cancellation still hold)."""

from __future__ import annotations

import socket

import pytest
import trio
import trio.lowlevel
import trio.testing

from kite._http import SocketStream
from kite._http._socket_stream import YIELD_EVERY


def _pair() -> tuple[SocketStream, socket.socket]:
    ours, theirs = socket.socketpair()
    return SocketStream(ours), theirs


async def test_bytes_both_ways_and_eof() -> None:
    stream, peer = _pair()
    with peer:
        await stream.send_all(b"hello")
        assert peer.recv(100) == b"hello"
        peer.sendall(b"world")
        assert await stream.receive_some(100) == b"world"
        await stream.send_eof()
        assert peer.recv(100) == b""
        peer.close()
        assert await stream.receive_some() == b""
    await stream.aclose()
    with pytest.raises(trio.ClosedResourceError):
        await stream.receive_some()


async def test_after_a_short_read_the_next_read_waits_first_and_misses_nothing() -> None:
    """A read that drained the socket makes the next one wait for readiness before asking the
    kernel (no system call that would only say EAGAIN); data that is already there, or comes
    later, is still read, and a full read asks the kernel again at once."""
    stream, peer = _pair()
    with peer:
        peer.sendall(b"abc")
        assert await stream.receive_some(100) == b"abc"  # short: the socket was drained
        peer.sendall(b"def")  # already there when the next read starts
        assert await stream.receive_some(100) == b"def"
        async with trio.open_nursery() as nursery:

            async def later() -> None:
                await trio.sleep(0.01)
                peer.sendall(b"ghi")

            nursery.start_soon(later)
            assert await stream.receive_some(100) == b"ghi"
        peer.sendall(b"0123456789")
        assert await stream.receive_some(4) == b"0123"  # full: more may be waiting
        assert await stream.receive_some(100) == b"456789"
    await stream.aclose()


async def test_a_large_send_waits_for_a_slow_reader_and_arrives_whole() -> None:
    stream, peer = _pair()
    data = bytes(range(256)) * (8 * 4096)  # 8 MiB: far more than the socket buffers
    received = bytearray()
    peer.setblocking(False)

    async def slow_reader() -> None:
        while len(received) < len(data):
            await trio.lowlevel.wait_readable(peer)
            received.extend(peer.recv(65536))
            await trio.lowlevel.checkpoint()

    with peer:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(slow_reader)
            await stream.send_all(data)
    assert bytes(received) == data
    await stream.aclose()


async def test_a_receiver_that_never_waits_still_lets_others_run() -> None:
    stream, peer = _pair()
    ran = 0

    async def other() -> None:
        nonlocal ran
        while True:
            ran += 1
            await trio.lowlevel.checkpoint()

    with peer:
        peer.sendall(b"x" * 1000)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(other)
            await trio.lowlevel.checkpoint()  # `other` is running now
            before = ran
            for _ in range(1000):  # data is always there: no call has to wait
                assert await stream.receive_some(1) == b"x"
            assert ran - before >= 1000 // YIELD_EVERY - 1
            nursery.cancel_scope.cancel()
    await stream.aclose()


async def test_cancellation_is_seen_and_never_loses_received_data() -> None:
    stream, peer = _pair()
    with peer:
        peer.sendall(bytes(range(100)))
        got = bytearray()
        with trio.CancelScope() as scope:
            scope.cancel()
            for _ in range(YIELD_EVERY * 2):
                got += await stream.receive_some(1)
        assert scope.cancelled_caught
        assert len(got) < YIELD_EVERY  # noticed within one streak
        got += await stream.receive_some(1000)  # what was not returned is still there
        assert bytes(got) == bytes(range(100))
    await stream.aclose()


async def test_closing_wakes_a_task_parked_on_the_socket() -> None:
    stream, peer = _pair()
    with peer:
        async with trio.open_nursery() as nursery:

            async def reader() -> None:
                with pytest.raises(trio.ClosedResourceError):
                    await stream.receive_some()

            nursery.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()
            await stream.aclose()
