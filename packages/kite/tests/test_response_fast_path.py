"""`Peer.send_response`: a scalar result goes out without scrub/encode, as the same bytes."""

from __future__ import annotations

import enum
import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
from hypothesis import example, given
from hypothesis import strategies as st
from kite_rpc_helpers import client_kite, connected, math_kite

import dnode
from kite import GenericError, Kite, Peer, SendError

KITE = Kite("responder", "1.0.0")


class Capture:
    """A pipe end that keeps what is sent and never blocks."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: str) -> None:
        self.sent.append(message)

    async def receive(self) -> str:  # pragma: no cover - never read
        raise AssertionError("not read")

    async def aclose(self) -> None:
        pass


class Color(enum.Enum):
    RED = "red"


def _fn(*args: Any) -> None:  # pragma: no cover - never called
    pass


text = st.text(max_size=8) | st.text(
    st.sampled_from(list('<>&\u2028\u2029\x08\x0c\\"\n\x00é😀\ud800.0e+-,]}1 ')), max_size=8
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.floats(min_value=-1e6, max_value=1e6)
    | st.sampled_from([-0.0, 1e16, 1e21, 1e-7, 16.0, math.nan, math.inf])
    | text
)
results = st.recursive(
    scalars | st.sampled_from([_fn, Color.RED, b"\x00x", (1, 2.5), object()]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


def _sent(send: Callable[[Peer], Awaitable[None]]) -> tuple[list[str], str, int]:
    """What a fresh peer sends (texts, error, live callbacks) when `send(peer)` runs."""
    pipe = Capture()
    peer = Peer(pipe, KITE, trusted=False)
    error = ""
    try:
        trio.run(send, peer)
    except SendError as exc:
        error = str(exc)
    return pipe.sent, error, len(peer.callbacks)


@given(results, st.integers(min_value=0, max_value=2**64 - 1))
@example(16.0, 0)
@example(0.1, 3)
@example("<b>\ud800", 7)
@example(math.nan, 1)
@example({"f": _fn, "n": 1e21}, 2)
def test_send_response_sends_what_send_callback_sends(result: Any, cid: int) -> None:
    before = dnode.get_backend()
    try:
        for backend in dnode.BACKENDS:
            dnode.set_backend(backend)
            fast = _sent(lambda peer: peer.send_response(cid, result))
            general = _sent(
                lambda peer: peer.send_callback(cid, [{"error": None, "result": result}])
            )
            assert fast == general
    finally:
        dnode.set_backend(before)


async def test_send_response_on_a_closed_peer_is_a_send_error() -> None:
    peer = Peer(Capture(), KITE, trusted=False)
    await peer.aclose()
    for result in (4, [4]):
        with pytest.raises(SendError, match="can't send, client is closed"):
            await peer.send_response(0, result)


async def test_scalar_results_travel_as_go_writes_them() -> None:
    server = math_kite()
    server.handle_func("nan", lambda r: math.nan)
    server.handle_func("text", lambda r: "<a & b>\u2028")
    server.handle_func("big", lambda r: 1e21)
    async with connected(server, client_kite()) as (client, _, _, server_pipe):
        assert await client.tell("square", 4) == 16
        assert server_pipe.sent[-1] == (
            '{"method":0,"arguments":[{"error":null,"result":16}],"callbacks":{}}'
        )
        assert await client.tell("text") == "<a & b>\u2028"
        assert "\\u003ca \\u0026 b\\u003e\\u2028" in server_pipe.sent[-1]
        assert await client.tell("big") == 1e21
        assert '"result":1e+21}' in server_pipe.sent[-1]
        with pytest.raises(GenericError, match="no JSON form"):
            await client.tell("nan")  # refused by scrub: answered with the error instead
        assert await client.tell("square", 2) == 4
