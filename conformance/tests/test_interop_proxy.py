"""Interop, reverse proxy: kites reachable through a `proxy` kite, across implementations.

* Our `ReverseProxy` registered to a Python Kontrol: ``gomath -register proxy`` (Go's
  ``RegisterToProxy``) and a Python kite (`Kite.register_to_proxy`) are listed by Kontrol
  under ``http://127.0.0.1:<proxy port>/proxy/<kite id>``; the Python client (through
  Kontrol, with the token), ``goquery``, ``goclient`` (WebSocket and XHR, callbacks
  included) and ``kite tell`` (by URL and by query) call them through that URL. Stopping
  the kite drops its mapping (502 after).
* A Python kite behind ``goreverseproxy`` (Go's reverse proxy, see its source) found through
  Kontrol: listed under the Go proxy's URL and called through it.
* `KITE_PROXY_URL` (`Config.proxy_url`): the kite registers to that proxy without asking
  Kontrol for one.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from conformance._gopeers import GoBuild, go_peers_or_skip, open_go_peer
from conformance._interop import (
    goclient,
    key_config,
    open_python_kontrol,
    parse_lines,
    python_kontrol_init,
    python_math_kite,
)
from conformance.tests.test_interop_kontrol import goquery_call, python_query_call
from kite import Config, Kite
from kite.proxy import ReverseProxy

pytestmark = pytest.mark.go

KEY_URL = "http://127.0.0.1:4099/kite"
RETRY = 0.2  # seconds between a kite's attempts to find a proxy (Go: 10 s)


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


@asynccontextmanager
async def python_proxy(key: Path, kontrol_url: str) -> AsyncIterator[ReverseProxy]:
    """Our reverse proxy on 127.0.0.1, registered to Kontrol as the owner of `key`."""
    proxy = ReverseProxy(key_config(key, kontrol_url=kontrol_url))
    async with proxy.serve("127.0.0.1", 0), proxy.kite.kontrol_client():
        await proxy.kite.register_forever(proxy.register_url)
        yield proxy


def unmapped(proxy: ReverseProxy, kite_id: str) -> trio.Event:
    """An event set once the proxy dropped `kite_id` (when the kite's connection ends)."""
    event = trio.Event()

    @proxy.kite.on_disconnect  # runs after the proxy's own hook, registered first
    def check(peer: object) -> None:
        if kite_id not in proxy.kites:
            event.set()

    return event


async def wait_unmapped(event: trio.Event) -> None:
    with trio.fail_after(15):
        await event.wait()


async def http_status(url: str) -> int:
    """The status code of `GET url` (plain HTTP on 127.0.0.1)."""
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/.*)", url)
    assert match is not None
    stream = await trio.open_tcp_stream("127.0.0.1", int(match.group(1)))
    async with stream:
        request = f"GET {match.group(2)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        await stream.send_all(request.encode())
        head = b""
        while b"\r\n" not in head and (data := await stream.receive_some(4096)):
            head += data
    return int(head.split(b" ")[1])


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
    for transport in ("websocket", "xhr"):
        result = await goclient(go_build, url, transport, "square", "[7]", *auth)
        assert result.returncode == 0, result.stdout + result.stderr
        assert parse_lines(result) == [49]
    result = await goclient(
        go_build, url, "websocket", "countdown", '[{"from": 2, "cb": "$callback"}]', *auth
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert parse_lines(result) == [
        {"args": [2], "callback": "0.cb"},
        {"args": [1], "callback": "0.cb"},
        "done",
    ]


@asynccontextmanager
async def proxied_math(config: Config) -> AsyncIterator[tuple[Kite, str, str]]:
    """The Python twin of gomath on `config`, registered through a proxy
    (`register_to_proxy`); yields it, its own URL and its public URL. Leaving stops it."""
    math = python_math_kite(config)
    async with (
        trio.open_nursery() as nursery,
        math.serve("127.0.0.1", 0) as server,
        math.kontrol_client(),
    ):
        public = await nursery.start(
            lambda task_status: math.register_to_proxy(
                server.url, retry=RETRY, task_status=task_status
            )
        )
        yield math, server.url, public
        nursery.cancel_scope.cancel()


async def test_python_kite_behind_python_proxy(go_build: GoBuild, tmp_path: Path) -> None:
    owner = await python_kontrol_init(tmp_path, "anchor", KEY_URL)
    alice = await python_kontrol_init(tmp_path, "alice", KEY_URL)
    with trio.fail_after(120):
        async with (
            open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol,
            python_proxy(owner, kontrol.url) as proxy,
        ):
            config = key_config(owner, kontrol_url=kontrol.url)
            async with proxied_math(config) as (math, local, public):
                assert public == proxy.public_url(math.id)
                assert re.fullmatch(r"http://127\.0\.0\.1:\d+/proxy/[\w-]+", public)
                assert proxy.kites[math.id].url == local
                await calls_through_kontrol(go_build, alice, kontrol.url, math.id, public)
                gone = unmapped(proxy, math.id)
            await wait_unmapped(gone)
            assert await http_status(public + "/info") == 502


async def test_go_kite_behind_python_proxy(go_build: GoBuild, tmp_path: Path) -> None:
    owner = await python_kontrol_init(tmp_path, "anchor", KEY_URL)
    alice = await python_kontrol_init(tmp_path, "alice", KEY_URL)
    with trio.fail_after(120):
        async with (
            open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol,
            python_proxy(owner, kontrol.url) as proxy,
        ):
            args = ["-quiet", "-auth", "-kitekey", str(owner), "-kontrol-url", kontrol.url]
            async with open_go_peer(go_build, "gomath", *args, "-register", "proxy") as math:
                registered = await math.wait_for_output(r"^gomath registered (\S+) as (\S+)$")
                public, kite_id = registered.group(1), registered.group(2)
                assert public == proxy.public_url(kite_id)
                assert proxy.kites[kite_id].url == math.url
                await calls_through_kontrol(go_build, alice, kontrol.url, kite_id, public)
                gone = unmapped(proxy, kite_id)
            await wait_unmapped(gone)
            assert await http_status(public + "/info") == 502


async def test_python_kite_behind_go_proxy(go_build: GoBuild, tmp_path: Path) -> None:
    owner = await python_kontrol_init(tmp_path, "anchor", KEY_URL)
    alice = await python_kontrol_init(tmp_path, "alice", KEY_URL)
    with trio.fail_after(120):
        async with open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol:
            args = ["-quiet", "-kitekey", str(owner), "-kontrol-url", kontrol.url, "-register"]
            async with open_go_peer(go_build, "goreverseproxy", *args) as goproxy:
                config = key_config(owner, kontrol_url=kontrol.url)
                async with proxied_math(config) as (math, _, public):
                    assert public == f"http://127.0.0.1:{goproxy.port}/proxy/{math.id}"
                    url, result = await python_query_call(alice, kontrol.url, math.id, 6)
                    assert (url, result) == (public, 36)
                    await go_calls(go_build, public, alice)
                await goproxy.wait_for_output(rf"^goreverseproxy removed {math.id}$")


async def test_kite_proxy_url_skips_kontrol_lookup(tmp_path: Path) -> None:
    """With `proxy_url` set the kite dials that proxy with its kite key (Go's KITE_PROXY_URL)."""
    owner = await python_kontrol_init(tmp_path, "anchor", KEY_URL)
    with trio.fail_after(60):
        async with open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol:
            proxy = ReverseProxy(key_config(owner, kontrol_url=kontrol.url))
            async with proxy.serve("127.0.0.1", 0) as proxy_server:  # not registered to Kontrol
                config = key_config(owner, kontrol_url=kontrol.url, proxy_url=proxy_server.url)
                async with proxied_math(config) as (math, _, public):
                    assert public == proxy.public_url(math.id)
                    async with math.dial(public) as remote:
                        assert await remote.tell("square", 3) == 9


async def test_kite_moves_to_another_proxy_when_its_proxy_dies(tmp_path: Path) -> None:
    """Stopping the kite's proxy makes it register through the other one Kontrol lists."""
    owner = await python_kontrol_init(tmp_path, "anchor", KEY_URL)
    first_scope = trio.CancelScope()

    async with open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol:

        async def serve_first(task_status: trio.TaskStatus[ReverseProxy]) -> None:
            with first_scope:
                async with python_proxy(owner, kontrol.url) as proxy:
                    task_status.started(proxy)
                    await trio.sleep_forever()

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                first = await nursery.start(serve_first)
                config = key_config(owner, kontrol_url=kontrol.url)
                async with proxied_math(config) as (math, _, public):
                    assert public == first.public_url(math.id)
                    async with python_proxy(owner, kontrol.url) as second:
                        moved = trio.Event()

                        @math.on_register
                        def registered(result: object) -> None:
                            if getattr(result, "url", "") == second.public_url(math.id):
                                moved.set()

                        first_scope.cancel()
                        await moved.wait()
                        async with math.dial(second.public_url(math.id)) as remote:
                            assert await remote.tell("square", 5) == 25
