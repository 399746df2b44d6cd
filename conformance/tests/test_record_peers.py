"""Recording Go Kontrol and Go's reverse proxy (`conformance._record_peers`), and the replay of
reverse proxy recordings (`conformance._replay_proxy`).

The live tests (markers ``go``, ``postgres``) record with the Go programs and replay the result:
both roles pass. The others read the recorded ``reverse-proxy-*`` captures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import record
from conformance._captures import load_scenario
from conformance._replay import load_scenarios
from conformance._replay_client import kite_path
from conformance._replay_proxy import PROXY_LINK, AddressMap, proxy_parties, recorded_address
from conformance._replay_tunnel import CLIENT, KITE, tunnel_parties
from conformance.tests.test_recorder import _replay


def test_proxy_parties_split_the_kite_from_the_client() -> None:
    sc = load_scenario("reverse-proxy-square")
    parties = proxy_parties(sc)
    assert parties is not None
    (kite_label, kite), (client_label, client) = parties
    assert (kite_label, client_label) == ("kite registering to the proxy", "client")
    kite_targets = [e.target or "" for e in kite.events if e.kind == "http-request"]
    client_targets = [e.target or "" for e in client.events if e.kind == "http-request"]
    assert len(kite_targets) == 1
    assert kite_targets[0].startswith("/kite/")
    assert client_targets
    assert all(t.startswith("/proxy/") for t in client_targets)
    assert {e.link for e in client.events if e.kind == "tcp-open"} == {PROXY_LINK}
    assert kite.client_outputs == ()  # what goclient printed is the client's
    assert client.client_outputs == sc.client_outputs
    assert kite_path(client).startswith("/proxy/")
    assert kite_path(kite) == "/kite"
    assert proxy_parties(load_scenario("square")) is None


def test_addresses_are_rewritten_only_towards_the_proxy() -> None:
    sc = load_scenario("reverse-proxy-square")
    math = recorded_address(sc, "math")
    assert math is not None
    recorded = f"http://{math[0]}:{math[1]}/kite"
    register = next(e for e in sc.events if e.dir == "c2s" and "register" in (e.data or ""))
    assert recorded in (register.data or "")
    addresses = AddressMap.of(sc, {"math": 1111, PROXY_LINK: 2222})
    sent = addresses.event(register, PROXY_LINK).data or ""
    assert recorded not in sent
    assert "http://127.0.0.1:1111/kite" in sent
    assert addresses.event(register, "math") is register


def test_tunnel_parties_put_the_tunnel_with_its_kite() -> None:
    sc = load_scenario("tunnel-proxy-square")
    parties = tunnel_parties(sc)
    assert parties is not None
    assert [label for label, _ in parties] == [KITE, CLIENT]
    (_, kite), (_, client) = parties
    kite_targets = [e.target or "" for e in kite.events if e.kind == "http-request"]
    assert [t.split("/")[1] for t in kite_targets] == ["kite", "tunnel"]
    assert "?token=eyJ" in kite_targets[1]
    assert kite_path(client).startswith("/proxy?kiteID=")
    assert kite.client_outputs == ()
    assert tunnel_parties(load_scenario("reverse-proxy-square")) is None


@pytest.mark.go
def test_live_tunnel_proxy_recording_replays_its_clients(tmp_path: Path) -> None:
    """Go's tunnel proxy: the client role (our kite behind the tunnel, a client through it)
    passes (the server role is skipped with its reason)."""
    from conformance._gopeers import go_peers_or_skip

    go_peers_or_skip()
    argv = ["tp", "--tunnel-proxy", "--method", "square", "--args", "[3]", "--out", str(tmp_path)]
    assert record.main(argv) == 0
    (scenario,) = load_scenarios(tmp_path)
    assert scenario.client_outputs[0]["stdout"] == "9\n"
    done = _replay(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pass  client  tp  [sockets, through a tunnel proxy]" in done.stdout


@pytest.mark.go
def test_live_reverse_proxy_recording_replays(tmp_path: Path) -> None:
    from conformance._gopeers import go_peers_or_skip

    go_peers_or_skip()
    argv = ["rp", "--reverse-proxy", "--method", "square", "--args", "[3]", "--out", str(tmp_path)]
    assert record.main(argv) == 0
    (scenario,) = load_scenarios(tmp_path)
    assert scenario.client_outputs[0]["stdout"] == "9\n"
    assert {e.link for e in scenario.events if e.kind == "tcp-open"} == {"proxy", "math"}
    done = _replay(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replay: 2 passed, 0 failed" in done.stdout


@pytest.mark.go
@pytest.mark.postgres
def test_live_kontrol_recording_replays(tmp_path: Path) -> None:
    """A query by the registered kite's id and a call on the kite found, recorded from Go
    Kontrol; the replay registers its twin under the recorded id, and both roles pass."""
    from conformance._gopeers import go_peers_or_skip
    from conformance._interop import postgres_dsn_or_skip

    go_peers_or_skip()
    postgres_dsn_or_skip()
    argv = ["q", "--kontrol", "getkites", "--query", "id={id}", "--method", "square"]
    assert record.main([*argv, "--args", "[4]", "--out", str(tmp_path)]) == 0
    (scenario,) = load_scenarios(tmp_path)
    (registered,) = [s for s in scenario.steps if s.get("label") == "gomath"]
    assert registered["during_capture"] is False
    printed = [json.loads(line) for line in scenario.client_outputs[0]["stdout"].splitlines()]
    assert printed[0]["kites"][0]["kite"]["id"] == registered["kite_id"]
    assert printed[1] == {"method": "square", "result": 16}
    done = _replay(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replay: 2 passed, 0 failed" in done.stdout
