"""Interop, proxy failover: a kite whose proxy goes away registers through another one.

Two of our proxies of one kind (`kite.proxy.ReverseProxy`, or `TunnelProxy`) registered to a Python
Kontrol; a kite registered through the first -- ``gomath -register proxy|tunnel`` (Go's
``RegisterToProxy``/``RegisterToTunnel``) or a Python kite (`Kite.register_to_proxy`,
`Kite.register_to_tunnel`) -- registers through the second once the first is stopped:
Kontrol then lists the kite under the second proxy's URL, and calls through it work. A Go
kite waits Go's fixed 10 s before it tries again when its first pick was the proxy that just
stopped, hence the generous deadline (the wait ends as soon as the kite moved).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
import trio

from conformance._gopeers import GoBuild, go_peers_or_skip
from conformance._interop import goclient, parse_lines
from conformance._proxies import AnyProxy, Via, kontrol_with_users, math_behind, python_proxy
from conformance.tests.test_interop_kontrol import python_query_call

pytestmark = pytest.mark.go


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


async def stoppable_proxy(
    nursery: trio.Nursery, key: Path, kontrol_url: str, via: Via
) -> tuple[AnyProxy, trio.CancelScope]:
    """Start one of our proxies in `nursery`; cancelling the scope stops it."""
    scope = trio.CancelScope()

    async def run(task_status: trio.TaskStatus[AnyProxy]) -> None:
        with scope:
            async with python_proxy(key, kontrol_url, via) as proxy:
                task_status.started(proxy)
                await trio.sleep_forever()

    proxy: AnyProxy = await nursery.start(run)
    return proxy, scope


@pytest.mark.parametrize("via", ["proxy", "tunnel"])
@pytest.mark.parametrize("who", ["python", "go"])
async def test_kite_moves_to_another_proxy(
    go_build: GoBuild, tmp_path: Path, who: Literal["python", "go"], via: Via
) -> None:
    with trio.fail_after(120):
        async with (
            kontrol_with_users(tmp_path) as (owner, alice, kontrol_url),
            trio.open_nursery() as nursery,
        ):
            first, stop_first = await stoppable_proxy(nursery, owner, kontrol_url, via)
            async with math_behind(who, go_build, owner, kontrol_url, via) as math:
                assert math.public == first.public_url(math.kite_id)
                second, stop_second = await stoppable_proxy(nursery, owner, kontrol_url, via)
                moved = second.public_url(math.kite_id)
                stop_first.cancel()
                await math.registered(moved)
                url, result = await python_query_call(alice, kontrol_url, math.kite_id, 6)
                assert (url, result) == (moved, 36)
                auth = ("-kitekey", str(alice))
                called = await goclient(go_build, moved, "websocket", "square", "[7]", *auth)
                assert called.returncode == 0, called.stdout + called.stderr
                assert parse_lines(called) == [49]
            stop_second.cancel()
