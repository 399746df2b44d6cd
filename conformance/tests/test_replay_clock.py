"""The replay runs on the clock of each capture, never on today's date.

The captures' tokens expired days after they were recorded; the replay must pass on any later
date. `capture_origin` reads the capture's moment from its own traffic, `CaptureClock` runs from
it, and the whole replay is run in a child process whose wall clock is years ahead (libfaketime
shifts the machine's clock for that process only; its monotonic clock is left alone).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio
import trio.testing

from conformance._capture_clock import CaptureClock, capture_origin, keys_moment
from conformance._captures import CAPTURES_DIR, Event, load_scenario
from conformance._replay import replay_client_role, replay_server_role
from kite import parse_unverified

ROOT = Path(__file__).resolve().parents[2]
YEAR = 365 * 24 * 3600
#: Scenarios whose keys or tokens expire (or renew) with time: Kontrol-issued tokens with a
#: 48 h lifetime, kite keys, Kontrol's own registrations and heartbeats.
DATED = [
    "auth-token-ok",
    "auth-kitekey-ok",
    "auth-kitekey-ok-xhr",
    "kontrol-getkites",
    "kontrol-gettoken",
    "kontrol-getkey",
    "kontrol-register",
    "kontrol-register-http",
    "kontrol-heartbeat",
]


def _libfaketime() -> str | None:
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    return found[0] if found else None


def _years_ahead(years: int) -> dict[str, str]:
    """The environment of a child process whose wall clock reads `years` years ahead."""
    lib = _libfaketime()
    if lib is None:
        if os.environ.get("CI"):
            pytest.fail("libfaketime is missing (.ci/install-peers.sh installs `faketime`)")
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    env = dict(os.environ)
    env.update(
        LD_PRELOAD=lib,
        FAKETIME=f"+{years * 365}d",
        FAKETIME_DONT_FAKE_MONOTONIC="1",  # trio's clock: timeouts stay real
        FAKETIME_NO_CACHE="1",
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
    )
    return env


def test_capture_origin_is_read_from_the_traffic() -> None:
    """The moment comes from the tokens Kontrol issued during the capture."""
    sc = load_scenario("kontrol-getkites")
    origin = capture_origin(sc, CAPTURES_DIR / "keys")
    stdout = str(sc.client_outputs[0]["stdout"])
    token = json.loads(stdout.splitlines()[0])["kites"][0]["token"]
    claims = parse_unverified(token).claims
    assert origin == claims.iat  # the latest time the traffic names
    assert claims.nbf <= origin < claims.exp


def test_capture_origin_prefers_the_recorded_moment_then_dates_then_keys() -> None:
    sc = load_scenario("square")
    keys = CAPTURES_DIR / "keys"
    assert capture_origin(sc, keys) == keys_moment(keys)  # square names no time
    dated = dataclasses.replace(
        sc,
        events=(
            *sc.events,
            Event(
                99,
                "http-response",
                1.0,
                0,
                "s2c",
                headers=(("Date", "Tue, 24 Nov 2026 09:00:00 GMT"),),
            ),
        ),
    )
    assert capture_origin(dated, keys) == 1795510800 + 1
    stamped = dataclasses.replace(sc, meta={**sc.meta, "recorded_at": 1795000000.5})
    assert capture_origin(stamped, keys) == 1795000000.5


def test_capture_clock_runs_with_trios_clock() -> None:
    async def main() -> tuple[float, float]:
        clock = CaptureClock(1795425495.0)
        first = clock()
        await trio.sleep(3600)
        return first, clock()

    mock = trio.testing.MockClock(autojump_threshold=0)
    assert trio.run(main, clock=mock) == (1795425495.0, 1795425495.0 + 3600)


async def test_a_clock_past_the_tokens_is_caught() -> None:
    """The replay really depends on the clock it is given: the getKites token, read an hour
    past its expiry, makes our client renew at once, and the replay says so."""
    sc = load_scenario("kontrol-getkites")
    stdout = str(sc.client_outputs[0]["stdout"])
    exp = parse_unverified(json.loads(stdout.splitlines()[0])["kites"][0]["token"]).claims.exp
    late = dataclasses.replace(sc, meta={**sc.meta, "recorded_at": exp + 3600})
    outcome = await replay_client_role(late)
    assert outcome.status == "fail"
    assert "getToken" in outcome.detail


@pytest.mark.parametrize("name", DATED)
async def test_dated_scenarios_pass_on_the_capture_clock(name: str) -> None:
    sc = load_scenario(name)
    for replay in (replay_server_role, replay_client_role):
        with trio.fail_after(30):
            outcome = await replay(sc)
        assert (outcome.status, outcome.detail) in {("pass", ""), ("n/a", outcome.detail)}


@pytest.mark.slow
@pytest.mark.parametrize("years", [10, 40])
def test_the_replay_passes_years_after_the_capture(years: int) -> None:
    """``python -m conformance replay`` on the whole corpus, in a process whose wall clock
    reads `years` years ahead (past 2038 too): nothing fails."""
    env = _years_ahead(years)
    seen = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert float(seen.stdout) > time.time() + (years - 1) * YEAR  # the clock really moved
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "replay", str(CAPTURES_DIR)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = proc.stdout.splitlines()[-1]
    assert " 0 failed" in summary, summary
    for name in DATED:  # the scenarios whose keys and tokens would have expired
        assert f"pass  client  {name}  " in proc.stdout
