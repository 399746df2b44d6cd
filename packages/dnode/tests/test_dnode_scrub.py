"""scrub/unscrub/CallbackTable: Go's numbering and paths, and the round trip through the wire."""

import dataclasses
import enum
import json
from collections import OrderedDict
from typing import Any

import pytest
from dnode_strategies import go_reference, json_equal, tricky_values, values_with_functions
from hypothesis import example, given

import dnode


def f1(*args: Any) -> str:
    return "f1"


def f2(*args: Any) -> str:
    return "f2"


# --- CallbackTable ----------------------------------------------------------------------------


def test_table_counts_ids_from_zero_and_never_reuses_them() -> None:
    table = dnode.CallbackTable()
    assert [table.register(f1), table.register(f2), table.register(f1)] == [0, 1, 2]
    assert table.get(1) is f2
    assert len(table) == 3
    assert table.remove(1) is True
    assert table.remove(1) is False
    assert table.get(1) is None
    assert 1 not in table
    assert 2 in table
    assert table.register(f2) == 3
    assert list(table) == [0, 2, 3]
    assert table.next_id == 4
    assert "3 live" in repr(table)


def test_table_limit_is_a_clear_error_and_frees_up_on_remove() -> None:
    table = dnode.CallbackTable(limit=2)
    table.register(f1)
    table.register(f1)
    with pytest.raises(dnode.CallbackLimitError, match="2 live callbacks") as info:
        table.register(f1)
    assert info.value.limit == 2
    table.remove(0)
    assert table.register(f1) == 2
    with pytest.raises(ValueError, match="limit"):
        dnode.CallbackTable(limit=-1)


# --- scrub ------------------------------------------------------------------------------------


def test_scrub_of_a_kite_request_matches_go() -> None:
    table = dnode.CallbackTable()
    kite = {"name": "exp", "username": "u", "id": "i", "environment": "e", "region": "r"}
    envelope = {
        "kite": kite,
        "authentication": None,
        "responseCallback": f1,
        "withArgs": [{"cb": f2, "from": 3}],
    }
    args, cbs = dnode.scrub([envelope], table)
    assert cbs == {0: (0, "responseCallback"), 1: (0, "withArgs", 0, "cb")}
    assert args[0]["responseCallback"] == "[Function]"
    assert args[0]["withArgs"] == [{"cb": "[Function]", "from": 3}]
    assert args[0]["kite"] is kite  # unchanged parts are shared, not copied
    assert envelope["responseCallback"] is f1  # the input is never modified
    assert table.get(0) is f1
    assert table.get(1) is f2
    text = dnode.encode(dnode.Message("countdown", args, cbs))
    assert text.endswith(
        '"responseCallback":"[Function]","withArgs":[{"cb":"[Function]","from":3}]}],'
        '"callbacks":{"0":[0,"responseCallback"],"1":[0,"withArgs",0,"cb"]}}'
    )
    # the counter runs on across messages (Go's per-client scrubber)
    _, cbs = dnode.scrub([f1, [f2]], table)
    assert cbs == {2: (0,), 3: (1, 0)}


@dataclasses.dataclass
class Point:
    x: float
    y: float
    hidden: str = dataclasses.field(default="h", metadata={"dnode": "-"})
    on_move: Any = dataclasses.field(default=None, metadata={"dnode": "onMove"})


class Custom:
    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def __dnode__(self) -> Any:
        return {"kind": "custom", "fn": self.fn}


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Name(str):
    pass


class CallableObject:
    def __call__(self) -> None:
        return None


MAPPED: list[tuple[Any, Any, dict[int, tuple[str | int, ...]]]] = [
    (None, None, {}),
    (True, True, {}),
    (7, 7, {}),
    (1.5, 1.5, {}),
    ("s", "s", {}),
    ((1, f1), [1, "[Function]"], {0: (1,)}),
    ({1: f1, "a": 2}, {"1": "[Function]", "a": 2}, {0: ("1",)}),
    (
        {"a": f1, 1: f2, "b": 3},
        {"a": "[Function]", "1": "[Function]", "b": 3},
        {0: ("a",), 1: ("1",)},
    ),
    ({"a": 1, 2: [f1]}, {"a": 1, "2": ["[Function]"]}, {0: ("2", 0)}),
    (OrderedDict(b=1, a=f1), {"b": 1, "a": "[Function]"}, {0: ("a",)}),
    (Point(1.0, 2.0, on_move=f1), {"x": 1.0, "y": 2.0, "onMove": "[Function]"}, {0: ("onMove",)}),
    (Custom(f1), {"kind": "custom", "fn": "[Function]"}, {0: ("fn",)}),
    (b"\x00\xff", "AP8=", {}),  # Go's []byte: standard base64
    (Color.RED, "red", {}),
    (Level.HIGH, 3, {}),
    (Name("n"), "n", {}),
    (CallableObject(), "[Function]", {0: ()}),
    (print, "[Function]", {0: ()}),
    ([[[], {}], ()], [[[], {}], ()], {}),
]


@pytest.mark.parametrize(("value", "scrubbed", "callbacks"), MAPPED)
def test_scrub_maps_python_values(value: Any, scrubbed: Any, callbacks: dict[int, Any]) -> None:
    out, cbs = dnode.scrub(value, dnode.CallbackTable())
    assert out == scrubbed
    assert cbs == callbacks
    assert isinstance(out, type(None) | bool | int | float | str | list | tuple | dict)
    dnode.encode(dnode.Message("m", [out], {}))  # always encodable


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ([1, {"a": [object()]}], (1, "a", 0)),
        ({"x": {1.5: 2}}, ("x",)),
        ({"x": float("nan")}, ("x",)),
        ([float("inf")], (0,)),
        ({"x": {1, 2}}, ("x",)),
        ({"k": {1: 1, "1": 2}}, ("k",)),
        (Point(1.0, float("-inf")), ("y",)),
        (float("nan"), ()),
    ],
)
def test_scrub_refuses_unmappable_values_naming_the_path(value: Any, path: tuple[Any]) -> None:
    with pytest.raises(dnode.ScrubError) as info:
        dnode.scrub(value, dnode.CallbackTable())
    assert info.value.path == path
    assert str(list(path)) in str(info.value)


def test_scrub_is_all_or_nothing() -> None:
    table = dnode.CallbackTable()
    with pytest.raises(dnode.ScrubError):
        dnode.scrub([f1, f2, object()], table)
    assert len(table) == 0
    assert table.next_id == 2  # ids are still never reused
    table = dnode.CallbackTable(limit=1)
    with pytest.raises(dnode.CallbackLimitError):
        dnode.scrub([f1, f2], table)
    assert len(table) == 0


def test_scrub_refuses_cycles() -> None:
    loop: list[Any] = [f1]
    loop.append(loop)
    table = dnode.CallbackTable()
    with pytest.raises(dnode.ScrubError, match="contains itself"):
        dnode.scrub(loop, table)
    assert len(table) == 0


def test_scrub_forwards_remote_functions() -> None:
    sent: list[Any] = []
    proxy = dnode.RemoteFunction(5, lambda cid, args: sent.append((cid, args)))
    table = dnode.CallbackTable()
    out, cbs = dnode.scrub([proxy], table)
    assert (out, cbs) == (["[Function]"], {0: (0,)})
    fn = table.get(0)
    assert fn is not None
    fn("x")
    assert sent == [(5, ["x"])]


# --- unscrub ----------------------------------------------------------------------------------


def recorder() -> tuple[list[Any], Any]:
    calls: list[Any] = []

    def send(cid: int, args: list[Any]) -> str:
        calls.append((cid, args))
        return f"sent {cid}"

    return calls, send


def test_unscrub_places_proxies_that_call_send() -> None:
    calls, send = recorder()
    msg = dnode.decode(
        '{"method":"m","arguments":[{"responseCallback":"[Function]","withArgs":'
        '[{"cb":"[Function]"}]}],"callbacks":{"0":[0,"responseCallback"],'
        '"1":["0","withArgs","0","cb"]}}'
    )
    args = dnode.unscrub(msg.arguments, msg.callbacks, send)
    assert args is msg.arguments
    rcb = args[0]["responseCallback"]
    assert isinstance(rcb, dnode.RemoteFunction)
    assert rcb.id == 0
    assert rcb({"result": 1}) == "sent 0"  # whatever send returns is returned
    cb = args[0]["withArgs"][0]["cb"]
    assert cb.id == 1
    cb(1, 2)
    assert calls == [(0, [{"result": 1}]), (1, [1, 2])]
    assert cb == dnode.RemoteFunction(1, send)
    assert cb != dnode.RemoteFunction(0, send)
    assert len({cb, dnode.RemoteFunction(1, send)}) == 1
    assert repr(cb) == "<RemoteFunction id=1>"


def test_unscrub_follows_go_for_odd_paths() -> None:
    _, send = recorder()
    args: list[Any] = [{"a": None, "n": 5}, [1]]
    cbs: dict[int, dnode.CallbackPath] = {
        0: (0, "missing", "x"),  # missing key on the way: skipped (Go)
        1: (0, "a", "x"),  # null on the way: skipped (Go)
        2: (0, "new"),  # last step into an object: set even if absent (Go)
        3: (1, "+0"),  # strconv.Atoi accepts a sign
        4: (0, 5),  # int step into an object: its decimal string is the key
    }
    dnode.unscrub(args, cbs, send)
    assert args[0]["a"] is None
    assert "missing" not in args[0]
    assert args[0]["new"].id == 2
    assert args[1][0].id == 3
    assert args[0]["5"].id == 4


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ((), "callback path too short"),
        ((2,), "out of range"),
        ((-1,), "out of range"),
        ((0, "n", "x"), "Unhandled value of kind 'number'"),
        ((1, "x"), "integer expected in callback path, got 'x'."),
        ((1, 0, 0), "Unhandled value of kind 'number'"),
        (("first",), "integer expected"),
        ((0, "f", 0), "Unhandled value of kind 'function'"),
    ],
)
def test_unscrub_refuses_bad_paths_with_path_error(path: Any, message: str) -> None:
    _, send = recorder()
    args: list[Any] = [{"n": 5, "f": dnode.RemoteFunction(9, send)}, [1]]
    with pytest.raises(dnode.PathError, match=message) as info:
        dnode.unscrub(args, {7: path}, send)
    assert info.value.path == path
    assert info.value.callback_id == 7
    # non-strict: the bad path is skipped, the others are placed
    args = [{"n": 5, "f": dnode.RemoteFunction(9, send)}, [1]]
    dnode.unscrub(args, {7: path, 8: (0, "ok")}, send, strict=False)
    assert args[0]["ok"].id == 8
    assert args[0]["n"] == 5
    assert args[1] == [1]


# --- the round trip ---------------------------------------------------------------------------


def positions(value: Any, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], Any]:
    """Every callable in a value, by path."""
    if callable(value):
        return {path: value}
    found: dict[tuple[Any, ...], Any] = {}
    if isinstance(value, list):
        for i, x in enumerate(value):
            found.update(positions(x, (*path, i)))
    elif isinstance(value, dict):
        for k, x in value.items():
            found.update(positions(x, (*path, k)))
    return found


def blank(value: Any) -> Any:
    """The value with every callable replaced by the same marker."""
    if callable(value):
        return "<fn>"
    if isinstance(value, list):
        return [blank(x) for x in value]
    if isinstance(value, dict):
        return {k: blank(x) for k, x in value.items()}
    return value


@given(values_with_functions)
def test_scrub_encode_decode_unscrub_round_trip(value: Any) -> None:
    table = dnode.CallbackTable()
    table.register(f1)  # an earlier message: ids continue from 1
    args, cbs = dnode.scrub([value], table)
    text = dnode.encode(dnode.Message("m", args, cbs))
    msg = dnode.decode(text)
    _, send = recorder()
    received = dnode.unscrub(msg.arguments, msg.callbacks, send)
    sent_fns = positions([value])
    got = positions(received)
    assert set(got) == set(sent_fns)
    for path, proxy in got.items():
        assert isinstance(proxy, dnode.RemoteFunction)
        assert table.get(proxy.id) is sent_fns[path]  # the id leads back to the function
    assert sorted(cbs) == list(range(1, 1 + len(sent_fns)))  # consecutive, in walk order
    assert json_equal(blank(received), blank([value]))
    json.loads(text)


@given(tricky_values)
@example([16.0, -0.0, 1e20, 2e-5, 1e-7, 0.5, 1e21, [3.0]])
def test_scrubbed_values_encode_exactly_like_go(value: Any) -> None:
    args, cbs = dnode.scrub([value], dnode.CallbackTable())
    text = dnode.encode(dnode.Message("m", args, cbs))
    assert text == '{"method":"m","arguments":[' + go_reference(value) + '],"callbacks":{}}'


def test_scrub_writes_integral_floats_as_go_does() -> None:
    out, _ = dnode.scrub([16.0, -0.0, 1e16, 0.5], dnode.CallbackTable())
    assert out == [16, -0.0, 1e16, 0.5]
    assert [type(x) for x in out] == [int, float, float, float]


# --- scrub_encode: a value's text and callbacks, as encode() writes them in a whole message ---


def _piece_and_whole(value: Any, start: int) -> tuple[str, str]:
    """`scrub_encode(value)` at [0, "x"], and the whole message `[{"x": value}]` encoded."""
    piece_table, whole_table = dnode.CallbackTable(), dnode.CallbackTable()
    for table in (piece_table, whole_table):
        for _ in range(start):
            table.remove(table.register(f1))
    text, callbacks = dnode.scrub_encode(value, piece_table, (0, "x"))
    scrubbed, whole_callbacks = dnode.scrub([{"x": value}], whole_table)
    assert callbacks == whole_callbacks
    assert list(piece_table) == list(whole_table)
    return text, dnode.encode(dnode.Message("m", scrubbed, whole_callbacks))


@given(tricky_values | values_with_functions)
@example([1, "a", None, True])
@example([1.5, 16.0, 1e-7, -0.0, "<&>"])
@example(["\ud800", "\u2028", "\x08\x0c\\"])
@example([f1, {"k<": [f2]}])
@example(-0.0)
@example(16.0)
def test_scrub_encode_is_the_piece_encode_writes(value: Any) -> None:
    for start in (0, 9):
        text, full = _piece_and_whole(value, start)
        assert full.startswith(f'{{"method":"m","arguments":[{{"x":{text}}}],"callbacks":')


def test_scrub_encode_callbacks_get_the_prefix_and_errors_register_nothing() -> None:
    table = dnode.CallbackTable()
    text, callbacks = dnode.scrub_encode([1, f1, {"a": f2}], table, (0, "withArgs"))
    assert text == '[1,"[Function]",{"a":"[Function]"}]'
    assert callbacks == {0: (0, "withArgs", 1), 1: (0, "withArgs", 2, "a")}
    with pytest.raises(dnode.ScrubError) as info:
        dnode.scrub_encode([f1, float("nan")], table, (0, "withArgs"))
    assert info.value.path == (0, "withArgs", 1)
    nested: list[Any] = []
    nested.append(nested)
    with pytest.raises(dnode.ScrubError):
        dnode.scrub_encode([f1, nested], table)
    with pytest.raises(dnode.CallbackLimitError):
        dnode.scrub_encode([f1, f2], dnode.CallbackTable(1))
    assert list(table) == [0, 1]
    assert dnode.scrub_encode(None, table) == ("null", {})
    assert dnode.scrub_encode("<", table) == ('"\\u003c"', {})


def _nested(depth: int) -> list[Any]:
    value: list[Any] = [f1]
    for _ in range(depth - 1):
        value = [value]
    return value


def test_scrub_walks_up_to_max_depth_and_refuses_deeper() -> None:
    # The same bound in the pure-Python and the compiled build (dev.py test runs both).
    table = dnode.CallbackTable()
    _, callbacks = dnode.scrub(_nested(dnode._scrub.MAX_DEPTH), table)
    assert len(callbacks) == 1
    with pytest.raises(dnode.ScrubError, match="nested too deeply"):
        dnode.scrub(_nested(dnode._scrub.MAX_DEPTH + 1), table)
    assert len(table) == 1


def test_scrub_refuses_a_dnode_value_that_returns_itself() -> None:
    class Selfish:
        def __dnode__(self) -> object:
            return self

    with pytest.raises(dnode.ScrubError, match="contains itself"):
        dnode.scrub([Selfish()], dnode.CallbackTable())
