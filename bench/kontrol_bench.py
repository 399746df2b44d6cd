"""Kontrol at 10,000 kites: registration rate and ``getKites`` latency.

Storage level (``kontrol._storage``), on SQLite (a file in a scratch directory) and on
PostgreSQL (the server named by ``KITE_TEST_POSTGRES_DSN``, in a scratch schema dropped
afterwards; skipped with the reason when unset or unreachable). Each back-end is filled with
10,000 kites (100 names x 100 instances, one ``upsert`` each, timed: the registration rate,
goal >= 1,000/s), then answers ``getKites`` queries, each timed (goal p99 < 5 ms): by
``username/environment/name`` (100 matches, what a kite looking for a service asks) and by
``id`` (1 match).

Kite level (``kontrol.kite.*``), end to end over real sockets on 127.0.0.1, for three Kontrols
each in its own process: the Python Kontrol on SQLite and on PostgreSQL (this module run as
``python -m bench.kontrol_bench serve ...``) and Go Kontrol (``conformance/go``'s
``gokontrol``, the real koding/kite ``kontrol`` package on PostgreSQL; skipped without ``go``
or the built peers). All run with the captures' Kontrol key pair. The same 10,000 kites
register over HTTP ``POST /register`` as Go's ``RegisterHTTP`` does (body and headers from
``kite._kontrol._registration``, kite key ``anchor``), ``REGISTER_WORKERS`` kites at once on a
keep-alive connection each, every registration timed: 10,000 registrations exist at once
without 10,000 sockets (a registration over a kite connection lives only as long as the
connection with the Python Kontrol). Both Kontrols run with a 600 s heartbeat interval so no
registration lapses for want of ``/heartbeat`` during the run. Then one Python Kontrol client
(``Kite.kontrol_client``, user ``alice``) times ``getKites`` by name (100 hits, each with a
token) and by id, so the client is the same for all three. Go Kontrol's storage is the fixed
schema ``kite``: the rows a run adds are deleted afterwards (see `_go_kontrol`).
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import trio

from bench import Measurement, Scenario, SkipError
from kite.protocol import KiteIdentity
from kontrol import KeyPair, KontrolQuery
from kontrol._storage import Storage, open_postgres_storage, open_sqlite_storage

KITES = 10_000
NAMES = 100
QUERIES = 2_000
SMOKE_KITES = 200
SMOKE_QUERIES = 20
REGISTER_GOAL = 1_000.0
P99_GOAL_S = 0.005
DSN_ENV = "KITE_TEST_POSTGRES_DSN"


def _identity(i: int) -> KiteIdentity:
    return KiteIdentity(
        name=f"svc-{i % NAMES:03d}",
        username="anchor",
        id=str(uuid.uuid4()),
        environment="production",
        region="eu-west",
        version="1.0.0",
        hostname=f"host-{i // NAMES:03d}",
    )


Opener = Callable[[Path], AbstractAsyncContextManager[Storage]]


def _sqlite(tmp: Path) -> AbstractAsyncContextManager[Storage]:
    return open_sqlite_storage(tmp / "kontrol.db", cleanup_interval=None)


_schema: list[str] = []


def _postgres_dsn() -> str:
    dsn = os.environ.get(DSN_ENV, "")
    if not dsn:
        raise SkipError(f"{DSN_ENV} is not set (.ci/install-peers.sh starts a server)")
    try:
        import psycopg

        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        raise SkipError(f"PostgreSQL at {DSN_ENV} is unreachable: {exc}".strip()) from None
    return dsn


def _postgres(tmp: Path) -> AbstractAsyncContextManager[Storage]:
    schema = f"kite_bench_{uuid.uuid4().hex[:12]}"
    _schema.append(schema)
    return open_postgres_storage(_postgres_dsn(), schema=schema, cleanup_interval=None)


def _drop_schemas() -> None:
    if not _schema:
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(os.environ[DSN_ENV], autocommit=True) as conn:
        while _schema:
            name = sql.Identifier(_schema.pop())
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))


_filled: dict[tuple[str, bool], dict[str, Any]] = {}


def _fill_and_query(backend: str, smoke: bool) -> dict[str, Any]:
    """Fill one back-end and run both query kinds; cached so the three cases share one fill."""
    key = (backend, smoke)
    if key in _filled:
        return _filled[key]
    opener = _sqlite if backend == "sqlite" else _postgres
    if backend == "postgres":
        _postgres_dsn()
    kites = SMOKE_KITES if smoke else KITES
    queries = SMOKE_QUERIES if smoke else QUERIES
    identities = [_identity(i) for i in range(kites)]

    async def main(tmp: Path) -> dict[str, Any]:
        async with opener(tmp) as storage:
            key_pair = KeyPair(str(uuid.uuid4()), "-----BEGIN PUBLIC KEY-----x", "private")
            await storage.add_key(key_pair)
            register: list[float] = []
            start = time.perf_counter()
            for n, kite in enumerate(identities):
                t0 = time.perf_counter()
                await storage.upsert(
                    kite, f"http://10.0.{n // 250}.{n % 250}:3636/kite", key_pair.id
                )
                register.append(time.perf_counter() - t0)
            register_seconds = time.perf_counter() - start
            rng = random.Random(7)
            by_name: list[float] = []
            by_id: list[float] = []
            for _ in range(queries):
                kite = rng.choice(identities)
                q = KontrolQuery(username="anchor", environment="production", name=kite.name)
                t0 = time.perf_counter()
                found = await storage.get(q)
                by_name.append(time.perf_counter() - t0)
                if len(found) != kites // NAMES:
                    raise RuntimeError(f"{q} found {len(found)} kites")
                t0 = time.perf_counter()
                found = await storage.get(KontrolQuery(id=kite.id))
                by_id.append(time.perf_counter() - t0)
                if len(found) != 1:
                    raise RuntimeError(f"id query found {len(found)} kites")
            return {
                "register": (kites, register_seconds, register),
                "by_name": (queries, sum(by_name), by_name),
                "by_id": (queries, sum(by_id), by_id),
            }

    try:
        with tempfile.TemporaryDirectory(prefix="kontrol-bench-") as tmp:
            _filled[key] = trio.run(main, Path(tmp))
    finally:
        if backend == "postgres":
            _drop_schemas()
    return _filled[key]


def _scenario(backend: str, what: str) -> Scenario:
    def run(smoke: bool) -> Measurement:
        ops, seconds, latencies = _fill_and_query(backend, smoke)[what]
        if what == "register":
            return Measurement(ops, seconds, latencies, note=f"{ops:,} kites")
        from bench import percentile

        p99 = percentile(latencies, 0.99)
        return Measurement(
            ops,
            seconds,
            latencies,
            note=f"p99 goal < {P99_GOAL_S * 1e3:.0f} ms",
            meets_goal=p99 < P99_GOAL_S,
        )

    label = {"register": "register", "by_name": "getKites[name, 100 hits]"}
    label["by_id"] = "getKites[id]"
    return Scenario(
        f"kontrol.storage.{label[what]}[{backend}]",
        run,
        goal=REGISTER_GOAL if what == "register" else None,
        unit="kite" if what == "register" else "query",
    )


# -- the Kontrol kite, end to end -----------------------------------------------------------

KITE_KITES = 10_000
KITE_QUERIES = 250
SMOKE_KITE_KITES = 20
SMOKE_KITE_QUERIES = 5
#: Kites registering at once (one keep-alive HTTP connection each, as a Go kite's ``/register``).
REGISTER_WORKERS = 8
KONTROLS = ("python sqlite", "python postgres", "go postgres")
#: The heartbeat interval both Kontrols run with: long enough that no HTTP registration is
#: dropped for want of a ``/heartbeat`` (none is sent) while a scenario runs.
HEARTBEAT_S = 600


async def _serve_python_kontrol(storage: str, schema: str) -> None:
    """The child process of the ``python`` cases: a Python Kontrol on 127.0.0.1 (a free port)
    with the captures' key pair, printing ``pykontrol listening on HOST:PORT``; ``storage`` is
    a SQLite file or ``postgres`` (``KITE_TEST_POSTGRES_DSN``, in ``schema``)."""
    import kite
    from conformance._interop import captures_key_pair
    from kontrol import Kontrol, KontrolOptions

    opener = (
        open_postgres_storage(os.environ[DSN_ENV], schema=schema)
        if storage == "postgres"
        else open_sqlite_storage(Path(storage))
    )
    async with opener as store:
        kontrol = Kontrol(
            config=kite.Config(username="anchor", kontrol_url="http://127.0.0.1:4000/kite"),
            storage=store,
            key_pair=captures_key_pair(),
            options=KontrolOptions(heartbeat_interval=HEARTBEAT_S),
        )
        async with kontrol.running(), kontrol.serve("127.0.0.1", 0) as server:
            print(f"pykontrol listening on 127.0.0.1:{server.port}", flush=True)
            await trio.sleep_forever()


@contextlib.contextmanager
def _python_kontrol(backend: str, tmp: Path) -> Iterator[str]:
    from bench._peers import serve_process

    """A Python Kontrol in its own process (as gokontrol is), on SQLite in ``tmp`` or on
    PostgreSQL in a scratch schema dropped afterwards; yields its kite URL."""
    argv = [sys.executable, "-m", "bench.kontrol_bench", "serve", str(tmp / "kontrol.db"), ""]
    if backend == "postgres":
        _postgres_dsn()
        schema = f"kite_bench_{uuid.uuid4().hex[:12]}"
        _schema.append(schema)
        argv[-2:] = ["postgres", schema]
    try:
        with serve_process(argv) as peer:
            yield peer.kite_url
    finally:
        if backend == "postgres":
            _drop_schemas()


@contextlib.contextmanager
def _go_kontrol(smoke: bool, environment: str) -> Iterator[str]:
    """gokontrol on PostgreSQL. Go's storage is the fixed schema ``kite`` (shared with the
    interop tests): the rows added here are deleted afterwards (the kites by their unique
    environment, Kontrol's own row by its unique register URL), the key pair and the schema
    only when this run added them."""
    dsn = _postgres_dsn()
    try:
        from conformance import _gopeers
        from conformance._interop import KEYS, go_kontrol_args
    except ImportError as exc:
        raise SkipError(f"conformance Go helpers are missing: {exc}") from None
    if _gopeers.find_go() is None:
        raise SkipError("the go toolchain is not installed")
    gokontrol = _gopeers.BIN_DIR / "gokontrol"
    try:
        if smoke:
            if not gokontrol.exists():
                raise SkipError("Go peers not built yet (a full run builds them)")
        else:
            gokontrol = _gopeers.build_go_peers().path("gokontrol")
        register_url = f"http://127.0.0.1:1/{uuid.uuid4().hex}/kite"
        args = go_kontrol_args(dsn, KEYS / "anchor.kite.key", "-register-url", register_url)
    except _gopeers.GoPeersUnavailableError as exc:
        raise SkipError(str(exc).splitlines()[0]) from None
    args += ["-heartbeat-interval", f"{HEARTBEAT_S}s"]
    public = (KEYS / "kontrol.pub").read_text().strip()
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        had_schema = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'kite')"
        ).fetchone() == (True,)
        had_key = had_schema and bool(
            conn.execute("SELECT 1 FROM kite.key WHERE public = %s", (public,)).fetchall()
        )
    from bench._peers import serve_process

    try:
        with serve_process([str(gokontrol), "-port", "0", *args]) as peer:
            yield peer.kite_url
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            if not had_schema:
                conn.execute("DROP SCHEMA IF EXISTS kite CASCADE")
            else:
                conn.execute(
                    "DELETE FROM kite.kite WHERE environment = %s OR url = %s",
                    (environment, register_url),
                )
                if not had_key:
                    conn.execute("DELETE FROM kite.key WHERE public = %s", (public,))


def _kite_identities(kites: int, environment: str) -> list[dict[str, str]]:
    return [
        {
            "username": "anchor",
            "environment": environment,
            "name": f"svc-{i % NAMES:03d}",
            "version": "1.0.0",
            "region": "eu-west",
            "hostname": f"host-{i // NAMES:03d}",
            "id": str(uuid.uuid4()),
        }
        for i in range(kites)
    ]


async def _register_and_query(
    url: str, identities: list[dict[str, str]], queries: int
) -> dict[str, Any]:
    """Register ``kites`` kites over HTTP ``/register`` (``REGISTER_WORKERS`` at once, each
    timed), then time ``getKites`` by name and by id from one Python Kontrol client."""
    from conformance._interop import KEYS, key_config
    from kite import Kite
    from kite._kontrol._registration import (
        default_http_requester,
        parse_register_http_answer,
        register_http_request,
    )

    kites = len(identities)
    anchor_key = (KEYS / "anchor.kite.key").read_text().strip()
    todo = iter(enumerate(identities))
    register: list[float] = []

    async def registrar() -> None:
        http: Any = default_http_requester()
        try:
            for n, kite in todo:
                kite_url = f"http://10.0.{n // 250}.{n % 250}:3636/kite"
                target, headers, body = register_http_request(url, kite_url, kite, anchor_key)
                t0 = time.perf_counter()
                status, answer = await http("POST", target, headers, body)
                register.append(time.perf_counter() - t0)
                parse_register_http_answer(status, answer)
        finally:
            await http.aclose()

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(min(REGISTER_WORKERS, kites)):
            nursery.start_soon(registrar)
    register_seconds = time.perf_counter() - start

    per_name: dict[str, int] = {}
    for kite in identities:
        per_name[kite["name"]] = per_name.get(kite["name"], 0) + 1
    client = Kite("benchclient", "1.0.0", key_config(KEYS / "alice.kite.key", kontrol_url=url))
    rng = random.Random(7)
    by_name: list[float] = []
    by_id: list[float] = []
    async with client.kontrol_client():
        for n in range(queries + 3):  # the first 3 rounds warm up (connection, token cache)
            kite = rng.choice(identities)
            q = {"username": "anchor", "environment": kite["environment"], "name": kite["name"]}
            t0 = time.perf_counter()
            found = await client.get_kites(q)
            t1 = time.perf_counter()
            if len(found) != per_name[kite["name"]]:
                raise RuntimeError(f"{q} found {len(found)} kites")
            one = await client.get_kites({"id": kite["id"]})
            t2 = time.perf_counter()
            if len(one) != 1 or one[0].kite.id != kite["id"]:
                raise RuntimeError(f"id query found {len(one)} kites")
            if n >= 3:
                by_name.append(t1 - t0)
                by_id.append(t2 - t1)
    return {
        "register": (kites, register_seconds, register),
        "by_name": (queries, sum(by_name), by_name),
        "by_id": (queries, sum(by_id), by_id),
    }


_kite_runs: dict[tuple[str, bool], dict[str, Any] | Exception] = {}


def _kite_run(kontrol: str, smoke: bool) -> dict[str, Any]:
    """Start one Kontrol, fill and query it; cached (failures too) so its cases share one run."""
    key = (kontrol, smoke)
    if key not in _kite_runs:
        kites = SMOKE_KITE_KITES if smoke else KITE_KITES
        environment = f"bench-{uuid.uuid4().hex[:12]}"
        identities = _kite_identities(kites, environment)
        queries = SMOKE_KITE_QUERIES if smoke else KITE_QUERIES
        try:
            with tempfile.TemporaryDirectory(prefix="kontrol-bench-") as tmp:
                servers = (
                    _go_kontrol(smoke, environment)
                    if kontrol == "go postgres"
                    else _python_kontrol(kontrol.split()[1], Path(tmp))
                )
                with servers as url:
                    _kite_runs[key] = trio.run(_register_and_query, url, identities, queries)
        except Exception as exc:
            _kite_runs[key] = exc
    result = _kite_runs[key]
    if isinstance(result, Exception):
        raise result
    return result


def _kite_scenario(kontrol: str, what: str) -> Scenario:
    label = {
        "register": "register",
        "by_name": "getKites[name, 100 hits]",
        "by_id": "getKites[id]",
    }[what]

    def run(smoke: bool) -> Measurement:
        ops, seconds, latencies = _kite_run(kontrol, smoke)[what]
        if what == "register":
            note = f"{ops:,} kites over HTTP /register, {REGISTER_WORKERS} at once"
        elif what == "by_name" and kontrol.startswith("go"):
            note = "Go reads kite.key once per hit"
        else:
            note = "Python Kontrol client"
        return Measurement(ops, seconds, latencies, note=note)

    return Scenario(
        f"kontrol.kite.{label}[{kontrol}]",
        run,
        unit="kite" if what == "register" else "query",
        compare_to=None if kontrol.startswith("go") else f"kontrol.kite.{label}[go postgres]",
    )


CASES: list[Scenario] = [
    _scenario(backend, what)
    for backend in ("sqlite", "postgres")
    for what in ("register", "by_name", "by_id")
]
CASES += [
    _kite_scenario(kontrol, what)
    for kontrol in KONTROLS
    for what in ("register", "by_name", "by_id")
]


if __name__ == "__main__":  # python -m bench.kontrol_bench serve STORAGE SCHEMA (the child)
    if len(sys.argv) != 4 or sys.argv[1] != "serve":
        sys.exit("usage: python -m bench.kontrol_bench serve SQLITE-FILE|postgres SCHEMA|''")
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(_serve_python_kontrol, sys.argv[2], sys.argv[3])
