"""Data fidelity against the live Go peers: what Go's ``dnode.Partial`` keeps, we keep.

A Go handler returning its arguments (``gomath``'s ``echo`` returns ``r.Args``) sends the JSON
text it received, compacted, with Go's HTML escapes: ``-0`` stays ``-0``, ``1e300`` stays
``1e300``, ``"\\ud800"`` stays an escape. The same dnode texts are sent to ``gomath`` and to its
Python twin (`python_math_kite`) over a bare SockJS WebSocket, and the answers must be the same
bytes; the Go client must print the same for both; and what our client sends as
``dnode.RawJSON`` reaches Go as written (``rawArgs`` returns the text Go received).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
from trio_websocket import open_websocket_url

import dnode
from conformance._gopeers import GoBuild, go_peers_or_skip, open_go_peer
from conformance._interop import goclient, python_math_kite
from kite import Kite

pytestmark = pytest.mark.go


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


def request(method: str, with_args: str, *, extra: str = "", callbacks: str = "") -> str:
    """A request as a peer may spell it: `with_args` and `extra` members written as given."""
    return (
        '{"method":"' + method + '","arguments":[{"kite":{"name":"raw","username":"u"},'
        '"authentication":null,"responseCallback":"[Function]",' + with_args + extra + "}],"
        '"callbacks":{"0":[0,"responseCallback"]' + callbacks + "}}"
    )


REQUESTS = {
    "negative-zero": request("echo", '"withArgs":[-0, -0.0, 0]'),
    "big-and-tiny": request("echo", '"withArgs":[1e300,1E+300,1e-320,-1e-320,2.5E+20,1.0,0.10]'),
    "integers": request(
        "echo", '"withArgs":[9007199254740993,18446744073709551617,-18446744073709551617]'
    ),
    "whitespace": request("echo", '"withArgs" : [ 1 , {"a" : [ ] , "b":{ } } ,\n\t"x y" ]'),
    "escapes": request(
        "echo",
        '"withArgs":["\\u00e9\\ud800\\udc00x\\uD83D\\uDE00", "<&>", "\u2028\u2029", "\\b\\f\\/"]',
    ),
    "deep": request("echo", '"withArgs":' + "[" * 200 + "-0" + "]" * 200),
    "last-key-wins": request("echo", '"withArgs":[1],"WITHARGS":[-0]'),
    "folded-key": request("echo", '"WithArgs":[1e300]'),
    "raw-args": request("rawArgs", '"withArgs":[ -0 ,{"a" : 1e300}]'),
    "raw-args-null": request("rawArgs", '"withArgs":null'),
    "data-text": request("square", '"withArgs":[ {"a" : "<b>"} ]'),
    "data-float": request("square", '"withArgs":["x"]'),
    "negative-zero-squared": request("square", '"withArgs":[-0]'),
}

_ERROR_ID = re.compile(r'(\\"id\\":\\")[^\\"]*')


@asynccontextmanager
async def sockjs_websocket(url: str) -> AsyncIterator[object]:
    base = url.replace("http://", "ws://").rstrip("/")
    async with open_websocket_url(f"{base}/000/fidelity/websocket") as ws:
        assert await ws.get_message() == "o"
        yield ws


async def answers(url: str, texts: list[str]) -> list[str]:
    """Send each dnode text in its own SockJS frame; the answer frame of each (ids masked)."""
    out = []
    async with sockjs_websocket(url) as ws:
        for text in texts:
            await ws.send_message(json.dumps([text]))  # type: ignore[attr-defined]
            frame = await ws.get_message()  # type: ignore[attr-defined]
            out.append(_ERROR_ID.sub(r"\1<id>", frame))
    return out


async def test_python_kite_answers_what_go_kite_answers(go_build: GoBuild) -> None:
    texts = list(REQUESTS.values())
    with trio.fail_after(60):
        async with open_go_peer(go_build, "gomath", "-quiet") as math:
            go = await answers(math.url, texts)
        async with python_math_kite().serve(host="127.0.0.1", port=0) as server:
            python = await answers(server.url, texts)
    for name, go_frame, py_frame in zip(REQUESTS, go, python, strict=True):
        assert py_frame == go_frame, name
    # The reference itself, for the cases the issue names.
    results = {
        name: json.loads(json.loads(frame[1:])[0]) for name, frame in zip(REQUESTS, go, strict=True)
    }
    assert '"result":[-0,-0.0,0]' in json.loads(go[0][1:])[0]
    assert '"result":[1e300,1E+300,1e-320' in json.loads(go[1][1:])[0]
    assert results["last-key-wins"]["arguments"][0]["result"] == [0]
    assert results["raw-args"]["arguments"][0]["result"] == '[ -0 ,{"a" : 1e300}]'
    assert results["data-text"]["arguments"][0]["error"]["message"] == (
        'json: cannot unmarshal object into Go value of type float64. Data: {"a" : "<b>"}'
    )


CALLBACK_INSIDE = request(
    "echo", '"withArgs":[{"cb":"[Function]","n":-0}]', callbacks=',"1":[0,"withArgs",0,"cb"]'
)


async def test_received_callbacks_sent_back(go_build: GoBuild) -> None:
    """A deliberate difference: Go's scrubber panics on a received callback inside the Partial
    a handler returns (the caller gets a genericError); we pass the callback on, at its place."""
    with trio.fail_after(60):
        async with open_go_peer(go_build, "gomath", "-quiet") as math:
            (go,) = await answers(math.url, [CALLBACK_INSIDE])
        async with python_math_kite().serve(host="127.0.0.1", port=0) as server:
            (python,) = await answers(server.url, [CALLBACK_INSIDE])
    assert "interface conversion: dnode.caller is dnode.functionReceived" in go
    assert json.loads(json.loads(python[1:])[0]) == {
        "method": 0,
        "arguments": [{"error": None, "result": [{"cb": "[Function]", "n": 0}]}],
        "callbacks": {"0": [0, "result", 0, "cb"]},
    }
    assert '"n\\":-0' in python


ECHO_ARGS = (
    '[-0,1e300,1e-320,9007199254740993,18446744073709551617,"\\ud800\\u00e9",{"a":[1.0E+2]}]'
)


@pytest.mark.parametrize("transport", ["websocket", "xhr"])
async def test_go_client_gets_the_same_echo_from_both(go_build: GoBuild, transport: str) -> None:
    with trio.fail_after(60):
        async with open_go_peer(go_build, "gomath", "-quiet") as math:
            go = await goclient(go_build, math.url, transport, "echo", ECHO_ARGS)
        async with python_math_kite().serve(host="127.0.0.1", port=0) as server:
            python = await goclient(go_build, server.url, transport, "echo", ECHO_ARGS)
    # goclient decodes -args into Go values (json.Number keeps the numbers' text; a lone
    # surrogate becomes U+FFFD) and sends them; what it prints is the echo's text.
    expected = ECHO_ARGS.replace("\\ud800\\u00e9", "\ufffd\u00e9")
    assert go.stdout == expected + "\n", go.stdout + go.stderr  # the reference itself
    assert python.stdout == go.stdout, python.stderr


RAW = ' {"n" : -0, "big": 1e300, "tiny": 1e-320, "s": "<\\ud800>"} '


@pytest.mark.parametrize("transport", ["websocket", "xhr"])
async def test_rawjson_reaches_go_kite_as_written(go_build: GoBuild, transport: str) -> None:
    client = Kite("fidelity", "1.0.0")
    with trio.fail_after(60):
        async with (
            open_go_peer(go_build, "gomath", "-quiet") as math,
            client.dial(math.url, transport=transport) as remote,
        ):
            received = await remote.tell("rawArgs", dnode.RawJSON(RAW), dnode.RawJSON("-0"))
            echoed = await remote.tell("echo", dnode.RawJSON("[1e300, 2.5E+20]"))
    # Go's encoder compacts a json.RawMessage and escapes < > &; nothing else changes.
    assert received == '[{"n":-0,"big":1e300,"tiny":1e-320,"s":"\\u003c\\ud800\\u003e"},-0]'
    assert echoed == [[1e300, 2.5e20]]
