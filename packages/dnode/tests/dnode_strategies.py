"""Hypothesis strategies shared by the dnode tests."""

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

import dnode

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
keys = st.text(max_size=6)

json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=16,
)


def _fresh_function() -> Callable[..., Any]:
    def fn(*args: Any) -> None:
        return None

    return fn


functions = st.builds(_fresh_function)

values_with_functions = st.recursive(
    scalars | functions,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=16,
)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values as Go and JavaScript see them: a float equals the int it prints as.

    Go writes the float 16.0 as ``16``, which Python reads back as an int.
    """
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return False
        return isinstance(a, int | float) and isinstance(b, int | float) and float(a) == float(b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def go_reference(value: Any) -> str:
    """An independent, slow model of Go's encoding/json output for decoded JSON values."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return dnode.go_float(value)
    if isinstance(value, str):
        out = ['"']
        for ch in value:
            o = ord(ch)
            if ch in '"\\':
                out.append("\\" + ch)
            elif ch in "\n\r\t":
                out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
            elif o < 0x20 or ch in "<>&\u2028\u2029":
                out.append(f"\\u{o:04x}")
            elif 0xD800 <= o <= 0xDFFF:
                out.append("\ufffd")
            else:
                out.append(ch)
        return "".join(out) + '"'
    if isinstance(value, list):
        return "[" + ",".join(go_reference(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ",".join(f"{go_reference(k)}:{go_reference(v)}" for k, v in value.items()) + "}"


tricky_text = st.text(
    st.sampled_from(list('<>&\u2028\u2029\x08\x0c\\"\n\x00é😀\ud800.0e+-,]}1 ')), max_size=12
)
tricky_values = st.recursive(
    scalars | tricky_text | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=12,
)
