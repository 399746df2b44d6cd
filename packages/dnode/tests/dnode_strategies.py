"""Hypothesis strategies shared by the dnode tests."""

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

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
