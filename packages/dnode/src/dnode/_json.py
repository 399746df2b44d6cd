"""JSON text in Go's exact encoding, on the stdlib ``json`` C code or on ``orjson``.

How this works: both backends produce compact JSON with raw UTF-8 and insertion-ordered keys,
which is Go's ``encoding/json`` output except for a few spellings:

* Go escapes ``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\u003c`` ... and writes ``\\u0008`` /
  ``\\u000c`` where Python writes ``\\b`` / ``\\f``;
* Go formats float64 as the shortest digits in fixed notation for 1e-6 <= |x| < 1e21 (``16``,
  ``100000000000000000000``, ``0.00001``) and in exponent notation elsewhere (``1e+21``,
  ``1e-7``); Python writes ``16.0``, ``1e+20``, ``1e-05``;
* invalid UTF-8 (in Python: lone surrogates) becomes U+FFFD.

One C-speed regex search tells whether a text can contain any of these spellings; only then
does a second pass rewrite them, string-aware (a tokenising regex, so text inside JSON strings
is never mistaken for a number). Typical kite traffic never takes the second pass.

Decoding goes through ``orjson.loads`` when available, falling back to ``json.loads`` for what
orjson refuses but Go accepts (lone surrogate escapes). Go's refusals are kept: ``NaN``,
``Infinity`` and numbers overflowing float64 are errors. orjson reads integers outside
[-2**63, 2**64) as floats (as Go reads every number into an ``interface{}``), and so does its
stdlib fallback; the stdlib backend keeps them exact ints. A received argument keeps its exact
text all the same (``Partial.json``), and that text is what goes back out.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from json.scanner import make_scanner
from typing import Any, Final

try:  # pragma: no cover - depends on the environment
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "BACKENDS",
    "dumps",
    "go_float",
    "go_json",
    "json_kind",
    "loads",
    "scalar_json",
    "set_backend",
]

#: Names of the available JSON backends, best first.
BACKENDS: Final[tuple[str, ...]] = ("orjson", "json") if _orjson is not None else ("json",)


class _RefusedError(Exception):
    """Internal: a JSON text Go refuses although Python's json would accept it."""


def go_float(x: float) -> str:
    """Format a float exactly like Go's ``encoding/json`` formats a float64.

    Raises:
        ValueError: for NaN and infinities, which Go refuses to encode.
    """
    if x != x or x in (math.inf, -math.inf):
        raise ValueError(f"unsupported value: {x!r}")
    if x == 0.0:
        return "-0" if math.copysign(1.0, x) < 0 else "0"
    r = repr(x)  # shortest round-trip digits, as Go's strconv 'f'/'e' with precision -1
    a = abs(x)
    if a < 1e-6 or a >= 1e21:
        # Go's 'e' format: Python's repr is already in exponent form in this range; Go trims
        # one leading zero from a negative two-digit exponent (e-07 -> e-7).
        mantissa, _, exp = r.partition("e")
        if exp.startswith("-0"):
            exp = "-" + exp[2:]
        return f"{mantissa}e{exp}"
    if "e" in r:  # repr chose exponent form where Go uses fixed notation
        return format(Decimal(r), "f")
    return r[:-2] if r.endswith(".0") else r


# Rewriting is rare, and finding out must be cheap: substring tests (`in`, `find`) run at
# memchr speed, while a regex search costs several nanoseconds per character.
_ESC_BF = re.compile(r"\\[\\bf]")
_ESC_BF_MAP: Final = {"\\\\": "\\\\", "\\b": "\\u0008", "\\f": "\\u000c"}
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?')


def _esc_bf(m: re.Match[str]) -> str:
    return _ESC_BF_MAP[m.group()]


def _number(m: re.Match[str]) -> str:
    tok = m.group()
    if tok[0] == '"' or ("." not in tok and "e" not in tok and "E" not in tok):
        return tok
    return go_float(float(tok))


def _may_have_float_to_rewrite(text: str) -> bool:
    """Whether a float Python/orjson spelled differently from Go may be in the text.

    Such a float either ends in ``.0`` (``16.0``) or has an exponent with a sign (``1e+16``,
    ``1e-05``); both backends always write the sign. False positives (text inside strings) only
    cost the exact, string-aware rewrite pass.
    """
    find = text.find
    i = find(".0")
    while i != -1:
        if text[i + 2 : i + 3] in _CLOSERS and text[i - 1 : i].isdigit():
            return True
        i = find(".0", i + 2)
    for mark in ("e-", "e+") if "+" in text else ("e-",):
        i = find(mark)
        while i != -1:
            if text[i - 1 : i].isdigit() and text[i + 2 : i + 3].isdigit():
                return True
            i = find(mark, i + 2)
    return False


#: What may follow a number: a separator, a closing bracket, or the end of the text (a value
#: encoded on its own, as `scrub_encode` does).
_CLOSERS: Final = frozenset((",", "]", "}", ""))


class GoFloatsList(list[Any]):
    """A list whose floats all print the same in Python, orjson and Go.

    :func:`~dnode.scrub` returns argument lists of this type when every float it met lies in
    1e-4 <= |x| < 1e16 and has a fraction (integral floats it turns into ints, as Go prints
    them); :func:`~dnode.encode` then skips looking for floats to rewrite. Any other list is
    scanned: the tag only saves time, it never changes the output.
    """

    __slots__ = ()


def float_is_go_safe(x: float) -> bool:
    """Whether repr(x) and orjson already write ``x`` the way Go does."""
    return 1e-4 <= abs(x) < 1e16 and not x.is_integer()


def _go_spelling(text: str, floats: bool = True) -> str:
    """Rewrite a compact JSON text into Go's exact spelling (see the module comment)."""
    if "\\" in text and ("\\b" in text or "\\f" in text):
        text = _ESC_BF.sub(_esc_bf, text)
    text = go_escapes(text)
    if floats and _may_have_float_to_rewrite(text):
        text = _TOKEN.sub(_number, text)
    return text


def go_escapes(text: str) -> str:
    """The escapes Go's encoder writes into any JSON text, raw values included.

    ``<``, ``>``, ``&``, U+2028 and U+2029 become ``\\u`` escapes; lone surrogates (invalid
    UTF-8, for Go) become U+FFFD. Only strings can hold these, so the text needs no parsing.
    """
    if "<" in text:
        text = text.replace("<", "\\u003c")
    if ">" in text:
        text = text.replace(">", "\\u003e")
    if "&" in text:
        text = text.replace("&", "\\u0026")
    if not text.isascii():
        if "\u2028" in text:
            text = text.replace("\u2028", "\\u2028")
        if "\u2029" in text:
            text = text.replace("\u2029", "\\u2029")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: Go writes U+FFFD for invalid UTF-8
            text = _SURROGATE.sub("\ufffd", text)
    return text


def go_json(value: Any) -> str:
    """`value` as Go's `json.Marshal` writes it: compact, raw UTF-8, insertion-ordered keys,
    `<`, `>`, `&`, U+2028 and U+2029 escaped (`\\u003c`, ...), `\\u0008`/`\\u000c`, float64s
    in Go's notation, invalid UTF-8 (lone surrogates) as U+FFFD.

    Raises:
        TypeError: a value JSON has no form for.
        ValueError: NaN or an infinity, or a cycle.
    """
    if type(value) is float and value - value == 0.0:  # a finite float on its own
        return go_float(value)
    return _go_spelling(dumps(value))


_INT64_MIN: Final = -(2**63)
_UINT64_END: Final = 2**64


def scalar_json(value: Any) -> str | None:
    """The JSON text of a scalar as :func:`~dnode.encode` writes it after :func:`~dnode.scrub`.

    For ``None``, ``bool``, ``str``, ``int`` (in the 64-bit range) and finite ``float`` values
    (exact types, not subclasses): the same text, in Go's spelling, that the value has inside
    an encoded message, without scrubbing or encoding a message. ``None`` for any other value
    (containers, NaN, big ints, subclasses): scrub and encode those.
    """
    t = type(value)
    if t is int:
        return str(value) if _INT64_MIN <= value < _UINT64_END else None
    if t is str:
        return _go_spelling(dumps(value), False)
    if t is float:
        if 1e-4 <= abs(value) < 1e16:
            return str(int(value)) if value.is_integer() else repr(value)
        if value - value != 0.0:
            return None  # NaN, infinities: scrub refuses them
        return go_float(value)
    if value is None:
        return "null"
    if t is bool:
        return "true" if value else "false"
    return None


#: Types the encoders write as a marker string (type -> the string), filled by ``_raw``.
RAW_TYPES: dict[type, Callable[[Any], str]] = {}


def _no_default(obj: object) -> Any:
    to_marker = RAW_TYPES.get(type(obj))
    if to_marker is not None:
        return to_marker(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


_STDLIB_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, check_circular=False, separators=(",", ":")
)
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_c_encode_basestring: Any = getattr(json.encoder, "c_encode_basestring", None)
if _c_make_encoder is not None:  # CPython: build the C encoder once, not per call
    _c_iterencode = _c_make_encoder(
        None,  # no circular-reference markers: a cycle ends in RecursionError
        _no_default,
        _c_encode_basestring,
        None,
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        False,  # allow_nan
    )

    def _dumps_json(obj: Any) -> str:
        if type(obj) is str:
            return _c_encode_basestring(obj)  # type: ignore[no-any-return]
        return "".join(_c_iterencode(obj, 0))

else:  # pragma: no cover - other Pythons

    def _dumps_json(obj: Any) -> str:
        return _STDLIB_ENCODER.encode(obj)


if _orjson is not None:
    # Subclasses of str/int/float/list/dict are written as their base type, as the stdlib does.
    _ORJSON_OPTS: Final = _orjson.OPT_PASSTHROUGH_DATACLASS | _orjson.OPT_PASSTHROUGH_DATETIME
    _orjson_dumps = _orjson.dumps
    _OrjsonEncodeError = _orjson.JSONEncodeError

    def _dumps_orjson(obj: Any) -> str:
        try:
            return _orjson_dumps(obj, default=_no_default, option=_ORJSON_OPTS).decode()
        except _OrjsonEncodeError:
            # Big integers, lone surrogates, subclasses, NaN: let the stdlib decide (it
            # accepts exactly what the stdlib backend accepts, so both backends agree).
            return _dumps_json(obj)


def _refuse_constant(name: str) -> Any:
    raise _RefusedError(f"invalid character {name[0]!r} looking for beginning of value")


def _float_or_refuse(text: str) -> float:
    f = float(text)
    if f in (math.inf, -math.inf):
        raise _RefusedError(f"number {text} overflows float64")
    return f


def _int_as_orjson(text: str) -> int | float:
    """An integer literal as orjson reads it: an int in [-2**63, 2**64), else a float."""
    n = int(text)
    if _INT64_MIN <= n < _UINT64_END:
        return n
    return _float_or_refuse(text)


_STDLIB_DECODER = json.JSONDecoder(
    parse_constant=_refuse_constant, parse_float=_float_or_refuse, strict=True
)
# The same reading integers as orjson does, for texts orjson refuses in the orjson backend
# (a Python call per integer: only on that rare path).
_ORJSON_INTS_DECODER = json.JSONDecoder(
    parse_constant=_refuse_constant,
    parse_float=_float_or_refuse,
    parse_int=_int_as_orjson,
    strict=True,
)
# Its C scanner, called directly: JSONDecoder.decode would add two regex whitespace scans.
_scan_once: Any = make_scanner(_STDLIB_DECODER)  # type: ignore[arg-type]  # typeshed oddity
#: ``scan_once(text, i) -> (value, end)``: the value starting at ``text[i]`` and where it ends.
scan_once: Final[Any] = _scan_once
_scan_once_orjson_ints: Any = make_scanner(_ORJSON_INTS_DECODER)  # type: ignore[arg-type]
_JSON_SPACE: Final = " \t\n\r"


def _loads_json(data: str | bytes | bytearray | memoryview, scan: Any = _scan_once) -> Any:
    if not isinstance(data, str):
        data = bytes(data).decode("utf-8", "replace")  # Go reads invalid UTF-8 as U+FFFD
    # What JSONDecoder.decode does, with its errors: value, then only whitespace.
    start = len(data) - len(data.lstrip(_JSON_SPACE))
    try:
        value, end = scan(data, start)
    except StopIteration as exc:
        raise json.JSONDecodeError("Expecting value", data, exc.value) from None
    if end != len(data):
        rest = data[end:]
        extra = rest.lstrip(_JSON_SPACE)
        if extra:
            raise json.JSONDecodeError("Extra data", data, end + len(rest) - len(extra))
    # Escaped lone surrogates need a backslash ("\\ud800"); raw ones a non-UTF-8-able str.
    suspect = ("\\" in data and ("\\ud" in data or "\\uD" in data)) or not (
        data.isascii() or _is_utf8(data)
    )
    if suspect and _has_surrogate(value):
        value = _replace_surrogates(value)
    return value


def _is_utf8(text: str) -> bool:
    """Whether the text encodes as UTF-8, i.e. holds no lone surrogates (fast, in C)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _has_surrogate(value: Any) -> bool:
    t = type(value)
    if t is str:
        return not value.isascii() and _SURROGATE.search(value) is not None
    if t is list:
        return any(_has_surrogate(v) for v in value)
    if t is dict:
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    return False


def _replace_surrogates(value: Any) -> Any:
    """Go decodes a lone surrogate escape (``"\\ud800"``) as U+FFFD; do the same."""
    t = type(value)
    if t is str:
        return _SURROGATE.sub("\ufffd", value)
    if t is list:
        return [_replace_surrogates(v) for v in value]
    if t is dict:
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


if _orjson is not None:
    _orjson_loads = _orjson.loads
    _OrjsonDecodeError = _orjson.JSONDecodeError

    def _loads_orjson(data: str | bytes | bytearray | memoryview) -> Any:
        try:
            return _orjson_loads(data)
        except _OrjsonDecodeError:
            # orjson refuses lone surrogates and invalid UTF-8, which Go accepts (as U+FFFD);
            # the stdlib path accepts those and refuses the rest with its own message.
            return _loads_json(data, _scan_once_orjson_ints)


dumps = _dumps_json
loads: Callable[[str | bytes | bytearray | memoryview], Any] = _loads_json


def set_backend(name: str) -> None:
    """Choose the JSON backend: ``"orjson"`` (the default when installed) or ``"json"``.

    Both produce the same bytes; the choice only changes speed.

    Raises:
        ValueError: if the backend is unknown or not installed.
    """
    global dumps, loads
    if name == "json":
        dumps, loads = _dumps_json, _loads_json
    elif name == "orjson" and _orjson is not None:
        dumps, loads = _dumps_orjson, _loads_orjson
    else:
        raise ValueError(f"unknown or unavailable JSON backend {name!r}; have {BACKENDS}")


def get_backend() -> str:
    """Return the name of the JSON backend in use."""
    return "json" if dumps is _dumps_json else "orjson"


set_backend(BACKENDS[0])

# Exceptions the decoders raise for bad input (mapped to DecodeError by the caller).
DECODE_ERRORS: Final[tuple[type[BaseException], ...]] = (
    ValueError,  # json.JSONDecodeError and orjson.JSONDecodeError are ValueErrors
    _RefusedError,
    RecursionError,
    UnicodeError,
)


def json_kind(value: Any) -> str:
    """Name a value's JSON type the way Go's `encoding/json` errors do.

    `null`, `bool`, `string`, `number`, `array` (lists and tuples), `object` (mappings); any
    other value is named by its Python type. Callers that meet functions name them first.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__
