"""The reverse proxy kite (`kite.proxy.ReverseProxy`) on 127.0.0.1: `register`, forwarding over
every transport, mapping removal, limits and TLS termination. Interop with Go kites and Go's
proxy: conformance/tests/test_interop_proxy.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from test_http_server import make_tls_contexts

from kite import Config, Kite, KiteError
from kite._http import HTTPClient
from kite.proxy import ProxyLimits, ReverseProxy, TunnelProxy
from kite.proxy._reverse import split_proxy_path

OPEN = Config(disable_authentication=True)


def square_kite() -> Kite:
    k = Kite("math", "1.0.0", OPEN)

    @k.method()
    def square(n: float) -> float:
        return n * n

    @k.method()
    async def count(to: int, report: object) -> str:
        for i in range(1, to + 1):
            await report(i)  # type: ignore[operator]
        return "done"

    return k


@asynccontextmanager
async def behind(proxy_url: str, k: Kite) -> AsyncIterator[str]:
    """Serve `k` and register it to the proxy at `proxy_url` for the block; yields its public
    URL. Leaving closes its connection to the proxy."""
    async with k.serve("127.0.0.1", 0) as server, k.dial(proxy_url) as proxy:
        yield await proxy.tell("register", server.url)


def dropped(proxy: ReverseProxy | TunnelProxy, kite_id: str) -> trio.Event:
    """An event set once the proxy dropped `kite_id`."""
    event = trio.Event()

    @proxy.kite.on_disconnect
    def check(peer: object) -> None:
        if kite_id not in proxy.kites:
            event.set()

    return event


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/proxy/abc/kite/info", ("abc", "kite/info")),
        ("/proxy/abc", ("abc", "")),
        ("/proxy/abc/", ("abc", "")),
        ("/proxy/abc/a/../../x//y", ("abc", "x/y")),
    ],
)
def test_split_proxy_path(path: str, expected: tuple[str, str]) -> None:
    assert split_proxy_path(path) == expected


@pytest.mark.parametrize("transport", ["websocket", "xhr"])
async def test_kite_reachable_through_proxy_then_dropped(transport: str) -> None:
    proxy = ReverseProxy(OPEN)
    math = square_kite()
    caller = Kite("caller", "1.0.0", OPEN)
    with trio.fail_after(30):
        async with proxy.serve("127.0.0.1", 0) as proxy_server:
            async with behind(proxy_server.url, math) as public:
                assert public == f"http://127.0.0.1:{proxy_server.port}/proxy/{math.id}"
                async with caller.dial(public, transport=transport) as remote:  # type: ignore[arg-type]
                    assert await remote.tell("square", 4) == 16
                    seen: list[int] = []
                    assert await remote.tell("count", 3, seen.append) == "done"
                    assert seen == [1, 2, 3]
                gone = dropped(proxy, math.id)
            await gone.wait()
            async with HTTPClient() as http:
                response = await http.request("GET", public + "/info")
            assert response.status == 502


async def test_register_rejects_relative_url_and_too_many_kites() -> None:
    proxy = ReverseProxy(OPEN, limits=ProxyLimits(max_kites=1))
    with trio.fail_after(30):
        async with proxy.serve("127.0.0.1", 0) as proxy_server:
            bad = Kite("bad", "1.0.0", OPEN)
            async with bad.dial(proxy_server.url) as remote:
                with pytest.raises(KiteError, match="must be absolute"):
                    await remote.tell("register", "/kite")
            second = Kite("second", "1.0.0", OPEN)
            async with (
                behind(proxy_server.url, square_kite()),
                second.dial(proxy_server.url) as remote,
            ):
                with pytest.raises(KiteError, match="too many kites registered"):
                    await remote.tell("register", "http://127.0.0.1:1/kite")


async def test_connections_per_kite_limit() -> None:
    proxy = ReverseProxy(OPEN, limits=ProxyLimits(max_connections_per_kite=0))
    with trio.fail_after(30):
        async with (
            proxy.serve("127.0.0.1", 0) as proxy_server,
            behind(proxy_server.url, square_kite()) as public,
            HTTPClient() as http,
        ):
            response = await http.request("GET", public + "/info")
    assert response.status == 503
    assert response.body == b"proxy: too many connections to this kite\n"


@pytest.mark.parametrize("transport", ["websocket", "xhr"])
async def test_tls_terminates_at_the_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    """An HTTPS proxy hands out https URLs and forwards in plain HTTP to the kite."""
    server_ctx, _ = make_tls_contexts(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))  # trusted by kite.dial
    proxy = ReverseProxy(OPEN)
    math = square_kite()
    caller = Kite("caller", "1.0.0", OPEN)
    with trio.fail_after(30):
        async with proxy.serve("127.0.0.1", 0, ssl_context=server_ctx) as proxy_server:
            assert proxy.register_url == f"https://127.0.0.1:{proxy_server.port}/kite"
            async with behind(proxy.register_url, math) as public:
                assert public == f"https://127.0.0.1:{proxy_server.port}/proxy/{math.id}"
                async with caller.dial(public, transport=transport) as remote:  # type: ignore[arg-type]
                    assert await remote.tell("square", 5) == 25
