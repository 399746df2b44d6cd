"""Fixtures for the kontrol tests: an injectable wall clock and storages on both back-ends.

PostgreSQL tests use the `postgres` marker and the server named by `KITE_TEST_POSTGRES_DSN`
(`.ci/install-peers.sh` starts one and writes the variable into `.ci/env`); without it, or when
the server does not answer, they skip with the reason. Each PostgreSQL test gets a private schema
(dropped afterwards), so tests never see each other's rows. Helpers are fixtures (this folder is
not a package, so test modules cannot import from here).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from kite.protocol import KiteIdentity
from kontrol import KeyPair, ManualClock, Storage, open_postgres_storage, open_sqlite_storage

DSN_ENV = "KITE_TEST_POSTGRES_DSN"
Opener = Callable[..., AbstractAsyncContextManager[Any]]
T0 = 1_700_000_000.0


_dsn_state: dict[str, str] = {}


def postgres_dsn_or_skip() -> str:
    """The test server's DSN, or skip the test saying why there is none."""
    if "dsn" in _dsn_state:
        return _dsn_state["dsn"]
    if "skip" in _dsn_state:
        pytest.skip(_dsn_state["skip"])
    dsn = os.environ.get(DSN_ENV, "")
    if not dsn:
        _dsn_state["skip"] = f"{DSN_ENV} is not set (.ci/install-peers.sh starts a server)"
        pytest.skip(_dsn_state["skip"])
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        _dsn_state["skip"] = f"PostgreSQL at {DSN_ENV} is unreachable: {exc}".strip()
        pytest.skip(_dsn_state["skip"])
    _dsn_state["dsn"] = dsn
    return dsn


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def pg_dsn() -> str:
    return postgres_dsn_or_skip()


@pytest.fixture
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A fresh schema name for one test; the schema is dropped afterwards."""
    name = f"kite_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_backend(
    backend: str, tmp_path: Path, clock: ManualClock, request: pytest.FixtureRequest
) -> Opener:
    """A factory: `open_backend()` opens another storage on the same database (same file or
    schema), so a test can restart or run two instances side by side."""
    if backend == "sqlite":
        path = tmp_path / "kontrol.db"

        def factory(**kw: Any) -> AbstractAsyncContextManager[Any]:
            kw.setdefault("clock", clock)
            kw.setdefault("cleanup_interval", None)
            return open_sqlite_storage(path, **kw)
    else:
        dsn = postgres_dsn_or_skip()
        schema = request.getfixturevalue("pg_schema")

        def factory(**kw: Any) -> AbstractAsyncContextManager[Any]:
            kw.setdefault("clock", clock)
            kw.setdefault("cleanup_interval", None)
            return open_postgres_storage(dsn, schema=schema, **kw)

    return factory


@pytest.fixture
async def storage(open_backend: Opener) -> AsyncIterator[Storage]:
    async with open_backend() as s:
        yield s


def _make_kite(name: str = "math", **fields: str) -> KiteIdentity:
    """A valid identity (UUID id) with Go-ish defaults."""
    values = {
        "username": "anchor",
        "environment": "unknown",
        "name": name,
        "version": "1.0.0",
        "region": "unknown",
        "hostname": "vm",
        "id": str(uuid.uuid4()),
    }
    values.update(fields)
    return KiteIdentity(**values)


def _make_key(tag: str = "") -> KeyPair:
    """A key pair with a UUID id and unique (fake) PEM texts; storage never parses them."""
    kid = str(uuid.uuid4())
    return KeyPair(kid, f"-----BEGIN PUBLIC KEY-----{tag}{kid}", f"-----BEGIN PRIVATE{tag}{kid}")


@pytest.fixture
def make_kite() -> Callable[..., KiteIdentity]:
    """`make_kite(name="math", **fields)`: a valid identity with a fresh UUID id."""
    return _make_kite


@pytest.fixture
def make_key() -> Callable[..., KeyPair]:
    """`make_key(tag="")`: a key pair with a fresh UUID id and unique PEM texts."""
    return _make_key
