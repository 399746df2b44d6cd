"""Shared pieces of the proxy interop tests (``test_interop_proxy*.py``, ``test_interop_tunnel``).

How this works: `kontrol_with_users` serves a Python Kontrol; `python_proxy` serves one of our
proxy kites (`ReverseProxy` or `TunnelProxy`) registered to it. `math_behind` starts a math
kite -- ``gomath -register proxy|tunnel`` or its Python twin with `Kite.register_to_proxy` /
`Kite.register_to_tunnel` -- that finds a proxy through Kontrol, and yields a `ProxiedMath`:
the kite's id, its first public URL, and a way to wait until the kite registered some other
URL to Kontrol (after its proxy went away).
`unmapped` and `http_status` check that a proxy dropped a kite.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import trio

from kite import Config
from kite.proxy import ReverseProxy, TunnelProxy

from ._gopeers import GoBuild, open_go_peer
from ._interop import key_config, open_python_kontrol, python_kontrol_init, python_math_kite

__all__ = [
    "RETRY",
    "AnyProxy",
    "ProxiedMath",
    "Via",
    "go_proxied_math",
    "http_status",
    "kontrol_with_users",
    "math_behind",
    "proxied_math",
    "python_proxy",
    "unmapped",
    "wait_unmapped",
]

RETRY = 0.2  # seconds between a Python kite's attempts to find a proxy (Go: 10 s)

#: One of our proxy kites.
AnyProxy = ReverseProxy | TunnelProxy

#: How a kite is reached: through a reverse proxy (`proxy`) or a tunnel proxy (`tunnel`).
Via = Literal["proxy", "tunnel"]


@asynccontextmanager
async def kontrol_with_users(tmp_path: Path) -> AsyncIterator[tuple[Path, Path, str]]:
    """A Python Kontrol (SQLite under `tmp_path`) owned by `anchor`; yields the kite keys of
    `anchor` and `alice` and Kontrol's URL."""
    key_url = "http://127.0.0.1:4099/kite"
    owner = await python_kontrol_init(tmp_path, "anchor", key_url)
    alice = await python_kontrol_init(tmp_path, "alice", key_url)
    async with open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol:
        yield owner, alice, kontrol.url


@asynccontextmanager
async def python_proxy(key: Path, kontrol_url: str, via: Via = "proxy") -> AsyncIterator[AnyProxy]:
    """Our proxy on 127.0.0.1 (`ReverseProxy`, or `TunnelProxy` for `via="tunnel"`),
    registered to Kontrol as the owner of `key`."""
    config = key_config(key, kontrol_url=kontrol_url)
    proxy: AnyProxy = ReverseProxy(config) if via == "proxy" else TunnelProxy(config)
    async with proxy.serve("127.0.0.1", 0), proxy.kite.kontrol_client():
        await proxy.kite.register_forever(proxy.register_url)
        yield proxy


def unmapped(proxy: AnyProxy, kite_id: str) -> trio.Event:
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


@dataclass
class ProxiedMath:
    """A math kite reachable through a proxy.

    Attributes:
        kite_id: its id.
        local: its own URL (`""` behind a tunnel proxy: it serves nothing itself).
        public: the first URL it registered to Kontrol (a proxy's).
        registered: `await registered(url)` returns once it registered `url` to Kontrol.
    """

    kite_id: str
    local: str
    public: str
    registered: Callable[[str], Awaitable[None]]


@asynccontextmanager
async def proxied_math(config: Config, via: Via = "proxy") -> AsyncIterator[ProxiedMath]:
    """The Python twin of gomath on `config`, reachable through a proxy found in Kontrol:
    `register_to_proxy` with its URL on 127.0.0.1, or `register_to_tunnel` (serving nothing
    itself). Leaving stops it."""
    math = python_math_kite(config)
    urls: set[str] = set()
    changed = trio.Event()

    @math.on_register
    def note(result: object) -> None:
        nonlocal changed
        urls.add(getattr(result, "url", ""))
        changed.set()
        changed = trio.Event()

    async def registered(url: str) -> None:
        while url not in urls:
            await changed.wait()

    async with AsyncExitStack() as stack:
        nursery = await stack.enter_async_context(trio.open_nursery())
        local = ""
        if via == "proxy":
            local = (await stack.enter_async_context(math.serve("127.0.0.1", 0))).url
            register = partial(math.register_to_proxy, local, retry=RETRY)
        else:
            register = partial(math.register_to_tunnel, retry=RETRY)
        await stack.enter_async_context(math.kontrol_client())
        public = await nursery.start(lambda task_status: register(task_status=task_status))
        yield ProxiedMath(math.id, local, public, registered)
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def go_proxied_math(
    go_build: GoBuild, key: Path, kontrol_url: str, via: Via = "proxy"
) -> AsyncIterator[ProxiedMath]:
    """``gomath -auth -register proxy|tunnel`` with the kite key `key`. Leaving stops it."""
    args = ["-quiet", "-auth", "-kitekey", str(key), "-kontrol-url", kontrol_url]
    async with open_go_peer(go_build, "gomath", *args, "-register", via) as math:
        first = await math.wait_for_output(r"^gomath registered (\S+) as (\S+)$")
        kite_id = first.group(2)

        async def registered(url: str) -> None:
            await math.wait_for_output(rf"^gomath registered {re.escape(url)} as ")

        local = math.url if via == "proxy" else ""
        yield ProxiedMath(kite_id, local, first.group(1), registered)


def math_behind(
    who: Literal["python", "go"], go_build: GoBuild, key: Path, kontrol_url: str, via: Via
) -> AbstractAsyncContextManager[ProxiedMath]:
    """`proxied_math` (`who="python"`) or `go_proxied_math` (`who="go"`) as the owner of `key`."""
    if who == "python":
        return proxied_math(key_config(key, kontrol_url=kontrol_url), via)
    return go_proxied_math(go_build, key, kontrol_url, via)
