"""The SockJS endpoint on every transport, through the protocol suite's test app (real sockets)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

import sockjs
from kite import SockJSEndpoint
from kite._http import ConnectionClosedError, HTTPClient, open_http_server, open_ws_client
from kite.testing import echo, open_sockjs_app

TEXT = [("Content-Type", "text/plain")]


@asynccontextmanager
async def app() -> AsyncIterator[tuple[str, HTTPClient]]:
    async with open_sockjs_app() as server, HTTPClient() as client:
        yield server.url, client


@asynccontextmanager
async def echo_app(**options: object) -> AsyncIterator[tuple[str, HTTPClient]]:
    """An `/echo` service with custom options (short timers)."""
    async with trio.open_nursery() as sessions:
        async with open_http_server("127.0.0.1", 0, grace_period=0.1) as server:
            opts = sockjs.Options(prefix="/echo", **options)  # type: ignore[arg-type]
            server.handle_http("/echo", SockJSEndpoint(opts, echo, sessions))
            async with HTTPClient() as client:
                yield server.url, client
        sessions.cancel_scope.cancel()


async def test_welcome_info_and_404() -> None:
    async with app() as (url, client):
        welcome = await client.request("GET", url + "/echo")
        assert (welcome.status, welcome.body) == (200, b"Welcome to SockJS!\n")
        info = json.loads((await client.request("GET", url + "/echo/info")).body)
        assert (info["websocket"], info["cookie_needed"]) == (True, False)
        info = json.loads((await client.request("GET", url + "/disabled_websocket_echo/info")).body)
        assert info["websocket"] is False
        info = json.loads((await client.request("GET", url + "/cookie_needed_echo/info")).body)
        assert info["cookie_needed"] is True
        missing = await client.request("GET", url + "/echo/a/b/c/d")
        assert missing.status == 404
        iframe = await client.request("GET", url + "/echo/iframe.html")
        assert iframe.status == 200
        assert b"sockjs" in iframe.body.lower()


async def test_xhr_polling_echo_and_double_poll() -> None:
    async with app() as (url, client):
        session = url + "/echo/000/polling"
        assert (await client.request("POST", session + "/xhr")).body == b"o\n"
        async with trio.open_nursery() as nursery:
            first: list[bytes] = []

            async def poll() -> None:
                first.append((await client.request("POST", session + "/xhr")).body)

            nursery.start_soon(poll)
            await trio.sleep(0.05)
            second = await client.request("POST", session + "/xhr")
            assert second.body == b'c[2010,"Another connection still open"]\n'
            sent = await client.request("POST", session + "/xhr_send", TEXT, b'["a<b"]')
            assert sent.status == 204
        assert first == [b'a["a\\u003cb"]\n']  # Go's escaping of <
        bad = await client.request("POST", session + "/xhr_send", TEXT, b"[1")
        assert (bad.status, bad.body) == (500, b"Broken JSON encoding.")
        unknown = await client.request("POST", url + "/echo/000/nope/xhr_send", TEXT, b'["x"]')
        assert unknown.status == 404


async def test_held_poll_whose_client_goes_away_ends_the_session() -> None:
    """sockjs-go: a held poll's client closing its connection closes the session at once."""
    async with echo_app(heartbeat_delay=60, disconnect_delay=60) as (url, client):
        session = url + "/echo/000/gone"
        assert (await client.request("POST", session + "/xhr")).body == b"o\n"
        host, port = url.removeprefix("http://").split(":")
        stream = await trio.open_tcp_stream(host, int(port))
        await stream.send_all(
            b"POST /echo/000/gone/xhr HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        )
        await trio.sleep(0.05)  # the poll is held: no frame for it
        await stream.aclose()  # (without it the session would live on for 60 s)
        with trio.fail_after(5):
            for _ in range(500):  # the server sees the close soon, not at once
                sent = await client.request("POST", session + "/xhr_send", TEXT, b'["x"]')
                if sent.status == 404:
                    break
                await trio.sleep(0.01)
        assert sent.status == 404
        assert (await client.request("POST", session + "/xhr")).body == b"o\n"  # a new one


@pytest.mark.parametrize(
    ("suffix", "method", "prelude", "wrap"),
    [
        ("xhr_streaming", "POST", b"h" * 2048 + b"\n", lambda f: f + b"\n"),
        ("eventsource", "GET", b"\r\n", lambda f: b"data: " + f + b"\r\n\r\n"),
        ("htmlfile?c=cb", "GET", None, lambda f: b"<script>\np(" + f + b");\n</script>\r\n"),
    ],
)
async def test_streaming_transports_end_at_the_response_limit(
    suffix: str, method: str, prelude: bytes | None, wrap: object
) -> None:
    async with app() as (url, client):
        session = url + "/echo/000/" + suffix.split("?")[0].replace("_", "")
        big = "x" * 4100  # one echo passes the app's 4096-byte response limit
        body: list[bytes] = []
        async with trio.open_nursery() as nursery:

            async def stream() -> None:
                body.append((await client.request(method, session + "/" + suffix)).body)

            nursery.start_soon(stream)
            await trio.sleep(0.1)
            payload = json.dumps([big]).encode()
            assert (
                await client.request("POST", session + "/xhr_send", TEXT, payload)
            ).status == 204
        (data,) = body
        if prelude is not None:
            assert data.startswith(prelude)
        else:
            assert b"parent.cb" in data[:1100]
        frames = (b"o", b'a["' + big.encode() + b'"]')
        quote = suffix.startswith("htmlfile")
        expected = b"".join(wrap(json.dumps(f.decode()).encode() if quote else f) for f in frames)  # type: ignore[operator]
        assert data.endswith(expected)


async def test_jsonp_and_jsonp_send() -> None:
    async with app() as (url, client):
        session = url + "/echo/000/jsonp"
        assert (await client.request("GET", session + "/jsonp?c=cb")).body == b'/**/cb("o");\r\n'
        form = [("Content-Type", "application/x-www-form-urlencoded")]
        sent = await client.request("POST", session + "/jsonp_send", form, b"d=%5B%22hi%22%5D")
        assert (sent.status, sent.body) == (200, b"ok")
        polled = await client.request("GET", session + "/jsonp?c=cb")
        assert polled.body == b'/**/cb("a[\\"hi\\"]");\r\n'
        missing = await client.request("GET", session + "/jsonp")
        assert missing.status == 500


async def test_websocket_and_raw_websocket_echo() -> None:
    async with app() as (url, _):
        ws_url = url.replace("http", "ws")
        async with open_ws_client(ws_url + "/echo/000/ws/websocket") as ws:
            assert await ws.receive() == "o"
            await ws.send('["one","two"]')
            assert [await ws.receive(), await ws.receive()] == ['a["one"]', 'a["two"]']
        async with open_ws_client(ws_url + "/echo/websocket") as raw:
            await raw.send("bare text")
            assert await raw.receive() == "bare text"
        with pytest.raises(Exception, match="404"):
            async with open_ws_client(ws_url + "/disabled_websocket_echo/000/ws/websocket"):
                pass


async def test_close_service_says_go_away_on_every_transport() -> None:
    async with app() as (url, client):
        async with open_ws_client(url.replace("http", "ws") + "/close/000/ws/websocket") as ws:
            assert await ws.receive() == "o"
            assert await ws.receive() == 'c[3000,"Go away!"]'
            with pytest.raises(ConnectionClosedError):
                await ws.receive()
        session = url + "/close/000/xhr"
        assert (await client.request("POST", session + "/xhr")).body == b"o\n"
        closed = await client.request("POST", session + "/xhr")
        assert closed.body == b'c[3000,"Go away!"]\n'
        again = await client.request("POST", session + "/xhr")  # until the session expires
        assert again.body == b'c[3000,"Go away!"]\n'


async def test_heartbeats_and_session_expiry() -> None:
    async with echo_app(heartbeat_delay=0.05, disconnect_delay=0.1) as (url, client):
        session = url + "/echo/000/hb"
        assert (await client.request("POST", session + "/xhr")).body == b"o\n"
        assert (await client.request("POST", session + "/xhr")).body == b"h\n"
        async with open_ws_client(url.replace("http", "ws") + "/echo/000/hb/websocket") as ws:
            assert [await ws.receive(), await ws.receive(), await ws.receive()] == ["o", "h", "h"]
        await trio.sleep(0.3)  # no poll for longer than disconnect_delay: the session is gone
        gone = await client.request("POST", session + "/xhr_send", TEXT, b'["x"]')
        assert gone.status == 404
        assert (await client.request("POST", session + "/xhr")).body == b"o\n"  # a new one
