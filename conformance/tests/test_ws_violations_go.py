"""WebSocket violations against the live Go kite: our kite answers each one with Go's bytes.

Every case of ``packages/kite/tests/kite_ws_violations.py`` (frames that break RFC 6455: unmasked,
reserved bits, unknown opcodes, oversized or fragmented control frames, bad close codes, ...)
plus frames gorilla/websocket accepts although the RFC does not (text that is not UTF-8,
lengths not in their shortest form) is sent raw to ``gomath``'s SockJS WebSocket and to our
twin of it; then a close frame, in case the connection is still open. Everything each server
sends until it closes TCP must be the same bytes, and for the violations, the bytes the table
says gorilla sends.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from types import ModuleType

import pytest
import trio

from conformance._gopeers import GoBuild, go_peers_or_skip, open_go_peer
from conformance._interop import python_math_kite

pytestmark = pytest.mark.go


def _table() -> ModuleType:
    path = Path(__file__).parents[2] / "packages/kite/tests/kite_ws_violations.py"
    spec = importlib.util.spec_from_file_location("kite_ws_violations", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


violations = _table()
frame = violations.frame
CLOSE = frame(8, struct.pack("!H", 1000))

#: A SockJS message calling gomath's echo with the string "X".
ECHO = json.dumps(
    [
        '{"method":"echo","arguments":[{"kite":{},"authentication":null,'
        '"responseCallback":"[Function]","withArgs":["X"]}],'
        '"callbacks":{"0":[0,"responseCallback"]}}'
    ]
).encode()

#: Frames gorilla takes although RFC 6455 refuses them, and ordinary ones for contrast.
ACCEPTED = {
    "text-not-utf8": frame(1, b'["\xff"]'),
    "text-not-utf8-split": frame(1, b'["\xe2\x82', fin=False) + frame(0, b'"]'),
    "codepoint-split": frame(1, b'["\xc3', fin=False) + frame(0, b'\xa9"]'),
    "long-length-field": frame(1, b'["x"]', wide=8),
    "binary": frame(2, b'["x"]'),
    "ping": frame(9, b"hi"),
    "pong": frame(10, b"x"),
    "ping-between-fragments": frame(1, b'["', fin=False) + frame(9, b"p") + frame(0, b'x"]'),
    "not-sockjs": frame(1, b"abc"),
    "echo-not-utf8": frame(1, ECHO.replace(b"X", b"\xff\xe2\x82|\xc3")),
}
ANSWERED = {"echo-not-utf8"}
CASES = {name: sent for name, (sent, _) in violations.GORILLA_ANSWERS.items()} | ACCEPTED


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


async def exchange(port: int, data: bytes, *, answered: bool = False) -> bytes:
    """Open a SockJS WebSocket, send `data` then a close frame; all the server sends until EOF.

    With `answered`, the close frame waits for the answer (an `a[...]` frame).
    """
    stream, received = await violations.open_raw_websocket(port, "/kite/000/violation/websocket")
    with trio.fail_after(10):
        while len(received) < 3:  # the SockJS open frame, "o"
            received += await stream.receive_some(4096)
        try:
            await stream.send_all(data)
            while answered and b'a["' not in received:
                received += await stream.receive_some(4096)
            await stream.send_all(CLOSE)
        except trio.BrokenResourceError:
            pass  # the server closed already
        try:
            while chunk := await stream.receive_some(4096):
                received += chunk
        except trio.BrokenResourceError:
            pass  # a reset after the server closed: what came before is what counts
    await stream.aclose()
    return received


async def test_violations_get_go_kites_answer(go_build: GoBuild) -> None:
    go: dict[str, bytes] = {}
    python: dict[str, bytes] = {}
    with trio.fail_after(120):
        async with open_go_peer(go_build, "gomath", "-quiet") as math:
            port = int(math.url.rsplit(":", 1)[1].split("/")[0])
            for name, data in CASES.items():
                go[name] = await exchange(port, data, answered=name in ANSWERED)
        async with python_math_kite().serve(host="127.0.0.1", port=0) as server:
            port = int(server.url.rsplit(":", 1)[1].split("/")[0])
            for name, data in CASES.items():
                python[name] = await exchange(port, data, answered=name in ANSWERED)
    for name, (_, answer) in violations.GORILLA_ANSWERS.items():
        assert go[name] == b"\x81\x01o" + answer, name  # the table holds Go's answer
    for name in CASES:
        assert python[name] == go[name], name
