"""Wire types of the kite RPC layer shared by the runtime, auth and Kontrol (docs/protocol.md §4.2).

`KiteIdentity` is Go's `protocol.Kite`: the seven strings that name a kite. Go emits its keys in
the fixed order of `FIELDS`; `to_json()` keeps that order so our bytes equal Go's.
`KontrolQuery` is Go's `protocol.KontrolQuery`, the same seven strings in `STRING_ORDER`
(general to specific), each empty one a wildcard; the client (`kite`) and Kontrol both use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Self

import dnode

__all__ = [
    "FIELDS",
    "STRING_ORDER",
    "Auth",
    "InvalidKiteStringError",
    "KiteIdentity",
    "KontrolQuery",
    "go_json_kind",
]

#: Key order of `protocol.Kite` on the wire (also the order of `to_json()`).
FIELDS: tuple[str, ...] = ("name", "username", "id", "environment", "region", "version", "hostname")
_IDENTITY_FIELDS: Final = dnode.GoFields(*FIELDS)
#: Field order of the canonical string form (see `KiteIdentity.__str__`).
STRING_ORDER: tuple[str, ...] = (
    "username",
    "environment",
    "name",
    "version",
    "region",
    "hostname",
    "id",
)


class InvalidKiteStringError(ValueError):
    """A kite string that Go's `KiteFromString`/`Validate` would refuse; the message is Go's."""


@dataclass(frozen=True, slots=True)
class KiteIdentity:
    """Who a kite is: Go's `protocol.Kite`. Every field is a string, empty when unset."""

    name: str = ""
    username: str = ""
    id: str = ""
    environment: str = ""
    region: str = ""
    version: str = ""
    hostname: str = ""

    def to_json(self) -> dict[str, str]:
        """The JSON object Go sends, keys in Go's order."""
        return {f: getattr(self, f) for f in FIELDS}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | None) -> KiteIdentity:
        """Read a `protocol.Kite` object the way Go's `encoding/json` does.

        Keys match case-insensitively, unknown keys are ignored, missing or non-string values
        give empty strings (Go would fail on a non-string; being lenient here loses nothing
        because the value is only a claim).
        """
        if not isinstance(obj, Mapping):
            return cls()
        values = _IDENTITY_FIELDS.pick(obj)
        return cls(**{f: v if isinstance(v, str) else "" for f, v in values.items()})

    def __str__(self) -> str:
        """Canonical form `/<username>/<environment>/<name>/<version>/<region>/<hostname>/<id>`."""
        return "/" + "/".join(getattr(self, f) for f in STRING_ORDER)

    @classmethod
    def from_string(cls, s: str) -> KiteIdentity:
        """Go's `KiteFromString`: split on `/` into at most seven parts, missing ones empty."""
        if not s.startswith("/"):
            raise InvalidKiteStringError("invalid kite string")
        parts = s[1:].split("/", 6)
        parts += [""] * (7 - len(parts))
        return cls(**dict(zip(STRING_ORDER, parts, strict=True)))

    def validate(self) -> None:
        """Go's `Kite.Validate`: no empty field, no `/` inside a field."""
        s = str(self)
        if "//" in s:
            raise InvalidKiteStringError("empty field")
        if s.count("/") != 7:
            raise InvalidKiteStringError('fields cannot contain "/"')


@dataclass(frozen=True, slots=True)
class Auth:
    """Credentials sent in a request envelope's `authentication` field: Go's `kite.Auth`.

    `type` is `"kiteKey"`, `"token"` or a custom authenticator's name; `key` the JWT (or other
    secret) without a trailing newline. On the wire: `{"type": ..., "key": ...}` in that order.
    """

    type: str
    key: str

    def to_json(self) -> dict[str, str]:
        """The JSON object Go sends, keys in Go's order."""
        return {"type": self.type, "key": self.key}


@dataclass(frozen=True, slots=True)
class KontrolQuery:
    """Go's `protocol.KontrolQuery`; empty fields match anything. `username` is required by
    Kontrol's storages."""

    username: str = ""
    environment: str = ""
    name: str = ""
    version: str = ""
    region: str = ""
    hostname: str = ""
    id: str = ""

    def to_json(self) -> dict[str, str]:
        """Go's JSON: all seven keys, in Go's order."""
        return {f: getattr(self, f) for f in STRING_ORDER}

    @classmethod
    def from_kite(cls, kite: KiteIdentity) -> Self:
        """The query that matches exactly this kite (Go's `Kite.Query()`)."""
        return cls(**{f: getattr(kite, f) for f in STRING_ORDER})

    @classmethod
    def of(cls, value: KontrolQuery | KiteIdentity | Mapping[str, str]) -> KontrolQuery:
        """A query from a query, a kite identity or a mapping of field names.

        Raises:
            ValueError: a mapping key is not a query field (the message suggests the field
                meant: `nam` → `name`).
            TypeError: a mapping value is not a string.
        """
        if isinstance(value, KontrolQuery):
            return value
        if isinstance(value, KiteIdentity):
            return cls.from_kite(value)
        for key, field in value.items():
            if key not in STRING_ORDER:
                close = difflib.get_close_matches(str(key), STRING_ORDER, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise ValueError(
                    f"unknown Kontrol query field {key!r} ({hint}the fields are "
                    f"{', '.join(STRING_ORDER)})"
                )
            if not isinstance(field, str):
                raise TypeError(
                    f"Kontrol query field {key!r} must be a string, not {type(field).__name__}"
                )
        return cls(**value)


def go_json_kind(value: Any) -> str:
    """The JSON kind Go names in `json: cannot unmarshal <kind> into ...` errors.

    `dnode.json_kind`, with anything that is not plain JSON (e.g. a received function) called
    `object`.
    """
    kind = dnode.json_kind(value)
    return kind if kind in _JSON_KINDS else "object"


_JSON_KINDS: Final = frozenset(("null", "bool", "string", "number", "array", "object"))
