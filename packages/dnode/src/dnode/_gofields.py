"""Which Go struct field a JSON object key fills, as Go's `encoding/json` decides it.

Go matches a key to the field whose JSON name it equals exactly or, failing that, equals
under Go's case folding: ASCII letters ignoring case, plus the two non-ASCII runes that fold
to ASCII letters, U+017F (long s) to `s` and U+212A (Kelvin sign) to `k`; any other
non-ASCII character matches nothing. Keys are applied in order, so when several keys fill
the same field the last one wins. (Go 1.19's `encoding/json`, which Go kite is built with.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["GoFields", "go_fold"]

_FOLD_TO_ASCII = str.maketrans({"\u017f": "s", "\u212a": "k"})


def go_fold(key: str) -> str | None:
    """`key` as Go compares it with ASCII field names: lowercased, U+017F → `s`, U+212A → `k`;
    None when it holds another non-ASCII character (it then matches no field)."""
    if not key.isascii():
        key = key.translate(_FOLD_TO_ASCII)
        if not key.isascii():
            return None
    return key.lower()


class GoFields:
    """The JSON names of a Go struct's fields, matched against object keys as Go does.

    >>> fields = GoFields("withArgs", "kite")
    >>> fields.pick({"WITHARGS": [2], "\\u212aite": {}, "other": 1})
    {'withArgs': [2], 'kite': {}}
    """

    __slots__ = ("_folded", "_names", "names")

    def __init__(self, *names: str) -> None:
        if not all(name.isascii() for name in names):
            raise ValueError("Go field names here are ASCII")
        self.names = names
        self._names = frozenset(names)
        self._folded = {name.lower(): name for name in names}

    def match(self, key: object) -> str | None:
        """The field `key` fills, or None."""
        if type(key) is not str:
            return None
        if key in self._names:
            return key
        folded = go_fold(key)
        return None if folded is None else self._folded.get(folded)

    def pick(self, obj: Mapping[Any, Any]) -> dict[str, Any]:
        """The values of `obj` by the field each key fills (the last key wins a field)."""
        out: dict[str, Any] = {}
        for key, value in obj.items():
            name = self.match(key)
            if name is not None:
                out[name] = value
        return out

    def pick_pairs(self, pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
        """`pick` for an object given as its (key, value) pairs, duplicate keys included."""
        out: dict[str, Any] = {}
        for key, value in pairs:
            name = self.match(key)
            if name is not None:
                out[name] = value
        return out
