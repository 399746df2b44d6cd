"""Frames that break RFC 6455 get Go kite's answer: gorilla/websocket's close code and reason.

`kite_ws_violations.GORILLA_ANSWERS` holds what a live Go kite answered (and
`conformance/tests/test_ws_violations_go.py` keeps checking it against one); here our server
must answer the same bytes, and the sans-IO `FrameGate` must judge a byte stream the same
however it is cut.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st
from kite_ws_violations import GORILLA_ANSWERS, frame, open_raw_websocket

from kite._http import ConnectionClosedError, HTTPRequest, HTTPServer, open_http_server
from kite._http._ws_gate import FrameGate


class Ended:
    """The close code each connection's handler ended with, as `receive()` raised it."""

    codes: list[int | None] = []
    event = trio.Event()


async def echo_until_closed(request: HTTPRequest) -> None:
    ws = await request.accept_websocket()
    while True:
        try:
            message = await ws.receive()
        except ConnectionClosedError as exc:
            Ended.codes.append(exc.code)
            Ended.event.set()
            return
        await ws.send(message)


@pytest.fixture
async def server() -> AsyncIterator[HTTPServer]:
    Ended.codes = []
    Ended.event = trio.Event()
    async with open_http_server("127.0.0.1", 0, grace_period=1.0) as srv:
        srv.handle_http("/ws", echo_until_closed)
        yield srv


async def exchange(port: int, data: bytes) -> bytes:
    """Handshake, send `data`, and return every byte the server sends until it closes TCP."""
    stream, received = await open_raw_websocket(port, "/ws")
    with trio.fail_after(5):
        await stream.send_all(data)
        while chunk := await stream.receive_some(4096):
            received += chunk
    await stream.aclose()
    return received


def _code(answer: bytes) -> int:
    """The code our side closes with for a given answer: the close frame's, 1005 for one
    without a code, 1006 when TCP was dropped without a close frame."""
    if answer[:1] == b"\x88" and len(answer) >= 4:
        return int.from_bytes(answer[2:4], "big")
    return 1005 if answer == b"\x88\x00" else 1006


@pytest.mark.parametrize("name", list(GORILLA_ANSWERS))
async def test_violation_is_answered_as_go_kite_answers(server: HTTPServer, name: str) -> None:
    sent, answer = GORILLA_ANSWERS[name]
    assert await exchange(server.port, sent) == answer
    with trio.fail_after(5):
        await Ended.event.wait()
    assert Ended.codes == [_code(answer)]


async def test_what_gorilla_accepts_is_received(server: HTTPServer) -> None:
    data = (
        frame(1, b"long", wide=8)  # a length in more bytes than needed: gorilla takes it
        + frame(1, b"\xffok")  # not UTF-8: gorilla does not check
        + frame(1, b"fr", fin=False)
        + frame(9, b"p")  # a ping between fragments
        + frame(0, b"ag", wide=2)
        + frame(8, struct.pack("!H", 1000))
    )
    assert await exchange(server.port, data) == (
        b"\x81\x04long" + b"\x81\x05\xef\xbf\xbdok" + b"\x8a\x01p" + b"\x81\x04frag"
        + b"\x88\x02\x03\xe8"
    )  # fmt: skip


# -- the gate alone: any cut of the stream gives the same judgement -----------------------------

frames = st.sampled_from(
    [
        frame(1, b"abc"),
        frame(2, b"\x00\xff", wide=2),
        frame(1, b"x" * 200),
        frame(1, b"a", fin=False),
        frame(0, b"b", fin=False),
        frame(0, b"c"),
        frame(9, b"ping"),
        frame(10, b""),
        frame(8, b"\x03\xe8bye"),
        frame(8, b"\x03"),
        frame(1, b"\xff\xfe"),
        frame(1, b"q", wide=8),
        frame(1, b"x", mask=False),
        frame(3, b""),
        frame(1, b"r", rsv=2),
        frame(8, struct.pack("!H", 1005)),
    ]
)


@given(st.lists(frames, max_size=8), st.lists(st.integers(min_value=1, max_value=40)))
def test_any_cut_of_the_stream_is_judged_alike(parts: list[bytes], cuts: list[int]) -> None:
    data = b"".join(parts)
    whole = FrameGate(server=True)
    expected = whole.feed(data)
    gate = FrameGate(server=True)
    out = b""
    pos = 0
    for n in cuts:
        out += gate.feed(data[pos : pos + n])
        pos += n
    out += gate.feed(data[pos:])
    assert (out, gate.violation, list(gate.kinds)) == (
        expected,
        whole.violation,
        list(whole.kinds),
    )
