"""Faults: Kontrol killed and restarted, PostgreSQL connections terminated mid-query, a kite
stopped (SIGSTOP) and resumed (SIGCONT).

* Kontrol SIGKILL + restart (long form only: it takes the real 30 s): the `kontrol` command on
  a SQLite data directory, two kites (`stress._registrant` processes) registered with it.
  Kontrol is killed, one kite is killed while Kontrol is down, Kontrol is started again on the
  same port. Watched every 0.5 s with `getKites`: when the live kite is found again, until
  when the dead one is still served, how many `kontrol` entries are served. Bounds: the live
  kite is back within `heartbeat_timeout`, the dead one is gone within 30 s of the restart,
  never two entries for Kontrol.
* PostgreSQL connections terminated: a Kontrol on PostgreSQL (this process) answers `getKites`
  in a loop while every one of its database connections is terminated
  (`pg_terminate_backend`) every 0.3 s. Bounds: Kontrol stays up, a failed call says the
  storage failed, and once the terminations stop every call succeeds again.
* SIGSTOP / SIGCONT of a kite (`bench._peers.pykite`): a client on WebSocket and one on XHR
  call it before, during (1 s timeouts: they time out) and after the stop. Bounds: both
  sessions survive, the first call after SIGCONT succeeds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import trio

from bench._peers import python_peer, serve_process
from kite import Auth, Config, Kite, KiteError, KiteKey
from kontrol import Kontrol, KontrolOptions, open_postgres_storage

from ._report import Outcome

__all__ = ["run"]

DSN_ENV = "KITE_TEST_POSTGRES_DSN"
RESTART_WATCH = 45.0
DEAD_BOUND = 30.0
STOP_SECONDS = {True: 5.0, False: 1.5}
TERMINATE_SECONDS = {True: 10.0, False: 1.5}


# -- Kontrol SIGKILL + restart ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _process(argv: list[str], env: dict[str, str], ready: str) -> Iterator[subprocess.Popen[str]]:
    """Start `argv`, wait for a stdout line starting with `ready`; killed at the end."""
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith(ready):
                proc.ready_line = line  # type: ignore[attr-defined]
                break
            if not line and proc.poll() is not None:
                raise RuntimeError(f"{argv} exited before `{ready}`")
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


async def _find(url: str, key: str, query: dict[str, str]) -> list[str] | None:
    """URLs of the kites matching `query`, asked on a fresh connection (None: no answer)."""
    client = Kite("watcher", "1.0.0", Config())
    try:
        with trio.fail_after(3):
            async with client.dial(url, auth=Auth("kiteKey", key), timeout=2) as k:
                found = await k.tell("getKites", {"query": query}, timeout=2)
    except (KiteError, OSError, trio.TooSlowError, Exception):  # noqa: BLE001 - Kontrol is down
        return None
    return [str(entry["kite"]["id"]) for entry in found["kites"]]


def _kontrol_restart(outcome: Outcome) -> None:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        home, data = Path(tmp, "home"), Path(tmp, "data")
        port = _free_port()
        url = f"http://127.0.0.1:{port}/kite"
        env = dict(os.environ, KITE_HOME=str(home))
        kontrol = [sys.executable, "-m", "kontrol"]
        init = [*kontrol, "init", "--data-dir", str(data), "--username", "owner", "--url", url]
        subprocess.run(init, env=env, check=True, capture_output=True)
        key = (home / "kite.key").read_text().strip()
        serve = [*kontrol, "serve", "--data-dir", str(data), "--host", "127.0.0.1"]
        serve += ["--port", str(port)]
        registrant = [sys.executable, "-m", "stress._registrant", url]
        first = stack.enter_context(_process(serve, env, "kontrol serving"))
        live = stack.enter_context(_process(registrant, env, "registered"))
        dead = stack.enter_context(_process(registrant, env, "registered"))
        live_id, dead_id = live.ready_line.split()[1], dead.ready_line.split()[1]  # type: ignore[attr-defined]
        for proc in (first, dead):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        time.sleep(5)
        stack.enter_context(_process(serve, env, "kontrol serving"))
        restarted = time.monotonic()
        seen: dict[str, float | None] = {"live": None, "dead": None}
        most_kontrols = 0

        async def watch() -> None:
            nonlocal most_kontrols
            while (elapsed := time.monotonic() - restarted) < RESTART_WATCH:
                found = await _find(url, key, {"username": "owner", "name": "victim"})
                kontrols = await _find(url, key, {"username": "owner", "name": "kontrol"})
                if found is not None:
                    seen["live_now"] = 1.0 if live_id in found else None
                    if live_id in found and seen["live"] is None:
                        seen["live"] = elapsed
                    if dead_id in found:
                        seen["dead"] = elapsed
                if kontrols is not None:
                    most_kontrols = max(most_kontrols, len(kontrols))
                await trio.sleep(0.5)

        trio.run(watch)
    live_back, dead_last = seen["live"], seen["dead"]
    fault = "Kontrol SIGKILL, a kite killed, 5 s, restart"
    outcome.rows.append(
        {"fault": fault, "figure": "live kite served again after s", "value": _s(live_back)}
    )
    outcome.rows.append(
        {"fault": "", "figure": "dead kite last served at s", "value": _s(dead_last)}
    )
    outcome.rows.append(
        {"fault": "", "figure": "most Kontrol entries at once", "value": most_kontrols}
    )
    outcome.check(
        live_back is not None and live_back <= KontrolOptions().heartbeat_timeout,
        f"live kite served again only after {_s(live_back)} s",
    )
    outcome.check(
        dead_last is None or dead_last <= DEAD_BOUND + 1,
        f"dead kite still served {_s(dead_last)} s after the restart",
    )
    outcome.rows.append(
        {"fault": "", "figure": "live kite served at the end", "value": bool(seen.get("live_now"))}
    )
    outcome.check(most_kontrols <= 1, f"{most_kontrols} entries for Kontrol at once")
    outcome.check(bool(seen.get("live_now")), f"live kite not served {RESTART_WATCH:g} s later")


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


# -- PostgreSQL connections terminated -------------------------------------------------------


async def _pg_terminations(outcome: Outcome, long: bool) -> None:
    import psycopg
    from psycopg import sql

    dsn = os.environ[DSN_ENV]
    app = f"stress-{uuid.uuid4().hex[:8]}"
    schema = f"stress_{uuid.uuid4().hex[:12]}"
    tagged = dsn + ("&" if "?" in dsn else "?") + f"application_name={app}"
    ok = failed = terminated = 0
    errors: set[str] = set()
    try:
        async with open_postgres_storage(tagged, schema=schema, cleanup_interval=None) as storage:
            kontrol = Kontrol(config=Config(username="owner"), storage=storage)
            async with kontrol.running(), kontrol.serve("127.0.0.1", 0) as served:
                key = await kontrol.issue_kite_key("alice")
                client = Kite(
                    "alice", "1.0.0", Config().with_kite_key(KiteKey.parse(key, now=time.time()))
                )
                async with client.dial(served.url, auth=Auth("kiteKey", key)) as k:
                    await k.tell("register", {"url": "http://127.0.0.1:7001/kite"}, timeout=10)
                    query = {"query": {"username": "alice", "name": "alice"}}
                    stop = trio.Event()

                    async def killer() -> None:
                        nonlocal terminated
                        with psycopg.connect(dsn, autocommit=True) as conn:
                            deadline = time.monotonic() + TERMINATE_SECONDS[long]
                            while time.monotonic() < deadline:
                                rows = conn.execute(
                                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                    " WHERE application_name = %s",
                                    (app,),
                                ).fetchall()
                                terminated += len(rows)
                                await trio.sleep(0.3)
                        stop.set()

                    async def caller() -> None:
                        nonlocal ok, failed
                        while not stop.is_set():
                            try:
                                await k.tell("getKites", query, timeout=10)
                                ok += 1
                            except KiteError as exc:
                                failed += 1
                                errors.add(exc.message[:60])

                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(killer)
                        for _ in range(4):
                            nursery.start_soon(caller)
                    after = 0
                    for _ in range(20):
                        found = await k.tell("getKites", query, timeout=10)
                        after += len(found["kites"]) == 1
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    fault = f"PostgreSQL backends terminated every 0.3 s for {TERMINATE_SECONDS[long]:g} s"
    outcome.rows.append({"fault": fault, "figure": "backends terminated", "value": terminated})
    outcome.rows.append(
        {"fault": "", "figure": "getKites ok / failed meanwhile", "value": f"{ok} / {failed}"}
    )
    outcome.rows.append({"fault": "", "figure": "getKites ok of 20 afterwards", "value": after})
    if errors:
        outcome.notes.append(f"errors while terminating: {sorted(errors)}")
    outcome.check(after == 20, f"only {after} of 20 getKites succeeded after the terminations")
    outcome.check(terminated > 0, "no PostgreSQL backend was terminated (the fault did not happen)")


# -- SIGSTOP / SIGCONT -----------------------------------------------------------------------


def _stop_and_resume(outcome: Outcome, long: bool) -> None:
    stop_s = STOP_SECONDS[long]
    with serve_process(python_peer("pykite")) as peer:

        async def main() -> dict[str, tuple[str, float | None, bool]]:
            results: dict[str, tuple[str, float | None, bool]] = {}
            client = Kite("client", "1.0.0", Config())
            async with (
                client.dial(peer.kite_url, transport="websocket", timeout=2) as ws,
                client.dial(peer.kite_url, transport="xhr", timeout=2) as xhr,
            ):
                for remote in (ws, xhr):
                    await remote.tell("square", 2, timeout=5)
                os.kill(peer.pid, signal.SIGSTOP)
                stopped_at = time.monotonic()
                failures: dict[str, set[str]] = {"websocket": set(), "xhr": set()}
                while time.monotonic() - stopped_at < stop_s:
                    for name, remote in (("websocket", ws), ("xhr", xhr)):
                        try:
                            await remote.tell("square", 3, timeout=1)
                        except KiteError as exc:
                            failures[name].add(type(exc).__name__)
                os.kill(peer.pid, signal.SIGCONT)
                resumed = time.monotonic()
                for name, remote in (("websocket", ws), ("xhr", xhr)):
                    answered = None
                    try:
                        await remote.tell("square", 4, timeout=10)
                        answered = time.monotonic() - resumed
                    except KiteError:
                        pass
                    results[name] = (", ".join(sorted(failures[name])), answered, remote.connected)
            return results

        results = trio.run(main)
    fault = f"kite SIGSTOP {stop_s:g} s, SIGCONT"
    for name, (failed, answered, connected) in results.items():
        outcome.rows.append(
            {
                "fault": fault,
                "figure": f"{name}: calls while stopped failed with",
                "value": failed or "-",
            }
        )
        outcome.rows.append(
            {
                "fault": "",
                "figure": f"{name}: first call after SIGCONT answered in s",
                "value": _s(answered),
            }
        )
        outcome.rows.append(
            {"fault": "", "figure": f"{name}: session survived", "value": connected}
        )
        fault = ""
        outcome.check(
            answered is not None and connected, f"{name}: no answer or session lost after SIGCONT"
        )


def run(long: bool) -> Outcome:
    """The faults suite (see the module doc)."""
    outcome = Outcome("faults")
    _stop_and_resume(outcome, long)
    if os.environ.get(DSN_ENV):
        trio.run(_pg_terminations, outcome, long)
    else:
        outcome.notes.append(f"PostgreSQL terminations skipped: {DSN_ENV} is not set")
    if long:
        _kontrol_restart(outcome)
    else:
        outcome.notes.append(
            "Kontrol SIGKILL + restart: long form only (30 s); the rule is tested by"
            " test_restart_after_a_crash_serves_dead_kites_one_heartbeat_timeout_at_most"
        )
    return outcome
