"""Envelope and response shapes (docs/protocol.md §4.1, §4.3)."""

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
    # Go fills a field from every key naming it, in order: the last one wins, exact or not
    assert parse_envelope([{"withArgs": [1], "WITHARGS": [2]}]).with_args.raw == [2]
    assert parse_envelope([{"WITHARGS": [2], "withArgs": [1]}]).with_args.raw == [1]
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


def test_envelope_keys_fold_as_go_folds_them() -> None:
    """Go's key folding on the envelope path: U+017F (long s) stands for `s` and U+212A
    (Kelvin sign) for `k`, which `str.lower()` does not give; other non-ASCII letters match
    nothing (Go 1.19's `encoding/json`, checked against Go by test_go_rules)."""
    cb = dnode.RemoteFunction(1, lambda cid, args: None)
    env = parse_envelope(
        [
            {
                "\u212aite": {"name": "a"},
                "authentication": {"type": "token", "\u212aey": "t"},
                "re\u017fponseCallback": cb,
                "withArg\u017f": [1],
            }
        ]
    )
    assert env.kite == {"name": "a"}
    assert env.authentication == Auth("token", "t")
    assert env.response_callback is cb
    assert env.with_args.raw == [1]
    nothing = parse_envelope([{"w\u0131thArgs": [1], "\u212a\u0130te": {}}])  # dotless i, İ
    assert nothing.with_args.is_nil
    assert nothing.kite is None


async def test_a_kite_serves_an_envelope_with_folded_keys() -> None:
    """The whole callee path reads Go's folded keys: the reply to a request whose envelope
    keys use U+212A and U+017F is the one Go kite would send."""
    from kite import Kite, Request, memory_pipe_pair

    server = Kite("math", "1.0.0")

    @server.handle("square", auth=False)
    def square(r: Request) -> float:
        return r.args.one().float() ** 2

    ours, theirs = memory_pipe_pair()
    request = (
        '{"method":"square","arguments":[{"\u212aite":{"name":"raw"},"authentication":null,'
        '"withArg\u017f":[4],"re\u017fponseCallback":"[Function]"}],'
        '"callbacks":{"7":["0","re\u017fponseCallback"]}}'
    )
    async with server.accept(theirs):
        await ours.send(request)
        reply = dnode.decode(await ours.receive())
    assert (reply.method, reply.arguments) == (7, [{"error": None, "result": 16}])
