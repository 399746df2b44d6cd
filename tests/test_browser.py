"""Kites in a real browser: `examples/browser` driven in Debian's headless Chromium.

The page, served by the example kite itself, loads the stock kite.js 1.0.13 browser bundle,
gets a short-lived token for the signed-in user from its backend (which asks Kontrol), calls
the kite with it over each SockJS transport, passes a callback, and renews the token when
kite.js says it is about to expire. The same page served from another origin is refused.
Chromium is driven over its DevTools protocol (a WebSocket), so nothing but `chromium` is
needed; `.ci/install-peers.sh` installs it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_websocket import WebSocketConnection, open_websocket_url

import kite

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "browser" / "app.py"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WAIT = 60.0  # seconds for one page to do its work (a loaded machine is slow, never this slow)


def _load_app() -> Any:
    spec = importlib.util.spec_from_file_location("browser_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


app = _load_app()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/install-peers.sh)"),
    pytest.mark.skipif(
        not app.KITE_JS.is_file(), reason="kite.js is not installed (npm ci in conformance/node)"
    ),
]


class Page:
    """One Chromium tab, driven over the DevTools protocol."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self._ws.send_message(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:  # events (none are enabled) and answers to earlier calls are skipped
            message = json.loads(await self._ws.get_message())
            if message.get("id") == call_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of `expression` (awaited if it is a promise)."""
        result = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str) -> Any:
        """Poll until `expression` is truthy; its value."""
        with trio.fail_after(WAIT):
            while True:
                value = await self.evaluate(expression)
                if value:
                    return value
                await trio.sleep(0.1)  # the page's state is polled: it has no events for us


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@contextlib.asynccontextmanager
async def open_chromium(profile: Path) -> AsyncIterator[Page]:
    """Headless Chromium with a fresh profile; its first tab, for the block."""
    assert CHROMIUM is not None
    argv = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",  # tests run as root in CI containers
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "about:blank",
    ]
    log = profile.parent / "chromium.log"
    with log.open("wb") as out:
        process = await trio.lowlevel.open_process(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        port_file = trio.Path(profile / "DevToolsActivePort")
        with trio.fail_after(WAIT):
            while not (await port_file.exists() and (await port_file.read_text()).count("\n")):
                if process.poll() is not None:
                    raise AssertionError(f"chromium exited:\n{log.read_text()}")
                await trio.sleep(0.1)
        port = int((await port_file.read_text()).split()[0])
        targets = await trio.to_thread.run_sync(_get_json, f"http://127.0.0.1:{port}/json/list")
        (tab,) = [t for t in targets if t["type"] == "page"]
        async with open_websocket_url(tab["webSocketDebuggerUrl"], max_message_size=2**24) as ws:
            yield Page(ws)
    finally:
        with trio.CancelScope(shield=True):
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def open_demo_and_browser(tmp_path: Path) -> AsyncIterator[tuple[Any, Page, list[str]]]:
    """The example (tokens living 2 s, so kite.js renews them soon) and a browser tab; the
    third item lists the methods the kite was asked to run, in order."""
    async with app.open_demo(token_ttl=2.0) as demo, open_chromium(tmp_path / "profile") as page:
        calls: list[str] = []

        def record(request: kite.Request) -> None:
            calls.append(request.method)

        demo.kite.pre_handle(record)
        yield demo, page, calls


@pytest.mark.parametrize("transport", ["websocket", "xhr-streaming", "xhr-polling"])
async def test_the_page_calls_the_kite_with_a_token_and_a_callback(
    transport: str, tmp_path: Path
) -> None:
    async with open_demo_and_browser(tmp_path) as (demo, page, calls):
        await page.call(
            "Page.navigate", url=f"{demo.origin}/login?user=alice&transport={transport}"
        )
        assert await page.wait_for("window.demo && (window.demo.result || window.demo.error)")
        state = await page.evaluate("window.demo")
        assert state["error"] is None
        assert state["user"] == "alice"  # request.username: the token's user
        assert state["ticks"] == [3, 2, 1]  # the callback, called by the kite
        assert state["result"] == "liftoff"
        assert await page.evaluate("kite.ws.transport") == transport
        assert await page.evaluate("document.getElementById('result').textContent") == "liftoff"

        # kite.js asks for a new token before the old one expires; calls go on with it.
        first = await page.evaluate("kite.getToken()")
        assert await page.wait_for("window.demo.renewals >= 1")
        assert await page.evaluate("kite.getToken()") != first
        assert await page.evaluate("kite.tell('whoami', [])") == "alice"
        assert calls[:2] == ["whoami", "countdown"]


async def test_a_page_from_another_origin_is_refused(tmp_path: Path) -> None:
    async with open_demo_and_browser(tmp_path) as (demo, page, calls):
        # The same page, served as http://localhost:PORT, calling the kite at 127.0.0.1:PORT:
        # another origin, not on the kite's allow-list.
        port = demo.server.port
        kite_url = f"http://127.0.0.1:{port}/kite"
        for transport in ("websocket", "xhr-streaming", "xhr-polling"):
            url = (
                f"http://localhost:{port}/login?user=mallory&transport={transport}&kite={kite_url}"
            )
            await page.call("Page.navigate", url=url)
            assert await page.wait_for("window.demo && window.demo.closed >= 2")  # retried, refused
            state = await page.evaluate("window.demo")
            assert state["user"] is None
            assert state["result"] is None
        assert calls == []  # not one call reached the kite
