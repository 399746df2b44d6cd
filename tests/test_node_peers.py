"""Real npm peers against our SockJS server and kite runtime (real 127.0.0.1 sockets).

* `sockjs-client` 1.6.1 talks to our SockJS echo service on websocket, xhr-streaming and
  xhr-polling (it calls `/info` first, as browsers do);
* `kite.js` 1.0.13 calls our kite's `square` over SockJS (its `Kite` client), and our client
  calls a kite.js `KiteServer` (SockJS transport) on WebSocket and XHR polling.

Needs node and `conformance/node/node_modules` (`npm ci` there; `dev.py test` does it).
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio

from kite import Config, Kite, KiteError, Request
from kite.testing import open_sockjs_app

NODE_DIR = Path(__file__).resolve().parent.parent / "conformance" / "node"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "kite.js").is_dir()
        or not (NODE_DIR / "node_modules" / "sockjs-client").is_dir(),
        reason="npm peers missing: run `npm ci` in conformance/node (dev.py test does)",
    ),
]

SOCKJS_ECHO = """
const SockJS = require('sockjs-client');
const [url, transport, text] = process.argv.slice(1);
const sock = new SockJS(url, null, { transports: [transport] });
const out = { transport: null, echoed: null };
sock.onopen = () => { out.transport = sock.transport; sock.send(text); };
sock.onmessage = (e) => { out.echoed = e.data; sock.close(); };
sock.onclose = (e) => { out.code = e.code; console.log(JSON.stringify(out)); process.exit(0); };
setTimeout(() => { console.log(JSON.stringify(out)); process.exit(1); }, 10000);
"""

KITEJS_CLIENT = """
const { Kite } = require('kite.js');
const [url, transport] = process.argv.slice(1);
const k = new Kite({ url, transportClass: Kite.transport.SockJS, autoReconnect: false,
  logLevel: 0, transportOptions: { transports: [transport] } });
Promise.all([k.tell('square', [4]), k.tell('fail', ['js']).catch((e) => e)]).then(
  ([square, err]) => {
    console.log(JSON.stringify({ square, error: err && err.message, type: err && err.type }));
    k.disconnect();
    process.exit(0);
  },
  (e) => { console.log(JSON.stringify({ failed: String(e) })); process.exit(1); });
setTimeout(() => process.exit(2), 10000);
"""

KITEJS_SERVER = """
const { KiteServer } = require('kite.js');
const server = new KiteServer({ name: 'jsmath', auth: false, logLevel: 0, prefix: '/kite',
  transportClass: KiteServer.transport.SockJS,
  api: {
    square: function (x, callback) { callback(null, x * x); },
    fail: function (x, callback) { callback({ message: 'js failed: ' + x }); },
  } });
server.listen(Number(process.argv[1]));
console.log('listening');
setTimeout(() => process.exit(0), 30000);
"""


async def node(script: str, *args: str) -> Any:
    assert NODE is not None
    with trio.fail_after(30):
        result = await trio.run_process(
            [NODE, "-e", script, *args],
            cwd=NODE_DIR,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    lines = [line for line in result.stdout.decode().split("\n") if line.startswith("{")]
    assert lines, (result.stdout + result.stderr).decode()[-2000:]
    return json.loads(lines[-1])


@pytest.mark.parametrize("transport", ["websocket", "xhr-streaming", "xhr-polling"])
async def test_sockjs_client_echo(transport: str) -> None:
    text = 'hello <&> "quotes" ünïcödé \u2028 \U0001f600'
    async with open_sockjs_app() as server:
        out = await node(SOCKJS_ECHO, server.url + "/echo", transport, text)
    assert out == {"transport": transport, "echoed": text, "code": 1000}


def math_kite() -> Kite:
    k = Kite("math", "1.0.0", Config(disable_authentication=True))

    @k.handle("square")
    def square(r: Request) -> float:
        n = r.args.one().float()
        return n * n

    @k.handle("fail")
    def fail(r: Request) -> None:
        raise ValueError("failed: " + r.args.one().string())

    return k


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
async def test_kitejs_client_calls_our_kite(transport: str) -> None:
    async with math_kite().serve(host="127.0.0.1", port=0) as served:
        out = await node(KITEJS_CLIENT, served.url, transport)
    assert out == {"square": 16, "error": "failed: js", "type": "genericError"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(sys.platform == "win32", reason="uses a fixed free port")
async def test_our_client_calls_a_kitejs_server() -> None:
    assert NODE is not None
    port = free_port()
    async with trio.open_nursery() as nursery:
        command = [NODE, "-e", KITEJS_SERVER, str(port)]
        run = partial(trio.run_process, command, cwd=NODE_DIR, check=False)
        process = await nursery.start(run)
        client = Kite("client", "1.0.0")
        url = f"http://127.0.0.1:{port}/kite"
        with trio.fail_after(10):
            while True:  # wait until node listens
                try:
                    probe = await trio.open_tcp_stream("127.0.0.1", port)
                except OSError:
                    await trio.sleep(0.05)
                else:
                    await probe.aclose()
                    break
        for transport in ("websocket", "xhr"):
            async with client.dial(url, transport=transport, timeout=5) as remote:  # type: ignore[arg-type]
                assert await remote.tell("square", 5, timeout=5) == 25
                with pytest.raises(KiteError, match="js failed: 1"):
                    await remote.tell("fail", 1, timeout=5)
        process.terminate()
