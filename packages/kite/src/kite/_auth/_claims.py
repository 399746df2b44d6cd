"""The claims of a kite key or token: Go's `kitekey.KiteClaims`, written and read as Go does."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dnode

from ._go_json import JSONNumber, JSONObject, decode_json, json_kind
from ._token_errors import TokenError, ValidationFlag

__all__ = ["KiteClaims", "claims_dict"]

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class KiteClaims:
    """Go's `kitekey.KiteClaims`: the standard claims plus `kontrolKey`/`kontrolURL`.

    Empty strings and zero times mean "absent" (Go omits them when writing and skips their
    checks when reading). Times are integer UTC seconds.
    """

    aud: str = ""
    exp: int = 0
    jti: str = ""
    iat: int = 0
    iss: str = ""
    nbf: int = 0
    sub: str = ""
    kontrol_key: str = ""
    kontrol_url: str = ""

    def to_json(self) -> str:
        """The claims JSON Go writes: struct order, empty values omitted, Go escaping."""
        parts = []
        for json_name, attr, is_int in _CLAIM_FIELDS:
            value = getattr(self, attr)
            if not value:
                continue
            text = str(int(value)) if is_int else dnode.go_json(value)
            parts.append(f'"{json_name}":{text}')
        return "{" + ",".join(parts) + "}"

    @classmethod
    def from_json_text(cls, text: str) -> KiteClaims:
        """Decode claims as jwt-go does (`json.Decoder` into `KiteClaims`).

        Raises:
            TokenError: flag `MALFORMED`, with Go's `encoding/json` text.
        """
        value = decode_json(text, stream=True)
        if value is None:
            return cls()
        if not isinstance(value, JSONObject):
            raise TokenError(
                f"json: cannot unmarshal {json_kind(value)} into Go value of type "
                "kitekey.KiteClaims",
                ValidationFlag.MALFORMED,
            )
        return cls._from_pairs(value)

    @classmethod
    def _from_pairs(cls, pairs: Iterable[tuple[str, Any]]) -> KiteClaims:
        values: dict[str, Any] = {}
        first_error: str | None = None
        for key, value in pairs:
            name = _CLAIM_NAMES.match(key)
            spec = None if name is None else _CLAIM_BY_NAME[name]
            if spec is None or value is None:
                continue
            json_name, attr, is_int = spec
            error: str | None = None
            if is_int:
                if isinstance(value, JSONNumber):
                    parsed = _parse_int64(value)
                    if parsed is None:
                        error = f"number {value}"
                    else:
                        values[attr] = parsed
                else:
                    error = json_kind(value)
                go_type = "int64"
            else:
                if isinstance(value, str) and not isinstance(value, JSONNumber):
                    values[attr] = _SURROGATE.sub("\ufffd", value)
                else:
                    error = json_kind(value)
                go_type = "string"
            if error is not None and first_error is None:
                first_error = (
                    f"json: cannot unmarshal {error} into Go struct field "
                    f"KiteClaims.{json_name} of type {go_type}"
                )
        if first_error is not None:
            raise TokenError(first_error, ValidationFlag.MALFORMED)
        return cls(**values)


_CLAIM_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("aud", "aud", False),
    ("exp", "exp", True),
    ("jti", "jti", False),
    ("iat", "iat", True),
    ("iss", "iss", False),
    ("nbf", "nbf", True),
    ("sub", "sub", False),
    ("kontrolKey", "kontrol_key", False),
    ("kontrolURL", "kontrol_url", False),
)
_CLAIM_BY_NAME = {spec[0]: spec for spec in _CLAIM_FIELDS}
_CLAIM_NAMES = dnode.GoFields(*_CLAIM_BY_NAME)
_INT_LITERAL = re.compile(r"-?[0-9]+")


def _parse_int64(literal: str) -> int | None:
    if not _INT_LITERAL.fullmatch(literal):
        return None
    number = int(literal)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def claims_dict(claims: KiteClaims) -> dict[str, Any]:
    """The claims as `KiteClaims(**...)` keyword arguments."""
    return {attr: getattr(claims, attr) for _, attr, _ in _CLAIM_FIELDS}
