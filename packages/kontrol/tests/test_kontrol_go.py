"""Live interop: the real Go programs of `conformance/go` (koding/kite at baa1a54) against our
Kontrol served on 127.0.0.1: gomath registers over its kite connection and over HTTP, goquery
asks for kites, tokens and the key, and calls gomath with the token we issued.

Needs the Go peers (`conformance._gopeers`, branch go-peers) and a Go toolchain (marker `go`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import trio
from kontrol_test_support import ANCHOR_KEY, KONTROL_PUB, make_kontrol, sqlite_storage

from kontrol import KontrolQuery

pytestmark = pytest.mark.go

gopeers = pytest.importorskip(
    "conformance._gopeers", reason="the Go peers (conformance._gopeers) are not in this tree"
)


@pytest.mark.parametrize("mode", ["ws", "http"])
async def test_go_kites_register_and_query(tmp_path: Path, mode: str) -> None:
    build = gopeers.go_peers_or_skip()
    key = tmp_path / "anchor.kite.key"
    key.write_text(ANCHOR_KEY)
    async with sqlite_storage(tmp_path / "k.db", clock=time.time) as storage:
        kontrol = make_kontrol(storage, clock=time.time)  # Go checks tokens with its own clock
        async with kontrol.running(), kontrol.serve("127.0.0.1", 0) as server:
            query = ["-kitekey", str(key), "-kontrol-url", server.url]
            args = ["-ip", "127.0.0.1", "-auth", "-kitekey", str(key), "-register", mode]
            async with gopeers.open_go_peer(
                build, "gomath", *args, "-kontrol-url", server.url
            ) as math:
                with trio.fail_after(20):
                    registered = await math.wait_for_output(r"gomath registered (\S+) as (\S+)")
                url, kite_id = registered.group(1), registered.group(2)
                out = await gopeers.run_go_program(
                    build,
                    "goquery",
                    [
                        *query,
                        "-mode",
                        "getkites",
                        "-q-name",
                        "math",
                        "-q-id",
                        kite_id,
                        "-method",
                        "square",
                        "-args",
                        "[6]",
                    ],
                )
                assert out.returncode == 0, out.stderr
                found, called = (json.loads(line) for line in out.lines())
                (entry,) = found["kites"]
                assert (entry["url"], entry["kite"]["id"]) == (url, kite_id)
                assert called == {"method": "square", "result": 36}
                out = await gopeers.run_go_program(build, "goquery", [*query, "-mode", "getkey"])
                assert json.loads(out.lines()[0]) == {"key": KONTROL_PUB.strip()}
                out = await gopeers.run_go_program(
                    build, "goquery", [*query, "-mode", "gettoken", "-q-name", "math"]
                )
                assert json.loads(out.lines()[0])["token"].startswith("eyJ")
            if mode == "ws":
                with trio.fail_after(5):  # the kite's disconnect removes it at once
                    while await storage.get(KontrolQuery(id=kite_id)):  # noqa: ASYNC110
                        await trio.sleep(0.05)
