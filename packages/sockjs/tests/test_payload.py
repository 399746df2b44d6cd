"""Client → server payload decoding: the protocol's answers, Go's quirks, limits, properties."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sockjs import (
    MessageTooLargeError,
    RemoteProtocolError,
    SockJSError,
    _payload,
    decode_jsonp_send,
    decode_payload,
    decode_websocket_message,
    encode_payload,
)
from sockjs._payload import BROKEN_JSON, PAYLOAD_EXPECTED

# ---------------------------------------------------------------------------------------------
# xhr_send bodies (decode_payload)

GOOD = [
    (b'["a"]', ["a"]),
    (b"[]", []),  # Protocol.test_sending_empty_frame: frames without messages are fine
    (b'["a","b"]', ["a", "b"]),
    (b'[ "a" , "b" ]\n', ["a", "b"]),
    (b"null", []),  # Go decodes null into an empty slice: nothing delivered, 204
    (b' \t["x"]\r\n', ["x"]),
    (b'["%61bc"]', ["%61bc"]),  # JsonPolling.test_content_types: no URL-decoding
    ('["h\u00e9llo \U0001f600"]'.encode(), ["h\u00e9llo \U0001f600"]),
    (b'["\\u00e9\\ud83d\\ude00"]', ["\u00e9\U0001f600"]),  # escaped surrogate pair
    (b'["\\ud800x"]', ["\ufffdx"]),  # lone escaped surrogate -> U+FFFD, as Go
    (b'["\\udc00\\ud800"]', ["\ufffd\ufffd"]),
    (b'["\xff"]', ["\ufffd"]),  # invalid UTF-8 inside a string -> U+FFFD, as Go
    (b'["  \\u0000\\n\\r "]', ["  \x00\n\r "]),  # EventSource.test_transport's payload
    # The Go XHR client's real payload (ping-xhr capture).
    (
        b'["{\\"method\\":\\"kite.ping\\",\\"arguments\\":[],\\"callbacks\\":{}}"]',
        ['{"method":"kite.ping","arguments":[],"callbacks":{}}'],
    ),
]


@pytest.mark.parametrize(("body", "messages"), GOOD)
def test_decode_payload_accepts(body: bytes, messages: list[str]) -> None:
    assert decode_payload(body) == messages
    assert decode_payload(bytearray(body)) == messages
    assert decode_payload(memoryview(body)) == messages


@pytest.mark.parametrize("body", [b"", b" ", b"\r\n\t ", ""])
def test_empty_body_is_payload_expected(body: bytes) -> None:
    # XhrPolling.test_invalid_json (""), and Go's observed answer to a blank body.
    with pytest.raises(RemoteProtocolError) as info:
        decode_payload(body)
    assert (info.value.status, info.value.body) == (500, PAYLOAD_EXPECTED)
    assert info.value.body == "Payload expected."


BROKEN = [
    b'["x',  # XhrPolling.test_invalid_json
    b"not json",  # invalid-frame-xhr capture
    b"[1]",  # a non-string element (Go: 204 and dropped; deliberate difference)
    b'["a", 1]',
    b'{"a":1}',  # not an array (Go: 204; deliberate difference)
    b'"abc"',
    b"5",
    b"true",
    b'["a"] ["b"]',  # data after the first value (Go ignores it; deliberate difference)
    b'["a"]x',
    b"[null]",
    b'[["a"]]',
    b"[NaN]",
    b"NaN",
    b"\xef\xbb\xbf[]",  # a byte-order mark is not JSON whitespace
    b"\xa0[]",
    b"[" * 100_000,  # deep nesting must not crash with RecursionError
    b"[" + b"1" * 5000 + b"]",  # Python's int-digits limit is a ValueError, still broken JSON
]


@pytest.mark.parametrize("body", BROKEN, ids=lambda b: repr(b[:20]))
def test_broken_json(body: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_payload(body)
    assert info.value.status == 500
    assert info.value.body == BROKEN_JSON == "Broken JSON encoding."
    assert str(info.value).startswith(BROKEN_JSON)


def test_server_decodes_every_escaped_code_point() -> None:
    """JSONEncoding.test_xhr_server_decodes: whatever a browser escapes comes back intact
    (here every BMP code point except surrogates, as one \\uXXXX-escaped message)."""
    points = [i for i in range(0x10000) if not 0xD800 <= i <= 0xDFFF]
    escaped = "".join(f"\\u{i:04x}" for i in points)
    assert decode_payload(f'["{escaped}"]'.encode()) == ["".join(map(chr, points))]


def test_max_size_is_checked_before_parsing() -> None:
    body = b'["' + b"x" * 100 + b'"]'
    assert decode_payload(body, max_size=len(body)) == ["x" * 100]
    with pytest.raises(MessageTooLargeError) as info:
        decode_payload(body, max_size=len(body) - 1)
    assert (info.value.limit, info.value.size) == (len(body) - 1, len(body))
    # Even a broken body is refused for its size, not its syntax (no parse happened).
    with pytest.raises(MessageTooLargeError):
        decode_payload(b"[" * 50, max_size=10)


def test_max_size_counts_utf8_bytes_of_text() -> None:
    text = '["\u00e9\u00e9"]'  # 6 characters, 8 bytes
    assert decode_payload(text, max_size=8) == ["\u00e9\u00e9"]
    with pytest.raises(MessageTooLargeError) as info:
        decode_payload(text, max_size=7)
    assert info.value.size == 8


def test_errors_belong_to_the_package_tree() -> None:
    for body in (b"", b"[1]"):
        with pytest.raises(SockJSError):
            decode_payload(body)
    with pytest.raises(SockJSError):
        decode_payload(b"[]", max_size=1)


# ---------------------------------------------------------------------------------------------
# WebSocket messages


@pytest.mark.parametrize(
    ("data", "messages"),
    [
        ('["a"]', ["a"]),
        (b'["a"]', ["a"]),  # binary frames are parsed like text ones (sockjs-go)
        ("[]", []),  # ignored (sockjs-go and the protocol)
        ("null", []),  # ignored (sockjs-go quirk, docs/protocol.md §8)
        ("", []),  # Websocket.test_empty_frame: empty frames are ignored (sockjs-go kills)
        ("  ", []),
        ('["a","b"]', ["a", "b"]),
    ],
)
def test_websocket_message_accepts(data: str | bytes, messages: list[str]) -> None:
    assert decode_websocket_message(data) == messages


@pytest.mark.parametrize(
    "data",
    ['["a', "this is not json", '"abc"', "[1]", '{"a":1}', b"\xde\xad\xbe\xef\x00\xff"],
)
def test_websocket_message_broken_ends_the_session(data: str | bytes) -> None:
    # Websocket.test_broken_json; section 11 rows: the session must end. No HTTP status.
    with pytest.raises(RemoteProtocolError) as info:
        decode_websocket_message(data)
    assert info.value.status is None
    assert info.value.body is None


def test_websocket_message_limit() -> None:
    with pytest.raises(MessageTooLargeError):
        decode_websocket_message('["abc"]', max_size=6)


# ---------------------------------------------------------------------------------------------
# jsonp_send bodies

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "content_type", "messages"),
    [
        (b"d=%5B%22x%22%5D", FORM, ["x"]),  # JsonPolling.test_transport
        (b"d=%5B%5D", FORM, []),  # JsonPolling.test_sending_empty_frame
        (b"d=%5B%22abc%22%5D", FORM, ["abc"]),
        (b'["%61bc"]', "text/plain", ["%61bc"]),  # JsonPolling.test_content_types
        (b'["x"]', None, ["x"]),
        (b"d=%5B%22x%22%5D", "Application/X-WWW-Form-Urlencoded; charset=utf-8", ["x"]),
        (b"p=1&d=%5B%22y%22%5D&d=%5B%22z%22%5D", FORM, ["y"]),  # first d wins
        (b"d=[%22a+b%22]", FORM, ["a b"]),
    ],
)
def test_jsonp_send_accepts(body: bytes, content_type: str | None, messages: list[str]) -> None:
    assert decode_jsonp_send(body, content_type) == messages


@pytest.mark.parametrize(
    ("body", "content_type", "text"),
    [
        (b"d=%5B%22x", FORM, BROKEN_JSON),  # JsonPolling.test_invalid_json
        (b"", FORM, PAYLOAD_EXPECTED),
        (b"d=", FORM, PAYLOAD_EXPECTED),
        (b"p=p", FORM, PAYLOAD_EXPECTED),
        (b"", "text/plain", PAYLOAD_EXPECTED),
        (b"d=%5B%22x%22%5D", "text/plain", BROKEN_JSON),  # not a form: the raw body is JSON
    ],
)
def test_jsonp_send_refuses(body: bytes, content_type: str, text: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_jsonp_send(body, content_type)
    assert (info.value.status, info.value.body) == (500, text)


def test_jsonp_send_limit_applies_to_the_whole_body() -> None:
    with pytest.raises(MessageTooLargeError):
        decode_jsonp_send(b"d=%5B%5D&pad=" + b"x" * 100, FORM, max_size=50)


# ---------------------------------------------------------------------------------------------
# encode_payload and properties


def test_encode_payload_bytes() -> None:
    assert encode_payload(["a"]) == b'["a"]'
    assert encode_payload([]) == b"[]"
    assert encode_payload(['{"x":"\u00e9"}', "b"]) == '["{\\"x\\":\\"\u00e9\\"}","b"]'.encode()
    assert encode_payload(["\ud800"]) == b'["\\ufffd"]'  # Go writes U+FFFD, escaped
    assert encode_payload(["<&>"]) == b'["\\u003c\\u0026\\u003e"]'  # Go's HTML-safe quoting
    with pytest.raises(TypeError):
        encode_payload([1])  # type: ignore[list-item]


def _go_text(message: str) -> str:
    """What a message becomes on a Go round trip: lone surrogates are U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in message)


# Any code point, lone surrogates included (JavaScript strings can hold them).
ANY_CHAR = st.characters(codec=None, categories=None)
ANY_TEXT = st.text(ANY_CHAR)


@given(st.lists(ANY_TEXT))
@example(["\ud800", "a\udfffb", "\U0001f600"])
def test_round_trip(messages: list[str]) -> None:
    """encode → decode gives the messages back; lone surrogates become U+FFFD (as in Go)."""
    data = encode_payload(messages)
    expected = [_go_text(m) for m in messages]
    assert decode_payload(data) == expected
    assert decode_websocket_message(data) == expected
    assert decode_websocket_message(data.decode()) == expected


@given(st.lists(st.text(st.characters(exclude_categories=["Cs"]))))
def test_round_trip_of_json_escaped_text(messages: list[str]) -> None:
    """Whatever escaping a client uses (here: everything \\u-escaped), the decoder undoes it."""
    data = json.dumps(messages, ensure_ascii=True).encode()
    assert decode_payload(data) == messages


@given(st.binary(max_size=200))
@example(b"")
@example(b"[")
@example(b'["\\ud800"]')
def test_arbitrary_bytes_raise_only_sockjs_errors(data: bytes) -> None:
    for decode in (decode_payload, decode_websocket_message):
        try:
            result = decode(data)
        except SockJSError:
            continue
        assert isinstance(result, list)
        assert all(type(m) is str for m in result)
        for m in result:
            m.encode("utf-8")  # always valid Unicode
    with contextlib.suppress(SockJSError):
        decode_jsonp_send(data, FORM)


@given(st.text(ANY_CHAR, max_size=100))
@example('["\ud800"]')
def test_arbitrary_text_raises_only_sockjs_errors(text: str) -> None:
    """Any str (lone surrogates included) gives valid Unicode messages or a sockjs error."""
    try:
        result = decode_payload(text)
    except SockJSError:
        return
    assert all(type(m) is str for m in result)
    for m in result:
        m.encode("utf-8")


def test_raw_lone_surrogates_in_text_become_replacement_characters() -> None:
    assert decode_payload('["a\ud800b"]') == ["a\ufffdb"]
    assert decode_websocket_message('["\udfff"]') == ["\ufffd"]


# ---------------------------------------------------------------------------------------------
# the orjson fast path (taken first when orjson is installed) agrees with the stdlib path


@contextlib.contextmanager
def _stdlib_only() -> Iterator[None]:
    saved = _payload._fast
    _payload._fast = None
    try:
        yield
    finally:
        _payload._fast = saved


def _outcome(decode: Callable[[Any], list[str]], data: Any) -> object:
    try:
        return decode(data)
    except RemoteProtocolError as exc:
        return (type(exc), exc.status, exc.body)


@pytest.mark.skipif(_payload._fast is None, reason="orjson not installed")
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(ANY_CHAR, max_size=100),
        st.lists(ANY_TEXT).map(encode_payload),
        st.lists(st.text()).map(lambda ms: json.dumps(ms, ensure_ascii=False)),
        st.sampled_from([body for body, _ in GOOD]),
    )
)
@example(b'\xef\xbb\xbf["a"]')
@example(b'["a",1]')
@example(b'{"a":"b"}')
@example(b'"a"')
@example(b"[NaN]")
@example(b"[" * 2000 + b"]" * 2000)
def test_fast_path_agrees_with_the_stdlib_path(data: bytes | str) -> None:
    fast = [_outcome(decode, data) for decode in (decode_payload, decode_websocket_message)]
    with _stdlib_only():
        slow = [_outcome(decode, data) for decode in (decode_payload, decode_websocket_message)]
    assert fast == slow


@pytest.mark.parametrize(("body", "messages"), GOOD)
def test_stdlib_path_alone_accepts(body: bytes, messages: list[str]) -> None:
    with _stdlib_only():
        assert decode_payload(body) == messages
        assert decode_websocket_message(body) == messages
