"""Envelope and response shapes (PROTOCOL.md §4.1, §4.3) and Go duration strings."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import dnode
from kite import ArgumentError, Auth, InvalidResponseError, KiteError, MethodNotFoundError
from kite._rpc._envelope import (
    EnvelopeError,
    call_arguments,
    error_json,
    go_duration,
    parse_envelope,
    parse_request,
    parse_response,
)

IDENTITY = {
    "name": "goclient",
    "username": "unknown",
    "id": "x",
    "environment": "unknown",
    "region": "unknown",
    "version": "1.0.0",
    "hostname": "vm",
}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (4, "4s"),
        (1.5, "1.5s"),
        (0.1, "100ms"),
        (0.0015, "1.5ms"),
        (0.000001, "1\u00b5s"),
        (0.000000001, "1ns"),
        (60, "1m0s"),
        (90.25, "1m30.25s"),
        (3600, "1h0m0s"),
        (3723, "1h2m3s"),
        (-2, "-2s"),
    ],
)
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def encode_call(auth: Auth | None, with_args: list[Any] | None) -> str:
    table = dnode.CallbackTable()
    args, cbs = dnode.scrub(call_arguments(IDENTITY, auth, lambda *a: None, with_args), table)
    return dnode.encode(dnode.Message("m", args, cbs))


def test_call_arguments_exact_bytes() -> None:
    kite = (
        '{"name":"goclient","username":"unknown","id":"x","environment":"unknown",'
        '"region":"unknown","version":"1.0.0","hostname":"vm"}'
    )
    assert encode_call(None, None) == (
        f'{{"method":"m","arguments":[{{"kite":{kite},"authentication":null,'
        '"responseCallback":"[Function]","withArgs":null}],'
        '"callbacks":{"0":[0,"responseCallback"]}}'
    )
    assert '"authentication":{"type":"kiteKey","key":"k"}' in encode_call(Auth("kiteKey", "k"), [])
    assert '"withArgs":[]' in encode_call(None, [])
    text = encode_call(None, [{"callback": print}])
    assert text.endswith(
        '"callbacks":{"0":[0,"responseCallback"],"1":[0,"withArgs",0,"callback"]}}'
    )


def test_parse_envelope_go_rules() -> None:
    cb = print
    env = parse_envelope(
        [
            {
                "KITE": {"name": "a"},
                "Authentication": {"Type": "token", "KEY": "t"},
                "responsecallback": cb,
                "withargs": [1],
            }
        ]
    )
    assert env.kite == {"name": "a"}
    assert env.authentication == Auth("token", "t")
    assert env.response_callback is cb
    assert env.with_args.raw == [1]
    # four keys, two of them exact: the others still match ignoring case
    mixed = parse_envelope(
        [{"Kite": {"name": "b"}, "AUTHENTICATION": None, "responseCallback": cb, "withArgs": []}]
    )
    assert mixed.kite == {"name": "b"}
    assert mixed.response_callback is cb
    exact_wins = parse_envelope([{"withArgs": [1], "WITHARGS": [2]}])
    assert exact_wins.with_args.raw == [1]
    assert parse_envelope([{}]).with_args.is_nil
    assert parse_envelope([{"withArgs": None}]).with_args.is_nil
    assert parse_envelope([{"responseCallback": "[Function]"}]).response_callback is None


@pytest.mark.parametrize(
    ("arguments", "message", "has_callback"),
    [
        ([], "Invalid array length", False),
        ([5], "json: cannot unmarshal number into Go value of type kite.callOptions", False),
        ([{"responseCallback": print}, 1], "Invalid array length", True),
        ([[1], 1], "Invalid array length", False),
    ],
)
def test_malformed_envelopes(arguments: list[Any], message: str, has_callback: bool) -> None:
    with pytest.raises(EnvelopeError, match=message) as info:
        parse_envelope(arguments)
    assert (info.value.response_callback is not None) == has_callback


def test_parse_response() -> None:
    assert parse_response([{"error": None, "result": 16}]) == 16
    assert parse_response([{"result": None}]) is None
    assert parse_response([{"Result": 3}]) == 3
    with pytest.raises(MethodNotFoundError) as info:
        parse_response([{"error": {"type": "methodNotFound", "message": "m"}, "result": None}])
    assert str(info.value) == "methodNotFound: m"
    with pytest.raises(InvalidResponseError, match=r"kite\.Error"):
        parse_response([{"error": "boom"}])


def test_error_json() -> None:
    assert error_json(ValueError("x"), "r") == {
        "type": "genericError",
        "message": "x",
        "code": "",
        "id": "r",
    }
    assert error_json(dnode.ArgumentError("Invalid array length"), "r")["type"] == "argumentError"
    custom = KiteError("c", type="myType", code="E42", id="keep")
    assert error_json(custom, "r") == {
        "type": "myType",
        "message": "c",
        "code": "E42",
        "id": "keep",
    }
    assert error_json(ArgumentError("a"), "r")["id"] == "r"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_go_duration_parses_back(ns: int) -> None:
    text = go_duration(ns / 1e9)
    units = {"h": 3600e9, "m": 60e9, "s": 1e9, "ms": 1e6, "\u00b5s": 1e3, "ns": 1}
    import re

    total = 0.0
    for number, unit in re.findall(r"([0-9.]+)(h|ms|m|\u00b5s|ns|s)", text):
        total += float(number) * units[unit]
    assert round(total) * (-1 if text.startswith("-") else 1) == pytest.approx(ns, abs=2)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(min_value=-1e15, max_value=1e15)  # larger floats decode back as ints
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(st.none() | st.lists(JSON, max_size=4), st.booleans())
def test_envelope_round_trip_through_dnode(with_args: list[Any] | None, authed: bool) -> None:
    auth = Auth("kiteKey", "k") if authed else None
    message = dnode.decode(encode_call(auth, with_args))
    sent: list[Any] = []
    arguments = dnode.unscrub(message.arguments, message.callbacks, lambda i, a: sent.append(i))
    envelope = parse_envelope(arguments)
    assert envelope.kite == IDENTITY
    assert envelope.authentication == auth
    assert envelope.with_args.is_nil == (with_args is None)
    if with_args is not None:
        assert envelope.with_args.raw == with_args
    assert envelope.response_callback is not None
    envelope.response_callback("x")
    assert sent == [0]


ENVELOPE_KEYS = ["kite", "authentication", "responseCallback", "withArgs"]
request_keys = st.sampled_from([*ENVELOPE_KEYS, "ResponseCallback", "withargs", "x"])
request_values = JSON | st.just("[Function]") | st.just({"type": "kiteKey", "key": "k"})
envelopes = st.dictionaries(request_keys, request_values, max_size=5) | st.fixed_dictionaries(
    dict.fromkeys(ENVELOPE_KEYS, request_values)
)
paths = st.sampled_from(
    [
        (0, "responseCallback"),
        ("0", "responseCallback"),
        (0, "ResponseCallback"),
        (0.0, "responseCallback"),
        (0, "withArgs", 0),
        (0, "kite"),
        (1,),
        (),
        [0, "responseCallback"],
    ]
)
requests = st.builds(
    dnode.Message,
    st.just("square"),
    st.lists(envelopes | JSON, max_size=2) | st.builds(lambda e: [e], envelopes),
    st.dictionaries(st.integers(min_value=0, max_value=9), paths, max_size=2),
)


def _outcome(read: Any) -> tuple[Any, ...]:
    try:
        envelope = read()
    except EnvelopeError as exc:
        return ("error", str(exc), exc.response_callback)
    return (
        envelope.kite,
        envelope.authentication,
        envelope.response_callback,
        envelope.with_args,
    )


@given(requests)
@example(
    dnode.Message(
        "square",
        [{"kite": {}, "authentication": None, "responseCallback": "[Function]", "withArgs": [4]}],
        {3: (0, "responseCallback")},
    )
)
def test_parse_request_reads_what_unscrub_and_parse_envelope_read(message: dnode.Message) -> None:
    def send(cid: int, args: list[Any]) -> None:  # pragma: no cover - never called
        pass

    general = copy.deepcopy(message)
    fast = _outcome(lambda: parse_request(message, send))
    slow = _outcome(
        lambda: parse_envelope(
            dnode.unscrub(general.arguments, general.callbacks, send, strict=False)
        )
    )
    assert fast == slow
    assert message.arguments == general.arguments  # the proxies placed the same way
