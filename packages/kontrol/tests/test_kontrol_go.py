"""Live interop: the real Go programs of `conformance/go` (koding/kite at baa1a54) against our
Kontrol served on 127.0.0.1 (the `kontrol_server` fixture, with kite keys it mints at run time
for user anchor): gomath registers over its kite connection and over HTTP, goquery
asks for kites, tokens and the key, and calls gomath with the token we issued.

Needs the Go peers (`conformance._gopeers`, branch go-peers) and a Go toolchain (marker `go`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio

from kontrol import KontrolQuery
from kontrol.testing import RunningKontrol

pytestmark = pytest.mark.go

gopeers = pytest.importorskip(
    "conformance._gopeers", reason="the Go peers (conformance._gopeers) are not in this tree"
)


@pytest.mark.parametrize("mode", ["ws", "http"])
async def test_go_kites_register_and_query(
    tmp_path: Path, mode: str, kontrol_server: RunningKontrol
) -> None:
    build = gopeers.go_peers_or_skip()
    key = tmp_path / "anchor.kite.key"
    key.write_text(kontrol_server.kite_key("anchor"))
    server, storage = kontrol_server.server, kontrol_server.kontrol.storage
    query = ["-kitekey", str(key), "-kontrol-url", server.url]
    args = ["-ip", "127.0.0.1", "-auth", "-kitekey", str(key), "-register", mode]
    async with gopeers.open_go_peer(build, "gomath", *args, "-kontrol-url", server.url) as math:
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
        assert json.loads(out.lines()[0]) == {"key": kontrol_server.key_pair.public.strip()}
        out = await gopeers.run_go_program(
            build, "goquery", [*query, "-mode", "gettoken", "-q-name", "math"]
        )
        assert json.loads(out.lines()[0])["token"].startswith("eyJ")
    if mode == "ws":
        with trio.fail_after(5):  # the kite's disconnect removes it at once
            while await storage.get(KontrolQuery(id=kite_id)):  # noqa: ASYNC110
                await trio.sleep(0.05)
