"""`BurstAcceptor`: every connection already queued in the kernel is taken in one turn."""

from __future__ import annotations

import socket

import trio

from kite._http._accept import BurstAcceptor


async def test_queued_connections_are_accepted_in_one_burst() -> None:
    (listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listener.socket.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    try:
        with BurstAcceptor(listener) as acceptor:
            first = await acceptor.accept(2)  # one awaited, at most two more
            rest = await acceptor.accept(10)  # the two still queued, no waiting for more
            assert (len(first), len(rest)) == (3, 2)
            streams = first + rest
            ports = {s.socket.getpeername()[1] for s in streams}
            assert ports == {c.getsockname()[1] for c in clients}
            clients[0].sendall(b"x")
            data = [
                await s.receive_some(1)
                for s in streams
                if s.socket.getpeername()[1] == clients[0].getsockname()[1]
            ]
            assert data == [b"x"]
            for s in streams:
                await s.aclose()
    finally:
        for c in clients:
            c.close()
        await listener.aclose()


async def test_with_no_room_only_the_awaited_connection_is_taken() -> None:
    (listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listener.socket.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    try:
        with BurstAcceptor(listener) as acceptor:
            (one,) = await acceptor.accept(0)
            (two,) = await acceptor.accept(0)
            await one.aclose()
            await two.aclose()
    finally:
        for c in clients:
            c.close()
        await listener.aclose()
