"""Partial: Go's argument accessors, their leniency and their error texts."""

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

import dnode
from dnode import ArgumentError, Partial


def test_one_and_slice_follow_go() -> None:
    assert Partial([4]).one() == Partial(4)
    assert Partial([1, "a"]).slice() == [Partial(1), Partial("a")]
    assert Partial(None).slice() == []  # null: Go's nil slice, no error
    with pytest.raises(ArgumentError, match=r"^Invalid array length$"):
        Partial([4, 5]).one()
    with pytest.raises(ArgumentError, match=r"^Invalid array length$"):
        Partial([]).one()
    with pytest.raises(ArgumentError, match=r"^Invalid array length$"):
        Partial([1]).slice(2)


GO_TEXTS = [
    # docs/protocol.md §8: withArgs 4 to a handler using One()
    (
        lambda: Partial(4).one(),
        "json: cannot unmarshal number into Go value of type []*dnode.Partial. Data: 4",
    ),
    (  # section 3.6, observed
        lambda: Partial("notanumber").float(),
        'json: cannot unmarshal string into Go value of type float64. Data: "notanumber"',
    ),
    (
        lambda: Partial([1]).map(),
        "json: cannot unmarshal array into Go value of type map[string]*dnode.Partial. Data: [1]",
    ),
    (
        lambda: Partial({"a": "<b>"}).string(),
        'json: cannot unmarshal object into Go value of type string. Data: {"a":"\\u003cb\\u003e"}',
    ),
    (
        lambda: Partial(1).bool(),
        "json: cannot unmarshal number into Go value of type bool. Data: 1",
    ),
    (
        lambda: Partial(1.5).int(),
        "json: cannot unmarshal number 1.5 into Go value of type int. Data: 1.5",
    ),
    (lambda: Partial().one(), "Cannot unmarshal nil argument"),
    (lambda: Partial().string(), "Cannot unmarshal nil argument"),
    (lambda: Partial("[Function]").function(), "invalid function"),
]


@pytest.mark.parametrize(("call", "text"), GO_TEXTS)
def test_errors_use_go_texts(call: Callable[[], Any], text: str) -> None:
    with pytest.raises(ArgumentError) as info:
        call()
    assert str(info.value) == text


def test_scalars_and_null_zero_values() -> None:
    assert Partial("s").string() == "s"
    assert Partial(2).float() == 2.0
    assert isinstance(Partial(2).float(), float)
    assert Partial(2.0).int() == 2
    assert Partial(True).bool() is True
    assert Partial(None).string() == ""
    assert Partial(None).float() == 0.0
    assert Partial(None).int() == 0
    assert Partial(None).bool() is False
    assert Partial(None).map() == {}
    assert Partial({"a": 1}).map() == {"a": Partial(1)}
    assert Partial().is_nil
    assert not Partial(None).is_nil
    assert repr(Partial()) == "Partial()"
    assert repr(Partial([1])) == "Partial([1])"


def test_function_returns_the_placed_proxy() -> None:
    msg = dnode.decode(
        '{"method":"m","arguments":[{"withArgs":[{"cb":"[Function]","from":3}]}],'
        '"callbacks":{"1":[0,"withArgs",0,"cb"]}}'
    )
    sent: list[Any] = []
    dnode.unscrub(msg.arguments, msg.callbacks, lambda cid, args: sent.append((cid, args)))
    args = Partial(msg.arguments[0]["withArgs"])
    opts = args.one().map()
    assert opts["from"].float() == 3.0
    opts["cb"].function()(3)
    assert sent == [(1, [3])]


@dataclasses.dataclass
class Inner:
    n: int


@dataclasses.dataclass
class Options:
    name: str
    count: int
    ratio: float
    on: bool
    tags: list[str]
    extra: dict[str, Any]
    inner: Inner
    maybe: str | None
    raw: Partial
    cb: Callable[..., Any] | None = None
    renamed: str = dataclasses.field(default="d", metadata={"dnode": "otherName"})
    skipped: int = dataclasses.field(default=9, metadata={"dnode": "-"})


def test_unmarshal_binds_a_dataclass_like_go_json() -> None:
    fn = dnode.RemoteFunction(0, lambda cid, args: None)
    value = {
        "NAME": "x",  # keys match case-insensitively
        "count": 2.0,
        "ratio": 1,
        "on": True,
        "tags": ["a"],
        "extra": {"k": [1]},
        "inner": {"n": 1},
        "maybe": None,
        "raw": [1, 2],
        "cb": fn,
        "othername": "r",
        "skipped": 1,
        "unknown": "ignored",
    }
    got = Partial(value).unmarshal(Options)
    assert got == Options(
        name="x",
        count=2,
        ratio=1.0,
        on=True,
        tags=["a"],
        extra={"k": [1]},
        inner=Inner(1),
        maybe=None,
        raw=Partial([1, 2]),
        cb=fn,
        renamed="r",
    )
    # absent fields: defaults, or Go's zero values
    empty = Partial({}).unmarshal(Options)
    assert empty == Options("", 0, 0.0, False, [], {}, Inner(0), None, Partial(None))
    assert Partial(5).unmarshal(int) == 5
    assert Partial(["a"]).unmarshal(list[str]) == ["a"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (
            {"count": "2"},
            "json: cannot unmarshal string into Go struct field Options.count of type int. "
            'Data: "2"',
        ),
        ({"tags": [1]}, "json: cannot unmarshal number into Go struct field Options.tags"),
        ({"inner": []}, "json: cannot unmarshal array into Go struct field Options.inner"),
        ({"cb": "x"}, "invalid function"),
        ([], "json: cannot unmarshal array into Go value of type Options. Data: []"),
    ],
)
def test_unmarshal_errors(value: Any, text: str) -> None:
    with pytest.raises(ArgumentError) as info:
        Partial(value).unmarshal(Options)
    assert str(info.value).startswith(text)
