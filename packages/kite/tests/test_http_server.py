"""The HTTP/1.1 server and client over real 127.0.0.1 sockets (port 0)."""

from __future__ import annotations

import datetime
import errno
import http.client
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import trio
import trio.testing
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kite._http import (
    ConnectError,
    ConnectionClosedError,
    HTTPClient,
    HTTPLimits,
    HTTPRequest,
    HTTPServer,
    ListenError,
    TransportError,
    TransportTimeoutError,
    open_http_server,
    open_ws_client,
)

# -- helpers -------------------------------------------------------------------------------


async def hello(request: HTTPRequest) -> None:
    await request.respond(200, [("Content-Type", "text/plain")], f"hello {request.path}".encode())


async def echo_body(request: HTTPRequest) -> None:
    body = await request.body()
    await request.respond(200, [("Content-Type", "application/octet-stream")], body)


async def raw_exchange(port: int, data: bytes, *, until_close: bool = True) -> bytes:
    """Send raw bytes, return everything the server sends until it closes (bounded)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(data)
        received = bytearray()
        with trio.fail_after(10):
            while True:
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                received += chunk
                if not until_close and b"\r\n\r\n" in received:
                    break
    return bytes(received)


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait (bounded, ~5 s) until `predicate()` holds: socket events take real time."""
    for _ in range(500):
        if predicate():
            return
        await trio.sleep(0.01)
    raise AssertionError("condition never became true")


def header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return [line.split(":", 1)[0] for line in head.split("\r\n")[1:]]


@pytest.fixture
async def server() -> AsyncIterator[HTTPServer]:
    async with open_http_server("127.0.0.1", 0) as srv:
        srv.handle_http("/hello", hello)
        srv.handle_http("/echo", echo_body, exact=True)
        yield srv


# -- routing and response layout -------------------------------------------------------------


async def test_routes_by_prefix_and_exact_path(server: HTTPServer) -> None:
    async def longer(request: HTTPRequest) -> None:
        await request.respond(200, [], b"longer")

    server.handle_http("/hello/deep", longer)
    async with HTTPClient() as client:
        url = server.url
        assert (await client.request("GET", url + "/hello/x?q=1")).body == b"hello /hello/x"
        assert (await client.request("GET", url + "/hello/deep/er")).body == b"longer"
        assert (await client.request("POST", url + "/echo", body=b"abc")).body == b"abc"
        status, headers, body = await client.request("GET", url + "/echo/sub")
        assert (status, body) == (404, b"404 page not found\n")
        assert ("X-Content-Type-Options", "nosniff") in headers


async def test_response_header_layout_matches_go(server: HTTPServer) -> None:
    raw = await raw_exchange(
        server.port, b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert raw.startswith(b"HTTP/1.1 404 Not Found\r\n")
    # Go: handler headers in order, then Date, then Content-Length (docs/protocol.md §1, §2.1).
    assert header_names(raw)[:4] == [
        "Content-Type",
        "X-Content-Type-Options",
        "Date",
        "Content-Length",
    ]
    assert raw.endswith(b"\r\n\r\n404 page not found\n")


async def test_silent_handler_gives_empty_200_and_204_has_no_length(server: HTTPServer) -> None:
    async def silent(request: HTTPRequest) -> None:
        return None

    async def no_content(request: HTTPRequest) -> None:
        await request.respond(204, [("Content-Type", "text/plain; charset=UTF-8")])

    server.handle_http("/silent", silent)
    server.handle_http("/204", no_content)
    raw = await raw_exchange(
        server.port, b"GET /silent HTTP/1.1\r\nHost: x\r\n\r\n", until_close=False
    )
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 0\r\n" in raw
    raw = await raw_exchange(
        server.port, b"POST /204 HTTP/1.1\r\nHost: x\r\n\r\n", until_close=False
    )
    assert raw.startswith(b"HTTP/1.1 204 No Content\r\n")
    assert "Content-Length" not in header_names(raw)


async def test_head_gets_the_length_without_the_body(server: HTTPServer) -> None:
    raw = await raw_exchange(
        server.port,
        b"HEAD /hello/x HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/y HTTP/1.1\r\nHost: x\r\n"
        b"Connection: close\r\n\r\n",
    )
    first, second = raw.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert b"Content-Length: 14\r\n" in first
    assert first.endswith(b"\r\n\r\n")  # no body
    assert second.endswith(b"hello /hello/y")


# -- keep-alive and streaming ----------------------------------------------------------------


async def test_keep_alive_reuses_one_connection(server: HTTPServer) -> None:
    peers: list[tuple[str, int] | None] = []

    async def who(request: HTTPRequest) -> None:
        peers.append(request.remote_addr)
        await request.respond(200, [], b"ok")

    server.handle_http("/who", who)
    async with HTTPClient() as client:
        for _ in range(5):
            assert (await client.request("POST", server.url + "/who")).status == 200
        assert client.idle_connections == 1
    assert len(set(peers)) == 1
    assert len(peers) == 5


async def test_pipelined_requests_are_answered_in_order(server: HTTPServer) -> None:
    raw = await raw_exchange(
        server.port,
        b"GET /hello/1 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /hello/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert raw.count(b"HTTP/1.1 200 OK") == 2
    assert raw.index(b"hello /hello/1") < raw.index(b"hello /hello/2")


async def test_streaming_response_is_chunked(server: HTTPServer) -> None:
    async def stream(request: HTTPRequest) -> None:
        await request.start_response(200, [("Content-Type", "text/event-stream")])
        for i in range(3):
            await request.send_body(f"data: {i}\r\n\r\n".encode())
        await request.end_response()

    server.handle_http("/stream", stream)
    raw = await raw_exchange(
        server.port, b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert b"Transfer-Encoding: chunked" in raw
    assert raw.endswith(b"\r\n0\r\n\r\n")
    async with HTTPClient() as client:
        response = await client.request("GET", server.url + "/stream")
    assert response.body == b"data: 0\r\n\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n"


async def test_streaming_handler_learns_client_went_away(server: HTTPServer) -> None:
    gone = trio.Event()
    started = trio.Event()

    async def long_poll(request: HTTPRequest) -> None:
        await request.start_response(200, [("Content-Type", "application/javascript")])
        await request.send_body(b"h" * 2048 + b"\n")
        started.set()
        await request.wait_disconnected()
        gone.set()

    server.handle_http("/poll", long_poll)
    stream = await trio.open_tcp_stream("127.0.0.1", server.port)
    await stream.send_all(b"POST /poll HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]")
    with trio.fail_after(5):
        await started.wait()
        await stream.aclose()
        await gone.wait()


async def test_large_body_round_trip(server: HTTPServer) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB
    async with HTTPClient() as client:
        response = await client.request("POST", server.url + "/echo", body=payload)
    assert response.body == payload


# -- bad input and limits --------------------------------------------------------------------


async def test_oversized_header_gets_431() -> None:
    async with open_http_server("127.0.0.1", 0, limits=HTTPLimits(max_header_size=1024)) as srv:
        srv.handle_http("/", hello)
        raw = await raw_exchange(
            srv.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n\r\n"
        )
        assert raw.startswith(b"HTTP/1.1 431 ")


async def test_oversized_body_gets_413() -> None:
    async with open_http_server("127.0.0.1", 0, limits=HTTPLimits(max_body_size=100)) as srv:
        srv.handle_http("/echo", echo_body)
        raw = await raw_exchange(
            srv.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
        )
        assert raw.startswith(b"HTTP/1.1 413 ")
        chunked = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunked += b"c8\r\n" + b"x" * 200 + b"\r\n0\r\n\r\n"
        raw = await raw_exchange(srv.port, chunked)
        assert raw.startswith(b"HTTP/1.1 413 ")
        async with HTTPClient() as client:  # the server is still fine
            assert (await client.request("POST", srv.url + "/echo", body=b"ok")).body == b"ok"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    ],
)
async def test_malformed_request_gets_400_and_only_that_connection_ends(
    server: HTTPServer, request_bytes: bytes
) -> None:
    async with HTTPClient() as client:
        assert (await client.request("GET", server.url + "/hello/a")).status == 200
        raw = await raw_exchange(server.port, request_bytes)
        assert raw.startswith((b"HTTP/1.1 400 ", b"HTTP/1.1 505 "))
        # The client's pooled keep-alive connection still works.
        assert (await client.request("GET", server.url + "/hello/b")).status == 200
        assert client.idle_connections == 1


async def test_bad_headers_are_value_errors_not_h11_errors(server: HTTPServer) -> None:
    caught: list[BaseException] = []

    async def bad(request: HTTPRequest) -> None:
        try:
            await request.respond(200, [("X-Bad", "a\r\nInjected: 1")])
        except ValueError as exc:
            caught.append(exc)
            await request.respond(200, [], b"recovered")

    server.handle_http("/bad", bad)
    async with HTTPClient() as client:
        assert (await client.request("GET", server.url + "/bad")).body == b"recovered"
        with pytest.raises(ValueError, match="invalid request"):
            await client.request("GET", server.url + "/", [("X-Bad", "a\nb")])
    assert len(caught) == 1


async def test_handler_exception_gives_500_and_server_lives_on(
    server: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: HTTPRequest) -> None:
        raise ValueError("boom")

    server.handle_http("/broken", broken)
    async with HTTPClient() as client:
        assert (await client.request("GET", server.url + "/broken")).status == 500
        assert (await client.request("GET", server.url + "/hello/")).status == 200
    assert "boom" in caplog.text


async def test_many_concurrent_connections(server: HTTPServer) -> None:
    results: list[int] = []

    async def one(i: int) -> None:
        async with HTTPClient() as client:
            response = await client.request("POST", server.url + "/echo", body=str(i).encode())
            results.append(int(response.body))

    async with trio.open_nursery() as nursery:
        for i in range(200):
            nursery.start_soon(one, i)
    assert sorted(results) == list(range(200))


async def test_slow_client_does_not_block_others(server: HTTPServer) -> None:
    # One client sends half a request head and never reads; another with a huge response
    # it does not read. Everyone else is served meanwhile.
    async def big(request: HTTPRequest) -> None:
        await request.respond(200, [], b"x" * (8 * 1024 * 1024))

    server.handle_http("/big", big)
    slow = await trio.open_tcp_stream("127.0.0.1", server.port)
    await slow.send_all(b"GET /hello HTTP/1.1\r\nHost: ")
    stuck = await trio.open_tcp_stream("127.0.0.1", server.port)
    await stuck.send_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    async with HTTPClient() as client:
        with trio.fail_after(5):
            for i in range(20):
                assert (await client.request("GET", f"{server.url}/hello/{i}")).status == 200
    await slow.aclose()
    await stuck.aclose()


async def test_max_connections_makes_extra_clients_wait() -> None:
    release = trio.Event()
    entered = 0

    async def hold(request: HTTPRequest) -> None:
        nonlocal entered
        entered += 1
        await release.wait()
        await request.respond(200, [], b"done")

    limits = HTTPLimits(max_connections=2)
    async with open_http_server("127.0.0.1", 0, limits=limits) as srv:
        srv.handle_http("/", hold)
        statuses: list[int] = []

        async def call() -> None:
            async with HTTPClient() as client:
                statuses.append((await client.request("GET", srv.url + "/")).status)

        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(call)
            await eventually(lambda: entered == 2)
            await trio.sleep(0.1)
            assert entered == 2  # the third waits in the backlog
            assert srv.connection_count == 2
            release.set()
        assert statuses == [200, 200, 200]


async def test_handshake_timeout_closes_silent_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limits = HTTPLimits(handshake_timeout=3.0)
    async with open_http_server("127.0.0.1", 0, limits=limits) as srv:
        stream = await trio.open_tcp_stream("127.0.0.1", srv.port)
        await stream.send_all(b"GET / HTTP/1.1\r\n")  # never finished
        start = trio.current_time()
        with trio.fail_after(60):
            assert await stream.receive_some(100) == b""
        assert 3.0 <= trio.current_time() - start < 10
        await stream.aclose()


async def test_idle_keep_alive_connection_is_closed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limits = HTTPLimits(idle_timeout=30.0)
    async with open_http_server("127.0.0.1", 0, limits=limits) as srv:
        srv.handle_http("/", hello)
        stream = await trio.open_tcp_stream("127.0.0.1", srv.port)
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b"hello /" not in received:
            received += await stream.receive_some(1000)
        start = trio.current_time()
        with trio.fail_after(300):
            assert await stream.receive_some(100) == b""
        assert 30.0 <= trio.current_time() - start < 40
        await stream.aclose()


async def test_keep_alive_heads_and_bodies_in_pieces_or_whole() -> None:
    """A head or body that came in with one read is parsed at once (no timer); one that
    arrives in pieces is read on, under the handshake or body timeout."""
    async with open_http_server("127.0.0.1", 0) as srv:
        srv.handle_http("/", echo_body)
        stream = await trio.open_tcp_stream("127.0.0.1", srv.port)

        async def response(body: bytes) -> None:
            received = b""
            with trio.fail_after(10):
                while not received.endswith(b"\r\n\r\n" + body):
                    received += await stream.receive_some(1000)
            assert received.startswith(b"HTTP/1.1 200 ")

        post = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
        await stream.send_all(post + b"whole")  # head and body in one piece
        await response(b"whole")
        await stream.send_all(post + b"whole")  # again, on the kept-alive connection
        await response(b"whole")
        for cut in (10, len(post), len(post) + 2):  # in the head, after it, in the body
            data = post + b"parts"
            await stream.send_all(data[:cut])
            await trio.sleep(0.05)
            await stream.send_all(data[cut:])
            await response(b"parts")
        await stream.aclose()


async def test_body_timeout_when_the_rest_never_comes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    outcome: list[BaseException] = []

    async def reader(request: HTTPRequest) -> None:
        try:
            await request.body()
        except TransportError as exc:
            outcome.append(exc)
            raise

    async with open_http_server("127.0.0.1", 0, limits=HTTPLimits(body_timeout=7.0)) as srv:
        srv.handle_http("/", reader)
        stream = await trio.open_tcp_stream("127.0.0.1", srv.port)
        await stream.send_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\npart")
        start = trio.current_time()
        with trio.fail_after(60):
            while await stream.receive_some(1000):
                pass
        assert 7.0 <= trio.current_time() - start < 8
        assert [type(exc) for exc in outcome] == [TransportTimeoutError]
        await stream.aclose()


# -- shutdown --------------------------------------------------------------------------------


async def test_graceful_close_lets_handlers_finish_then_cancels() -> None:
    finished = trio.Event()
    cancelled = trio.Event()
    entered = trio.Event()
    outcomes: list[int] = []

    async def polite(request: HTTPRequest) -> None:
        entered.set()
        await request.server_closing.wait()
        await request.respond(200, [], b"bye")
        finished.set()

    async def stubborn(request: HTTPRequest) -> None:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    async with open_http_server("127.0.0.1", 0, grace_period=0.5) as srv:
        srv.handle_http("/polite", polite)
        srv.handle_http("/stubborn", stubborn)
        idle = await trio.open_tcp_stream("127.0.0.1", srv.port)

        async def call(path: str) -> None:
            async with HTTPClient() as client:
                try:
                    outcomes.append((await client.request("GET", srv.url + path)).status)
                except ConnectionClosedError:
                    outcomes.append(-1)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(call, "/polite")
            nursery.start_soon(call, "/stubborn")
            await entered.wait()
            await eventually(lambda: srv.connection_count == 3)
            with trio.fail_after(5):
                await srv.aclose()
        assert srv.connection_count == 0
        assert await idle.receive_some(10) == b""  # the idle connection was closed at once
        await idle.aclose()
    assert finished.is_set()
    assert cancelled.is_set()
    assert sorted(outcomes) == [-1, 200]
    with pytest.raises(ConnectError):
        async with HTTPClient() as client:
            await client.request("GET", srv.url + "/polite")


async def test_client_timeout_and_refused() -> None:
    async def never(request: HTTPRequest) -> None:
        await trio.sleep_forever()

    async with open_http_server("127.0.0.1", 0, grace_period=0.1) as srv:
        srv.handle_http("/", never)
        async with HTTPClient() as client:
            with pytest.raises(TransportTimeoutError):
                await client.request("GET", srv.url + "/", timeout=0.2)
        port = srv.port
    async with HTTPClient() as client:
        with pytest.raises(ConnectError):
            await client.request("GET", f"http://127.0.0.1:{port}/")


async def test_listen_on_a_busy_port_is_a_listen_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ListenError) as caught:
            async with open_http_server("127.0.0.1", port):
                pytest.fail("served on a port in use")  # pragma: no cover
    err = caught.value
    assert isinstance(err, OSError)
    assert isinstance(err, TransportError)
    assert (err.errno, err.host, err.port) == (errno.EADDRINUSE, "127.0.0.1", port)
    assert str(err) == f"cannot listen on 127.0.0.1:{port}: address already in use"
    assert isinstance(err.__cause__, OSError)


async def test_client_retries_a_stale_pooled_connection() -> None:
    async def close_after(request: HTTPRequest) -> None:
        await request.respond(200, [], b"ok")

    async with open_http_server("127.0.0.1", 0) as srv:
        srv.handle_http("/", close_after)
        async with HTTPClient() as client:
            assert (await client.request("GET", srv.url + "/")).status == 200
            assert client.idle_connections == 1
            # Kill the server side of the pooled connection behind the client's back.
            for conn in list(srv._conns):
                conn.scope.cancel()
            await eventually(lambda: srv.connection_count == 0)
            assert (await client.request("GET", srv.url + "/")).status == 200


# -- foreign peer and TLS --------------------------------------------------------------------


async def test_stdlib_http_client_in_a_thread(server: HTTPServer) -> None:
    port = server.port

    def use_stdlib() -> list[tuple[int, bytes, str | None]]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        out = []
        try:
            for path, method, body in [
                ("/hello/std", "GET", None),
                ("/echo", "POST", b"x" * 100_000),
                ("/missing", "GET", None),
            ]:
                conn.request(method, path, body=body)
                response = conn.getresponse()
                out.append((response.status, response.read(), response.getheader("Date")))
        finally:
            conn.close()
        return out

    results = await trio.to_thread.run_sync(use_stdlib)
    assert [r[0] for r in results] == [200, 200, 404]
    assert results[0][1] == b"hello /hello/std"
    assert results[1][1] == b"x" * 100_000
    assert all(r[2] and r[2].endswith(" GMT") for r in results)


def make_tls_contexts(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file = tmp_path / "cert.pem"
    key_file = tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)
    server_ctx.set_alpn_protocols(["http/1.1"])
    client_ctx = ssl.create_default_context(cafile=str(cert_file))
    return server_ctx, client_ctx


async def test_tls_https_and_wss(tmp_path: Path) -> None:
    server_ctx, client_ctx = make_tls_contexts(tmp_path)

    async def ws_echo(request: HTTPRequest) -> None:
        ws = await request.accept_websocket()
        try:
            while True:
                await ws.send(await ws.receive())
        except ConnectionClosedError:
            pass

    async with open_http_server("127.0.0.1", 0, ssl_context=server_ctx) as srv:
        srv.handle_http("/hello", hello)
        srv.handle_http("/ws", ws_echo)
        assert srv.url.startswith("https://")
        async with HTTPClient(ssl_context=client_ctx) as client:
            for _ in range(2):
                response = await client.request("GET", srv.url + "/hello/tls")
                assert response.body == b"hello /hello/tls"
            assert client.idle_connections == 1
        async with open_ws_client(f"wss://127.0.0.1:{srv.port}/ws", ssl_context=client_ctx) as ws:
            await ws.send("secure")
            assert await ws.receive() == "secure"
        # An untrusting client fails the TLS handshake with a ConnectError; server unharmed.
        async with HTTPClient() as client:
            with pytest.raises(ConnectError):
                await client.request("GET", srv.url + "/hello/")
        # A plain-text client on the TLS port gets nothing and goes away.
        raw = await raw_exchange(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert not raw.startswith(b"HTTP/1.1 200")


# -- Go's response bytes ---------------------------------------------------------------------

CAPTURES = Path(__file__).resolve().parents[3] / "conformance" / "captures"


def go_responses() -> list[tuple[str, int, bytes]]:
    """Every distinct non-101 response head shape in the captures, with its exact bytes."""
    import base64
    import json

    found: dict[tuple[int, tuple[str, ...]], tuple[str, int, bytes]] = {}
    for path in sorted(CAPTURES.glob("*.jsonl")):
        if path.name.endswith(".raw.jsonl"):
            continue
        raw_s2c: dict[int, bytes] = {}
        raw_path = path.with_name(path.name[: -len(".jsonl")] + ".raw.jsonl")
        for line in raw_path.read_text().split("\n"):
            if not line:
                continue
            chunk = json.loads(line)
            if chunk.get("dir") == "s2c" and "b64" in chunk:
                raw_s2c[chunk["conn"]] = raw_s2c.get(chunk["conn"], b"") + base64.b64decode(
                    chunk["b64"]
                )
        for line in path.read_text().split("\n"):
            if not line:
                continue
            event = json.loads(line)
            if event["kind"] != "http-response" or event["status"] == 101:
                continue
            key = (event["status"], tuple(h[0] for h in event["headers"]))
            if key in found:
                continue
            wire = f"HTTP/1.1 {event['status']} {event['reason']}\r\n"
            wire += "".join(f"{k}: {v}\r\n" for k, v in event["headers"]) + "\r\n"
            wire_bytes = wire.encode("latin-1") + event["body"].encode("utf-8")
            if wire_bytes in raw_s2c[event["conn"]]:  # the reconstruction is byte-exact
                found[key] = (path.stem, event["status"], wire_bytes)
    return list(found.values())


GO_RESPONSES = go_responses()


def test_capture_responses_were_found() -> None:
    assert len(GO_RESPONSES) >= 8


@pytest.mark.parametrize(("name", "status", "wire"), GO_RESPONSES, ids=lambda v: str(v)[:20])
async def test_we_can_reproduce_gos_response_bytes(
    server: HTTPServer, name: str, status: int, wire: bytes
) -> None:
    head, body = wire.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")[1:]
    captured = [tuple(line.split(": ", 1)) if ": " in line else (line[:-1], "") for line in lines]
    date = next(v for k, v in captured if k == "Date")
    # What a handler passes: the headers it sets itself (Go adds Date and Content-Length,
    # except where Go's own content sniffing put a header after them).
    first_auto = next(i for i, (k, _) in enumerate(captured) if k == "Date")
    handler_headers = [(k, v) for k, v in captured[:first_auto]]
    trailing = [(k, v) for k, v in captured[first_auto:] if k not in ("Date", "Content-Length")]
    if trailing:  # e.g. Kontrol's /register: Date, Content-Length, sniffed Content-Type
        handler_headers = [(k, v) for k, v in captured]

    async def replay(request: HTTPRequest) -> None:
        await request.respond(status, handler_headers, body)

    server.handle_http("/replay", replay)
    # HTTP/1.0 + keep-alive off would change the head; so ask 1.1 and drop the connection
    # ourselves once the whole answer is in.
    stream = await trio.open_tcp_stream("127.0.0.1", server.port)
    await stream.send_all(b"POST /replay HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    ours = b""
    with trio.fail_after(5):
        while len(ours) < len(wire) - 4:
            ours += await stream.receive_some(65536)
    await stream.aclose()
    our_head, _, our_body = ours.partition(b"\r\n\r\n")
    our_lines = our_head.decode("latin-1").split("\r\n")
    our_lines = [f"Date: {date}" if line.startswith("Date: ") else line for line in our_lines]
    assert "\r\n".join(our_lines).encode("latin-1") == head, name
    assert our_body == body


async def test_accepted_and_dialled_sockets_use_tcp_keepalive(server: HTTPServer) -> None:
    import socket

    seen: list[int] = []

    async def probe(request: HTTPRequest) -> None:
        sock = request._conn.stream.socket  # type: ignore[attr-defined]
        seen.append(sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
        seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE))
        await request.respond(200)

    server.handle_http("/probe", probe)
    async with HTTPClient() as client:
        await client.request("GET", server.url + "/probe")
        pooled = next(iter(client._idle.values()))[0].stream.socket  # type: ignore[attr-defined]
        assert pooled.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    assert seen == [1, 15]


# -- public surface --------------------------------------------------------------------------


def test_exports_are_explicit_and_errors_form_one_tree() -> None:
    import kite._http as api
    from kite._http import _errors

    assert sorted(api.__all__) == api.__all__
    for name in api.__all__:
        assert getattr(api, name) is not None
    errors = [getattr(api, n) for n in _errors.__all__]
    assert all(issubclass(e, api.TransportError) for e in errors)
    assert set(_errors.__all__) <= set(api.__all__)
    # No I/O-library exception is part of the tree.
    assert not any(e.__module__.split(".")[0] in ("trio", "h11", "wsproto") for e in errors)
