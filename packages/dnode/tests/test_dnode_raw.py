"""Raw JSON fidelity: received arguments go back out as the text they came in as (Go's Partial).

Go's ``dnode.Partial`` keeps the bytes it received and its ``MarshalJSON`` returns them; Go's
encoder then compacts them and escapes ``<``, ``>``, ``&``, U+2028 and U+2029. So a Go handler
returning its arguments (or part of them) sends ``-0`` as ``-0`` and ``1e300`` as ``1e300``.
The live proof against Go kite is ``conformance/tests/test_fidelity_go.py``; these tests hold the
codec to the same rules on generated texts, with an independent model of Go's compaction.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import dnode
from dnode import GoField, Partial, RawJSON
from dnode._raw import MARK, compact, locate


def go_compact(text: str) -> str:
    """Go's ``compact(dst, src, escapeHTML=true)``, character by character (a slow model)."""
    out = []
    in_string = escaped = False
    for c in text:
        if c in "<>&":
            out.append(f"\\u00{ord(c):02x}")
        elif c in "\u2028\u2029":
            out.append(f"\\u{ord(c):04x}")
        elif in_string:
            out.append(c)
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c in " \t\n\r":
            continue
        else:
            out.append(c)
            in_string = c == '"'
    return "".join(out)


def send(*values: Any) -> str:
    """The dnode text of a callback call with these arguments, as a runtime sends it."""
    args, callbacks = dnode.scrub(list(values), dnode.CallbackTable())
    return dnode.encode(dnode.Message(7, args, callbacks))


# -- generated JSON texts, spelled every way a peer may spell them ----------------------------

space = st.sampled_from(["", "", " ", "\n", "\t", " \r\n "])
numbers = st.sampled_from(
    [
        "-0",
        "0",
        "-0.0",
        "1e300",
        "1E+300",
        "-1e-320",
        "1e-320",
        "9007199254740993",
        "18446744073709551617",
        "-18446744073709551617",
        "1.0",
        "0.10",
        "2.5E+20",
        "1e-7",
        "123",
    ]
) | st.integers().map(str)
string_pieces = st.sampled_from(
    [
        *("a", "é", "\\u00e9", "\\ud800", "\\udc00x", "\\n", '\\"', "\\/", "\\\\", "<", "&"),
        *(">", "\u2028", "\u2029", " ", "\\b", "\\f", "日本", "\\uD83D\\uDE00"),
    ]
)
strings = st.lists(string_pieces, max_size=5).map(lambda parts: '"' + "".join(parts) + '"')
literals = st.sampled_from(["true", "false", "null"])


def _array(items: list[tuple[str, str, str]]) -> str:
    return "[" + ",".join(a + item + b for a, item, b in items) + "]" if items else "[ ]"


def _object(members: list[tuple[str, str, str, str]]) -> str:
    if not members:
        return "{}"
    return "{" + ",".join(f"{a}{k}{b}:{c}{v}" for a, k, b, c, v in members) + "}"


json_texts = st.recursive(
    numbers | strings | literals,
    lambda inner: (
        st.lists(st.tuples(space, inner, space), max_size=4).map(_array)
        | st.lists(
            st.tuples(
                space, st.sampled_from(['"a"', '"b"', '"\\u0061"', '"<"']), space, space, inner
            ),
            max_size=4,
        ).map(_object)
    ),
    max_leaves=20,
)


def _walk(p: Partial, text: str) -> None:
    """Every element reached through slice()/map() keeps its own text, cut out of ``text``."""
    assert p.json is not None
    assert p.json in text
    assert dnode.Partial.from_json(p.json) == p  # the text decodes to the element's value
    assert send(p) == '{"method":7,"arguments":[' + go_compact(p.json) + '],"callbacks":{}}'
    if type(p.raw) is list:
        for child in p.slice():
            if not child.is_nil:
                _walk(child, text)
    elif type(p.raw) is dict:
        for child in p.map().values():
            if not child.is_nil:
                _walk(child, text)


@given(space, json_texts, space)
def test_a_received_value_is_sent_back_as_go_sends_its_partial(a: str, text: str, b: str) -> None:
    whole = a + text + b
    p = Partial.from_json(whole)
    assert p.json == text
    expected = '{"method":7,"arguments":[' + go_compact(text) + '],"callbacks":{}}'
    assert send(p) == expected
    assert compact(text) == go_compact(text)
    _walk(p, whole)


@given(json_texts)
def test_both_backends_send_the_same_bytes(text: str) -> None:
    before = dnode.get_backend()
    sent = []
    try:
        for name in dnode.BACKENDS:
            dnode.set_backend(name)
            p = Partial.from_json(text)
            as_text = dnode.scrub_encode([p, RawJSON(text), 1e20], dnode.CallbackTable())[0]
            sent.append((send(p, RawJSON(text), 1e20), as_text))
    finally:
        dnode.set_backend(before)
    assert len(set(sent)) == 1


@given(json_texts, json_texts)
def test_withargs_is_found_in_a_request_whatever_its_spelling(args: str, other: str) -> None:
    # Go's struct fields match keys ignoring case; the last matching key wins.
    text = (
        '{"method":"echo","Arguments":[{"kite":'
        + other
        + ',"withArgs":'
        + other
        + ', "WITHARGS" : '
        + args
        + ',"responseCallback":"[Function]"}],'
        '"callbacks":{"0":[0,"responseCallback"]}}'
    )
    msg = dnode.decode(text)
    with_args = msg.arguments[0]["WITHARGS"]
    p = Partial.located(with_args, text, (GoField("arguments"), 0, GoField("withArgs")))
    assert p.json == args.strip(" \t\n\r")


# -- examples -----------------------------------------------------------------------------


# What Go kite's echo answered for these withArgs (conformance/tests/test_fidelity_go.py).
ECHOES = [
    ("[-0]", "[-0]"),
    ("[1e300, 1E+300, 1e-320]", "[1e300,1E+300,1e-320]"),
    ("[9007199254740993, 18446744073709551617]", "[9007199254740993,18446744073709551617]"),
    (
        '[ "<\\u00e9\\ud800>" , 1.0E+2 ,{"b" : [ ] }]',
        '["\\u003c\\u00e9\\ud800\\u003e",1.0E+2,{"b":[]}]',
    ),
    ('["\u2028", "\\b\\f"]', '["\\u2028","\\b\\f"]'),
]


@pytest.mark.parametrize(("received", "sent"), ECHOES)
def test_echoed_arguments_keep_their_spelling(received: str, sent: str) -> None:
    assert (
        send(Partial.from_json(received))
        == '{"method":7,"arguments":[' + sent + '],"callbacks":{}}'
    )


def test_parts_of_the_arguments_keep_their_spelling() -> None:
    p = Partial.from_json('[ -0, {"x" : [1e300, "\\u00e9"], "y": null}, null ]')
    first, obj, last = p.slice()
    assert (first.json, obj.json, last.is_nil) == (
        "-0",
        '{"x" : [1e300, "\\u00e9"], "y": null}',
        True,
    )
    assert str(first.float()) == "-0.0"  # Go's float64 -0
    x = obj.map()["x"]
    assert send(x, x.slice()[0], obj.map()["y"]) == (
        '{"method":7,"arguments":[[1e300,"\\u00e9"],1e300,null],"callbacks":{}}'
    )
    assert send(last) == '{"method":7,"arguments":[null],"callbacks":{}}'  # nil *Partial


def test_a_partial_from_a_python_value_is_encoded_from_the_value() -> None:
    p = Partial([-0.0, 1e300, 16.0])
    assert p.json is None
    assert send(p) == '{"method":7,"arguments":[[-0,1e+300,16]],"callbacks":{}}'
    assert send(Partial()) == '{"method":7,"arguments":[null],"callbacks":{}}'


def test_callbacks_inside_a_received_value_are_passed_on() -> None:
    # The text keeps "[Function]" where each callback was; the callbacks are registered at
    # their paths, in order, so the receiver can call them (through us).
    text = (
        '{"method":"m","arguments":[{"cb":"[Function]","n":-0,"more":["[Function]"]}],'
        '"callbacks":{"3":[0,"cb"],"4":[0,"more",0]}}'
    )
    msg = dnode.decode(text)
    args = dnode.unscrub(msg.arguments, msg.callbacks, lambda cid, a: None)
    p = Partial.located(args[0], text, (GoField("arguments"), 0))
    assert callable(p.map()["cb"].function())
    table = dnode.CallbackTable()
    scrubbed, callbacks = dnode.scrub([{"result": p}], table)
    assert callbacks == {0: (0, "result", "cb"), 1: (0, "result", "more", 0)}
    assert table.get(0) is args[0]["cb"]
    assert dnode.encode(dnode.Message(1, scrubbed, callbacks)) == (
        '{"method":1,"arguments":[{"result":{"cb":"[Function]","n":-0,"more":["[Function]"]}}],'
        '"callbacks":{"0":[0,"result","cb"],"1":[0,"result","more",0]}}'
    )
    assert dnode.scrub_encode([p], table)[1] == {2: (0, "cb"), 3: (0, "more", 0)}


def test_rawjson_is_sent_as_written() -> None:
    raw = RawJSON(' {"n" : -0, "big": 1e300, "s": "<\\u00e9>"} ')
    assert raw.wire == '{"n":-0,"big":1e300,"s":"\\u003c\\u00e9\\u003e"}'
    assert send(raw, RawJSON(b"1e-320")) == (
        '{"method":7,"arguments":[{"n":-0,"big":1e300,"s":"\\u003c\\u00e9\\u003e"},1e-320],'
        '"callbacks":{}}'
    )
    text, callbacks = dnode.scrub_encode({"result": RawJSON("-0")}, dnode.CallbackTable())
    assert (text, callbacks) == ('{"result":-0}', {})
    assert RawJSON("[1, 2]") == RawJSON("[1,2]")
    assert dnode.scalar_json(raw) is None


@pytest.mark.parametrize("bad", ["", "[1,", "NaN", "1e400", "[1] 2", "{'a': 1}"])
def test_rawjson_refuses_what_is_not_one_json_value(bad: str) -> None:
    with pytest.raises(dnode.DecodeError):
        RawJSON(bad)


def test_strings_that_look_like_markers_are_left_alone() -> None:
    lookalike = "dnode.raw." + "0" * 32 + ":[1]"
    assert not MARK.startswith(lookalike[:42])
    assert send(lookalike, RawJSON("-0")) == (
        '{"method":7,"arguments":["' + lookalike + '",-0],"callbacks":{}}'
    )


def test_go_error_texts_show_the_received_text() -> None:
    # Go's Partial.Unmarshal: "<error>. Data: <p.Raw>", the bytes as received.
    with pytest.raises(dnode.ArgumentError) as info:
        Partial.from_json('[ {"a" : "<b>"} ]').one().string()
    assert str(info.value) == (
        'json: cannot unmarshal object into Go value of type string. Data: {"a" : "<b>"}'
    )
    with pytest.raises(dnode.ArgumentError) as info:
        Partial.from_json("[1.0]").one().int()
    assert (
        str(info.value) == "json: cannot unmarshal number 1.0 into Go value of type int. Data: 1.0"
    )
    with pytest.raises(dnode.ArgumentError) as info:
        Partial.from_json("9223372036854775808").int()
    assert "number 9223372036854775808 into Go value of type int" in str(info.value)
    assert Partial.from_json("-0").int() == 0


def test_decode_keeps_the_text_and_equality_ignores_it() -> None:
    text = '{"method":"m","arguments":[1],"callbacks":{}}'
    msg = dnode.decode(text)
    assert msg.text == text
    assert dnode.decode(text.encode()).text == text.encode()
    assert dnode.decode(bytearray(text.encode())).text is None  # a buffer the caller may reuse
    assert msg == dnode.Message("m", [1])
    assert dnode.Message("m", [1]).text is None


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ((), '{"a" : [1, {"b": 2}], "A": 3, "a ": 4}'),
        (("a",), '[1, {"b": 2}]'),
        (("a", 1, "b"), "2"),
        ((GoField("a"),), "3"),
        (("A",), "3"),
        (("c",), None),
        (("a", 2), None),
        ((0,), None),
    ],
)
def test_locate(path: tuple[Any, ...], found: str | None) -> None:
    assert locate(' {"a" : [1, {"b": 2}], "A": 3, "a ": 4} ', path) == found


def test_locate_goes_as_deep_as_the_text() -> None:
    depth = 5000  # far past Python's recursion limit: no recursion in locate
    text = "[" * depth + "-0" + "]" * depth
    assert locate(text, (0,) * depth) == "-0"
    assert locate(text, (0,) * (depth - 1)) == "[-0]"
    assert locate(text, (0,) * 10) == text[10:-10]
    assert json.loads(locate("[" * 50 + "]" * 50, (0,) * 40) or "") == [[[[[[[[[[]]]]]]]]]]
