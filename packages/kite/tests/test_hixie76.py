"""hixie-76 WebSockets: the sans-IO codec (draft vectors) and a real echo through our server."""

from __future__ import annotations

import hashlib

import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

import sockjs
from kite import SockJSEndpoint
from kite._http import open_http_server
from kite._http._hixie76 import (
    CLOSE_FRAME,
    Hixie76Close,
    Hixie76Decoder,
    Hixie76Error,
    Hixie76Text,
    challenge_response,
    encode_text,
    is_hixie76_request,
    key_number,
    response_headers,
)
from kite.testing import echo, open_sockjs_app

# draft-hixie-thewebsocketprotocol-76 sections 1.3 and 5.2 (the second), and sockjs-protocol.py's
# test_haproxy (the third).
VECTORS = [
    ("4 @1  46546xW%0l 1 5", "12998 5 Y3 1  .P00", b"^n:ds[4U", b"8jKS'y:G*Co,Wxa-"),
    (
        "18x 6]8vM;54 *(5:  {   U1]8  z [  8",
        "1_ tx7X d  <  nw  334J702) 7]o}` 0",
        b"Tm[K T2u",
        b"fQJ,fN/4F4!~K~MH",
    ),
    (
        "4 @1  46546xW%0l 1 5",
        "12998 5 Y3 1  .P00",
        b"aaaaaaaa",
        b"\xca4\x00\xd8\xa5\x08G\x97,\xd5qZ\xba\xbfC{",
    ),
]


@pytest.mark.parametrize(("key1", "key2", "key3", "expected"), VECTORS)
def test_challenge_response_vectors(key1: str, key2: str, key3: bytes, expected: bytes) -> None:
    assert challenge_response(key1, key2, key3) == expected


def test_key_numbers_from_the_draft() -> None:
    assert key_number("4 @1  46546xW%0l 1 5") == 829309203  # 4146546015 / 5 spaces
    assert key_number("12998 5 Y3 1  .P00") == 259970620  # 1299853100 / 5 spaces


@pytest.mark.parametrize(
    "key",
    ["nodigits here", "12345", "1 3 ", "99999999999 9"],  # no digits, no space, not /, > 2**32
)
def test_bad_keys(key: str) -> None:
    with pytest.raises(Hixie76Error):
        key_number(key)


def test_nonce_must_be_8_bytes() -> None:
    with pytest.raises(Hixie76Error):
        challenge_response(*VECTORS[0][:2], b"short")


@given(st.integers(0, 0xFFFFFFFF), st.integers(1, 12), st.binary(min_size=8, max_size=8))
def test_any_key_round_trips(number: int, spaces: int, key3: bytes) -> None:
    digits = str(number * spaces)
    key = digits[:1] + " " * spaces + digits[1:] + "x"
    assert key_number(key) == number
    expected = hashlib.md5(number.to_bytes(4, "big") * 2 + key3).digest()
    assert challenge_response(key, key, key3) == expected


def test_request_detection_and_response_headers() -> None:
    hixie = [("Upgrade", "WebSocket"), ("Connection", "Upgrade")]
    hixie += [("Sec-WebSocket-Key1", "1 2"), ("Sec-WebSocket-Key2", "3 4")]
    assert is_hixie76_request("GET", hixie)
    assert not is_hixie76_request("GET", [*hixie, ("Sec-WebSocket-Version", "13")])
    assert not is_hixie76_request("POST", hixie)
    assert response_headers("h:1", "/p?q", "http://o") == [
        (b"Upgrade", b"WebSocket"),
        (b"Connection", b"Upgrade"),
        (b"Sec-WebSocket-Origin", b"http://o"),
        (b"Sec-WebSocket-Location", b"ws://h:1/p?q"),
    ]
    assert response_headers("h", "/", None, secure=True)[3] == (
        b"Sec-WebSocket-Location",
        b"wss://h/",
    )


def _decode(data: bytes, chunk: int = 0, limit: int = 1 << 20) -> list[object]:
    decoder = Hixie76Decoder(limit)
    out: list[object] = []
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] if chunk else [data]
    for piece in pieces:
        decoder.receive_data(piece)
        out.extend(decoder.events())
    return out


def test_decoder_frames() -> None:
    data = encode_text("héllo") + b"\x00\xff" + b"\x80\x03abc" + b"\x05junk\xff"
    data += encode_text("after") + CLOSE_FRAME + encode_text("ignored")
    texts: list[object] = [Hixie76Text("héllo"), Hixie76Text(""), Hixie76Text("after")]
    assert _decode(data) == [*texts, Hixie76Close()]


@given(st.lists(st.text(), max_size=5), st.integers(1, 7))
def test_decoder_chunking_never_matters(texts: list[str], chunk: int) -> None:
    data = b"".join(encode_text(t) for t in texts) + CLOSE_FRAME
    expected = [Hixie76Text(t.encode("utf-8", "replace").decode()) for t in texts]
    assert _decode(data, chunk) == [*expected, Hixie76Close()]


def test_decoder_limits_and_bad_utf8() -> None:
    with pytest.raises(Hixie76Error):
        _decode(b"\x00" + b"x" * 11, limit=10)  # too large before the end arrives
    with pytest.raises(Hixie76Error):
        _decode(encode_text("x" * 11), limit=10)
    with pytest.raises(Hixie76Error):
        _decode(b"\x81\x8f\x7f", limit=10)  # a binary frame longer than the limit
    with pytest.raises(Hixie76Error):
        _decode(b"\x00\xc3\x28\xff")


# --- through the server ------------------------------------------------------------------------


async def _read_until(stream: trio.SocketStream, buf: bytearray, marker: bytes) -> bytes:
    while marker not in buf:
        data = await stream.receive_some(4096)
        assert data, f"EOF before {marker!r}; got {bytes(buf)!r}"
        buf += data
    end = buf.index(marker) + len(marker)
    out = bytes(buf[:end])
    del buf[:end]
    return out


async def _read_exactly(stream: trio.SocketStream, buf: bytearray, n: int) -> bytes:
    while len(buf) < n:
        data = await stream.receive_some(4096)
        assert data, f"EOF before {n} bytes; got {bytes(buf)!r}"
        buf += data
    out = bytes(buf[:n])
    del buf[:n]
    return out


def _head(port: int, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\n"
        f"Upgrade: WebSocket\r\nOrigin: http://127.0.0.1:{port}\r\n"
        "Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\n"
        "Sec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n\r\n"
    ).encode()


async def test_echo_through_the_test_app_haproxy_order() -> None:
    async with open_sockjs_app() as server:
        port = server.port
        path = "/echo/000/hixie/websocket"
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        buf = bytearray()
        async with stream:
            await stream.send_all(_head(port, path))  # the head alone, like HAProxy
            head = (await _read_until(stream, buf, b"\r\n\r\n")).decode("latin-1")
            lines = head.split("\r\n")
            assert lines[0] == "HTTP/1.1 101 WebSocket Protocol Handshake"
            headers = {k.lower(): v for k, _, v in (x.partition(": ") for x in lines[1:] if x)}
            assert headers["upgrade"] == "WebSocket"
            assert headers["connection"] == "Upgrade"
            assert headers["sec-websocket-origin"] == f"http://127.0.0.1:{port}"
            assert headers["sec-websocket-location"] == f"ws://127.0.0.1:{port}{path}"
            assert "content-length" not in headers
            await stream.send_all(b"aaaaaaaa")
            assert await _read_exactly(stream, buf, 16) == VECTORS[2][3]
            assert await _read_until(stream, buf, b"\xff") == b"\x00o\xff"
            await stream.send_all(encode_text('["a","\u00e9\u200d"]'))
            assert await _read_until(stream, buf, b"\xff") == encode_text('a["a"]')
            assert await _read_until(stream, buf, b"\xff") == encode_text('a["\u00e9\\u200d"]')
            await stream.send_all(CLOSE_FRAME)
            with trio.fail_after(5):
                while await stream.receive_some(4096):
                    pass  # the server drops TCP when the session ends


async def test_nonce_with_the_head_and_raw_endpoint() -> None:
    async with open_sockjs_app() as server:
        port = server.port
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        buf = bytearray()
        async with stream:
            await stream.send_all(_head(port, "/echo/websocket") + b"aaaaaaaa")
            await _read_until(stream, buf, b"\r\n\r\n")
            assert await _read_exactly(stream, buf, 16) == VECTORS[2][3]
            await stream.send_all(encode_text("raw text"))
            assert await _read_until(stream, buf, b"\xff") == encode_text("raw text")


async def test_off_by_default_like_go() -> None:
    async with trio.open_nursery() as sessions:
        async with open_http_server("127.0.0.1", 0, grace_period=0.1) as server:
            server.handle_http(
                "/echo", SockJSEndpoint(sockjs.Options(prefix="/echo"), echo, sessions)
            )
            stream = await trio.open_tcp_stream("127.0.0.1", server.port)
            async with stream:
                await stream.send_all(_head(server.port, "/echo/0/0/websocket") + b"aaaaaaaa")
                head = await _read_until(stream, bytearray(), b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 400 ")
        sessions.cancel_scope.cancel()


async def test_bad_keys_get_400_before_any_101() -> None:
    async with open_sockjs_app() as server:
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        async with stream:
            head = _head(server.port, "/echo/0/0/websocket").replace(
                b"12998 5 Y3 1  .P00", b"12998"
            )
            await stream.send_all(head)
            answer = await _read_until(stream, bytearray(), b"\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 400 ")
