"""The tunnel proxy kite (`kite.proxy.TunnelProxy`) on 127.0.0.1: `register`, outside sessions
over every transport carried through tunnels the kite dials, callbacks, the kite's removal,
limits and TLS. Interop with Go kites and Go's tunnel proxy:
conformance/tests/test_interop_tunnel.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from test_http_server import make_tls_contexts
from test_proxy import dropped, square_kite

from kite import Client, Config, Kite, KiteError, Request
from kite._http import HTTPClient
from kite._sockjs._tunnel import TUNNEL_METHOD, tunnel_handler
from kite.proxy import TunnelLimits, TunnelProxy
from kite.proxy._tunnel_proxy import outside_target

OPEN = Config(disable_authentication=True)


def hidden_kite() -> Kite:
    """A math kite that serves nothing itself: only through the tunnels it dials."""
    k = square_kite()
    k.handle_func(TUNNEL_METHOD, tunnel_handler(k, timeout=10.0))

    @k.method()
    def echo(text: str) -> str:
        return text

    return k


@asynccontextmanager
async def behind(proxy_url: str, k: Kite) -> AsyncIterator[str]:
    """Register `k` to the tunnel proxy at `proxy_url` for the block; yields its public URL.
    Leaving closes its connection to the proxy."""
    async with k.dial(proxy_url) as proxy:
        yield await proxy.tell("register", "")


@asynccontextmanager
async def called_through(proxy: TunnelProxy, k: Kite) -> AsyncIterator[Client]:
    """`proxy` serving on 127.0.0.1 with `k` behind it, and a caller's connection to `k`
    through it, for the block."""
    caller = Kite("caller", "1.0.0", OPEN)
    async with (
        proxy.serve("127.0.0.1", 0) as proxy_server,
        behind(proxy_server.url, k) as public,
        caller.dial(public) as remote,
    ):
        yield remote


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        ("/proxy/1/abc/websocket", "kiteID=k1", ("k1", "/proxy/1/abc/websocket")),
        ("/proxy", "kiteID=k1/1/abc/xhr", ("k1", "/proxy/1/abc/xhr")),
        ("/proxy", "kiteID=k1/info", ("k1", "/proxy/info")),
        ("/proxy/info", "kiteID=k1&t=2", ("k1", "/proxy/info")),
        ("/proxy", "", ("", "/proxy")),
    ],
)
def test_outside_target(path: str, query: str, expected: tuple[str, str]) -> None:
    assert outside_target(path, query) == expected


@pytest.mark.parametrize("transport", ["websocket", "xhr"])
async def test_kite_reachable_through_tunnels_then_dropped(transport: str) -> None:
    proxy = TunnelProxy(OPEN)
    math = hidden_kite()
    caller = Kite("caller", "1.0.0", OPEN)
    with trio.fail_after(30):
        async with proxy.serve("127.0.0.1", 0) as proxy_server:
            assert proxy.register_url == f"http://127.0.0.1:{proxy_server.port}/kite"
            async with behind(proxy_server.url, math) as public:
                assert public == f"http://127.0.0.1:{proxy_server.port}/proxy?kiteID={math.id}"
                async with caller.dial(public, transport=transport) as remote:  # type: ignore[arg-type]
                    assert await remote.tell("square", 4) == 16
                    seen: list[int] = []
                    assert await remote.tell("count", 3, seen.append) == "done"
                    assert seen == [1, 2, 3]
                    assert len(proxy.kites[math.id].tunnels) == 1
                    big = "x" * 200_000  # Go's tunnel proxy dies on messages over 32 KiB
                    assert await remote.tell("echo", big) == big
                async with caller.dial(public, transport=transport) as again:  # type: ignore[arg-type]
                    assert await again.tell("square", 5) == 25
                gone = dropped(proxy, math.id)
            await gone.wait()
            async with HTTPClient() as http:
                response = await http.request("GET", public.replace("?", "/info?"))
            assert response.status == 502
            assert b"is registered here" in response.body


async def test_tunnel_carries_before_the_kite_answers_kite_tunnel() -> None:
    """Like Go's proxy, ours carries a tunnel as soon as the kite dials in: here the kite
    answers `kite.tunnel` only after a call has come through the tunnel (a Go kite may answer
    that late; the replay of conformance/captures/tunnel-proxy-* recorded one)."""
    proxy = TunnelProxy(OPEN, limits=TunnelLimits(open_timeout=20.0))
    math = square_kite()
    through = trio.Event()
    dial_tunnel = tunnel_handler(math, timeout=10.0)

    async def answer_late(r: Request) -> None:
        await dial_tunnel(r)
        await through.wait()

    math.handle_func(TUNNEL_METHOD, answer_late)

    @math.method()
    def mark(n: int) -> int:
        through.set()
        return n

    with trio.fail_after(10):
        async with called_through(proxy, math) as remote:
            assert await remote.tell("mark", 7) == 7
            assert await remote.tell("square", 3) == 9


async def test_tunnels_end_with_the_kite_connection() -> None:
    proxy = TunnelProxy(OPEN)
    math = hidden_kite()
    with trio.fail_after(30):
        async with called_through(proxy, math) as remote:
            assert await remote.tell("square", 2) == 4
            gone = dropped(proxy, math.id)
            await math_leaves(proxy, math.id)
            await gone.wait()
            with pytest.raises(KiteError):
                await remote.tell("square", 3)


async def math_leaves(proxy: TunnelProxy, kite_id: str) -> None:
    """Close the proxy's side of the kite's connection (as if the kite went away)."""
    await proxy.kites[kite_id].peer.aclose()


async def test_register_refuses_too_many_kites() -> None:
    proxy = TunnelProxy(OPEN, limits=TunnelLimits(max_kites=1))
    with trio.fail_after(30):
        async with proxy.serve("127.0.0.1", 0) as proxy_server:
            second = Kite("second", "1.0.0", OPEN)
            async with (
                behind(proxy_server.url, hidden_kite()),
                second.dial(proxy_server.url) as remote,
            ):
                with pytest.raises(KiteError, match="too many kites registered"):
                    await remote.tell("register", "")


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (TunnelLimits(max_sessions_per_kite=0), b"tunnelproxy: too many sessions to this kite\n"),
        (
            TunnelLimits(max_opening_per_kite=0),
            b"tunnelproxy: too many tunnels opening to this kite\n",
        ),
    ],
)
async def test_sessions_per_kite_limits(limits: TunnelLimits, message: bytes) -> None:
    proxy = TunnelProxy(OPEN, limits=limits)
    with trio.fail_after(30):
        async with (
            proxy.serve("127.0.0.1", 0) as proxy_server,
            behind(proxy_server.url, hidden_kite()) as public,
            HTTPClient() as http,
        ):
            info = await http.request("GET", public.replace("?", "/info?"))
            response = await http.request("POST", public.replace("?", "/0/s1/xhr?"))
    assert info.status == 200  # no session: not limited
    assert (response.status, response.body) == (503, message)


async def test_unknown_tunnel_token_is_refused() -> None:
    proxy = TunnelProxy(OPEN)
    with trio.fail_after(30):
        async with proxy.serve("127.0.0.1", 0) as proxy_server, HTTPClient() as http:
            url = f"http://127.0.0.1:{proxy_server.port}/tunnel/1/s/xhr?token=nope"
            response = await http.request("POST", url)
    assert (response.status, response.body) == (
        403,
        b"tunnelproxy: unknown or used tunnel token\n",
    )


async def test_kite_without_kite_tunnel_gets_no_sessions() -> None:
    """A kite without `kite.tunnel`: the outside session is closed, the proxy stays up."""
    proxy = TunnelProxy(OPEN, limits=TunnelLimits(open_timeout=2.0))
    plain = Kite("plain", "1.0.0", OPEN)
    caller = Kite("caller", "1.0.0", OPEN)
    with trio.fail_after(30):
        async with (
            proxy.serve("127.0.0.1", 0) as proxy_server,
            behind(proxy_server.url, plain) as public,
        ):
            async with caller.dial(public) as remote:
                with pytest.raises(KiteError):
                    await remote.tell("square", 3)
            assert proxy.kites[plain.id].tunnels == {}


@pytest.mark.parametrize("transport", ["websocket", "xhr"])
async def test_tls_tunnels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str) -> None:
    """An HTTPS tunnel proxy hands out https URLs and has kites dial wss tunnels."""
    server_ctx, _ = make_tls_contexts(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))  # trusted by kite.dial
    proxy = TunnelProxy(OPEN)
    math = hidden_kite()
    caller = Kite("caller", "1.0.0", OPEN)
    with trio.fail_after(30):
        async with proxy.serve("127.0.0.1", 0, ssl_context=server_ctx) as proxy_server:
            assert proxy.register_url == f"https://127.0.0.1:{proxy_server.port}/kite"
            async with behind(proxy.register_url, math) as public:
                assert public.startswith(f"https://127.0.0.1:{proxy_server.port}/proxy?")
                async with caller.dial(public, transport=transport) as remote:  # type: ignore[arg-type]
                    assert await remote.tell("square", 5) == 25
