"""Interop matrix, Kontrol: registration, discovery and token authentication across
implementations, and Go and Python Kontrol sharing one PostgreSQL database.

* Python Kontrol (SQLite, keys from ``kontrol init``): ``gomath -register`` (over its kite
  connection and over HTTP) is found by the Python client's `get_kites` and called with the
  token Kontrol returned; ``goquery`` finds a Python kite and ``gomath`` and calls them with
  Python-issued tokens. Python kites register over their kite connection and over HTTP.
* Go Kontrol (``gokontrol``, PostgreSQL, keys from ``gokontrol -initial``): a Python kite
  registers, ``goquery`` finds it and calls it with the Go-issued token; the Python client finds
  it and ``gomath`` and calls them with Go-issued tokens.
* Shared PostgreSQL (schema ``kite``): a kite registered through one Kontrol is returned by the
  other's ``getKites`` and callable with the token it signs.

Kite keys are fresh per test (unique kite ids), so parallel users of the database do not matter.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from conformance._gopeers import GoBuild, GoPeer, go_peers_or_skip, open_go_peer, run_go_program
from conformance._interop import (
    captures_key_pair,
    go_kontrol_args,
    go_kontrol_initial,
    key_config,
    open_python_kontrol,
    parse_lines,
    postgres_dsn_or_skip,
    python_kontrol_init,
    python_math_kite,
)
from kite import Kite

pytestmark = pytest.mark.go

KEY_URL = "http://127.0.0.1:4099/kite"  # the Kontrol URL written into keys; flags override it
REGISTERED = r"^gomath registered (\S+) as (\S+)$"


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


@pytest.fixture
def postgres_dsn() -> str:
    return postgres_dsn_or_skip()


@asynccontextmanager
async def registered_gomath(
    go_build: GoBuild, key: Path, kontrol_url: str, how: str = "ws"
) -> AsyncIterator[tuple[GoPeer, str]]:
    """``gomath -auth`` registered to ``kontrol_url``; yields it and its kite id."""
    args = ["-quiet", "-auth", "-kitekey", str(key), "-register", how, "-kontrol-url", kontrol_url]
    async with open_go_peer(go_build, "gomath", *args) as math:
        registered = await math.wait_for_output(REGISTERED)
        assert registered.group(1) == math.url
        yield math, registered.group(2)


@asynccontextmanager
async def registered_python_math(
    key: Path, kontrol_url: str, how: str = "ws"
) -> AsyncIterator[tuple[str, str]]:
    """The Python twin of gomath on ``key``, registered to ``kontrol_url`` over its kite
    connection (``ws``) or HTTP ``/register`` (``http``); yields its URL and id."""
    math = python_math_kite(key_config(key, kontrol_url=kontrol_url))
    async with math.serve(host="127.0.0.1", port=0) as server, math.kontrol_client():
        if how == "http":
            await math.register_http(server.url)
        else:
            await math.register_forever(server.url)
        yield server.url, math.id


async def goquery_call(
    go_build: GoBuild, key: Path, kontrol_url: str, kite_id: str, n: int
) -> tuple[Any, Any]:
    """``goquery getkites`` for anchor's math ID, then ``square [n]``: its two output lines.

    The query names the username: a token's audience is ``/<username>/<env>/<name>`` and a
    kite refuses ``///math`` (Go's ``getAudience``), so queries must carry it to be callable.
    """
    args = ["-kitekey", str(key), "-kontrol-url", kontrol_url, "-mode", "getkites"]
    args += ["-q-username", "anchor", "-q-name", "math", "-q-id", kite_id]
    args += ["-method", "square", "-args", f"[{n}]"]
    result = await run_go_program(go_build, "goquery", args, time_limit=30)
    assert result.returncode == 0, result.stdout + result.stderr
    found, called = parse_lines(result)
    return found, called


async def python_query_call(
    key: Path, kontrol_url: str, kite_id: str, n: int
) -> tuple[str, object]:
    """The Python client's `get_kites` by id, then ``square n`` with the token: (url, result)."""
    client = Kite("pyclient", "1.0.0", key_config(key, kontrol_url=kontrol_url))
    async with client.kontrol_client():
        (found,) = await client.get_kites({"username": "anchor", "name": "math", "id": kite_id})
        assert found.auth is not None
        assert found.auth.type == "token"
        assert found.auth.key.startswith("eyJ")
        async with found as math:
            return found.url, await math.tell("square", n, timeout=10)


def _token_of(found: Any) -> str:
    (entry,) = found["kites"]
    token = entry["token"]
    assert isinstance(token, str)
    assert re.fullmatch(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", token)
    return token


# -- Python Kontrol ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["ws", "http"])
async def test_go_kite_registers_to_python_kontrol(
    go_build: GoBuild, tmp_path: Path, how: str
) -> None:
    """gomath -register → Python Kontrol; Python get_kites + token call, goquery + token call."""
    owner = await python_kontrol_init(tmp_path, "anchor", KEY_URL)
    alice = await python_kontrol_init(tmp_path, "alice", KEY_URL)
    with trio.fail_after(90):
        async with (
            open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol,
            registered_gomath(go_build, owner, kontrol.url, how) as (math, kite_id),
        ):
            url, result = await python_query_call(alice, kontrol.url, kite_id, 6)
            found, called = await goquery_call(go_build, alice, kontrol.url, kite_id, 5)
    assert (url, result) == (math.url, 36)
    (entry,) = found["kites"]
    assert entry["url"] == math.url
    assert entry["kite"]["username"] == "anchor"
    assert entry["kite"]["name"] == "math"
    _token_of(found)
    assert called == {"method": "square", "result": 25}


@pytest.mark.parametrize("how", ["ws", "http"])
async def test_python_kite_registers_to_python_kontrol(
    go_build: GoBuild, tmp_path: Path, how: str
) -> None:
    """A Python kite registered to Python Kontrol is found by goquery and accepts its token."""
    owner = await python_kontrol_init(tmp_path, "anchor", KEY_URL)
    alice = await python_kontrol_init(tmp_path, "alice", KEY_URL)
    with trio.fail_after(90):
        async with (
            open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol,
            registered_python_math(owner, kontrol.url, how) as (url, kite_id),
        ):
            found, called = await goquery_call(go_build, alice, kontrol.url, kite_id, 4)
    (entry,) = found["kites"]
    assert entry["url"] == url
    assert entry["kite"]["id"] == kite_id
    assert called == {"method": "square", "result": 16}


# -- Go Kontrol -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["ws", "http"])
@pytest.mark.postgres
async def test_python_kite_registers_to_go_kontrol(
    go_build: GoBuild, tmp_path: Path, postgres_dsn: str, how: str
) -> None:
    """A Python kite registers to gokontrol; goquery and the Python client find it and call it
    with Go-issued tokens."""
    owner = await go_kontrol_initial(go_build, tmp_path / "owner.key", "anchor", KEY_URL)
    alice = await go_kontrol_initial(go_build, tmp_path / "alice.key", "alice", KEY_URL)
    with trio.fail_after(90):
        async with (
            open_go_peer(go_build, "gokontrol", *go_kontrol_args(postgres_dsn, owner)) as kontrol,
            registered_python_math(owner, kontrol.url, how) as (url, kite_id),
        ):
            found, called = await goquery_call(go_build, alice, kontrol.url, kite_id, 3)
            py_url, result = await python_query_call(alice, kontrol.url, kite_id, 8)
    (entry,) = found["kites"]
    assert (entry["url"], entry["kite"]["id"], entry["kite"]["username"]) == (
        url,
        kite_id,
        "anchor",
    )
    _token_of(found)
    assert called == {"method": "square", "result": 9}
    assert (py_url, result) == (url, 64)


@pytest.mark.postgres
async def test_python_client_finds_go_kite_on_go_kontrol(
    go_build: GoBuild, tmp_path: Path, postgres_dsn: str
) -> None:
    """gomath registers to gokontrol; the Python client (Go-issued key) calls it with a Go token."""
    owner = await go_kontrol_initial(go_build, tmp_path / "owner.key", "anchor", KEY_URL)
    alice = await go_kontrol_initial(go_build, tmp_path / "alice.key", "alice", KEY_URL)
    with trio.fail_after(90):
        async with (
            open_go_peer(go_build, "gokontrol", *go_kontrol_args(postgres_dsn, owner)) as kontrol,
            registered_gomath(go_build, owner, kontrol.url) as (math, kite_id),
        ):
            url, result = await python_query_call(alice, kontrol.url, kite_id, 7)
    assert (url, result) == (math.url, 49)


# -- Go and Python Kontrol on one PostgreSQL --------------------------------------------------


@asynccontextmanager
async def both_kontrols(
    go_build: GoBuild, tmp_path: Path, dsn: str
) -> AsyncIterator[tuple[str, str, Path, Path]]:
    """gokontrol and the Python Kontrol on one database and one key pair (the captures'):
    yields their URLs, the owner's and alice's kite keys (Go-issued)."""
    owner = await go_kontrol_initial(go_build, tmp_path / "owner.key", "anchor", KEY_URL)
    alice = await go_kontrol_initial(go_build, tmp_path / "alice.key", "alice", KEY_URL)
    async with (
        open_go_peer(go_build, "gokontrol", *go_kontrol_args(dsn, owner)) as go,
        open_python_kontrol(dsn, owner, captures_key_pair()) as python,
    ):
        yield go.url, python.url, owner, alice


@pytest.mark.postgres
async def test_shared_postgres_go_registration_seen_by_python_kontrol(
    go_build: GoBuild, tmp_path: Path, postgres_dsn: str
) -> None:
    with trio.fail_after(90):
        async with (
            both_kontrols(go_build, tmp_path, postgres_dsn) as (go, python, owner, alice),
            registered_gomath(go_build, owner, go) as (math, kite_id),
        ):
            url, result = await python_query_call(alice, python, kite_id, 2)
            found, called = await goquery_call(go_build, alice, python, kite_id, 3)
    assert (url, result) == (math.url, 4)
    (entry,) = found["kites"]
    assert entry["url"] == math.url
    assert called == {"method": "square", "result": 9}


@pytest.mark.postgres
async def test_shared_postgres_python_registration_seen_by_go_kontrol(
    go_build: GoBuild, tmp_path: Path, postgres_dsn: str
) -> None:
    with trio.fail_after(90):
        async with (
            both_kontrols(go_build, tmp_path, postgres_dsn) as (go, python, owner, alice),
            registered_python_math(owner, python) as (url, kite_id),
        ):
            found, called = await goquery_call(go_build, alice, go, kite_id, 5)
            py_url, result = await python_query_call(alice, go, kite_id, 6)
    (entry,) = found["kites"]
    assert (entry["url"], entry["kite"]["id"]) == (url, kite_id)
    assert called == {"method": "square", "result": 25}
    assert (py_url, result) == (url, 36)
