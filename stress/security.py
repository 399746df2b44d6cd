"""Security: the registration and token rules, with two users, on SQLite and PostgreSQL.

A Kontrol (this process, real 127.0.0.1 sockets) issues kite keys to `alice` and `bob` at run
time. alice registers her kite over its connection and another kite over HTTP; bob then tries
to take both ids. Rows hold what must be true (`want`) and what was seen (`got`):

* bob's `register` with alice's id is refused (`authenticationError`), his HTTP `/register`
  too (401); alice's kites stay findable by name and by id, with her URLs, once each;
* by design, as in Go (see kontrol's README, "Known risks"): bob gets a token for alice's kite,
  whose `sub` is bob (alice's kite decides whether bob may call), and `/heartbeat?id=` answers
  without authentication.

PostgreSQL runs when `KITE_TEST_POSTGRES_DSN` names a reachable server (a private schema,
dropped afterwards); otherwise the rows say it was skipped.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

import kite
from kite import Auth, AuthenticationError, Config, Kite, KiteKey
from kite._http import HTTPClient
from kontrol import Kontrol, KontrolQuery, open_postgres_storage, open_sqlite_storage

from ._report import Outcome

__all__ = ["run"]

DSN_ENV = "KITE_TEST_POSTGRES_DSN"


@asynccontextmanager
async def _storage(kind: str, tmp: Path) -> AsyncIterator[Any]:
    if kind == "sqlite":
        async with open_sqlite_storage(tmp / "kontrol.db", cleanup_interval=None) as storage:
            yield storage
        return
    import psycopg
    from psycopg import sql

    dsn = os.environ[DSN_ENV]
    schema = f"stress_{uuid.uuid4().hex[:12]}"
    try:
        async with open_postgres_storage(dsn, schema=schema, cleanup_interval=None) as storage:
            yield storage
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _user_kite(name: str, key: str, kite_id: str) -> Kite:
    config = Config().with_kite_key(KiteKey.parse(key, now=time.time()))
    k = Kite(name, "1.0.0", config)
    k.id = kite_id
    return k


async def _rules(kind: str, tmp: Path, outcome: Outcome) -> None:
    async with _storage(kind, tmp) as storage:
        kontrol = Kontrol(
            config=Config(username="owner", kontrol_url="http://127.0.0.1:1/kite"),
            storage=storage,
        )
        async with kontrol.running(), kontrol.serve("127.0.0.1", 0) as served:
            url = served.url
            keys = {u: await kontrol.issue_kite_key(u) for u in ("alice", "bob")}
            ws_id, http_id = str(uuid.uuid4()), str(uuid.uuid4())
            alice_ws_url = "http://127.0.0.1:7001/kite"
            alice_http_url = "http://127.0.0.1:7002/kite"
            bob_url = "http://127.0.0.1:6666/kite"

            def row(rule: str, want: object, got: object) -> None:
                outcome.rows.append({"storage": kind, "rule": rule, "want": want, "got": got})
                outcome.check(want == got, f"{kind}: {rule}: want {want!r}, got {got!r}")

            http = HTTPClient()

            async def http_register(user: str, kite_id: str, at: str) -> int:
                identity = _user_kite("math", keys[user], kite_id).identity.to_json()
                auth = {"type": "kiteKey", "key": keys[user]}
                body = {"url": at, "kite": identity, "auth": auth}
                response = await http.request(
                    "POST", url.removesuffix("/kite") + "/register", (), json.dumps(body).encode()
                )
                return response.status

            alice = _user_kite("math", keys["alice"], ws_id)
            bob = _user_kite("math", keys["bob"], ws_id)
            bob_gone = trio.Event()

            def bob_left(peer: kite.Peer) -> None:  # runs after Kontrol's own clean-up
                if peer.kite.username == "bob":
                    bob_gone.set()

            kontrol.on_disconnect(bob_left)
            async with alice.dial(url, auth=Auth("kiteKey", keys["alice"])) as a:
                async with bob.dial(url, auth=Auth("kiteKey", keys["bob"])) as b:
                    await a.tell("register", {"url": alice_ws_url}, timeout=10)
                    status = await http_register("alice", http_id, alice_http_url)
                    row("alice registers a second kite over HTTP", 200, status)
                    try:
                        await b.tell("register", {"url": bob_url}, timeout=10)
                        refused = "accepted"
                    except AuthenticationError as exc:
                        refused = exc.type
                    row("bob registers with the id of alice's kite", "authenticationError", refused)
                    for kite_id, how in ((ws_id, "connection"), (http_id, "HTTP")):
                        status = await http_register("bob", kite_id, bob_url)
                        row(f"bob's HTTP /register, id of alice's {how} kite", 401, status)
                    by_name = await b.tell(
                        "getKites", {"query": {"username": "alice", "name": "math"}}
                    )
                    row(
                        "alice's kites by name: her URLs, once each",
                        sorted([_port(alice_ws_url), _port(alice_http_url)]),
                        sorted(_port(k["url"]) for k in by_name["kites"]),
                    )
                    for kite_id, want in ((ws_id, alice_ws_url), (http_id, alice_http_url)):
                        found = await b.tell("getKites", {"query": {"id": kite_id}})
                        urls = [_port(k["url"]) for k in found["kites"]]
                        row(f"by id: alice's kite at {_port(want)}", [_port(want)], urls)
                    token = await b.tell("getToken", {"id": ws_id})
                    claims = kite.parse_unverified(token).claims
                    row(
                        "by design: bob gets a token for alice's kite, sub = bob", "bob", claims.sub
                    )
                    beat = await http.request(
                        "GET", url.removesuffix("/kite") + f"/heartbeat?id={http_id}", (), b""
                    )
                    row(
                        "by design: /heartbeat without authentication",
                        "pong",
                        bytes(beat.body).decode(),
                    )
                # Checked while alice is still connected (her connection ending deletes her
                # entry), once Kontrol has handled bob's disconnection.
                with trio.fail_after(30):
                    await bob_gone.wait()
                records = await storage.get(KontrolQuery(id=ws_id))
                row("alice's entry after bob left", ["alice"], [r.kite.username for r in records])
            await http.aclose()


def _port(url: str) -> str:
    """`:7001` for `http://127.0.0.1:7001/kite` (keeps the table narrow)."""
    return ":" + url.rsplit(":", 1)[1].split("/", 1)[0]


def run(long: bool) -> Outcome:
    """The security suite (see the module doc); the same in its short and long forms."""
    outcome = Outcome("security")
    kinds = ["sqlite"]
    if os.environ.get(DSN_ENV):
        kinds.append("postgres")
    else:
        outcome.notes.append(f"PostgreSQL skipped: {DSN_ENV} is not set")
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp:
            trio.run(_rules, kind, Path(tmp), outcome)
    return outcome
