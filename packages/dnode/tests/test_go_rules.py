"""`dnode.GoFields` (Go's JSON key matching) and `dnode.go_json` (Go's `json.Marshal`
spelling), as properties; `conformance/tests/test_go_rules.py` holds both to real Go."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

import dnode

NAMES = ("kite", "withArgs", "responseCallback", "keyId", "sub")
FIELDS = dnode.GoFields(*NAMES)


def _respell(name: str, data: st.DataObject) -> str:
    out = []
    for ch in name:
        choices = [ch, ch.swapcase()]
        if ch in "sS":
            choices.append("\u017f")
        if ch in "kK":
            choices.append("\u212a")
        out.append(data.draw(st.sampled_from(choices)))
    return "".join(out)


@given(st.sampled_from(NAMES), st.data())
def test_every_go_spelling_of_a_name_fills_it(name: str, data: st.DataObject) -> None:
    assert FIELDS.match(_respell(name, data)) == name


@given(st.text(max_size=20))
def test_a_key_fills_at_most_the_field_it_folds_to(key: str) -> None:
    name = FIELDS.match(key)
    folded = dnode.go_fold(key)
    if name is None:
        assert folded not in {n.lower() for n in NAMES}
    else:
        assert folded == name.lower()


@given(st.lists(st.tuples(st.sampled_from(["kite", "KITE", "\u212aite", "other"]), st.integers())))
def test_the_last_key_filling_a_field_wins(pairs: list[tuple[str, int]]) -> None:
    picked = FIELDS.pick_pairs(pairs)
    kite_values = [v for k, v in pairs if k != "other"]
    assert picked == ({"kite": kite_values[-1]} if kite_values else {})
    assert FIELDS.pick(dict(pairs)) == FIELDS.pick_pairs(list(dict(pairs).items()))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@given(JSON)
def test_go_json_is_what_a_message_carries(value: object) -> None:
    """The text of a value on its own is the text it has inside an encoded message."""
    for backend in dnode.BACKENDS:
        dnode.set_backend(backend)
        try:
            text = dnode.encode(dnode.Message("m", [value], {}))
            assert (
                text == '{"method":"m","arguments":[' + dnode.go_json(value) + '],"callbacks":{}}'
            )
        finally:
            dnode.set_backend(dnode.BACKENDS[0])


@given(st.text())
def test_go_json_strings_are_html_safe_and_decode_back(text: str) -> None:
    out = dnode.go_json(text)
    assert not {"<", ">", "&", "\u2028", "\u2029"} & set(out)
    assert json.loads(out) == text


def test_go_json_writes_invalid_utf8_as_the_replacement_character() -> None:
    assert dnode.go_json("a\ud800b") == '"a\ufffdb"'
