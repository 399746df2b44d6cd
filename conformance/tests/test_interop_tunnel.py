"""Interop, Go's tunnel proxy: a Python kite nobody can dial, behind ``gotunnelproxy`` (the
real koding/kite ``tunnelproxy`` package) registered to a Python Kontrol. The kite registers
with `Kite.register_to_tunnel` (found through Kontrol), is listed under
``http://127.0.0.1:<port>/proxy?kiteID=<id>``, and the Python client (through Kontrol, with
its token) and ``goclient`` call it there (over WebSocket: Go's tunnel proxy takes the SockJS
session path only before the query, where Go's XHR client does not put it). Each outside
session reaches the kite through a ``kite.tunnel`` WebSocket the kite dials to the proxy.

Go and Python kites behind our `TunnelProxy`: ``test_interop_proxy``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from conformance._gopeers import GoBuild, go_peers_or_skip, open_go_peer
from conformance._interop import (
    KEYS,
    goclient,
    key_config,
    open_python_kontrol,
    parse_lines,
    python_kontrol_init,
    python_math_kite,
)
from conformance.tests.test_interop_kontrol import python_query_call

pytestmark = pytest.mark.go

KEY_URL = "http://127.0.0.1:4099/kite"


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


async def test_python_kite_behind_go_tunnel_proxy(go_build: GoBuild, tmp_path: Path) -> None:
    owner = await python_kontrol_init(tmp_path, "anchor", KEY_URL)
    alice = await python_kontrol_init(tmp_path, "alice", KEY_URL)
    keys = ["-public-key", str(KEYS / "kontrol.pub"), "-private-key", str(KEYS / "kontrol.pem")]
    with trio.fail_after(90):
        async with open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol:
            args = ["-quiet", "-kitekey", str(owner), "-kontrol-url", kontrol.url, *keys]
            async with open_go_peer(go_build, "gotunnelproxy", *args) as tunnel:
                math = python_math_kite(key_config(owner, kontrol_url=kontrol.url))
                async with trio.open_nursery() as nursery, math.kontrol_client():
                    public = await nursery.start(
                        lambda task_status: math.register_to_tunnel(
                            retry=0.2, task_status=task_status
                        )
                    )
                    assert public == f"http://127.0.0.1:{tunnel.port}/proxy?kiteID={math.id}"
                    url, result = await python_query_call(alice, kontrol.url, math.id, 6)
                    assert (url, result) == (public, 36)
                    auth = ("-kitekey", str(alice))
                    result = await goclient(go_build, public, "websocket", "square", "[7]", *auth)
                    assert result.returncode == 0, result.stdout + result.stderr
                    assert parse_lines(result) == [49]
                    nursery.cancel_scope.cancel()
