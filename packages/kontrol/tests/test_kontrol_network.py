"""Kontrol served on 127.0.0.1 (port 0) with `Kite.serve`: kites register and query over real
SockJS sessions, HTTP `/register` and `/heartbeat` answer Go's bytes, and `kontrol serve`
reports a port in use."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from kontrol_test_support import (
    ANCHOR_KEY,
    MATH_ID,
    MATH_URL,
    http_exchange,
    make_kontrol,
    math_kite,
    split_response,
    sqlite_storage,
)

import kite
from kite import Auth, Kite
from kontrol import KontrolQuery
from kontrol.__main__ import main
from kontrol.testing import RunningKontrol


async def test_kites_register_and_query_over_the_network(
    kontrol_server: RunningKontrol, kite_config: kite.Config
) -> None:
    math = Kite("math", "1.0.0", kite_config)
    query = Kite("goquery", "1.0.0", kite_config)
    async with math.dial(kontrol_server.url) as remote:  # kiteKey auth from kite_config
        result = await remote.tell("register", {"url": MATH_URL}, timeout=5)
        assert result == {"url": MATH_URL, "heartbeatInterval": 0}
        async with query.dial(kontrol_server.url) as q:
            found = await q.tell(
                "getKites", {"query": {"username": "testuser", "name": "math"}}, timeout=5
            )
            (entry,) = found["kites"]
            assert entry["kite"]["id"] == math.id
            token = Auth("token", entry["token"])
            assert (
                kite.Authenticators().authenticate_sync(
                    token, local=math.identity, config=kite_config
                )
                == "testuser"
            )
    storage = kontrol_server.kontrol.storage
    with trio.fail_after(5):
        while await storage.get(KontrolQuery(id=math.id)):  # noqa: ASYNC110
            await trio.sleep(0.01)  # the disconnect removes the registration


async def test_http_register_and_heartbeat_over_the_network(tmp_path: Path) -> None:
    async with sqlite_storage(tmp_path / "k.db") as storage:
        kontrol = make_kontrol(storage)
        async with kontrol.running(), kontrol.serve("127.0.0.1", 0) as server:
            identity = math_kite().identity_json
            body = json.dumps(
                {"url": MATH_URL, "kite": identity, "auth": {"type": "kiteKey", "key": ANCHOR_KEY}}
            ).encode()
            response = await http_exchange(
                server.port,
                b"POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body),
            )
            status, headers, payload = split_response(response)
            assert status == "HTTP/1.1 200 OK"
            assert headers["Content-Type"] == "text/plain; charset=utf-8"
            assert payload == b'{"url":"http://127.0.0.1:13636/kite","heartbeatInterval":10}\n'
            assert len(await storage.get(KontrolQuery(id=MATH_ID))) == 1
            beat = await http_exchange(
                server.port,
                b"GET /heartbeat?id=%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                % MATH_ID.encode(),
            )
            assert split_response(beat)[0] == "HTTP/1.1 200 OK"
            assert split_response(beat)[2] == b"pong"
            bad = await http_exchange(
                server.port, b"GET /heartbeat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            assert split_response(bad)[0] == "HTTP/1.1 400 Bad Request"
            assert split_response(bad)[2] == b"query id is empty\n"


def test_cli_serve_reports_a_port_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KITE_HOME", str(tmp_path / "home"))
    data = str(tmp_path / "data")
    assert main(["init", "--data-dir", data, "--username", "anchor", "--url", MATH_URL]) == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = ["serve", "--data-dir", data, "--host", "127.0.0.1", "--port", str(port)]
        assert main(args) == 1
    err = capsys.readouterr().err
    assert f"kontrol: cannot listen on 127.0.0.1:{port}: address already in use" in err


async def test_cli_serve_serves_kites_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "KITE_HOME": str(tmp_path / "home")}
    data = str(tmp_path / "data")
    kontrol_cmd = [sys.executable, "-m", "kontrol"]
    init = ["init", "--data-dir", data, "--username", "anchor", "--url", "http://x:4000/kite"]
    await trio.run_process([*kontrol_cmd, *init], env=env, capture_stdout=True)
    key = kite.read_kite_key(tmp_path / "home" / "kite.key")
    serve = ["serve", "--data-dir", data, "--host", "127.0.0.1", "--port", "0"]
    serve += ["--allow-origin", "http://app.example:8080"]
    process = await trio.lowlevel.open_process(
        [*kontrol_cmd, *serve], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        output = b""
        with trio.fail_after(30):
            while b"/kite\n" not in output:
                output += await process.stdout.receive_some()
        url = output.decode().split("kontrol serving on ")[1].strip()
        port = int(url.split(":")[2].split("/")[0])
        for origin, status in [
            ("http://app.example:8080", "200 OK"),
            ("http://x", "403 Forbidden"),
        ]:
            info = await http_exchange(
                port,
                b"GET /kite/info HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: %s\r\n"
                b"Connection: close\r\n\r\n" % origin.encode(),
            )
            assert split_response(info)[0] == f"HTTP/1.1 {status}"
        async with math_kite().dial(url, auth=Auth("kiteKey", key.raw)) as remote:
            assert await remote.tell("register", {"url": MATH_URL}, timeout=10) == {
                "url": MATH_URL,
                "heartbeatInterval": 0,
            }
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(30):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if process.stdout is not None:
            await process.stdout.aclose()
    async with sqlite_storage(Path(data) / "kontrol.db") as storage:
        # Kontrol removed its own registration on the way out, and the kite's went with it.
        assert await storage.get(KontrolQuery(username="anchor", name="kontrol")) == []
        assert await storage.get(KontrolQuery(id=MATH_ID)) == []
