"""kite.js 1.0.13's `Kontrol.watchKites` and `cancelWatcher` against our Kontrol.

A node process (the npm package, SockJS over WebSocket) watches `name=math`; a Python kite
registers over a real SockJS session and is then dropped. kite.js must emit its `register` and
`deregister` events for that kite (it maps Kontrol's `REGISTER` / `DEREGISTER` actions to
them), with the URL and, for `register`, a token our Kontrol signed; `cancelWatcher` answers.
Keys are minted at run time; everything runs on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import trio

import kite
from kontrol import Kontrol, open_sqlite_storage

NODE_DIR = Path(__file__).resolve().parent.parent / "conformance" / "node"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "kite.js").is_dir(),
        reason="npm peers missing: run `npm ci` in conformance/node (dev.py test does)",
    ),
]

KITEJS_WATCHER = """
const { Kontrol, Kite } = require('kite.js');
const [url, key] = process.argv.slice(1);
const out = (o) => console.log(JSON.stringify(o));
const kontrol = new Kontrol({ url, auth: { type: 'kiteKey', key }, username: 'anchor',
  name: 'jswatcher', logLevel: 0, autoReconnect: false,
  transportClass: Kite.transport.SockJS, transportOptions: { transports: ['websocket'] } });
const seen = (action) => (k) => out({ action, name: k.options.name,
  username: k.options.username, url: k.options.url, token: k.options.auth.key || null });
kontrol.watchKites({ query: { username: 'anchor', name: 'math' } }).then(
  ({ changes, watcherID }) => {
    out({ watcherID });
    changes.on('register', seen('register'));
    changes.on('deregister', (k) => {
      seen('deregister')(k);
      kontrol.cancelWatcher(watcherID).then(
        (r) => { out({ cancelled: r === undefined ? null : r }); process.exit(0); },
        (e) => { out({ cancelError: String(e) }); process.exit(1); });
    });
    changes.on('error', (e) => out({ error: String(e) }));
  },
  (e) => { out({ failed: String(e) }); process.exit(1); });
setTimeout(() => process.exit(2), 20000);
"""


class Lines:
    """JSON lines of a process's stdout, read as they come."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self.stream = stream
        self.buffer = b""
        self.seen: list[Any] = []

    async def next(self) -> Any:
        line = b""
        with trio.fail_after(15):
            while not line.startswith(b"{"):  # kite.js may log lines of its own
                while b"\n" not in self.buffer:
                    chunk = await self.stream.receive_some()
                    assert chunk, f"the process ended; it printed {self.seen}"
                    self.buffer += chunk
                line, _, self.buffer = self.buffer.partition(b"\n")
        value = json.loads(line)
        self.seen.append(value)
        return value


async def test_kitejs_watch_kites_gets_register_and_deregister(tmp_path: Path) -> None:
    assert NODE is not None
    pair = kite.generate_key_pair()
    now = time.time()

    def kite_key() -> str:
        return kite.issue_kite_key(
            private_key=pair.private, public_key=pair.public, issuer="anchor",
            subject="anchor", kontrol_url="http://127.0.0.1/kite", now=now,
        )  # fmt: skip

    async with open_sqlite_storage(tmp_path / "k.db", cleanup_interval=None) as storage:
        kontrol = Kontrol(config=kite.Config(username="anchor"), storage=storage, key_pair=pair)
        async with kontrol.running(), kontrol.serve("127.0.0.1", 0) as server:
            proc = await trio.lowlevel.open_process(
                [NODE, "-e", KITEJS_WATCHER, server.url, kite_key()],
                cwd=NODE_DIR,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            try:
                assert proc.stdout is not None
                lines = Lines(proc.stdout)
                watcher_id = (await lines.next())["watcherID"]
                math = kite.Kite("math", "1.0.0", kite.Config(username="anchor"))
                math_url = "http://127.0.0.1:13636/kite"
                auth = kite.Auth("kiteKey", kite_key())
                async with math.dial(server.url, auth=auth) as peer:
                    await peer.tell("register", {"url": math_url}, timeout=5)
                    registered = await lines.next()
                deregistered = await lines.next()
                cancelled = await lines.next()
                with trio.fail_after(10):
                    assert await proc.wait() == 0
            finally:
                if proc.returncode is None:
                    proc.kill()
                with trio.CancelScope(shield=True):
                    await proc.wait()
                    proc.stdout.close() if proc.stdout else None
    assert len(watcher_id) == 36
    token = registered.pop("token")
    assert registered == {
        "action": "register", "name": "math", "username": "anchor", "url": math_url,
    }  # fmt: skip
    public = kite.parse_public_key(pair.public)
    claims = kite.parse_token(token, lambda _: public, now=time.time())
    assert claims.sub == "anchor"
    assert deregistered == {
        "action": "deregister", "name": "math", "username": "anchor", "url": math_url,
        "token": token,
    }  # fmt: skip
    assert cancelled == {"cancelled": None}
    assert len(kontrol.watchers) == 0
