"""Interop, proxy kites: kites reachable through a `proxy` or `tunnelproxy` kite, across
implementations.

* Our `ReverseProxy` and our `TunnelProxy`, each registered to a Python Kontrol:
  ``gomath -register proxy|tunnel`` (Go's ``RegisterToProxy``/``RegisterToTunnel``) and a
  Python kite (`Kite.register_to_proxy`/`Kite.register_to_tunnel`) are listed by Kontrol
  under ``http://127.0.0.1:<proxy port>/proxy/<kite id>`` (reverse) or
  ``.../proxy?kiteID=<kite id>`` (tunnel); the Python client (through Kontrol, with the
  token), ``goquery``, ``goclient`` (WebSocket and XHR, callbacks over both) and ``kite tell``
  (by URL and by query) call them there. Stopping the kite drops it from the proxy (502 after).
* A Python kite behind ``goreverseproxy`` (Go's reverse proxy, see its source) found through
  Kontrol: listed under the Go proxy's URL and called through it (Go's tunnel proxy:
  ``test_interop_tunnel``).
* `KITE_PROXY_URL` (`Config.proxy_url`): the kite registers to that proxy without asking
  Kontrol for one.

Failover between proxies: ``test_interop_proxy_failover``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Literal

import pytest
import trio

from conformance._gopeers import GoBuild, go_peers_or_skip, open_go_peer
from conformance._interop import (
    goclient,
    key_config,
    open_python_kontrol,
    parse_lines,
    python_kontrol_init,
)
from conformance._proxies import (
    Via,
    http_status,
    kontrol_with_users,
    math_behind,
    proxied_math,
    python_proxy,
    unmapped,
    wait_unmapped,
)
from conformance.tests.test_interop_kontrol import goquery_call, python_query_call
from kite import Kite
from kite.proxy import ReverseProxy

pytestmark = pytest.mark.go

KEY_URL = "http://127.0.0.1:4099/kite"


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


def info_url(public: str) -> str:
    """The SockJS `/info` URL of a kite URL (`<base>/info`, the query kept last)."""
    base, mark, query = public.partition("?")
    return f"{base}/info{mark}{query}"


async def calls_through_kontrol(
    go_build: GoBuild, key: Path, kontrol_url: str, kite_id: str, public: str
) -> None:
    """The Python client, goquery and `kite tell` find `kite_id` in Kontrol under `public`
    and call it there with their tokens; goclient and `kite tell` call `public` directly."""
    url, result = await python_query_call(key, kontrol_url, kite_id, 6)
    assert (url, result) == (public, 36)
    found, called = await goquery_call(go_build, key, kontrol_url, kite_id, 5)
    assert found["kites"][0]["url"] == public
    assert called == {"method": "square", "result": 25}
    await go_calls(go_build, public, key)
    assert await kite_tell(key, public, "square", "8") == "64\n"
    target = f"username=anchor,name=math,id={kite_id}"
    assert await kite_tell(key, target, "square", "3", "--kontrol-url", kontrol_url) == "9\n"


async def kite_tell(key: Path, target: str, method: str, *args: str) -> str:
    """`kite tell --kite-key KEY TARGET METHOD ARGS...` (the `kite` command): its stdout."""
    argv = [sys.executable, "-m", "kite", "tell", "--kite-key", str(key), target, method, *args]
    done = await trio.run_process(argv, capture_stdout=True, capture_stderr=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


async def go_calls(go_build: GoBuild, url: str, key: Path) -> None:
    """goclient (kiteKey of `key`) calls `url` over WebSocket and XHR, a callback included."""
    auth = ("-kitekey", str(key))
    countdown = '[{"from": 2, "cb": "$callback"}]'
    for transport in ("websocket", "xhr"):
        result = await goclient(go_build, url, transport, "square", "[7]", *auth)
        assert result.returncode == 0, result.stdout + result.stderr
        assert parse_lines(result) == [49]
        result = await goclient(go_build, url, transport, "countdown", countdown, *auth)
        assert result.returncode == 0, result.stdout + result.stderr
        assert parse_lines(result) == [
            {"args": [2], "callback": "0.cb"},
            {"args": [1], "callback": "0.cb"},
            "done",
        ]


@pytest.mark.parametrize("via", ["proxy", "tunnel"])
@pytest.mark.parametrize("who", ["python", "go"])
async def test_kite_behind_python_proxy(
    go_build: GoBuild, tmp_path: Path, who: Literal["python", "go"], via: Via
) -> None:
    with trio.fail_after(120):
        async with (
            kontrol_with_users(tmp_path) as (owner, alice, kontrol_url),
            python_proxy(owner, kontrol_url, via) as proxy,
        ):
            async with math_behind(who, go_build, owner, kontrol_url, via) as math:
                assert math.public == proxy.public_url(math.kite_id)
                if isinstance(proxy, ReverseProxy):
                    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/proxy/[\w-]+", math.public)
                    assert proxy.kites[math.kite_id].url == math.local
                else:
                    assert re.fullmatch(
                        r"http://127\.0\.0\.1:\d+/proxy\?kiteID=[\w-]+", math.public
                    )
                await calls_through_kontrol(go_build, alice, kontrol_url, math.kite_id, math.public)
                gone = unmapped(proxy, math.kite_id)
            await wait_unmapped(gone)
            assert await http_status(info_url(math.public)) == 502


async def test_python_kite_behind_go_proxy(go_build: GoBuild, tmp_path: Path) -> None:
    owner = await python_kontrol_init(tmp_path, "anchor", KEY_URL)
    alice = await python_kontrol_init(tmp_path, "alice", KEY_URL)
    with trio.fail_after(120):
        async with open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol:
            args = ["-quiet", "-kitekey", str(owner), "-kontrol-url", kontrol.url, "-register"]
            async with open_go_peer(go_build, "goreverseproxy", *args) as goproxy:
                config = key_config(owner, kontrol_url=kontrol.url)
                async with proxied_math(config) as math:
                    public = math.public
                    assert public == f"http://127.0.0.1:{goproxy.port}/proxy/{math.kite_id}"
                    url, result = await python_query_call(alice, kontrol.url, math.kite_id, 6)
                    assert (url, result) == (public, 36)
                    await go_calls(go_build, public, alice)
                await goproxy.wait_for_output(rf"^goreverseproxy removed {math.kite_id}$")


async def test_kite_proxy_url_skips_kontrol_lookup(tmp_path: Path) -> None:
    """With `proxy_url` set the kite dials that proxy with its kite key (Go's KITE_PROXY_URL)."""
    owner = await python_kontrol_init(tmp_path, "anchor", KEY_URL)
    with trio.fail_after(60):
        async with open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol:
            proxy = ReverseProxy(key_config(owner, kontrol_url=kontrol.url))
            async with proxy.serve("127.0.0.1", 0) as proxy_server:  # not registered to Kontrol
                config = key_config(owner, kontrol_url=kontrol.url, proxy_url=proxy_server.url)
                async with proxied_math(config) as math:
                    assert math.public == proxy.public_url(math.kite_id)
                    caller = Kite("caller", "1.0.0", config)
                    async with caller.dial(math.public) as remote:
                        assert await remote.tell("square", 3) == 9


@pytest.mark.parametrize("who", ["python", "go"])
async def test_long_messages_through_python_tunnel_proxy(
    go_build: GoBuild, tmp_path: Path, who: Literal["python", "go"]
) -> None:
    """goclient's 100,000-character `echo` crosses our tunnel proxy both ways whole (Go's
    tunnel proxy ends its process on any message over 32 KiB)."""
    big = "x" * 100_000
    args = tmp_path / "args.json"
    args.write_text(json.dumps([big]))
    with trio.fail_after(90):
        async with (
            kontrol_with_users(tmp_path) as (owner, alice, kontrol_url),
            python_proxy(owner, kontrol_url, "tunnel"),
            math_behind(who, go_build, owner, kontrol_url, "tunnel") as math,
        ):
            auth = ("-kitekey", str(alice))
            result = await goclient(go_build, math.public, "websocket", "echo", f"@{args}", *auth)
            assert result.returncode == 0, result.stdout[:300] + result.stderr
            assert parse_lines(result) == [[big]]
