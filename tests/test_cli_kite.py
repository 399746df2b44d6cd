"""The `kite` command, run as a subprocess (`python -m kite`) against a real Python Kontrol on
127.0.0.1 holding the Go kite `math` (`conformance/go`'s gomath, registered over its kite
connection) and a Python kite `pymath`. Keys are minted at run time; each test has its own
Kontrol, SQLite file and `KITE_HOME`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio

import kite
from conformance._gopeers import GoBuild, GoPeer, go_peers_or_skip, open_go_peer
from kontrol import Kontrol, open_sqlite_storage

pytestmark = pytest.mark.go

REGISTERED = r"^gomath registered (\S+) as (\S+)$"
ROWS = ["name", "version", "username", "environment", "region", "hostname", "id", "url"]


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


@dataclass
class World:
    tmp: Path
    kontrol: Kontrol
    kontrol_url: str
    key_path: Path
    pair: kite.KeyPair

    def env(self) -> dict[str, str]:
        return {**os.environ, "KITE_HOME": str(self.key_path.parent)}

    async def kite_cli(self, *args: str, check: int | None = 0) -> tuple[int, str, str]:
        """Run `python -m kite ARGS`: (exit status, stdout, stderr)."""
        with trio.fail_after(60):
            done = await trio.run_process(
                [sys.executable, "-m", "kite", *args],
                env=self.env(),
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
        out, err = done.stdout.decode(), done.stderr.decode()
        if check is not None:
            assert done.returncode == check, (done.returncode, out, err)
        assert "Traceback" not in err
        return done.returncode, out, err

    def kite_key(self, username: str) -> str:
        return kite.issue_kite_key(
            private_key=self.pair.private, public_key=self.pair.public, issuer="anchor",
            subject=username, kontrol_url=self.kontrol_url, now=time.time(),
        )  # fmt: skip


def accept_machines(auth_type: str, request: kite.Request) -> None:
    if auth_type != "test":
        raise ValueError(f"unknown authType {auth_type!r}")


@asynccontextmanager
async def world(tmp: Path) -> AsyncIterator[World]:
    pair = kite.generate_key_pair()
    async with open_sqlite_storage(tmp / "k.db", cleanup_interval=None) as storage:
        config = kite.Config(username="anchor")
        kontrol = Kontrol(
            config=config, storage=storage, key_pair=pair, machine_authenticate=accept_machines
        )
        async with kontrol.running(), kontrol.serve("127.0.0.1", 0) as server:
            home = tmp / "home"
            home.mkdir()
            w = World(tmp, kontrol, server.url, home / "kite.key", pair)
            kite.write_kite_key(w.kite_key("anchor"), w.key_path)
            yield w


@asynccontextmanager
async def gomath(go_build: GoBuild, w: World) -> AsyncIterator[tuple[GoPeer, str]]:
    args = ["-quiet", "-auth", "-kitekey", str(w.key_path), "-register", "ws"]
    async with open_go_peer(go_build, "gomath", *args, "-kontrol-url", w.kontrol_url) as math:
        with trio.fail_after(30):
            registered = await math.wait_for_output(REGISTERED)
        yield math, registered.group(2)


def py_kite(w: World) -> kite.Kite:
    key = kite.KiteKey.parse(w.kite_key("anchor"), now=time.time())
    k = kite.Kite("pymath", "2.0.0", kite.Config().with_kite_key(key))

    @k.handle("square")
    def square(r: kite.Request) -> float:
        """The square of a number."""
        n = r.args.one().float()
        return n * n

    @k.handle("countdown")
    async def countdown(r: kite.Request) -> str:
        """Call back with n, n-1, ..., 1."""
        n, report = r.args.slice(2)
        for i in range(n.int(), 0, -1):
            await report.function()(i, "left")
        return "liftoff"

    return k


@asynccontextmanager
async def pymath(w: World) -> AsyncIterator[str]:
    k = py_kite(w)
    async with k.serve(host="127.0.0.1", port=0) as server, k.kontrol_client():
        await k.register_forever(server.url)
        yield server.url


async def test_list_tell_ping_and_methods_on_go_and_python_kites(
    go_build: GoBuild, tmp_path: Path
) -> None:
    async with world(tmp_path) as w, gomath(go_build, w) as (math, math_id), pymath(w) as py_url:
        _, out, _ = await w.kite_cli("list", "--json")
        listed = json.loads(out)
        assert all(list(row) == ROWS for row in listed)
        by_name = {row["name"]: row for row in listed}
        assert {"math", "pymath"} <= set(by_name)
        assert (by_name["pymath"]["url"], by_name["pymath"]["version"]) == (py_url, "2.0.0")

        _, out, _ = await w.kite_cli("list", "--name", "math", "--json")
        (only,) = json.loads(out)
        assert (only["url"], only["id"], only["version"]) == (math.url, math_id, "1.0.0")

        _, table, _ = await w.kite_cli("list", "--name", "math")
        header, row = table.splitlines()
        assert header.split() == [c.upper() for c in ROWS]
        assert row.split() == [only[c] for c in ROWS]

        for url in (math.url, py_url):
            _, out, _ = await w.kite_cli("tell", url, "square", "4")
            assert out == "16\n"
            _, out, err = await w.kite_cli("tell", url, "nosuch", "1", check=1)
            assert out == ""
            assert err.startswith("kite: methodNotFound: ")
            assert err.count("\n") == 1
            _, out, _ = await w.kite_cli("ping", url)
            assert out.startswith(f"pong from {url} in ")

        _, out, _ = await w.kite_cli("tell", py_url, "countdown", "3", "@callback")
        assert out.splitlines() == ['[3, "left"]', '[2, "left"]', '[1, "left"]', '"liftoff"']
        _, out, _ = await w.kite_cli("tell", py_url, "countdown", "1", "@callback", "--json")
        assert [json.loads(x) for x in out.splitlines()] == [
            {"callback": [1, "left"]},
            {"result": "liftoff"},
        ]
        _, out, _ = await w.kite_cli("ping", math.url, "--transport", "xhr", "--json")
        assert json.loads(out)["result"] == "pong"
        _, out, _ = await w.kite_cli("tell", "name=math,username=anchor", "square", "5")
        assert out == "25\n"
        _, out, _ = await w.kite_cli("tell", "name=pymath", "square", "1.5", "--json")
        assert json.loads(out) == {"result": 2.25}

        _status, out, err = await w.kite_cli("methods", math.url, check=1)
        assert "does not describe its methods" in err
        assert "methodNotFound" in err
        if "kite.methods" in py_kite(w).methods:  # the typed-methods introspection (#16)
            _, out, _ = await w.kite_cli("methods", py_url)
            assert "square" in out
            assert "The square of a number." in out
            _, out, _ = await w.kite_cli("methods", py_url, "--json")
            assert "square" in {m["name"] for m in json.loads(out)}


async def test_watch_prints_register_and_deregister_of_a_killed_kite(
    go_build: GoBuild, tmp_path: Path
) -> None:
    async with world(tmp_path) as w:
        watch = await trio.lowlevel.open_process(
            [sys.executable, "-m", "kite", "watch", "--name", "math", "--json"],
            env=w.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert watch.stdout is not None
            lines = JSONLines(watch.stdout)
            with trio.fail_after(30):
                while not len(w.kontrol.watchers):  # noqa: ASYNC110 - the watch is set up
                    await trio.sleep(0.05)
            async with gomath(go_build, w) as (math, math_id):
                registered = await lines.next()
                math.process.kill()  # SIGKILL: no goodbye, the kernel closes its sockets
                killed = trio.current_time()
                deregistered = await lines.next()
                after = trio.current_time() - killed
            watch.send_signal(signal.SIGINT)
            with trio.fail_after(10):
                assert await watch.wait() == 0
        finally:
            if watch.returncode is None:
                watch.kill()
                await watch.wait()
    assert registered == {"action": "register", **registered, "id": math_id, "url": math.url}
    assert list(registered) == ["action", *ROWS]
    assert registered["name"] == "math"
    assert deregistered == {**registered, "action": "deregister"}
    # Deregistered on the dropped connection, not at the missed heartbeat (10 s + 20 s).
    assert after < 25, after


class JSONLines:
    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def next(self) -> Any:
        with trio.fail_after(25):
            while b"\n" not in self.buffer:
                chunk = await self.stream.receive_some()
                assert chunk, "the watch ended"
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)


async def test_register_showkey_version_and_errors(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        bob = tmp_path / "bob" / "kite.key"
        args = ["--kontrol-url", w.kontrol_url, "--kite-key", str(bob)]
        _, _, err = await w.kite_cli("register", "--username", "bob", *args, check=1)
        assert err == "kite: genericError: cannot authenticate user: unknown authType ''\n"
        _, out, _ = await w.kite_cli(
            "register", "--username", "bob", "--auth-type", "test", *args, "--json"
        )
        assert json.loads(out) == {"path": str(bob), "username": "bob", "kontrol_url": ""}
        _, out, _ = await w.kite_cli("showkey", "--kite-key", str(bob), "--json")
        shown = json.loads(out)
        assert (shown["username"], shown["issuer"]) == ("bob", "anchor")
        assert shown["kontrol_key_fingerprint"].startswith("SHA256:")
        assert uuid.UUID(shown["id"])
        _, out, _ = await w.kite_cli("showkey")
        assert "anchor" in out
        assert w.kontrol_url in out

        _, out, _ = await w.kite_cli("version")
        assert out.startswith("kite-trio ")
        _, out, _ = await w.kite_cli("--version")
        assert out.startswith("kite-trio ")
        script = Path(sys.executable).parent / "kite"  # the console script, same command
        done = await trio.run_process([str(script), "version"], capture_stdout=True)
        assert done.stdout.decode().startswith("kite-trio ")

        # Usage and connection errors: exit 2, one line naming the cause.
        _status, _, err = await w.kite_cli("tell", check=2)
        assert "usage: kite tell" in err
        _, _, err = await w.kite_cli("list", "--kontrol-url", "http://127.0.0.1:1/kite", check=2)
        assert err.startswith("kite: cannot connect to http://127.0.0.1:1/kite: ")
        assert err.count("\n") == 1
        _, _, err = await w.kite_cli("tell", "http://127.0.0.1:1/kite", "x", check=2)
        assert err.startswith("kite: cannot connect to http://127.0.0.1:1/kite: ")
        _, _, err = await w.kite_cli("tell", "nam=math", "square", check=2)
        assert err.startswith("kite: bad query 'nam=math'")
        _, _, err = await w.kite_cli("list", "--kite-key", str(tmp_path / "none"), check=2)
        assert err.startswith("kite: cannot read kite.key: ")
        _, _, err = await w.kite_cli("tell", "name=nothing", "square", "2", check=1)
        assert err == "kite: no kite matches the query name=nothing\n"


@pytest.mark.parametrize(
    "command",
    ["showkey", "register", "list", "tell", "methods", "ping", "watch", "version"],
)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from kite._cli import main

    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: kite {command}")
    for option in ("--kontrol-url", "--kite-key", "--timeout"):
        assert option in out
    assert "--json" in out
