"""`RequestEncoder` (the per-connection envelope cache) writes exactly what the general path
writes: scrubbing and encoding the whole `call_arguments` envelope."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import dnode
from kite import Auth, Kite
from kite._rpc._envelope import RequestEncoder, _encode_general

_IDENTITY = ("name", "username", "id", "environment", "region", "version", "hostname")


def local_kite(*fields: Any) -> Kite:
    """A real `Kite` whose seven identity fields are `fields` (any values)."""
    kite = Kite("k", "1.0.0")
    for name, value in zip(_IDENTITY, fields, strict=True):
        setattr(kite, name, value)
    return kite


def _fn() -> Callable[..., Any]:
    def fn(*args: Any) -> None:
        return None

    return fn


tricky_text = st.text(
    st.sampled_from(list('<>&\u2028\u2029\x08\x0c\\"\n\x00é😀\ud800.0e+-,]}1 a')), max_size=8
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | tricky_text
)
values = st.recursive(
    scalars | st.builds(_fn),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(tricky_text, inner, max_size=3)
    ),
    max_leaves=12,
)
#: Mostly strings, as a `Kite` has; sometimes not (then the general path writes the call).
fields = tricky_text | tricky_text | tricky_text | st.sampled_from([7, None, 1.5, 2.0])
identities = st.builds(local_kite, *[fields] * 7)
auths = st.none() | st.builds(Auth, tricky_text, tricky_text) | st.builds(Auth, fields, fields)
#: One encoder for every example: its cached envelope head must follow the changes.
ENCODER = RequestEncoder()


@pytest.fixture(params=dnode.BACKENDS, autouse=True)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    before = dnode.get_backend()
    dnode.set_backend(request.param)
    yield request.param
    dnode.set_backend(before)


def _tables(start: int) -> tuple[dnode.CallbackTable, dnode.CallbackTable]:
    tables = dnode.CallbackTable(), dnode.CallbackTable()
    for table in tables:
        for _ in range(start):
            table.remove(table.register(_fn()))
    return tables


def _same_as_general(
    encoder: RequestEncoder,
    kite: Any,
    auth: Auth | None,
    method: str,
    with_args: list[Any] | None,
    start: int = 0,
    trace: dict[str, str] | None = None,
) -> str:
    fast_table, general_table = _tables(start)
    callback = _fn()
    text, cid, callbacks = encoder.encode(
        kite, auth, method, callback, with_args, fast_table, trace
    )
    expected = _encode_general(kite, auth, method, callback, with_args, general_table, trace)
    assert (text, cid, callbacks) == expected
    assert list(callbacks) == list(expected[2])  # the response callback first
    assert list(fast_table) == list(general_table)
    assert fast_table.next_id == general_table.next_id
    assert fast_table.get(cid) is callback
    return text


@settings(max_examples=300)
@given(
    identities,
    auths,
    tricky_text,
    st.none() | st.lists(values, max_size=4),
    st.integers(min_value=0, max_value=12),
    st.none() | st.dictionaries(st.sampled_from(["traceparent", "tracestate"]), tricky_text),
)
@example(local_kite(*"abcdefg"), None, "square", [4], 0, None)
@example(local_kite(*"abcdefg"), None, "square", None, 0, None)
@example(local_kite(*"abcdefg"), Auth("kiteKey", "k"), "m", [], 0, None)
@example(local_kite(*"abcdefg"), None, "m", [_fn(), [_fn(), {"<": _fn()}], 1.5, 2.0, 1e-7], 8, None)
@example(local_kite(*"abcdefg"), None, "m", [None, "\ud800", -0.0, 1e21], 0, None)
@example(local_kite(*"abcdefg"), None, "m", [_fn()], 0, {"traceparent": "00-a-b-01"})
def test_fast_path_writes_what_the_general_path_writes(
    kite: Kite,
    auth: Auth | None,
    method: str,
    with_args: list[Any] | None,
    start: int,
    trace: dict[str, str] | None,
) -> None:
    text = _same_as_general(ENCODER, kite, auth, method, with_args, start, trace)
    assert _same_as_general(ENCODER, kite, auth, method, with_args, start, trace) == text
    decoded = dnode.decode(text)
    assert decoded.method == method.replace("\ud800", "\ufffd")
    assert ("traceContext" in decoded.arguments[0]) == bool(trace)


def test_the_cached_head_follows_the_kite_and_the_credentials() -> None:
    kite = Kite("a", "1.0.0")
    encoder = RequestEncoder()
    auth = Auth("kiteKey", "k1")
    first = _same_as_general(encoder, kite, auth, "m", [1])
    assert '"username":"unknown"' in first
    assert '"authentication":{"type":"kiteKey","key":"k1"}' in first
    kite.username = "bob<"
    assert '"username":"bob\\u003c"' in _same_as_general(encoder, kite, auth, "m", [1])
    kite.hostname = "h"
    assert '"hostname":"h"' in _same_as_general(encoder, kite, auth, "m", [1])
    text = _same_as_general(encoder, kite, Auth("token", "t"), "m", [1])
    assert '"authentication":{"type":"token","key":"t"}' in text
    assert '"authentication":null' in _same_as_general(encoder, kite, None, "m", [1])


def test_odd_identities_and_credentials_take_the_general_path() -> None:
    encoder = RequestEncoder()
    _same_as_general(encoder, local_kite(*"abcdefg"), None, "m", [1])  # "m" is cached now
    # Not strings: encoded as the scrubber maps them, like any envelope value.
    kite = local_kite("a", "b", 7, "d", 1.0, "f", None)
    text = _same_as_general(encoder, kite, None, "m", [1])
    assert '"id":7,' in text
    assert '"region":1,' in text
    text = _same_as_general(encoder, local_kite(*"abcdefg"), Auth("kiteKey", 5), "m", [1])  # type: ignore[arg-type]
    assert '"key":5' in text


@pytest.mark.parametrize(
    "with_args", [[float("nan")], [{"x": float("inf")}, 1], [object()]], ids=repr
)
def test_unencodable_arguments_register_nothing(with_args: list[Any]) -> None:
    encoder = RequestEncoder()
    table = dnode.CallbackTable()
    with pytest.raises(dnode.ScrubError) as info:
        encoder.encode(local_kite(*"abcdefg"), None, "m", _fn(), [_fn(), *with_args], table)
    assert info.value.path[:3] == (0, "withArgs", 1)
    with pytest.raises(dnode.ScrubError) as general:
        _encode_general(local_kite(*"abcdefg"), None, "m", _fn(), [_fn(), *with_args], table)
    assert str(info.value) == str(general.value)
    assert len(table) == 0
    assert table.next_id == 4


def test_a_full_table_registers_nothing() -> None:
    encoder = RequestEncoder()
    for limit in (0, 1):
        table = dnode.CallbackTable(limit)
        with pytest.raises(dnode.CallbackLimitError):
            encoder.encode(local_kite(*"abcdefg"), None, "m", _fn(), [_fn()], table)
        assert len(table) == 0
