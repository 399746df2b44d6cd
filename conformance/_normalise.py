"""Normalising the values that change from run to run, so two recordings can be compared.

How this works: every scenario's ``NAME.meta.json`` lists its nondeterministic values (kite
ids, hostnames, error/request ids, JWTs, key ids, SockJS entropy, Date/Expires headers, the
SockJS server and session ids in URLs, WebSocket keys and masks). `normalise_json` walks a
parsed JSON value and replaces those values with fixed placeholders (``"<id>"``, ``"<jwt>"``
...); `normalise_headers` does the same for HTTP headers. Everything else is left as it is, so
any other difference is a real one. `first_difference` names the first place two JSON values
differ, as a path like ``arguments[0].error.message``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "first_difference",
    "normalise_headers",
    "normalise_json",
    "normalise_text",
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
