"""Property tests: however the bytes are split, the same requests and messages come out."""

from __future__ import annotations

import h11
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionType
from wsproto.events import Message, Ping, Pong

from kite._http import HTTPLimits, HTTPRequest, WebSocketConnection, open_http_server

messages = st.lists(
    st.one_of(st.text(max_size=300), st.binary(max_size=300)), min_size=1, max_size=8
)


# Payload sizes around the 7-, 16- and 64-bit length encodings of RFC 6455.
_edge_sizes = st.sampled_from([0, 1, 125, 126, 127, 65535, 65536, 70000])
_edge_messages = st.lists(
    st.one_of(
        st.text(max_size=200),
        st.binary(max_size=200),
        _edge_sizes.map(lambda n: "é" * (n // 2) + "x" * (n % 2)),
        _edge_sizes.map(lambda n: b"\x00" * n),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=30, deadline=None)
@given(items=_edge_messages, read_size=st.integers(min_value=1, max_value=70000))
async def test_fast_frames_match_wsproto_both_ways(
    items: list[str | bytes], read_size: int
) -> None:
    """Frames we build and parse ourselves are what wsproto builds and parses."""
    limits = HTTPLimits(receive_buffer_size=read_size)
    # Server side: our unmasked frames are byte-for-byte wsproto's; we read a wsproto client.
    a, b = trio.testing.memory_stream_pair()
    server = WebSocketConnection(a, limits, client=False)
    reference = Connection(ConnectionType.SERVER)
    async with trio.open_nursery() as nursery:

        async def drain(expected: bytes) -> None:
            got = bytearray()
            while len(got) < len(expected):
                got += await b.receive_some(65536)
            assert bytes(got) == expected

        expected = b"".join(reference.send(Message(data=item)) for item in items)
        nursery.start_soon(drain, expected)
        for item in items:
            await server.send(item)
    client = Connection(ConnectionType.CLIENT)
    wire = b"".join(client.send(Message(data=item)) for item in items)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(b.send_all, wire)
        assert [await server.receive_message() for _ in items] == items
    # Client side: our masked frames decode in wsproto's server; we read wsproto's server.
    c, d = trio.testing.memory_stream_pair()
    ours = WebSocketConnection(c, limits, client=True)
    peer = Connection(ConnectionType.SERVER)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(d.send_all, b"".join(peer.send(Message(data=i)) for i in items))
        assert [await ours.receive_message() for _ in items] == items
    for item in items:
        await ours.send(item)
    received: list[str | bytes] = []
    parts: list[str | bytes] = []
    while len(received) < len(items):
        peer.receive_data(await d.receive_some(65536))
        for event in peer.events():
            assert isinstance(event, Message)
            parts.append(event.data)
            if event.message_finished:
                received.append(type(parts[0])().join(parts))  # type: ignore[arg-type]
                parts = []
    assert received == items


@settings(max_examples=40)  # each example opens sockets: keep the suite fast
@given(
    items=messages,
    fragment=st.integers(min_value=1, max_value=64),
    read_size=st.integers(min_value=1, max_value=100),
    pings=st.lists(st.booleans(), min_size=8, max_size=8),
)
async def test_ws_messages_survive_any_fragmentation_and_read_size(
    items: list[str | bytes], fragment: int, read_size: int, pings: list[bool]
) -> None:
    client_stream, server_stream = trio.testing.memory_stream_pair()
    ws = WebSocketConnection(server_stream, HTTPLimits(receive_buffer_size=read_size), client=False)
    client = Connection(ConnectionType.CLIENT)
    wire = bytearray()
    for i, item in enumerate(items):
        pieces = [item[j : j + fragment] for j in range(0, len(item), fragment)] or [item]
        for k, piece in enumerate(pieces):
            if pings[i] and k == len(pieces) // 2:
                # Control frames may interleave with fragments; pings are answered by the
                # receiving task, so each comes before its message's last fragment.
                wire += client.send(Ping(payload=b"p%d" % i))
            wire += client.send(Message(data=piece, message_finished=k == len(pieces) - 1))
    async with trio.open_nursery() as nursery:

        async def feed() -> None:
            await client_stream.send_all(bytes(wire))

        nursery.start_soon(feed)
        with trio.fail_after(5):
            received = [await ws.receive_message() for _ in items]
    assert received == items
    # Every ping was answered with a matching pong, and nothing else was sent back.
    expected = [b"p%d" % i for i in range(len(items)) if pings[i]]
    pongs: list[bytes] = []
    with trio.fail_after(5):
        while len(pongs) < len(expected):
            client.receive_data(await client_stream.receive_some(65536))
            for event in client.events():
                assert isinstance(event, Pong)
                pongs.append(bytes(event.payload))
    assert pongs == expected


@settings(max_examples=40)  # each example opens sockets: keep the suite fast
@given(
    bodies=st.lists(st.binary(max_size=200), min_size=1, max_size=5),
    chunked=st.lists(st.booleans(), min_size=5, max_size=5),
    read_size=st.integers(min_value=1, max_value=64),
)
async def test_pipelined_requests_survive_any_read_size(
    bodies: list[bytes], chunked: list[bool], read_size: int
) -> None:
    async def echo(request: HTTPRequest) -> None:
        await request.respond(200, [], await request.body())

    wire = bytearray()
    for i, body in enumerate(bodies):
        writer = h11.Connection(h11.CLIENT)
        framing = (
            [(b"Transfer-Encoding", b"chunked")]
            if chunked[i]
            else [(b"Content-Length", b"%d" % len(body))]
        )
        request = h11.Request(method="POST", target=f"/e/{i}", headers=[(b"Host", b"x"), *framing])
        wire += writer.send(request) or b""
        if body:
            wire += writer.send(h11.Data(data=body)) or b""
        wire += writer.send(h11.EndOfMessage()) or b""
    limits = HTTPLimits(receive_buffer_size=read_size)
    got: list[bytes] = []
    async with open_http_server("127.0.0.1", 0, limits=limits) as server:
        server.handle_http("/e", echo)
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        async with stream:
            await stream.send_all(bytes(wire))  # all requests pipelined at once
            reader = h11.Connection(h11.CLIENT)
            with trio.fail_after(5):
                for _ in bodies:
                    reader.send(
                        h11.Request(
                            method="POST",
                            target="/",
                            headers=[(b"Host", b"x"), (b"Content-Length", b"0")],
                        )
                    )
                    reader.send(h11.EndOfMessage())
                    body = b""
                    while True:
                        event = reader.next_event()
                        if event is h11.NEED_DATA:
                            reader.receive_data(await stream.receive_some(65536))
                        elif isinstance(event, h11.Data):
                            body += event.data
                        elif isinstance(event, h11.EndOfMessage):
                            break
                    got.append(body)
                    reader.start_next_cycle()
    assert got == bodies
