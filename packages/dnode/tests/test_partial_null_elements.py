"""A JSON null inside a list or object is Go's nil ``*Partial`` (found by the interop matrix:
``gomath`` answers ``square [null]`` with ``Cannot unmarshal nil argument``)."""

from __future__ import annotations

import pytest

from dnode import ArgumentError, Partial


def test_null_list_element_is_nil() -> None:
    (one,) = Partial([None]).slice()
    assert one.is_nil
    with pytest.raises(ArgumentError, match=r"^Cannot unmarshal nil argument$"):
        Partial([None]).one().float()


def test_null_map_value_is_nil() -> None:
    value = Partial({"a": None, "b": 1}).map()
    assert value["a"].is_nil
    assert value["b"].int() == 1
    with pytest.raises(ArgumentError, match=r"^Cannot unmarshal nil argument$"):
        value["a"].string()
