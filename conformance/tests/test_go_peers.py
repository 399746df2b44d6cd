"""The Go peers build and talk to each other: Go client -> Go kite over both transports.

This proves the peers work before the Python side is put between them (the interop matrix in
``conformance/README.md``). Skipped with the reason when the Go toolchain or modules are missing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import trio

from conformance._gopeers import (
    PROGRAMS,
    GoBuild,
    GoPeerError,
    go_peers_or_skip,
    kite_module_dir,
    open_go_peer,
    run_go_program,
)

pytestmark = pytest.mark.go


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


def test_all_four_programs_are_built(go_build: GoBuild) -> None:
    for program in PROGRAMS:
        path = go_build.path(program)
        assert path.is_file(), path
        assert path.stat().st_mode & 0o111, f"{path} is not executable"


@pytest.mark.parametrize("transport", ["websocket", "xhr"])
async def test_go_client_squares_on_go_kite(go_build: GoBuild, transport: str) -> None:
    with trio.fail_after(60):
        async with open_go_peer(go_build, "gomath", "-quiet") as math:
            assert math.host == "127.0.0.1"
            result = await run_go_program(
                go_build,
                "goclient",
                ["-url", math.url, "-transport", transport, "-method", "square", "-args", "[4]"],
            )
    assert (result.returncode, result.stdout) == (0, "16\n"), result.stderr


async def test_callbacks_and_errors_as_recorded(go_build: GoBuild) -> None:
    """The outputs the recorded scenarios countdown-callback and fail printed."""
    with trio.fail_after(60):
        async with open_go_peer(go_build, "gomath", "-quiet") as math:
            countdown = await run_go_program(
                go_build,
                "goclient",
                [
                    "-url",
                    math.url,
                    "-method",
                    "countdown",
                    "-args",
                    '[{"from":3,"cb":"$callback"}]',
                ],
            )
            fail = await run_go_program(
                go_build, "goclient", ["-url", math.url, "-method", "fail", "-args", '["no"]']
            )
    assert countdown.returncode == 0, countdown.stderr
    assert [json.loads(line) for line in countdown.lines()] == [
        {"args": [3], "callback": "0.cb"},
        {"args": [2], "callback": "0.cb"},
        {"args": [1], "callback": "0.cb"},
        "done",
    ]
    assert fail.returncode == 1
    (line,) = fail.lines()
    error = json.loads(line)["error"]
    assert (error["type"], error["message"], error["code"]) == ("genericError", "no", "")
    assert len(error["id"]) == 16


async def test_a_peer_that_cannot_start_is_reported(go_build: GoBuild) -> None:
    with trio.fail_after(30), pytest.raises(GoPeerError, match="exited with code"):
        async with open_go_peer(go_build, "gomath", "-kitekey", "/nonexistent/kite.key"):
            pytest.fail("gomath started without its kite key")


async def test_errors_inside_the_block_come_out_unwrapped(go_build: GoBuild) -> None:
    with trio.fail_after(30), pytest.raises(KeyError, match="marker"):
        async with open_go_peer(go_build, "gomath", "-quiet"):
            raise KeyError("marker")


KEYS = Path(__file__).resolve().parents[1] / "captures" / "keys"


@pytest.fixture
def postgres_dsn() -> str:
    dsn = os.environ.get("KITE_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("KITE_TEST_POSTGRES_DSN is not set (.ci/install-peers.sh sets it up)")
    return dsn


@pytest.mark.postgres
async def test_go_kontrol_registers_finds_and_authorises(
    go_build: GoBuild, postgres_dsn: str
) -> None:
    """gomath registers to gokontrol (PostgreSQL); goquery finds it and calls it with a token."""
    anchor = str(KEYS / "anchor.kite.key")
    kontrol_args = [
        "-dsn", postgres_dsn,
        "-create-schema", str(kite_module_dir() / "kontrol"),
        "-public-key", str(KEYS / "kontrol.pub"),
        "-private-key", str(KEYS / "kontrol.pem"),
        "-kitekey", anchor,
        "-quiet",
    ]  # fmt: skip
    with trio.fail_after(90):
        async with open_go_peer(go_build, "gokontrol", *kontrol_args) as kontrol:
            math_args = [
                "-auth",
                "-kitekey",
                anchor,
                "-register",
                "ws",
                "-kontrol-url",
                kontrol.url,
            ]
            async with open_go_peer(go_build, "gomath", "-quiet", *math_args) as math:
                registered = await math.wait_for_output(r"^gomath registered (\S+) as (\S+)$")
                assert registered.group(1) == math.url
                query = ["-kitekey", anchor, "-kontrol-url", kontrol.url]
                found = await run_go_program(
                    go_build,
                    "goquery",
                    [*query, "-mode", "getkites", "-q-name", "math", "-q-id", registered.group(2),
                     "-method", "square", "-args", "[6]"],
                )  # fmt: skip
                token = await run_go_program(
                    go_build,
                    "goquery",
                    [*query, "-mode", "gettoken", "-q-name", "math", "-q-id", registered.group(2)],
                )
                key = await run_go_program(go_build, "goquery", [*query, "-mode", "getkey"])
    assert found.returncode == 0, found.stdout + found.stderr
    kites_line, call_line = (json.loads(line) for line in found.lines())
    (entry,) = kites_line["kites"]
    assert entry["url"] == math.url
    assert entry["kite"]["name"] == "math"
    assert entry["kite"]["username"] == "anchor"
    assert entry["token"].startswith("eyJ")
    assert call_line == {"method": "square", "result": 36}
    assert token.returncode == 0, token.stderr
    assert json.loads(token.stdout)["token"].startswith("eyJ")
    assert key.returncode == 0, key.stderr
    assert json.loads(key.stdout)["key"] == (KEYS / "kontrol.pub").read_text().strip()
