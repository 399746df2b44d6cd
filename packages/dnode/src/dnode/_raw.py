"""Raw JSON: values sent as the exact JSON text they were received as (Go's ``json.RawMessage``).

How this works: a :class:`RawJSON` holds a JSON text. :func:`~dnode.scrub` passes it through and
:func:`~dnode.encode` writes its text in place, as Go's ``encoding/json`` writes a
``json.RawMessage`` or a ``dnode.Partial``: compacted (whitespace outside strings removed),
with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, every other byte as it was (``-0``,
``1e300``, ``"\\u00e9"``, ``"\\ud800"`` stay as written).

The JSON backends cannot embed text, so the encoder writes a RawJSON as a *marker string*
(a per-process random prefix followed by the text), and after Go's spelling has been applied
to the whole message each marker string is replaced by the text it carries
(:func:`put_raw`). The prefix is drawn from ``secrets`` when the module is imported and never
leaves the process, so no received or user string can pass for a marker.

:func:`locate` finds the text of a value inside a JSON text by a path of steps (array index,
object key, or Go struct field matched case-insensitively), without building the values
around it: this is how a received argument finds its raw text only when it is re-sent.
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Final

from . import _json
from ._errors import DecodeError
from ._gofields import go_fold

__all__ = ["MARK", "GoField", "RawJSON", "compact", "locate", "put_raw"]


class RawJSON:
    """A JSON text to send exactly as written (Go's ``json.RawMessage``).

    ``RawJSON('{"n": -0, "big": 1e300}')`` is encoded as ``{"n":-0,"big":1e300}``: the text is
    compacted and ``<``, ``>``, ``&``, U+2028, U+2029 are escaped as Go's encoder does with a
    ``json.RawMessage``; numbers, escapes and key order are kept.

    Raises:
        DecodeError: ``text`` is not one JSON value (Go fails the same when marshalling).
    """

    __slots__ = ("text", "value", "wire")

    def __init__(self, text: str | bytes | bytearray | memoryview) -> None:
        if not isinstance(text, str):
            text = bytes(text).decode("utf-8", "replace")  # Go reads invalid UTF-8 as U+FFFD
        try:
            _json.loads(text)
        except _json.DECODE_ERRORS as exc:
            raise DecodeError(f"invalid JSON: {exc}") from None
        #: The text as given.
        self.text: str = text
        #: The text as it is written into a message (compacted, Go's escapes).
        self.wire: str = compact(text)
        #: The decoded value with callbacks placed in it, for a received one (else None):
        #: scrub registers those callbacks at their places in the text.
        self.value: Any = None

    @classmethod
    def trusted(cls, text: str, value: Any = None) -> RawJSON:
        """A RawJSON of a text known to be one JSON value (cut out of a decoded message).

        ``value`` is the text's decoded value, with the received callbacks placed in it.
        """
        self = object.__new__(cls)
        self.text = text
        self.wire = compact(text)
        self.value = value
        return self

    def __repr__(self) -> str:
        return f"RawJSON({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RawJSON):
            return NotImplemented
        return self.wire == other.wire

    def __hash__(self) -> int:
        return hash((RawJSON, self.wire))


class GoField(str):
    """A path step naming a Go struct field (ASCII): the last object key that fills it.

    Go's ``encoding/json`` sets a struct field from every key matching its name exactly or
    under Go's case folding (:func:`~dnode.go_fold`), so the last such key wins
    (``{"withArgs":1,"WITHARGS":2}`` gives 2), as :class:`~dnode.GoFields` picks it.
    """

    __slots__ = ()


# ---------------------------------------------------------------------------------------------
# compacting

_STRING_OR_SPACE: Final = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|[ \t\n\r]+')


def compact(text: str) -> str:
    """A JSON text as Go's encoder writes a raw value: compacted, with Go's HTML escapes."""
    if " " in text or "\n" in text or "\r" in text or "\t" in text:
        text = _STRING_OR_SPACE.sub(r"\1", text)
    return _json.go_escapes(text)


# ---------------------------------------------------------------------------------------------
# markers

#: The start of every marker string (plain ASCII, random per process).
MARK: Final = f"dnode.raw.{secrets.token_hex(16)}:"
_MARK_JSON: Final = '"' + MARK
_MARKER: Final = re.compile(re.escape(_MARK_JSON) + r'([^"\\]*(?:\\.[^"\\]*)*)"')


def _marker(value: RawJSON) -> str:
    """The string the JSON backends write in place of ``value`` (see the module comment)."""
    return MARK + value.wire


_json.RAW_TYPES[RawJSON] = _marker


def _unmark(m: re.Match[str]) -> str:
    # The marker's content went through the backend's string escaping and Go's spelling pass,
    # neither of which changes what the string decodes to.
    text: str = _json.loads('"' + m.group(1) + '"')
    return text


def put_raw(text: str) -> str:
    """Replace each marker string in an encoded text by the raw JSON it carries."""
    if _MARK_JSON in text:
        return _MARKER.sub(_unmark, text)
    return text


# ---------------------------------------------------------------------------------------------
# locating a value inside a JSON text

_WS: Final = " \t\n\r"
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_SCALAR: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")
_NESTING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class _NotFoundError(Exception):
    """Internal: the path leads nowhere in the text."""


def _skip(text: str, i: int) -> int:
    while text[i] in _WS:
        i += 1
    return i


def _value_end(text: str, i: int) -> int:
    """The end of the JSON value starting at ``text[i]``."""
    c = text[i]
    if c == '"':
        m = _STRING.match(text, i)
    elif c == "[" or c == "{":
        try:
            return int(_json.scan_once(text, i)[1])  # in C; builds the value, though
        except RecursionError:
            return _nested_end(text, i)
    else:
        m = _SCALAR.match(text, i)
    if m is None:
        raise _NotFoundError
    return m.end()


def _nested_end(text: str, i: int) -> int:
    """The end of the array or object at ``text[i]``, at any depth (no recursion)."""
    depth = 0
    for m in _NESTING.finditer(text, i):
        c = text[m.start()]
        if c == "[" or c == "{":
            depth += 1
        elif c == "]" or c == "}":
            depth -= 1
            if depth == 0:
                return m.end()
    raise _NotFoundError


def _element(text: str, i: int, index: int) -> int:
    """Where element ``index`` of the array at ``text[i]`` starts."""
    if text[i] != "[" or index < 0:
        raise _NotFoundError
    i = _skip(text, i + 1)
    if text[i] == "]":
        raise _NotFoundError
    for _ in range(index):
        i = _skip(text, _value_end(text, i))
        if text[i] != ",":
            raise _NotFoundError
        i = _skip(text, i + 1)
    return i


def _member(text: str, i: int, key: str) -> int:
    """Where the value of the last member named ``key`` of the object at ``text[i]`` starts."""
    if text[i] != "{":
        raise _NotFoundError
    fold = type(key) is GoField
    want = key.lower() if fold else key
    found = -1
    i = _skip(text, i + 1)
    if text[i] == "}":
        raise _NotFoundError
    while True:
        m = _STRING.match(text, i)
        if m is None:
            raise _NotFoundError
        name = m.group()
        name = _json.loads(name) if "\\" in name else name[1:-1]
        i = _skip(text, m.end())
        if text[i] != ":":
            raise _NotFoundError
        i = _skip(text, i + 1)
        if (go_fold(name) if fold else name) == want:
            found = i
        i = _skip(text, _value_end(text, i))
        if text[i] == "}":
            break
        if text[i] != ",":
            raise _NotFoundError
        i = _skip(text, i + 1)
    if found < 0:
        raise _NotFoundError
    return found


_LOCATE_ERRORS: Final[tuple[type[BaseException], ...]] = (
    _NotFoundError,
    IndexError,
    *_json.DECODE_ERRORS,
)


def locate(text: str, path: tuple[int | str, ...]) -> str | None:
    """The text of the value at ``path`` inside the JSON ``text``, or None if there is none.

    Steps: an ``int`` indexes an array, a ``str`` is an object key (the last one equal to it,
    as a decoded dict keeps), a :class:`GoField` is a Go struct field (the last key equal to it
    ignoring case). The text is returned exactly as it stands, whitespace inside included.
    """
    try:
        start = _skip(text, 0)
        for step in path:
            if type(step) is int:
                start = _element(text, start, step)
            else:
                start = _member(text, start, step)  # type: ignore[arg-type]
        end = _value_end(text, start)
    except _LOCATE_ERRORS:
        return None
    return text[start:end]
