"""SockJS frame codec: server frames spelled exactly as sockjs-go writes them, and their parser.

How this works
--------------
A SockJS server speaks in four frame types (docs/protocol.md §2.4)::

    o                      open, once per session
    h                      heartbeat
    a["m1","m2"]           messages: a JSON array of strings, no spaces
    c[3000,"Go away!"]     close: code and reason

Go kite's server (sockjs-go ``c8a8c64``) quotes each string with Go's ``json.Marshal``, which
differs from Python's ``json.dumps``: it escapes ``<``, ``>``, ``&`` as ``\\u003c``, ``\\u003e``,
``\\u0026`` and U+2028/U+2029 as ``\\u2028``/``\\u2029``; it writes backspace and form feed as
``\\u0008``/``\\u000c`` (Go 1.19; not ``\\b``/``\\f``); it leaves DEL, ``/`` and all other
non-ASCII text raw; control characters use lower-case hex. :func:`quote` reproduces that
byte for byte. It is the hot path of every outgoing message, so the common case (no character
needing Go's special spelling) goes through CPython's C string encoder, and only strings that
contain one of the special characters take the slower per-character route. When ``orjson``
is installed it replaces the C encoder on the fast path (same output, about 3x faster); it
and the stdlib are both checked against a transcription of Go's encoder in the tests.

Lone surrogates (a Python ``str`` can hold them, a Go string cannot): Go replaces each byte
of invalid UTF-8 with the escape ``\\ufffd``; we write one ``\\ufffd`` per lone surrogate, so
every frame we produce encodes to valid UTF-8 and decodes back to U+FFFD where a surrogate was.

The other direction (a client reading server frames) is :func:`decode_frame`, which turns one
frame string into an :class:`OpenFrame`, :class:`HeartbeatFrame`, :class:`MessagesFrame` or
:class:`CloseFrame`. It also accepts Go's non-standard ``m"<one message>"`` frame (as a
:class:`MessagesFrame` with one message). Like Go's client it looks only at the first
character of ``o`` and ``h`` frames, so the xhr-streaming prelude (2048 ``h`` bytes) reads as a
heartbeat. Anything else is a :class:`~sockjs.RemoteProtocolError`. A lone surrogate escape
in a frame (``"\\ud800"``) decodes to U+FFFD, as in Go.
:class:`FrameStreamDecoder` splits a newline-delimited byte stream (an XHR poll body, an
xhr-streaming response) into frames; how the bytes are chunked never changes the result.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

try:  # pragma: no cover - depends on the environment
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None  # type: ignore[assignment]

from ._errors import LocalProtocolError, MessageTooLargeError, RemoteProtocolError

__all__ = [
    "BACKENDS",
    "CLOSE_ANOTHER_CONNECTION",
    "CLOSE_GO_AWAY",
    "HEARTBEAT_FRAME",
    "OPEN_FRAME",
    "CloseFrame",
    "Frame",
    "FrameStreamDecoder",
    "HeartbeatFrame",
    "MessagesFrame",
    "OpenFrame",
    "decode_frame",
    "encode_close",
    "encode_heartbeat",
    "encode_messages",
    "encode_open",
    "escape_unicode",
    "quote",
]

OPEN_FRAME: Final = "o"
HEARTBEAT_FRAME: Final = "h"

#: JSON backends for the fast path, best first. Both agree with Go on every string that
#: reaches them (see :func:`quote`); orjson is about three times faster on 1 KB messages.
BACKENDS: Final[tuple[str, ...]] = ("orjson", "json") if _orjson is not None else ("json",)


def _orjson_quote(text: str) -> str:
    return _orjson.dumps(text).decode()


def _orjson_loads(text: str) -> Any:
    try:
        return _orjson.loads(text)
    except _orjson.JSONDecodeError:
        # orjson refuses lone surrogate escapes, which Go accepts: ask the stdlib
        return json.loads(text)


def _stdlib_quote_ascii(text: str) -> str:
    # For ASCII text the ensure_ascii=True encoder writes the same bytes as the other one,
    # about a third faster, except for DEL, which it escapes and Go leaves raw.
    if "\x7f" in text:
        return json.encoder.encode_basestring(text)
    return json.encoder.encode_basestring_ascii(text)


# CPython's C string encoder (``json.dumps(s, ensure_ascii=False)`` without the overhead), and
# the one for ASCII text.
_c_quote: Callable[[str], str] = json.encoder.encode_basestring
_c_quote_ascii: Callable[[str], str] = _stdlib_quote_ascii
_loads: Callable[[str], Any] = json.loads


def _set_backend(name: str) -> None:
    """Pick the JSON backend of the fast paths (``"orjson"`` or ``"json"``); for tests."""
    global _c_quote, _c_quote_ascii, _loads
    if name not in BACKENDS:
        raise ValueError(f"JSON backend {name!r} not available; have {BACKENDS}")
    if name == "orjson":
        _c_quote, _c_quote_ascii, _loads = _orjson_quote, _orjson_quote, _orjson_loads
    else:
        _c_quote, _c_quote_ascii, _loads = (
            json.encoder.encode_basestring,
            _stdlib_quote_ascii,
            json.loads,
        )


_set_backend(BACKENDS[0])

# Go's spelling for every character it escapes.
_GO_ESCAPES: dict[str, str] = {chr(i): f"\\u{i:04x}" for i in range(0x20)}
_GO_ESCAPES.update(
    {
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        '"': '\\"',
        "\\": "\\\\",
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)
_GO_ESCAPE_RE = re.compile('[\\x00-\\x1f"\\\\<>&\u2028\u2029\\ud800-\\udfff]')
_HTML_FIXUPS: Final = tuple((c, _GO_ESCAPES[c]) for c in "<>&\u2028\u2029")


def _go_escape(match: re.Match[str]) -> str:
    char = match.group()
    return _GO_ESCAPES.get(char, "\\ufffd")  # the only misses are lone surrogates


def _slow_quote(text: str) -> str:
    return '"' + _GO_ESCAPE_RE.sub(_go_escape, text) + '"'


def quote(text: str) -> str:
    """Quote ``text`` as a JSON string exactly as Go 1.19's ``json.Marshal(string)`` does.

    Args:
        text: any string; lone surrogates become ``\\ufffd``.

    Returns:
        The quoted string, including the surrounding double quotes.
    """
    # Fast path: CPython's C encoder agrees with Go except for \b, \f (rare: take the
    # per-character route), surrogates (idem) and the HTML characters (fixed afterwards
    # with str.replace, safe because they never occur inside an escape sequence).
    if "\x08" in text or "\x0c" in text:
        return _slow_quote(text)
    if text.isascii():  # O(1) in CPython: the flag is stored on the string
        out = _c_quote_ascii(text)
        if "<" in text or ">" in text or "&" in text:
            out = out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return out
    try:
        text.encode()
    except UnicodeEncodeError:  # lone surrogates
        return _slow_quote(text)
    out = _c_quote(text)
    for char, escape in _HTML_FIXUPS:
        if char in text:
            out = out.replace(char, escape)
    return out


# The characters the SockJS protocol asks a server to escape (sockjs-protocol's
# ``escapable_by_server`` above U+001F; sockjs-node escapes them, Go does not). quote() leaves
# every one of them raw except U+2028/U+2029, so escaping its output is safe: none of them
# occurs inside an escape sequence.
_SOCKJS_ESCAPE_RE = re.compile("[\u200c-\u200f\u202a-\u202f\u2060-\u206f\ufff0-\uffff]")


def _sockjs_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape_unicode(quoted: str) -> str:
    """Escape the characters the SockJS protocol wants servers to escape in a quoted string.

    U+200C-U+200F, U+202A-U+202F, U+2060-U+206F and U+FFF0-U+FFFF become lower-case
    ``\\uXXXX`` (sockjs-node's spelling; browsers mangle some of them on the XHR
    transports). Go writes them raw; any JSON decoder reads both spellings alike. ASCII
    strings are returned unchanged at once.

    Args:
        quoted: a string as :func:`quote` (or :func:`encode_messages`) returns it.
    """
    if quoted.isascii():
        return quoted
    return _SOCKJS_ESCAPE_RE.sub(_sockjs_escape, quoted)


def encode_open() -> str:
    """The open frame ``o``, sent once when a session starts."""
    return OPEN_FRAME


def encode_heartbeat() -> str:
    """The heartbeat frame ``h``."""
    return HEARTBEAT_FRAME


def encode_messages(messages: Sequence[str], *, escape: bool = False) -> str:
    """The frame ``a[...]`` carrying ``messages`` in order, spelled as sockjs-go spells it.

    Args:
        messages: one or more application messages (sockjs-go never sends ``a[]``; an empty
            sequence still encodes, as ``a[]``).
        escape: also apply :func:`escape_unicode` (``Options.escape_unicode``).
    """
    if len(messages) == 1:
        frame = "a[" + quote(messages[0]) + "]"
    else:
        frame = "a[" + ",".join([quote(m) for m in messages]) + "]"
    return escape_unicode(frame) if escape else frame


def encode_close(code: int, reason: str) -> str:
    """The close frame ``c[code,"reason"]`` (e.g. ``c[3000,"Go away!"]``).

    Args:
        code: the close code; Go sends it as an unsigned 32-bit integer.
        reason: human-readable reason, quoted like any message.
    """
    if not 0 <= code <= 0xFFFFFFFF:
        raise ValueError(f"close code {code} out of the uint32 range sockjs-go uses")
    return f"c[{code},{quote(reason)}]"


CLOSE_GO_AWAY: Final = encode_close(3000, "Go away!")
CLOSE_ANOTHER_CONNECTION: Final = encode_close(2010, "Another connection still open")


@dataclass(frozen=True, slots=True)
class OpenFrame:
    """``o``: the server opened the session."""


@dataclass(frozen=True, slots=True)
class HeartbeatFrame:
    """``h``: the server is alive; nothing to deliver."""


@dataclass(frozen=True, slots=True)
class MessagesFrame:
    """``a[...]`` (or Go's ``m"..."``): messages to deliver, in order."""

    messages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CloseFrame:
    """``c[code,"reason"]``: the server closed the session."""

    code: int
    reason: str


Frame = OpenFrame | HeartbeatFrame | MessagesFrame | CloseFrame

_OPEN = OpenFrame()
_HEARTBEAT = HeartbeatFrame()


_SURROGATE_RE = re.compile("[\\ud800-\\udfff]")


def _go_strings(frame: str, values: list[str]) -> list[str]:
    """Go decodes a lone surrogate escape (``"\\ud800"``) as U+FFFD; Python keeps it."""
    if "\\ud" in frame or "\\uD" in frame:
        return [_SURROGATE_RE.sub("\ufffd", v) for v in values]
    return values


def _bad(frame: str, why: str) -> RemoteProtocolError:
    shown = frame if len(frame) <= 60 else frame[:57] + "..."
    return RemoteProtocolError(f"{why}: {shown!r}")


def _body(frame: str, kind: str) -> Any:
    """The JSON after a frame's type letter."""
    try:
        return _loads(frame[1:])
    except ValueError:
        raise _bad(frame, f"broken JSON in {kind}") from None


def _array_messages(frame: str) -> list[str]:
    """The messages of an ``a[...]`` frame (``frame`` starts with ``a``)."""
    value = _body(frame, "a messages frame")
    if type(value) is not list:
        raise _bad(frame, "a frame is not a JSON array of strings")
    for m in value:
        if type(m) is not str:
            raise _bad(frame, "a frame is not a JSON array of strings")
    return _go_strings(frame, value)


def decode_frame(frame: str) -> Frame:
    """Parse one server frame (without transport wrapping or its trailing newline).

    Raises:
        RemoteProtocolError: empty frame (Go: ``unexpected empty message``), unknown frame
            type (Go: ``invalid frame type``), or a body that is not the JSON the type needs.
    """
    if not frame:
        raise RemoteProtocolError("unexpected empty message")
    kind = frame[0]
    if kind == "a":
        return MessagesFrame(tuple(_array_messages(frame)))
    if kind == "h":
        return _HEARTBEAT
    if kind == "o":
        return _OPEN
    if kind == "c":
        value = _body(frame, "a close frame")
        if (
            type(value) is not list
            or len(value) != 2
            or type(value[0]) is not int
            or type(value[1]) is not str
        ):
            raise _bad(frame, "close frame is not [code,reason]")
        return CloseFrame(value[0], _go_strings(frame, [value[1]])[0])
    if kind == "m":
        value = _body(frame, "an m frame")
        if type(value) is not str:
            raise _bad(frame, "m frame is not a JSON string")
        return MessagesFrame(tuple(_go_strings(frame, [value])))
    raise _bad(frame, "invalid frame type")


class FrameStreamDecoder:
    """Split a newline-delimited stream of frames (XHR poll/streaming bodies) into frames.

    Feed bytes with :meth:`receive_data` as they arrive, in chunks of any size; pull parsed
    frames with :meth:`next_event` until it returns ``None``. Invalid UTF-8 becomes U+FFFD
    (as Go's JSON decoder does). A frame that fails to parse raises
    :class:`~sockjs.RemoteProtocolError` from :meth:`next_event`; the frames after it can still
    be read.
    """

    __slots__ = ("_buffer", "_eof", "_lines", "max_frame_size")

    def __init__(self, *, max_frame_size: int | None = None) -> None:
        """Create a decoder.

        Args:
            max_frame_size: largest frame accepted in bytes (``None``: no limit). A longer
                line raises :class:`~sockjs.MessageTooLargeError`.
        """
        self._buffer = bytearray()
        self._lines: deque[bytes] = deque()
        self._eof = False
        self.max_frame_size = max_frame_size

    def receive_data(self, data: bytes) -> None:
        """Feed the next bytes of the stream; ``b""`` means the stream ended."""
        if not data:
            self._eof = True
            return
        if self._eof:
            raise LocalProtocolError("receive_data after end of stream")
        buffer = self._buffer
        start = len(buffer)
        buffer += data
        cut = buffer.rfind(b"\n", start)
        if cut < 0:
            self._check_size(len(buffer))
            return
        lines = bytes(buffer[:cut]).split(b"\n")
        del buffer[: cut + 1]
        self._lines.extend(lines)
        self._check_size(len(buffer))

    def _check_size(self, pending: int) -> None:
        limit = self.max_frame_size
        if limit is not None and pending > limit:
            raise MessageTooLargeError(
                f"frame longer than {limit} bytes", limit=limit, size=pending
            )

    def next_event(self) -> Frame | None:
        """The next complete frame, or ``None`` when more data is needed.

        At end of stream an unterminated last frame is parsed as if it ended with ``\\n``.
        """
        if self._lines:
            line = self._lines.popleft()
        elif self._eof and self._buffer:
            line = bytes(self._buffer)
            self._buffer.clear()
        else:
            return None
        limit = self.max_frame_size
        if limit is not None and len(line) > limit:
            raise MessageTooLargeError(
                f"frame longer than {limit} bytes", limit=limit, size=len(line)
            )
        return decode_frame(line.decode("utf-8", "replace"))

    @property
    def at_eof(self) -> bool:
        """True when the stream ended and every frame was read."""
        return self._eof and not self._lines and not self._buffer
