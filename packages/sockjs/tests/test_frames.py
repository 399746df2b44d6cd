"""Frame codec: Go's exact spelling, parsing, and the frames recorded from a real Go kite."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockjs import MessageTooLargeError, RemoteProtocolError
from sockjs._frames import (
    CLOSE_ANOTHER_CONNECTION,
    CLOSE_GO_AWAY,
    CloseFrame,
    FrameStreamDecoder,
    HeartbeatFrame,
    MessagesFrame,
    OpenFrame,
    decode_frame,
    encode_close,
    encode_heartbeat,
    encode_messages,
    encode_open,
    quote,
)

CAPTURES = Path(__file__).resolve().parents[3] / "conformance" / "captures"


def go_quote(text: str) -> str:
    """An independent, obviously-correct transcription of Go 1.19 ``encodeState.string``
    with HTML escaping on (one code point at a time; a lone surrogate counts as invalid)."""
    out = ['"']
    for char in text:
        cp = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif cp < 0x20 or char in "<>&":
            out.append("\\u00" + "0123456789abcdef"[cp >> 4] + "0123456789abcdef"[cp & 0xF])
        elif 0xD800 <= cp <= 0xDFFF:
            out.append("\\ufffd")
        elif cp in (0x2028, 0x2029):
            out.append("\\u202" + "0123456789abcdef"[cp & 0xF])
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


# -- Go's spelling ------------------------------------------------------------------------

QUOTE_CASES = [
    ("", '""'),
    ("plain", '"plain"'),
    ('"quoted" \\ back', '"\\"quoted\\" \\\\ back"'),
    ("\n\r\t", '"\\n\\r\\t"'),
    ("\x08\x0c", '"\\u0008\\u000c"'),  # Go 1.19: not \b \f
    ("\x00\x01\x1f", '"\\u0000\\u0001\\u001f"'),
    ("\x7f/", '"\x7f/"'),  # DEL and slash stay raw
    ("<script>&amp;</script>", '"\\u003cscript\\u003e\\u0026amp;\\u003c/script\\u003e"'),
    ("\u2028\u2029", '"\\u2028\\u2029"'),
    ("héllo 日本語 😀 مرحبا", '"héllo 日本語 😀 مرحبا"'),
    ("a\ud800b\udfffc", '"a\\ufffdb\\ufffdc"'),
    ("é<\x08", '"é\\u003c\\u0008"'),
    ("é\u2028", '"é\\u2028"'),
]


@pytest.mark.parametrize(("text", "expected"), QUOTE_CASES)
def test_quote_matches_go(text: str, expected: str) -> None:
    assert quote(text) == expected
    assert go_quote(text) == expected


@given(st.text())
def test_quote_equals_reference(text: str) -> None:
    assert quote(text) == go_quote(text)


SPECIALS = st.sampled_from(list('<>&\x08\x0c\n"\\\u2028\u2029\ud800é日😀a\x00\x7f'))


@given(st.lists(SPECIALS).map("".join))
def test_quote_equals_reference_on_special_characters(text: str) -> None:
    assert quote(text) == go_quote(text)


@given(st.text())
def test_quote_output_is_valid_json_and_utf8(text: str) -> None:
    quoted = quote(text)
    quoted.encode("utf-8")  # never raises: lone surrogates were replaced
    decoded = json.loads(quoted)
    expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    assert decoded == expected


def test_fixed_frames() -> None:
    assert encode_open() == "o"
    assert encode_heartbeat() == "h"
    assert CLOSE_GO_AWAY == 'c[3000,"Go away!"]'
    assert CLOSE_ANOTHER_CONNECTION == 'c[2010,"Another connection still open"]'
    assert encode_messages(["m1", "m2"]) == 'a["m1","m2"]'
    assert encode_messages([]) == "a[]"
    assert encode_close(0, "<&>") == 'c[0,"\\u003c\\u0026\\u003e"]'
    with pytest.raises(ValueError):
        encode_close(-1, "x")
    with pytest.raises(ValueError):
        encode_close(2**32, "x")


# -- decoding -----------------------------------------------------------------------------

NO_SURROGATES = st.text(alphabet=st.characters(exclude_categories=("Cs",)))


@given(st.lists(NO_SURROGATES, min_size=1, max_size=5))
def test_encode_decode_identity(messages: list[str]) -> None:
    assert decode_frame(encode_messages(messages)) == MessagesFrame(tuple(messages))


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_lone_surrogates_come_back_as_replacement_characters(messages: list[str]) -> None:
    frame = decode_frame(encode_messages(messages))
    assert isinstance(frame, MessagesFrame)
    expected = tuple(
        "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in m) for m in messages
    )
    assert frame.messages == expected


@given(st.integers(0, 2**32 - 1), NO_SURROGATES)
def test_close_roundtrip(code: int, reason: str) -> None:
    assert decode_frame(encode_close(code, reason)) == CloseFrame(code, reason)


DECODE_CASES: list[tuple[str, object]] = [
    ("o", OpenFrame()),
    ("h", HeartbeatFrame()),
    ("h" * 2048, HeartbeatFrame()),  # xhr-streaming prelude: Go reads the first byte only
    ('a["x"]', MessagesFrame(("x",))),
    ('a[ "x" , "y" ]', MessagesFrame(("x", "y"))),
    ("a[]", MessagesFrame(())),
    ('m"one"', MessagesFrame(("one",))),
    ('c[3000,"Go away!"]', CloseFrame(3000, "Go away!")),
    ('c[2010,"Another connection still open"]', CloseFrame(2010, "Another connection still open")),
]


@pytest.mark.parametrize(("frame", "expected"), DECODE_CASES)
def test_decode(frame: str, expected: object) -> None:
    assert decode_frame(frame) == expected


BAD_FRAMES = [
    ("", "unexpected empty message"),
    ("x", "invalid frame type"),
    ("O", "invalid frame type"),
    ("a", "broken JSON"),
    ('a["x"', "broken JSON"),
    ("a[1]", "array of strings"),
    ('a{"a":1}', "array of strings"),
    ('a"x"', "array of strings"),
    ("anull", "array of strings"),
    ("c[3000]", "[code,reason]"),
    ('c["3000","x"]', "[code,reason]"),
    ('c[3000,"x",1]', "[code,reason]"),
    ("c", "broken JSON"),
    ("m[1]", "JSON string"),
    ("m", "broken JSON"),
]


@pytest.mark.parametrize(("frame", "why"), BAD_FRAMES)
def test_decode_rejects_garbage(frame: str, why: str) -> None:
    with pytest.raises(RemoteProtocolError, match=why.replace("[", r"\[").replace("]", r"\]")):
        decode_frame(frame)


# -- newline-delimited streams ------------------------------------------------------------

FRAMES = st.one_of(
    st.just("o"),
    st.just("h"),
    st.lists(st.text(), min_size=1, max_size=3).map(encode_messages),
    st.builds(encode_close, st.integers(0, 5000), st.text()),
)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    chunks, last = [], 0
    for p in points:
        chunks.append(data[last:p])
        last = p
    chunks.append(data[last:])
    return [c for c in chunks if c]


def _drain(decoder: FrameStreamDecoder) -> list[object]:
    out: list[object] = []
    while (frame := decoder.next_event()) is not None:
        out.append(frame)
    return out


@given(st.lists(FRAMES, max_size=6), st.lists(st.integers(0, 400), max_size=12), st.booleans())
def test_stream_any_split_gives_the_same_frames(
    frames: list[str], cuts: list[int], terminated: bool
) -> None:
    data = "".join(f + "\n" for f in frames).encode()
    if frames and not terminated:
        data = data[:-1]  # last frame ended by end of stream instead
    expected = [decode_frame(f) for f in frames]
    decoder = FrameStreamDecoder()
    got: list[object] = []
    for chunk in _split(data, cuts):
        decoder.receive_data(chunk)
        got.extend(_drain(decoder))
    decoder.receive_data(b"")
    got.extend(_drain(decoder))
    assert got == expected
    assert decoder.at_eof


def test_stream_invalid_utf8_becomes_replacement_and_limit() -> None:
    decoder = FrameStreamDecoder()
    decoder.receive_data(b'a["\xff"]\n')
    assert decoder.next_event() == MessagesFrame(("\ufffd",))
    limited = FrameStreamDecoder(max_frame_size=4)
    with pytest.raises(MessageTooLargeError):
        limited.receive_data(b'a["xyz"')
    limited2 = FrameStreamDecoder(max_frame_size=4)
    limited2.receive_data(b'a["xyz"]\no\n')
    with pytest.raises(MessageTooLargeError):
        limited2.next_event()
    assert limited2.next_event() == OpenFrame()
    stream = FrameStreamDecoder()
    stream.receive_data(b"x\no\n")
    with pytest.raises(RemoteProtocolError):
        stream.next_event()
    assert stream.next_event() == OpenFrame()


# -- the recorded Go traffic --------------------------------------------------------------


def _capture_frames() -> list[tuple[str, str, dict[str, Any]]]:
    """Every server frame in the captures: (scenario, frame text, capture's own sockjs view)."""
    cases = []
    for path in sorted(CAPTURES.glob("*.jsonl")):
        if path.name.endswith(".raw.jsonl"):
            continue
        for line in path.read_text(encoding="utf-8").split("\n"):
            if not line:
                continue
            event = json.loads(line)
            if event.get("dir") != "s2c" or not event.get("sockjs"):
                continue
            if event["kind"] == "ws-text":
                frame = event["data"]
            elif event["kind"] == "http-response":
                assert event["body"].endswith("\n")
                frame = event["body"][:-1]
            else:
                continue
            cases.append((path.stem, frame, event["sockjs"]))
    return cases


CAPTURED = _capture_frames()


def test_captures_have_every_frame_type() -> None:
    kinds = {view["frame"] for _, _, view in CAPTURED}
    assert kinds == {"o", "h", "a", "c"}
    assert {name for name, _, _ in CAPTURED} >= {"echo-values", "big-payload", "square-xhr"}


@pytest.mark.parametrize(
    ("frame", "view"),
    [pytest.param(f, v, id=f"{n}-{i}") for i, (n, f, v) in enumerate(CAPTURED)],
)
def test_captured_frame_parses_and_reencodes_byte_for_byte(
    frame: str, view: dict[str, Any]
) -> None:
    parsed = decode_frame(frame)
    if view["frame"] == "o":
        assert parsed == OpenFrame()
        assert encode_open() == frame
    elif view["frame"] == "h":
        assert parsed == HeartbeatFrame()
        assert encode_heartbeat() == frame
    elif view["frame"] == "a":
        assert parsed == MessagesFrame(tuple(view["messages"]))
        assert encode_messages(view["messages"]).encode() == frame.encode()
    else:
        code, reason = view["close"]
        assert parsed == CloseFrame(code, reason)
        assert encode_close(code, reason).encode() == frame.encode()


def test_captured_raw_bytes_match_decoded_frames() -> None:
    """The big-payload answer as raw TCP bytes: our encoding of its message is those bytes."""
    raw = b"".join(
        base64.b64decode(event["b64"])
        for line in (CAPTURES / "big-payload.raw.jsonl").read_text().split("\n")
        if line and (event := json.loads(line)).get("dir") == "s2c" and "b64" in event
    )
    [(_, frame, view)] = [c for c in CAPTURED if c[0] == "big-payload" and c[2]["frame"] == "a"]
    encoded = encode_messages(view["messages"]).encode()
    assert len(encoded) > 1_000_000
    assert frame.encode() == encoded
    assert encoded in raw
