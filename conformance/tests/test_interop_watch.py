"""Watching a Python Kontrol that shares PostgreSQL with Go Kontrol: a Go kite (``gomath``)
registering to ``gokontrol`` reaches a watcher of the Python Kontrol (the table's NOTIFY
trigger sees Go's own INSERT), with a token the Python Kontrol signed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio

from conformance._gopeers import GoBuild, go_peers_or_skip
from conformance._interop import key_config, postgres_dsn_or_skip
from conformance.tests.test_interop_kontrol import both_kontrols, registered_gomath
from kite import Kite, KiteIdentity, parse_public_key, parse_token

pytestmark = pytest.mark.go


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


@pytest.mark.postgres
async def test_go_kontrol_registration_reaches_a_python_kontrol_watcher(
    go_build: GoBuild, tmp_path: Path
) -> None:
    dsn = postgres_dsn_or_skip()
    with trio.fail_after(90):
        async with both_kontrols(go_build, tmp_path, dsn) as (go, python, owner, alice):
            watcher = Kite("pywatcher", "1.0.0", key_config(alice, kontrol_url=python))
            async with (
                watcher.kontrol_client() as client,
                client.watch_kites({"username": "anchor", "name": "math"}) as watch,
                registered_gomath(go_build, owner, go) as (math, kite_id),
            ):
                async for event in watch:  # other tests may register math kites too
                    if event.kite.id == kite_id:
                        break
    assert (event.action, event.url, event.kite.name) == ("register", math.url, "math")
    public = parse_public_key((Path(__file__).parents[1] / "captures/keys/kontrol.pub").read_text())
    claims = parse_token(event.token, lambda _: public, now=time.time())
    assert (claims.sub, claims.aud) == ("alice", "/anchor//math")
    assert isinstance(event.kite, KiteIdentity)
