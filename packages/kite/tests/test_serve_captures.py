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

from kite._http import HTTPClient, open_ws_client

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


def xhr_exchange(name: str) -> tuple[list[tuple[str, list[tuple[str, str]], bytes]], list[bytes]]:
    """(the Go client's requests as (suffix, headers, body), gomath's non-empty poll bodies)."""
    requests: list[tuple[str, list[tuple[str, str]], bytes]] = []
    polls: list[bytes] = []
    with (CAPTURES / f"{name}.jsonl").open(encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            if event.get("kind") == "http-request":
                suffix = event["target"].rsplit("/", 1)[1]
                headers = [(k, v) for k, v in event["headers"] if k.lower() != "host"]
                requests.append((suffix, headers, event["body"].encode()))
            elif (
                event.get("kind") == "http-response"
                and event["request"].endswith("/xhr")
                and event["body"]
            ):
                polls.append(event["body"].encode())
    return requests, polls


@pytest.mark.parametrize("name", ["ping-xhr", "square-xhr", "fail-xhr", "method-not-found-xhr"])
async def test_xhr_poll_bodies_equal_gos(name: str) -> None:
    requests, expected = xhr_exchange(name)
    server = math_kite()
    got: list[bytes] = []
    async with server.serve(host="127.0.0.1", port=0) as served, HTTPClient() as client:
        session = served.url + "/491/eb0c7f7d6649f3004f6d/"
        sends = [r for r in requests if r[0] == "xhr_send"]
        poll_headers = next(r[1] for r in requests if r[0] == "xhr")
        got.append((await client.request("POST", session + "xhr", poll_headers)).body)
        for _, headers, body in sends:
            sent = await client.request("POST", session + "xhr_send", headers, body)
            assert (sent.status, sent.body) == (204, b"")
        while len(got) < len(expected):
            got.append((await client.request("POST", session + "xhr", poll_headers)).body)
    assert [normalise(b.decode()) for b in got] == [normalise(b.decode()) for b in expected]
