"""Normalising the values that change from run to run, so two recordings can be compared.

How this works: every scenario's ``NAME.meta.json`` lists its nondeterministic values (kite
ids, hostnames, error/request ids, JWTs, key ids, SockJS entropy, Date/Expires headers, the
SockJS server and session ids in URLs, WebSocket keys and masks). `normalise_json` walks a
parsed JSON value and replaces those values with fixed placeholders (``"<id>"``, ``"<jwt>"``
...); `normalise_headers` does the same for HTTP headers. Everything else is left as it is, so
any other difference is a real one. `first_difference` names the first place two JSON values
differ, as a path like ``arguments[0].error.message``. `number_spellings` tells whether two
JSON texts differ only in how numbers are written (``1e300`` / ``1e+300``), token by token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

__all__ = [
    "first_difference",
    "normalise_headers",
    "normalise_json",
    "normalise_text",
    "number_spellings",
    "numbers_in_place",
]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
#: Headers whose values are times or per-connection randomness.
_VOLATILE_HEADERS = frozenset({"date", "expires"})

#: Object keys whose values are nondeterministic wherever they appear.
_VOLATILE_KEYS = frozenset({"hostname", "keyId", "entropy"})


def normalise_text(text: str) -> str:
    """Replace UUIDs and JWTs inside a string with ``<uuid>`` / ``<jwt>``."""
    if "-" in text:
        text = _UUID.sub("<uuid>", text)
    if "eyJ" in text:
        text = _JWT.sub("<jwt>", text)
    return text


def normalise_json(value: Any) -> Any:
    """A copy of a parsed JSON value with the nondeterministic values replaced.

    - ``id`` of any object: a kite id (UUID), a kite error's request id (16 hex) → ``<id>``;
    - ``hostname``, ``keyId``, ``entropy`` → ``<hostname>`` ...;
    - UUIDs and JWTs inside any other string → ``<uuid>`` / ``<jwt>``.
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                out[key] = "<id>"
            elif key in _VOLATILE_KEYS:
                out[key] = f"<{key}>"
            else:
                out[key] = normalise_json(item)
        return out
    if isinstance(value, list):
        return [normalise_json(item) for item in value]
    if isinstance(value, str):
        return normalise_text(value)
    return value


def normalise_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """HTTP headers as sorted ``(lowercase name, value)`` pairs, volatile values replaced.

    Order and name case are not compared: Go's net/http sorts header names, h11 keeps the
    order it is given, and neither is meaningful to a client.
    """
    out = []
    for name, value in headers:
        lower = name.lower()
        out.append((lower, f"<{lower}>" if lower in _VOLATILE_HEADERS else value))
    return sorted(out)


def first_difference(want: Any, got: Any, path: str = "") -> str | None:
    """Where two JSON values first differ (``path: want X, got Y``), or None when equal.

    Types are compared as JSON sees them: ``16`` and ``16.0`` are equal, ``true`` and ``1``
    are not.
    """
    where = path or "value"
    if isinstance(want, dict) and isinstance(got, dict):
        for key in want:
            if key not in got:
                return f"{where}: missing key {key!r}"
            diff = first_difference(want[key], got[key], f"{path}.{key}" if path else key)
            if diff is not None:
                return diff
        for key in got:
            if key not in want:
                return f"{where}: unexpected key {key!r}"
        return None
    if isinstance(want, list) and isinstance(got, list):
        for i, (a, b) in enumerate(zip(want, got, strict=False)):
            diff = first_difference(a, b, f"{path}[{i}]")
            if diff is not None:
                return diff
        if len(want) != len(got):
            return f"{where}: want {len(want)} items, got {len(got)}"
        return None
    if isinstance(want, bool) or isinstance(got, bool):
        same = type(want) is type(got) and want == got
    elif isinstance(want, int | float) and isinstance(got, int | float):
        same = want == got
    else:
        same = type(want) is type(got) and want == got
    if same:
        return None
    return f"{where}: want {_short(want)}, got {_short(got)}"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: JSON tokens: strings (escapes kept), numbers, literals, punctuation; whitespace between.
_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)"
    r"|(?P<other>true|false|null|[\[\]{}:,]))"
)


def _tokens(text: str) -> list[tuple[str, str]] | None:
    out, i = [], 0
    while i < len(text.rstrip()):
        m = _TOKEN.match(text, i)
        if m is None:
            return None
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        i = m.end()
    return out


def number_spellings(want: str, got: str) -> list[tuple[str, str]] | None:
    """The (want, got) number spellings by which two JSON texts differ, when that is their
    only difference and each pair is the same number (exact decimal value: ``1e300`` /
    ``1e+300``, ``2.5E+20`` / ``250000000000000000000``, ``1.0`` / ``1``, ``-0`` / ``0``);
    None when anything else differs (a string, the structure, a number's value)."""
    a, b = _tokens(want), _tokens(got)
    if a is None or b is None or len(a) != len(b):
        return None
    spellings = []
    for (kind_a, text_a), (kind_b, text_b) in zip(a, b, strict=True):
        if text_a == text_b:
            continue
        if kind_a != "number" or kind_b != "number" or Decimal(text_a) != Decimal(text_b):
            return None
        spellings.append((text_a, text_b))
    return spellings


#: A JSON number in raw (possibly escaped) JSON text: after ``[``, ``,`` or ``:``, before
#: ``,``, ``]`` or ``}``. Its characters are never escaped, at any depth.
_NUMBER_IN_TEXT = re.compile(
    r"(?<=[\[,:])(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?=[,\]}])"
)


def numbers_in_place(want: str, got: str) -> bool:
    """True when two raw texts (e.g. SockJS frames carrying escaped JSON) are byte-equal
    outside their numbers and each pair of numbers is the same exact decimal value."""
    a, b = _NUMBER_IN_TEXT.split(want), _NUMBER_IN_TEXT.split(got)
    if len(a) != len(b):
        return False
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x != y and (i % 2 == 0 or Decimal(x) != Decimal(y)):
            return False
    return True
