"""decode/encode: Go's message shape, Go's JSON spelling, and what Go refuses."""

import contextlib
import json
import math
from typing import Any

import pytest
from dnode_strategies import (
    go_reference,
    json_equal,
    json_values,
    keys,
    scalars,
    tricky_values,
)
from hypothesis import example, given
from hypothesis import strategies as st

import dnode

# --- decode: what Go accepts ------------------------------------------------------------------

ACCEPTED: list[tuple[str, dnode.Message]] = [
    ('{"method":"square","arguments":[4],"callbacks":{}}', dnode.Message("square", [4], {})),
    ('{"method":0,"arguments":[],"callbacks":{}}', dnode.Message(0, [], {})),
    ('{"method":3.0,"arguments":[]}', dnode.Message(3, [], {})),  # float ids
    ('{"method":1.9,"arguments":[]}', dnode.Message(1, [], {})),  # Go truncates
    ('{"method":"m"}', dnode.Message("m", [], {})),  # no arguments, no callbacks
    ('{"method":"m","arguments":null,"callbacks":null}', dnode.Message("m", [], {})),
    (
        '{"method":"m","arguments":[{"f":"[Function]"}],"callbacks":{"7":[0,"f"]}}',
        dnode.Message("m", [{"f": "[Function]"}], {7: (0, "f")}),
    ),
    (  # numeric-string steps are kept (unscrub reads them as list indexes)
        '{"method":"m","arguments":[{"f":1}],"callbacks":{"0":["0","f"]}}',
        dnode.Message("m", [{"f": 1}], {0: ("0", "f")}),
    ),
    (  # float steps, leading zeros in ids (strconv.ParseUint accepts them)
        '{"method":"m","arguments":[[1]],"callbacks":{"007":[0.0,0]}}',
        dnode.Message("m", [[1]], {7: (0, 0)}),
    ),
    (  # links tolerated, kept, never re-encoded
        '{"method":"m","arguments":[],"callbacks":{},"links":[]}',
        dnode.Message("m", [], {}, []),
    ),
    (  # Go matches keys case-insensitively, the last one wins
        '{"METHOD":"a","Arguments":[1],"method":"b"}',
        dnode.Message("b", [1], {}),
    ),
    ('{"method":"m","arguments":[],"callbacks":{},"extra":1}', dnode.Message("m", [], {})),
    (' \t\n{"method" : "m" , "arguments" : [ ] }\r\n', dnode.Message("m", [], {})),
    ('{"method":"m","arguments":["\\ud800"]}', dnode.Message("m", ["\ufffd"], {})),
    ('{"method":"m","arguments":["\\ud83d\\ude00"]}', dnode.Message("m", ["😀"], {})),
    (f'{{"method":{2**64 - 1},"arguments":[]}}', dnode.Message(2**64 - 1, [], {})),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_decode_accepts_what_go_accepts(text: str, expected: dnode.Message) -> None:
    assert dnode.decode(text) == expected
    assert dnode.decode(text.encode()) == expected
    assert dnode.decode(bytearray(text.encode())) == expected


def test_decode_reads_raw_lone_surrogates_as_replacement_character() -> None:
    msg = dnode.decode('{"method":"m","arguments":["\ud800x",{"\udfff":1}]}')
    assert msg.arguments == ["\ufffdx", {"\ufffd": 1}]


def test_decode_reads_invalid_utf8_as_replacement_character() -> None:
    msg = dnode.decode(b'{"method":"m","arguments":["a\xffb"]}')
    assert msg.arguments == ["a\ufffdb"]


REFUSED = [
    "",
    "this is not dnode",
    "[]",
    '"abc"',
    "null",
    '{"method":true}',
    '{"method":null,"arguments":[]}',
    '{"arguments":[]}',
    '{"method":{},"arguments":[]}',
    '{"method":-1,"arguments":[]}',
    '{"method":-0.5,"arguments":[]}',
    f'{{"method":{2**64},"arguments":[]}}',
    '{"method":1e30,"arguments":[]}',
    '{"method":"m","arguments":{}}',
    '{"method":"m","arguments":5}',
    '{"method":"m","arguments":[],"callbacks":[]}',
    '{"method":"m","arguments":[],"callbacks":{"x":[0]}}',
    '{"method":"m","arguments":[],"callbacks":{"-1":[0]}}',
    '{"method":"m","arguments":[],"callbacks":{"+1":[0]}}',
    '{"method":"m","arguments":[],"callbacks":{"":[0]}}',
    f'{{"method":"m","arguments":[],"callbacks":{{"{2**64}":[0]}}}}',
    '{"method":"m","arguments":[],"callbacks":{"0":"x"}}',
    '{"method":"m","arguments":[],"callbacks":{"0":[true]}}',
    '{"method":"m","arguments":[],"callbacks":{"0":[null]}}',
    '{"method":"m","arguments":[],"callbacks":{"0":[0.5]}}',
    '{"method":"m","arguments":[NaN]}',
    '{"method":"m","arguments":[Infinity]}',
    '{"method":"m","arguments":[1e400]}',
    '{"method":"m","arguments":[]} x',
    "\ufeff{}",
    "[" * 100_000,
]


@pytest.mark.parametrize("text", REFUSED)
def test_decode_refuses_with_decode_error(text: str) -> None:
    with pytest.raises(dnode.DecodeError):
        dnode.decode(text)
    with pytest.raises(dnode.DecodeError):
        dnode.decode(text.encode())


@given(st.text() | st.binary())
@example("\x00")
@example(b"\xff\xfe{\x00}\x00")
@example('{"method":"m","arguments":[],"callbacks":{"0":{}}}')
def test_decode_raises_only_dnode_errors(data: str | bytes) -> None:
    try:
        msg = dnode.decode(data)
    except dnode.DnodeError:
        return
    assert isinstance(msg, dnode.Message)


mutations = st.sampled_from(
    [
        '{"method":"m","arguments":%s,"callbacks":%s}',
        '{"method":%s,"arguments":[],"callbacks":%s}',
        '{"method":"m","arguments":[%s],"callbacks":{"0":%s}}',
    ]
)


@given(mutations, json_values, json_values)
def test_decode_of_json_shaped_input_raises_only_dnode_errors(
    template: str, a: Any, b: Any
) -> None:
    text = template % (json.dumps(a), json.dumps(b))
    with contextlib.suppress(dnode.DnodeError):
        dnode.decode(text)


# --- encode: Go's exact bytes ------------------------------------------------------------------


def enc(value: Any) -> str:
    """The Go spelling of one argument value."""
    text = dnode.encode(dnode.Message("m", [value], {}))
    prefix, suffix = '{"method":"m","arguments":[', '],"callbacks":{}}'
    assert text.startswith(prefix)
    assert text.endswith(suffix)
    return text[len(prefix) : -len(suffix)]


GO_SPELLING = [
    # floats: shortest digits, fixed notation for 1e-6 <= |x| < 1e21, else exponent
    (16.0, "16"),
    (1.5, "1.5"),
    (-0.0, "-0"),
    (0.0, "0"),
    (0.1, "0.1"),
    (1e15, "1000000000000000"),
    (1e16, "10000000000000000"),
    (1.5e16, "15000000000000000"),
    (1e20, "100000000000000000000"),
    (2.5e20, "250000000000000000000"),
    (1e21, "1e+21"),
    (1.2345e25, "1.2345e+25"),
    (1e300, "1e+300"),
    (-1e-300, "-1e-300"),
    (1e-6, "0.000001"),
    (2.5e-5, "0.000025"),
    (1e-4, "0.0001"),
    (1e-7, "1e-7"),
    (1.5e-10, "1.5e-10"),
    (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (3.141592653589793, "3.141592653589793"),
    (9007199254740993, "9007199254740993"),
    (12345678901234567890, "12345678901234567890"),
    (2**70, str(2**70)),
    (-(2**70), str(-(2**70))),
    (True, "true"),
    (None, "null"),
    # strings: <>& U+2028 U+2029 escaped; \n \r \t short; other controls as \u00XX; DEL, / raw
    ("<script>&amp;</script>", '"\\u003cscript\\u003e\\u0026amp;\\u003c/script\\u003e"'),
    ("\u2028\u2029", '"\\u2028\\u2029"'),
    ("\x00\x01\x1f\t\n\r\x08\x0c", '"\\u0000\\u0001\\u001f\\t\\n\\r\\u0008\\u000c"'),
    ('" \\ / \x7f', '"\\" \\\\ / \x7f"'),
    ("\\b\\f", '"\\\\b\\\\f"'),  # backslash + letter is not a control character
    ("\\\x08", '"\\\\\\u0008"'),
    ("é 日本 😀", '"é 日本 😀"'),
    ("\ud800x", '"\ufffdx"'),  # lone surrogate: Go writes U+FFFD for invalid UTF-8
    ("1.0]", '"1.0]"'),  # number-looking text inside strings is left alone
    (",1e+5,", '",1e+5,"'),
    ({"b": 1, "a": [16.0, "x"]}, '{"b":1,"a":[16,"x"]}'),  # insertion order, as Go structs
    ({"k<": {"\u2028": 2e-7}}, '{"k\\u003c":{"\\u2028":2e-7}}'),
    ([], "[]"),
    ({}, "{}"),
    ((1, 2.0), "[1,2]"),
]


@pytest.mark.parametrize(("value", "text"), GO_SPELLING)
def test_encode_spells_values_like_go(value: Any, text: str) -> None:
    assert enc(value) == text


def test_encode_writes_keys_in_go_order_with_callbacks_always_present() -> None:
    msg = dnode.Message(0, [], {})
    assert dnode.encode(msg) == '{"method":0,"arguments":[],"callbacks":{}}'
    msg = dnode.Message("a", [], {}, links=[1])
    assert dnode.encode(msg) == '{"method":"a","arguments":[],"callbacks":{}}'


def test_encode_sorts_callback_ids_as_strings_like_go_maps() -> None:
    cbs: dict[int, dnode.CallbackPath] = {2: (0, "b"), 10: (0, "a"), 1: (0, "c", 3)}
    text = dnode.encode(dnode.Message("m", [{}], cbs))
    assert text.endswith('"callbacks":{"1":[0,"c",3],"10":[0,"a"],"2":[0,"b"]}}')


def test_encode_of_the_protocol_example_is_byte_exact() -> None:
    # docs/protocol.md §4.1, the server's request back to the client
    text = (
        '{"method":"foo","arguments":[{"kite":{"name":"math","username":"testuser",'
        '"id":"11111111-2222-3333-4444-555555555555","environment":"unknown",'
        '"region":"unknown","version":"1.0.0","hostname":"vm"},"authentication":null,'
        '"responseCallback":"[Function]","withArgs":["bar",1.5]}],'
        '"callbacks":{"0":[0,"responseCallback"]}}'
    )
    assert dnode.encode(dnode.decode(text)) == text


BAD_MESSAGES = [
    dnode.Message(True, [], {}),
    dnode.Message(-1, [], {}),
    dnode.Message(2**64, [], {}),
    dnode.Message(1.5, [], {}),  # type: ignore[arg-type]
    dnode.Message("m", "abc", {}),  # type: ignore[arg-type]
    dnode.Message("m", None, {}),  # type: ignore[arg-type]
    dnode.Message("m", [object()], {}),
    dnode.Message("m", [lambda: None], {}),  # functions must be scrubbed first
    dnode.Message("m", [], {-1: (0,)}),
    dnode.Message("m", [], {True: (0,)}),
    dnode.Message("m", [], {"0": (0,)}),  # type: ignore[dict-item]
    dnode.Message("m", [], {0: "abc"}),  # type: ignore[dict-item]
    dnode.Message("m", [], {0: (1.5,)}),  # type: ignore[dict-item]
]


@pytest.mark.parametrize("msg", BAD_MESSAGES)
def test_encode_refuses_with_encode_error(msg: dnode.Message) -> None:
    with pytest.raises(dnode.EncodeError):
        dnode.encode(msg)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_encode_refuses_nan_with_the_stdlib_backend(backend: str, value: float) -> None:
    msg = dnode.Message("m", [value], {})
    if backend == "json":
        with pytest.raises(dnode.EncodeError):
            dnode.encode(msg)
    else:  # documented: orjson writes null; scrub() is where NaN is refused, with its path
        assert dnode.encode(msg) == '{"method":"m","arguments":[null],"callbacks":{}}'
    with pytest.raises(dnode.ScrubError):
        dnode.scrub([value], dnode.CallbackTable())


def test_encode_refuses_cycles() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(dnode.EncodeError):
        dnode.encode(dnode.Message("m", loop, {}))


# --- properties -------------------------------------------------------------------------------

paths = st.lists(st.integers(min_value=0, max_value=2**32) | keys, max_size=5).map(tuple)
messages = st.builds(
    dnode.Message,
    st.text(max_size=10) | st.integers(min_value=0, max_value=2**64 - 1),
    st.lists(json_values, max_size=4),
    st.dictionaries(st.integers(min_value=0, max_value=2**64 - 1), paths, max_size=4),
)


def as_json(msg: dnode.Message) -> Any:
    return {
        "method": msg.method,
        "arguments": msg.arguments,
        "callbacks": {str(k): list(msg.callbacks[k]) for k in sorted(msg.callbacks, key=str)},
    }


@given(messages)
def test_encode_decode_preserves_every_valid_message(msg: dnode.Message) -> None:
    text = dnode.encode(msg)
    assert json_equal(json.loads(text), as_json(msg))
    again = dnode.decode(text)
    assert again.method == msg.method
    assert again.callbacks == msg.callbacks
    assert json_equal(again.arguments, msg.arguments)
    if "-0" not in text:  # Python reads -0 as the int 0 (Go: float64 -0)
        assert dnode.encode(again) == text  # stable: Go's spelling is a fixed point


@given(json_values)
def test_encode_is_json_and_ascii_safe_like_go(value: Any) -> None:
    text = enc(value)
    assert json_equal(json.loads(text), value)
    for ch in "<>&\u2028\u2029\x08\x0c":
        assert ch not in text


@given(st.lists(scalars | st.floats(allow_nan=False, allow_infinity=False), max_size=8))
def test_both_backends_write_the_same_bytes(values: list[Any]) -> None:
    texts = set()
    for name in dnode.BACKENDS:
        dnode.set_backend(name)
        texts.add(dnode.encode(dnode.Message("m", values, {0: (0,)})))
    assert len(texts) == 1


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_go_float_round_trips_and_matches_go_notation(x: float) -> None:
    text = dnode.go_float(x)
    assert float(text) == x
    a = abs(x)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        assert "e" in text
        assert "e-0" not in text
    else:
        assert "e" not in text
        assert not text.endswith(".0")


def test_set_backend_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="backend"):
        dnode.set_backend("simplejson")


@given(tricky_values)
@example([1e16, "1.0]", "x\\b", 2e-7, "\ud800", 1e21])
def test_encode_matches_an_independent_model_of_go(value: Any) -> None:
    assert enc(value) == go_reference(value)


raw_steps = st.integers(min_value=0, max_value=99) | st.integers(0, 99).map(str) | keys
raw_messages = st.fixed_dictionaries(
    {
        "method": st.text(max_size=8)
        | st.integers(min_value=0, max_value=2**53)
        | st.integers(min_value=0, max_value=2**20).map(float),
        "arguments": st.lists(json_values, max_size=3),
        "callbacks": st.dictionaries(
            st.integers(min_value=0, max_value=2**64 - 1).map(str),
            st.lists(raw_steps, max_size=4),
            max_size=3,
        ),
    },
    optional={"links": st.just([])},
)


@given(raw_messages, st.booleans(), st.booleans())
def test_decode_encode_preserves_what_peers_send(
    obj: dict[str, Any], ascii_only: bool, spaced: bool
) -> None:
    # kite.js writes links and string steps, Python peers may use spaces and \u escapes
    text = json.dumps(obj, ensure_ascii=ascii_only, separators=None if spaced else (",", ":"))
    out = json.loads(dnode.encode(dnode.decode(text)))
    expected = {
        "method": int(obj["method"]) if isinstance(obj["method"], float) else obj["method"],
        "arguments": obj["arguments"],
        "callbacks": {k: obj["callbacks"][k] for k in sorted(obj["callbacks"], key=str)},
    }
    assert json_equal(out, expected)


# --- scalar_json: a scalar's text inside an encoded message, without scrub and encode ---------


class _Int(int):
    pass


class _Str(str):
    pass


odd_scalars = (
    st.integers()  # beyond 64 bits too
    | st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0.0, 1e16, 1e-4, 1e21, 5e-324])
    | st.builds(_Int, st.integers(-5, 5))
    | st.builds(_Str, st.text(max_size=3))
    | st.sampled_from([[], {}, (), b"x"])
)


@given(scalars | tricky_values | odd_scalars | st.floats())
@example(2**64)
@example(-(2**63) - 1)
@example("\ud800<&>\u2028\x08\x0c")
def test_scalar_json_is_the_text_scrub_and_encode_write(value: Any) -> None:
    piece = dnode.scalar_json(value)
    exact_scalar = value is None or type(value) in (bool, int, float, str)
    if piece is None:  # only values the fast path leaves to scrub/encode
        assert not exact_scalar or type(value) is int or value - value != 0.0
        if type(value) is int:
            assert not -(2**63) <= value < 2**64
        return
    assert exact_scalar
    arguments, callbacks = dnode.scrub([value], dnode.CallbackTable())
    assert dnode.encode(dnode.Message(0, arguments, callbacks)) == (
        '{"method":0,"arguments":[' + piece + '],"callbacks":{}}'
    )
