"""JSON decoded as Go's `encoding/json` decodes it for jwt-go: numbers kept as their literal
text, objects as ordered pairs (duplicate keys kept), and Go's error texts."""

from __future__ import annotations

import json
from typing import Any

from ._token_errors import TokenError, ValidationFlag

__all__ = ["JSONNumber", "JSONObject", "decode_json", "json_kind"]


class JSONNumber(str):
    """A JSON number kept as its literal text, as Go's decoder sees it."""

    __slots__ = ()


class JSONObject(list[tuple[str, Any]]):
    """A JSON object as its ordered key/value pairs (duplicates kept, as Go sees them)."""

    __slots__ = ()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _go_quote_char(ch: str) -> str:
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return "'" + json.dumps(ch, ensure_ascii=False)[1:-1] + "'"


def _syntax_message(error: json.JSONDecodeError, stream: bool) -> str:
    """Approximate Go's `encoding/json` syntax-error text for a Python decode error."""
    doc, pos, msg = error.doc, error.pos, error.msg
    if pos >= len(doc) or msg.startswith("Unterminated string"):
        return "unexpected EOF" if stream else "unexpected end of JSON input"
    char = _go_quote_char(doc[pos])
    if msg.startswith("Extra data"):
        return f"invalid character {char} after top-level value"
    if msg.startswith("Expecting property name"):
        return f"invalid character {char} looking for beginning of object key string"
    if msg.startswith("Expecting ':'"):
        return f"invalid character {char} after object key"
    if msg.startswith("Expecting ','"):
        return f"invalid character {char} after object key:value pair"
    if msg.startswith("Invalid control character"):
        return f"invalid character {char} in string literal"
    if msg.startswith(("Invalid \\escape", "Invalid \\u")):
        return f"invalid character {char} in string escape code"
    return f"invalid character {char} looking for beginning of value"


def decode_json(text: str, *, stream: bool) -> Any:
    """Decode one JSON value with numbers kept literal.

    `stream=True` is Go's `Decoder.Decode` (what jwt-go uses for claims): trailing data after
    the first value is ignored and an empty input is `EOF`. Otherwise `json.Unmarshal`.
    """
    decoder = json.JSONDecoder(
        parse_float=JSONNumber,
        parse_int=JSONNumber,
        parse_constant=_reject_constant,
        object_pairs_hook=JSONObject,
    )
    try:
        if stream:
            start = len(text) - len(text.lstrip(" \t\r\n"))
            if start == len(text):
                raise TokenError("EOF", ValidationFlag.MALFORMED)
            value, _ = decoder.raw_decode(text, start)
            return value
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise TokenError(_syntax_message(exc, stream), ValidationFlag.MALFORMED) from None
    except ValueError as exc:  # a NaN/Infinity literal
        raise TokenError(str(exc), ValidationFlag.MALFORMED) from None
    except RecursionError:
        raise TokenError("exceeded max depth", ValidationFlag.MALFORMED) from None


def json_kind(value: Any) -> str:
    """Go's `UnmarshalTypeError.Value` for a decoded value."""
    if isinstance(value, JSONNumber):
        return "number"
    if isinstance(value, JSONObject):
        return "object"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
