"""WebSocket server and client over real 127.0.0.1 sockets (port 0)."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import trio
import trio.testing
import trio_websocket
from wsproto.connection import Connection, ConnectionType
from wsproto.events import CloseConnection, Message, Ping, TextMessage
from wsproto.utilities import generate_accept_token

from kite._http import (
    ConnectError,
    ConnectionClosedError,
    HandshakeError,
    HTTPClient,
    HTTPLimits,
    HTTPRequest,
    HTTPServer,
    TransportTimeoutError,
    connect_websocket,
    open_http_server,
    open_ws_client,
)

CAPTURES = Path(__file__).resolve().parents[3] / "conformance" / "captures"

# -- helpers -------------------------------------------------------------------------------

closes: list[tuple[int | None, str | None, bool]] = []


async def ws_echo(request: HTTPRequest) -> None:
    ws = await request.accept_websocket()
    try:
        while True:
            await ws.send(await ws.receive())
    except ConnectionClosedError as exc:
        closes.append((exc.code, exc.reason, exc.local))


@pytest.fixture
async def server() -> AsyncIterator[HTTPServer]:
    closes.clear()
    async with open_http_server("127.0.0.1", 0, grace_period=1.0) as srv:
        srv.handle_http("/kite", ws_echo)
        yield srv


def ws_url(server: HTTPServer, path: str = "/kite/123/abcdefabcdefabcdefab/websocket") -> str:
    return f"ws://127.0.0.1:{server.port}{path}"


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait (bounded, ~5 s) until `predicate()` holds: socket events take real time."""
    for _ in range(500):
        if predicate():
            return
        await trio.sleep(0.01)
    raise AssertionError("condition never became true")


class RawClient:
    """A hand-driven WebSocket client: handshake bytes by hand, frames from wsproto."""

    def __init__(self, stream: trio.SocketStream, ws: Connection, head: bytes) -> None:
        self.stream = stream
        self.ws = ws
        self.head = head

    @classmethod
    async def connect(
        cls, port: int, path: str = "/kite/1/2/websocket", after_head: bytes = b""
    ) -> RawClient:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        key = base64.b64encode(b"0123456789abcdef").decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "User-Agent: Go-http-client/1.1\r\nConnection: Upgrade\r\n"
            f"Origin: http://127.0.0.1:{port}\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n\r\n"
        ).encode()
        await stream.send_all(request + after_head)
        buf = b""
        with trio.fail_after(5):
            while b"\r\n\r\n" not in buf:
                buf += await stream.receive_some(4096)
        head, rest = buf.split(b"\r\n\r\n", 1)
        assert generate_accept_token(key.encode()) in head
        return cls(stream, Connection(ConnectionType.CLIENT, trailing_data=rest), head)

    async def send(self, event: Message[str] | Ping | CloseConnection) -> None:
        await self.stream.send_all(self.ws.send(event))

    async def next_event(self) -> object:
        with trio.fail_after(5):
            while True:
                for event in self.ws.events():
                    return event
                data = await self.stream.receive_some(65536)
                self.ws.receive_data(data or None)


# -- handshake ---------------------------------------------------------------------------------


async def test_101_has_exactly_gos_headers(server: HTTPServer) -> None:
    raw = await RawClient.connect(server.port)
    lines = raw.head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 101 Switching Protocols"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "Upgrade",
        "Connection",
        "Sec-WebSocket-Accept",
    ]
    # Same 101 as the recorded Go kite answer (the `square` capture).
    for line in (CAPTURES / "square.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["kind"] == "http-response":
            assert [h[0] for h in event["headers"]] == [line.split(":")[0] for line in lines[1:]]
            break
    await raw.stream.aclose()


async def test_echo_over_our_client(server: HTTPServer) -> None:
    async with open_ws_client(ws_url(server), [("Origin", "http://x")]) as ws:
        assert ws.response_headers[0] == ("Upgrade", "websocket")
        for text in ["o", 'a["x"]', "", "ünïcødé ✓ 🎈", "x" * 70_000]:
            await ws.send(text)
            assert await ws.receive() == text
    await eventually(lambda: bool(closes))
    assert closes == [(1000, "", False)]


async def test_bad_upgrade_gets_gos_400(server: HTTPServer) -> None:
    stream = await trio.open_tcp_stream("127.0.0.1", server.port)
    await stream.send_all(
        b"GET /kite/1/2/websocket HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    raw = b""
    with trio.fail_after(5):
        while chunk := await stream.receive_some(4096):
            raw += chunk
    await stream.aclose()
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert raw.endswith(b'\r\n\r\nCan "Upgrade" only to "WebSocket".\n')
    assert b"X-Content-Type-Options: nosniff" in raw


async def test_client_handshake_error_carries_the_answer(server: HTTPServer) -> None:
    with pytest.raises(HandshakeError) as info:
        await connect_websocket(ws_url(server, "/nothing/here"))
    assert info.value.status == 404
    assert info.value.body == b"404 page not found\n"


async def test_client_connect_errors(autojump_clock: trio.testing.MockClock) -> None:
    async with open_http_server("127.0.0.1", 0) as srv:
        port = srv.port
    with pytest.raises(ConnectError):
        await connect_websocket(f"ws://127.0.0.1:{port}/kite")
    # A peer that accepts TCP but never answers: the handshake times out.
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    silent_port = listeners[0].socket.getsockname()[1]
    with pytest.raises(TransportTimeoutError):
        await connect_websocket(f"ws://127.0.0.1:{silent_port}/kite", timeout=2.0)
    for listener in listeners:
        await listener.aclose()
    with pytest.raises(ConnectError):
        await connect_websocket("ftp://127.0.0.1/kite")


async def test_frames_sent_with_the_request_are_not_lost(server: HTTPServer) -> None:
    # The Go client never waits for `o`; bytes right behind the request head must survive.
    early = Connection(ConnectionType.CLIENT).send(Message(data="early bird"))
    raw = await RawClient.connect(server.port, after_head=early)
    event = await raw.next_event()
    assert isinstance(event, TextMessage)
    assert event.data == "early bird"
    await raw.stream.aclose()


# -- messages ----------------------------------------------------------------------------------


async def test_fragmented_1mib_message_is_assembled(server: HTTPServer) -> None:
    # Go's client sends 1 MiB as 4096-byte frames (the `big-payload` capture): 257 frames.
    payload = '["' + "0123456789abcdef" * 65536 + '"]'
    raw = await RawClient.connect(server.port)
    view = payload
    for offset in range(0, len(view), 4096):
        piece = view[offset : offset + 4096]
        await raw.send(Message(data=piece, message_finished=offset + 4096 >= len(view)))
    parts = []
    while True:
        event = await raw.next_event()
        assert isinstance(event, TextMessage)
        parts.append(event.data)
        if event.message_finished:
            break
    assert "".join(parts) == payload
    await raw.stream.aclose()


async def test_big_message_from_server_is_one_frame(server: HTTPServer) -> None:
    payload = "z" * (1024 * 1024)
    async with open_ws_client(ws_url(server)) as ws:
        await ws.send(payload)
        assert await ws.receive() == payload


async def test_binary_messages_are_read_as_text(server: HTTPServer) -> None:
    async def receiver(request: HTTPRequest) -> None:
        ws = await request.accept_websocket()
        await ws.send(repr(await ws.receive()))
        await ws.send(repr(await ws.receive_message()))
        await ws.send(repr(await ws.receive()))

    server.handle_http("/bin", receiver)
    async with open_ws_client(ws_url(server, "/bin")) as ws:
        await ws.send(b'["binary"]')
        assert await ws.receive() == repr('["binary"]')
        await ws.send(b"\xff\x00")
        assert await ws.receive() == repr(b"\xff\x00")
        # Garbage reaches the SockJS layer (which answers it like Go: invalid-frame-binary).
        await ws.send(bytes.fromhex("deadbeef00ff"))
        assert await ws.receive() == repr("\u07ad\ufffd\ufffd\x00\ufffd")  # de ad = U+07AD


async def test_invalid_utf8_text_frame_closes_with_1007(server: HTTPServer) -> None:
    raw = await RawClient.connect(server.port)
    frame = bytearray(b"\x81\x82\x00\x00\x00\x00\xff\xfe")  # masked (zero key) text frame
    await raw.stream.send_all(bytes(frame))
    event = await raw.next_event()
    assert isinstance(event, CloseConnection)
    assert (event.code, event.reason) == (1007, "text is not valid UTF-8")  # not the decoder's
    await raw.stream.aclose()


async def test_a_frame_announcing_too_much_closes_with_1009_before_its_payload(
    server: HTTPServer,
) -> None:
    """A text frame header announcing 2 GiB, no payload sent: closed at once (gorilla too),
    not after waiting for bytes that may never come."""
    raw = await RawClient.connect(server.port)
    header = b"\x81\xff" + (1 << 31).to_bytes(8, "big") + b"\x00\x00\x00\x00"
    await raw.stream.send_all(header)
    with trio.fail_after(5):
        event = await raw.next_event()
    assert isinstance(event, CloseConnection)
    assert event.code == 1009
    await raw.stream.aclose()


async def test_ping_pong_both_ways(server: HTTPServer) -> None:
    pinged = trio.Event()

    async def pinger(request: HTTPRequest) -> None:
        ws = await request.accept_websocket()
        async with trio.open_nursery() as nursery:

            async def read() -> None:
                try:
                    while True:
                        await ws.receive()
                except ConnectionClosedError:
                    pass

            nursery.start_soon(read)
            await ws.ping(b"from-server")
            pinged.set()
            await ws.send("pinged")

    server.handle_http("/ping", pinger)
    # Our client answers the server's ping inside receive().
    async with open_ws_client(ws_url(server, "/ping")) as ws:
        assert await ws.receive() == "pinged"
        assert pinged.is_set()
    # The server answers ours; ping() returns once the pong was read by a receiving task.
    async with open_ws_client(ws_url(server)) as ws, trio.open_nursery() as nursery:

        async def read() -> None:
            assert await ws.receive() == "after"

        nursery.start_soon(read)
        with trio.fail_after(5):
            await ws.ping(b"hello")
        await ws.send("after")


async def test_server_answers_raw_ping_with_pong(server: HTTPServer) -> None:
    raw = await RawClient.connect(server.port)
    await raw.send(Ping(payload=b"abc"))
    event = await raw.next_event()
    assert type(event).__name__ == "Pong"
    assert event.payload == b"abc"  # type: ignore[attr-defined]
    await raw.stream.aclose()


# -- closing -----------------------------------------------------------------------------------


async def test_client_close_code_is_echoed_with_empty_reason(server: HTTPServer) -> None:
    raw = await RawClient.connect(server.port)
    await raw.send(CloseConnection(code=4000, reason="bye"))
    event = await raw.next_event()
    assert isinstance(event, CloseConnection)
    assert (event.code, event.reason) == (4000, "")  # gorilla echoes the code only
    with trio.fail_after(5):
        assert await raw.stream.receive_some(10) == b""
    await raw.stream.aclose()
    await eventually(lambda: bool(closes))
    assert closes == [(4000, "bye", False)]


async def test_server_side_close_and_abort(server: HTTPServer) -> None:
    async def closer(request: HTTPRequest) -> None:
        ws = await request.accept_websocket()
        mode = await ws.receive()
        if mode == "close":
            await ws.aclose(3000, "Go away!")
        else:
            await ws.abort()
        assert ws.closed

    server.handle_http("/closer", closer)
    async with open_ws_client(ws_url(server, "/closer")) as ws:
        await ws.send("close")
        with pytest.raises(ConnectionClosedError) as info:
            await ws.receive()
        assert (info.value.code, info.value.reason, info.value.local) == (3000, "Go away!", False)
        assert ws.close_code == 3000
        with pytest.raises(ConnectionClosedError):
            await ws.send("too late")
    async with open_ws_client(ws_url(server, "/closer")) as ws:
        await ws.send("abort")
        with pytest.raises(ConnectionClosedError) as info:
            await ws.receive()
        assert info.value.code == 1006


async def test_close_while_another_task_receives(server: HTTPServer) -> None:
    async with open_ws_client(ws_url(server)) as ws:
        result: list[int] = []

        async def read() -> None:
            try:
                await ws.receive()
            except ConnectionClosedError as exc:
                result.append(exc.code)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read)
            await trio.testing.wait_all_tasks_blocked()
            with trio.fail_after(5):
                await ws.aclose(1001, "going")
        assert result == [1001]
    await eventually(lambda: bool(closes))
    assert closes == [(1001, "going", False)]


async def test_oversized_message_closes_with_1009() -> None:
    closes.clear()
    limits = HTTPLimits(max_message_size=1000)
    async with open_http_server("127.0.0.1", 0, limits=limits) as srv:
        srv.handle_http("/kite", ws_echo)
        async with open_ws_client(ws_url(srv)) as ws:
            await ws.send("x" * 1000)
            assert await ws.receive() == "x" * 1000
            await ws.send("y" * 1001)
            with pytest.raises(ConnectionClosedError) as info:
                await ws.receive()
            assert info.value.code == 1009
        # Fragments count together.
        raw = await RawClient.connect(srv.port)
        for _ in range(3):
            await raw.send(Message(data="z" * 400, message_finished=False))
        event = await raw.next_event()
        assert isinstance(event, CloseConnection)
        assert event.code == 1009
        await raw.stream.aclose()
    assert [c[0] for c in closes] == [1009, 1009]  # both handlers finished before exit


async def test_unmasked_client_frame_is_a_protocol_error(server: HTTPServer) -> None:
    raw = await RawClient.connect(server.port)
    await raw.stream.send_all(b"\x81\x02hi")  # text frame without the mask bit
    event = await raw.next_event()
    assert isinstance(event, CloseConnection)
    assert event.code == 1002
    await raw.stream.aclose()
    await eventually(lambda: bool(closes))
    assert closes[0][0] == 1002


async def test_tcp_drop_gives_1006(server: HTTPServer) -> None:
    raw = await RawClient.connect(server.port)
    await raw.stream.aclose()
    await eventually(lambda: bool(closes))
    assert closes == [(1006, "", False)]


async def test_server_shutdown_ends_websockets(server: HTTPServer) -> None:
    async with open_ws_client(ws_url(server)) as ws:
        await ws.send("hi")
        assert await ws.receive() == "hi"
        with trio.fail_after(5):
            await server.aclose(grace_period=0.1)
        with pytest.raises(ConnectionClosedError) as info:
            await ws.receive()
        assert info.value.code == 1006
    assert server.connection_count == 0


# -- foreign peer ------------------------------------------------------------------------------


async def test_trio_websocket_client_against_our_server(server: HTTPServer) -> None:
    async with trio_websocket.open_websocket(
        "127.0.0.1", server.port, "/kite/42/0123456789abcdef0123/websocket", use_ssl=False
    ) as ws:
        for text in ["hello", "x" * 200_000]:
            await ws.send_message(text)
            assert await ws.get_message() == text
        await ws.ping(b"p")
    await eventually(lambda: bool(closes))
    assert closes[0][0] == 1000


async def test_our_client_against_trio_websocket_server() -> None:
    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        try:
            while True:
                await ws.send_message(await ws.get_message())
        except trio_websocket.ConnectionClosed:
            pass

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, handler, "127.0.0.1", 0, None)
        port = server.port
        async with open_ws_client(f"ws://127.0.0.1:{port}/x") as ws:
            await ws.send("foreign")
            assert await ws.receive() == "foreign"
        nursery.cancel_scope.cancel()


async def test_many_websockets_concurrently(server: HTTPServer) -> None:
    async def one(i: int) -> None:
        async with open_ws_client(ws_url(server)) as ws:
            for j in range(5):
                await ws.send(f"{i}:{j}")
                assert await ws.receive() == f"{i}:{j}"

    async with trio.open_nursery() as nursery:
        for i in range(100):
            nursery.start_soon(one, i)
    await eventually(lambda: len(closes) == 100)


# -- our client's request bytes vs Go's ----------------------------------------------------------


def go_request_head(capture: str, index: int = 0) -> tuple[str, list[tuple[str, str]]]:
    requests = [
        json.loads(line)
        for line in (CAPTURES / f"{capture}.jsonl").read_text().split("\n")
        if line and '"http-request"' in line
    ]
    event = requests[index]
    return event["target"], [(k, v) for k, v in event["headers"]]


async def capture_request_head(send: Callable[[int], Awaitable[object]]) -> bytes:
    """Run `send(port)` against a bare listener; return the request head it wrote."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    head = b""
    async with trio.open_nursery() as nursery:

        async def serve_once() -> None:
            nonlocal head
            stream = await listeners[0].accept()
            async with stream:
                while b"\r\n\r\n" not in head:
                    head += await stream.receive_some(4096)
                await stream.send_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )

        nursery.start_soon(serve_once)
        with trio.fail_after(5):
            with contextlib.suppress(HandshakeError):
                await send(port)
    for listener in listeners:
        await listener.aclose()
    return head.split(b"\r\n\r\n")[0]


def as_lines(head: bytes) -> list[str]:
    return head.decode("latin-1").split("\r\n")


async def test_ws_upgrade_request_is_laid_out_like_gos() -> None:
    target, go_headers = go_request_head("square")
    used_port = 0

    async def dial(port: int) -> None:
        nonlocal used_port
        used_port = port
        await connect_websocket(
            f"ws://127.0.0.1:{port}{target}",
            [("Origin", f"http://127.0.0.1:{port}"), ("User-Agent", "Go-http-client/1.1")],
        )

    head = await capture_request_head(dial)
    lines = as_lines(head)
    assert lines[0] == f"GET {target} HTTP/1.1"
    ours = [tuple(line.split(": ", 1)) for line in lines[1:]]
    assert [k for k, _ in ours] == [k for k, _ in go_headers]
    masked = {"Sec-WebSocket-Key", "Host", "Origin"}
    assert [kv for kv in ours if kv[0] not in masked] == [
        kv for kv in go_headers if kv[0] not in masked
    ]
    assert ("Host", f"127.0.0.1:{used_port}") in ours


async def test_xhr_request_is_laid_out_like_gos() -> None:
    target, go_headers = go_request_head("square-xhr", 0)

    async def poll(port: int) -> None:
        async with HTTPClient() as client:
            await client.request(
                "POST",
                f"http://127.0.0.1:{port}{target}",
                [
                    ("User-Agent", "Go-http-client/1.1"),
                    ("Content-Type", "text/plain"),
                    ("Accept-Encoding", "gzip"),
                ],
            )

    lines = as_lines(await capture_request_head(poll))
    assert lines[0] == f"POST {target} HTTP/1.1"
    ours = [tuple(line.split(": ", 1)) for line in lines[1:]]
    assert [kv for kv in ours if kv[0] != "Host"] == [kv for kv in go_headers if kv[0] != "Host"]
    assert [k for k, _ in ours] == [k for k, _ in go_headers]
