"""What a proxy kite costs: ``square(4)`` called directly and through each proxy.

Every case runs in this one process on 127.0.0.1 -- the math kite, the proxy and the caller
(one connection, 2,000 sequential calls, each timed) -- so the figures compare the paths with
each other, not with the cross-process cases of ``rpc_bench``:

* ``direct ws`` / ``direct xhr``: the caller dials the kite;
* ``reverse ws`` / ``reverse xhr``: through a `ReverseProxy` (the kite registered its URL);
* ``tunnel ws`` / ``tunnel xhr``: through a `TunnelProxy` (the kite serves nothing; the
  session reaches it through the WebSocket it dialled to the proxy).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio

from bench import Measurement, Scenario
from bench.rpc_bench import _loop
from kite import Config, Kite
from kite._sockjs._tunnel import TUNNEL_METHOD, tunnel_handler
from kite.proxy import ReverseProxy, TunnelProxy

CALLS = 2_000
SMOKE_CALLS = 20
OPEN = Config(disable_authentication=True)
PATHS = ("direct ws", "direct xhr", "reverse ws", "reverse xhr", "tunnel ws", "tunnel xhr")


def _math() -> Kite:
    math = Kite("math", "1.0.0", OPEN)

    @math.method()
    def square(n: float) -> float:
        return n * n

    return math


@asynccontextmanager
async def _url(path: str) -> AsyncIterator[str]:
    """The URL the caller dials for `path`, while the kite (and its proxy) serve."""
    math = _math()
    if path.startswith("direct"):
        async with math.serve("127.0.0.1", 0) as server:
            yield server.url
    elif path.startswith("reverse"):
        proxy = ReverseProxy(OPEN)
        async with (
            proxy.serve("127.0.0.1", 0) as proxy_server,
            math.serve("127.0.0.1", 0) as server,
            math.dial(proxy_server.url) as remote,
        ):
            yield await remote.tell("register", server.url)
    else:
        math.handle_func(TUNNEL_METHOD, tunnel_handler(math, timeout=10.0))
        tunnel = TunnelProxy(OPEN)
        async with (
            tunnel.serve("127.0.0.1", 0) as proxy_server,
            math.dial(proxy_server.url) as remote,
        ):
            yield await remote.tell("register", "")


def _square(path: str) -> Callable[[bool], Measurement]:
    transport = "websocket" if path.endswith("ws") else "xhr"

    def run(smoke: bool) -> Measurement:
        async def measure() -> Measurement:
            caller = Kite("caller", "1.0.0", OPEN)
            async with _url(path) as url, caller.dial(url, transport=transport) as remote:  # type: ignore[arg-type]

                async def call() -> None:
                    await remote.tell("square", 4)

                return await _loop(call, SMOKE_CALLS if smoke else CALLS, 1)

        return trio.run(measure)

    return run


CASES: list[Scenario] = [
    Scenario(
        f"proxy.square.seq[{path}]",
        _square(path),
        unit="call",
        compare_to=None
        if path.startswith("direct")
        else f"proxy.square.seq[direct {path.split()[1]}]",
    )
    for path in PATHS
]
