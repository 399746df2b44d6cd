"""`Kite.dial` ↔ `Kite.serve` over real 127.0.0.1 sockets, on WebSocket and XHR polling."""

from __future__ import annotations

import re
from typing import Any

import pytest
import trio
from kite_auth_support import ALICE_KEY, ROGUE_KEY, anchor_config
from kite_rpc_helpers import client_kite, math_kite

import sockjs
from kite import (
    Auth,
    AuthenticationError,
    Client,
    Config,
    DisconnectError,
    GenericError,
    Kite,
    KiteError,
    KiteTimeoutError,
    MethodNotFoundError,
    Peer,
    Request,
    SendError,
    ServerLimits,
)
from kite._http import (
    ConnectError,
    ConnectionClosedError,
    HandshakeError,
    HTTPLimits,
    HTTPRequest,
    open_http_server,
    open_ws_client,
)

TRANSPORTS = ["websocket", "xhr"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_calls_errors_and_callbacks(transport: Any) -> None:
    server = math_kite()
    async with (
        server.serve(host="127.0.0.1", port=0) as served,
        client_kite().dial(served.url, transport=transport, timeout=5) as remote,
    ):
        assert served.url == f"http://127.0.0.1:{served.port}/kite"
        assert remote.session_transport == transport
        assert await remote.tell("square", 4, timeout=5) == 16
        assert await remote.tell("add", 2, 3.5, timeout=5) == 5.5
        assert await remote.tell("echo", "<&>\u2028 ünï", timeout=5) == ["<&>\u2028 ünï"]
        with pytest.raises(GenericError, match="something went wrong"):
            await remote.tell("fail", "something went wrong", timeout=5)
        with pytest.raises(KiteError) as typed:
            await remote.tell("failTyped", "typed", timeout=5)
        assert (typed.value.type, typed.value.code) == ("myType", "E_CUSTOM")
        with pytest.raises(MethodNotFoundError, match="Method not found: nope"):
            await remote.tell("nope", timeout=5)
        ticks: list[int] = []
        result = await remote.tell("countdown", {"cb": ticks.append, "from": 3}, timeout=5)
        assert (result, ticks) == ("done", [3, 2, 1])
        # the dialled kite calls the dialler back over the same session, inside a call ...
        assert await remote.tell("callMeBack", timeout=5) == "hello from go client"
        # ... and on its own: every accepted connection is a Peer the server can call
        assert await remote.tell("kite.ping", timeout=5) == "pong"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_server_calls_the_client(transport: Any) -> None:
    server = math_kite()
    peers: list[Peer] = []
    server.on_first_request(peers.append)
    async with (
        server.serve(host="127.0.0.1", port=0) as served,
        client_kite().dial(served.url, transport=transport, timeout=5) as remote,
    ):
        await remote.tell("kite.ping", timeout=5)
        (peer,) = peers
        assert peer.kite.name == "goclient"
        assert await peer.tell("client.hello", timeout=5) == "hello from go client"
        assert not peer.trusted


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_auth_with_capture_keys(transport: Any) -> None:
    # gomath -auth -kitekey anchor.kite.key: trusts the captures' Kontrol key
    server = math_kite(auth=True, config=anchor_config())
    server.handle_func("whoami", lambda r: r.username)
    alice = client_kite(config=Config(kite_key=ALICE_KEY))
    async with server.serve(host="127.0.0.1", port=0) as served:
        async with alice.dial(served.url, transport=transport, timeout=5) as remote:
            assert remote.auth == Auth("kiteKey", ALICE_KEY)  # default: the configured key
            assert await remote.tell("whoami", timeout=5) == "alice"
        async with client_kite().dial(
            served.url, transport=transport, auth=Auth("kiteKey", ROGUE_KEY), timeout=5
        ) as remote:
            with pytest.raises(AuthenticationError) as refused:
                await remote.tell("square", 3, timeout=5)
            assert refused.value.message == "kiteKey: kontrol key is not trusted"
        async with client_kite().dial(served.url, transport=transport, timeout=5) as remote:
            assert remote.auth is None  # no kite key configured
            with pytest.raises(AuthenticationError) as missing:
                await remote.tell("square", 3, timeout=5)
            assert missing.value.message == "No authentication information is provided"


async def test_auto_falls_back_to_xhr_only_on_a_refused_handshake() -> None:
    server = math_kite(config=Config(sockjs_websocket=False))
    async with server.serve(host="127.0.0.1", port=0) as served:
        async with client_kite().dial(served.url, transport="auto", timeout=5) as remote:
            assert remote.session_transport == "xhr"
            assert await remote.tell("square", 5, timeout=5) == 25
        with pytest.raises(HandshakeError) as refused:
            async with client_kite().dial(served.url, transport="websocket", timeout=5):
                pass
        assert refused.value.status == 404
        port = served.port
    with pytest.raises(ConnectError):  # refused connection: no fallback
        async with client_kite().dial(f"http://127.0.0.1:{port}/kite", transport="auto"):
            pass


async def test_transport_from_config() -> None:
    server = math_kite()
    config = Config.from_env({"KITE_TRANSPORT": "XHRPolling"}, kite_key=None)
    async with (
        server.serve(host="127.0.0.1", port=0) as served,
        client_kite(config=config).dial(served.url, timeout=5) as remote,
    ):
        assert remote.transport == "xhr"
        assert await remote.tell("square", 2, timeout=5) == 4


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_client_leaving_cancels_the_servers_handlers(transport: Any) -> None:
    server = math_kite()
    started, cancelled, gone = trio.Event(), trio.Event(), trio.Event()

    @server.handle("hang")
    async def hang(r: Request) -> None:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    server.on_disconnect(lambda peer: gone.set())
    async with server.serve(host="127.0.0.1", port=0) as served:
        async with (
            client_kite().dial(served.url, transport=transport, timeout=5) as remote,
            trio.open_nursery() as nursery,
        ):

            async def call() -> None:
                with pytest.raises(DisconnectError):
                    await remote.tell("hang", timeout=10)

            nursery.start_soon(call)
            await started.wait()
            await remote.aclose()
        with trio.fail_after(5):
            await cancelled.wait()
            await gone.wait()
        assert served.endpoint.session_count == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_shutdown_gives_in_flight_requests_a_deadline(transport: Any) -> None:
    server = math_kite()
    finished: list[str] = []

    @server.handle("work")
    async def work(r: Request) -> str:
        try:
            await trio.sleep(r.args.one().float())
        except trio.Cancelled:
            finished.append("cancelled")
            raise
        finished.append("done")
        return "ok"

    results: list[str] = []
    disconnected = trio.Event()
    async with (
        server.serve(host="127.0.0.1", port=0, grace_period=0.3) as served,
        client_kite().dial(
            served.url, transport=transport, timeout=5, on_disconnect=lambda c: disconnected.set()
        ) as remote,
    ):

        async def call(seconds: float) -> None:
            try:
                results.append(await remote.tell("work", seconds, timeout=5))
            except DisconnectError as exc:
                results.append(type(exc).__name__)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(call, 0.1)
            nursery.start_soon(call, 30)
            await trio.sleep(0.05)
            with trio.fail_after(5):
                await served.aclose()
        with trio.fail_after(5):
            await disconnected.wait()
        assert not remote.connected
        with pytest.raises(SendError):
            await remote.tell("square", 1, timeout=1)
    assert sorted(finished) == ["cancelled", "done"]
    assert sorted(results) == ["DisconnectError", "ok"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_reconnect_after_server_restart(transport: Any) -> None:
    events: list[str] = []
    async with math_kite().serve(host="127.0.0.1", port=0) as first:
        port = first.port

        def connected(c: Client) -> None:
            events.append(f"connect:{c.session_transport}")

        lost = trio.Event()

        def disconnected(c: Client) -> None:
            events.append("disconnect")
            lost.set()

        async with client_kite().dial(
            first.url,
            transport=transport,
            timeout=5,
            reconnect=True,
            on_connect=connected,
            on_disconnect=disconnected,
        ) as remote:
            remote.backoff.initial = remote.backoff.maximum = 0.05
            remote.backoff.reset()
            assert await remote.tell("square", 3, timeout=5) == 9
            await first.aclose()
            with trio.fail_after(5):
                await lost.wait()
            async with math_kite().serve(host="127.0.0.1", port=port):
                # the call waits for the redial, then goes through
                assert await remote.tell("square", 4, timeout=5) == 16
    assert events == [f"connect:{transport}", "disconnect", f"connect:{transport}", "disconnect"]


async def test_reconnecting_call_times_out_while_disconnected() -> None:
    async with client_kite().dial("http://127.0.0.1:1/kite", reconnect=True) as remote:
        with pytest.raises(KiteTimeoutError, match='No response to "square" method in 50ms'):
            await remote.tell("square", 2, timeout=0.05)


async def test_bad_websocket_input_ends_only_that_session() -> None:
    server = math_kite()
    ping = '{"method":"kite.ping","arguments":[{"responseCallback":"[Function]"}],'
    ping += '"callbacks":{"0":[0,"responseCallback"]}}'
    async with (
        server.serve(host="127.0.0.1", port=0) as served,
        client_kite().dial(served.url, transport="websocket", timeout=5) as good,
    ):
        url = served.url.replace("http", "ws") + "/000/bad/websocket"
        for bad in ["this is not json", '["ok", 1]', '{"a":1}']:
            async with open_ws_client(url) as ws:
                assert await ws.receive() == "o"
                await ws.send(bad)
                assert await ws.receive() == ""  # sockjs-go's empty frame, then TCP drops
                with pytest.raises(ConnectionClosedError):
                    await ws.receive()
        async with open_ws_client(url) as ws:  # broken dnode is logged and dropped
            assert await ws.receive() == "o"
            await ws.send('["not dnode"]')
            await ws.send("null")  # no messages: ignored
            await ws.send(sockjs.encode_payload([ping]).decode())
            frame = await ws.receive()
            assert frame.startswith("a[")
            assert "pong" in frame
        assert await good.tell("square", 6, timeout=5) == 36


async def test_oversized_message_ends_only_that_session() -> None:
    server = math_kite()
    async with (
        server.serve(
            host="127.0.0.1",
            port=0,
            options=sockjs.Options(max_payload_size=10_000, heartbeat_delay=10),
            http_limits=HTTPLimits(max_message_size=20_000, max_body_size=20_000),
        ) as served,
        client_kite().dial(served.url, transport="websocket", timeout=5) as good,
        client_kite().dial(served.url, transport="websocket", timeout=5) as big,
        client_kite().dial(served.url, transport="xhr", timeout=5) as big_xhr,
    ):
        assert await big.tell("echo", "x", timeout=5) == ["x"]
        with pytest.raises(DisconnectError):
            await big.tell("echo", "x" * 15_000, timeout=5)
        with pytest.raises(SendError):  # xhr_send answered 413
            await big_xhr.tell("echo", "x" * 25_000, timeout=5)
        assert await good.tell("echo", "y" * 5_000, timeout=5) == ["y" * 5_000]


async def test_run_serves_on_the_configured_address() -> None:
    server = math_kite(config=Config(ip="127.0.0.1", port=0))
    async with trio.open_nursery() as nursery:
        served = await nursery.start(server.run)
        assert served.host == "127.0.0.1"
        async with client_kite().dial(served.url, timeout=5) as remote:
            assert await remote.tell("square", 9, timeout=5) == 81
        nursery.cancel_scope.cancel()


async def test_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match="transport 'carrier-pigeon' doesn't exists"):
        async with Kite("k", "1.0.0").dial("http://x/kite", transport="carrier-pigeon"):  # type: ignore[arg-type]
            pass


async def test_dial_requests_are_shaped_like_gos() -> None:
    seen: list[tuple[str, str, str | None, str | None]] = []
    polls = 0

    async def kite_endpoint(request: HTTPRequest) -> None:
        nonlocal polls
        seen.append(
            (request.method, request.path, request.header("Origin"), request.header("Content-Type"))
        )
        if request.is_websocket_upgrade:
            await request.respond(404, [], b"404 page not found\n")  # auto falls back to XHR
            return
        polls += 1
        await request.respond(200, [], b"o\n" if polls == 1 else b'c[3000,"Go away!"]\n')

    async with open_http_server("127.0.0.1", 0) as http:
        http.handle_http("/kite", kite_endpoint)
        async with client_kite().dial(http.url + "/kite", timeout=5) as remote:
            assert remote.session_transport == "xhr"
            with trio.fail_after(5):
                await remote.peer.wait_closed()  # the second poll got the close frame
    (ws_method, ws_path, ws_origin, _), (m1, p1, o1, ct1), (m2, p2, _, _) = seen
    assert ws_method == "GET"
    assert re.fullmatch(r"/kite/[1-9][0-9]{2}/[0-9a-f]{20}/websocket", ws_path)
    assert ws_origin == http.url  # Go: the kite URL's scheme and host
    assert (m1, m2, o1, ct1) == ("POST", "POST", None, "text/plain")  # no Origin on XHR
    assert re.fullmatch(r"/kite/[1-9][0-9]{2}/[0-9a-f]{20}/xhr", p1)
    assert p2 == p1
    assert p1.split("/")[3] != ws_path.split("/")[3]  # fresh ids for every dial attempt


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_small_outbox_streams_callbacks_in_order(transport: Any) -> None:
    # Every tick waits for room in a 2-message outbox: the writer must free it promptly.
    async with (
        math_kite().serve(host="127.0.0.1", port=0, limits=ServerLimits(outbox=2, inbox=1)) as s,
        client_kite().dial(s.url, transport=transport, timeout=5) as remote,
    ):
        ticks: list[int] = []
        with trio.fail_after(5):
            assert await remote.tell("countdown", {"cb": ticks.append, "from": 300}) == "done"
        assert ticks == list(range(300, 0, -1))


async def test_run_prints_the_version_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    config = Config.from_env({"KITE_VERSION": "1"}, kite_key=None)
    await Kite("math", "1.2.3", config).run()  # returns at once, like Go's Run
    assert capsys.readouterr().out == "1.2.3\n"
