"""Our server against recorded Go traffic, on the wire: a Go client's WebSocket frames from
`conformance/captures` are sent to a Python `math` kite over a real socket, and every SockJS
frame it answers must equal, byte for byte, the frame Go's `gomath` wrote (after replacing the
random request ids in error objects).

`echo-values` is left out: Go's `echo` returns the raw JSON it received (`-0`, `1e300`), while
a Python handler returns parsed values, which re-encode as `0` and `1e+300`; its strings
(escaping at both levels) are covered by the sockjs frame tests."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from kite_rpc_helpers import math_kite

from kite._http import open_ws_client

CAPTURES = Path(__file__).resolve().parents[3] / "conformance" / "captures"
_ERROR_ID = re.compile(r'id\\":\\"[0-9a-f]{16}\\"')


def ws_frames(name: str) -> tuple[list[str], list[str]]:
    """(client text frames, server `o`/`a` frames) of the first WebSocket connection."""
    c2s: list[str] = []
    s2c: list[str] = []
    with (CAPTURES / f"{name}.jsonl").open(encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            if event.get("conn") != 0 or event.get("kind") != "ws-text":
                continue
            if event["dir"] == "c2s":
                c2s.append(event["data"])
            elif event["data"][:1] in ("o", "a"):
                s2c.append(event["data"])
    return c2s, s2c


def normalise(frame: str) -> str:
    return _ERROR_ID.sub("<request id>", frame)


@pytest.mark.parametrize(
    "name",
    [
        "ping",
        "square",
        "add",
        "fail",
        "boom",
        "method-not-found",
        "countdown-callback",
    ],
)
async def test_server_frames_equal_gos(name: str) -> None:
    sent, expected = ws_frames(name)
    assert sent, name
    server = math_kite()
    async with server.serve(host="127.0.0.1", port=0) as served:
        url = served.url.replace("http", "ws") + "/505/3428c7c418c8199bfe90/websocket"
        async with open_ws_client(url) as ws:
            for frame in sent:  # like Go's client: without waiting for `o`
                await ws.send(frame)
            got = [await ws.receive() for _ in expected]
    assert [normalise(f) for f in got] == [normalise(f) for f in expected]
