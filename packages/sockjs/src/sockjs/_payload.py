"""Client → server payloads: a JSON array of strings, one string per application message.

How this works: SockJS has no framing from client to server. An ``xhr_send`` body, a WebSocket
message and a ``jsonp_send`` body (raw, or URL-encoded in form field ``d``) all carry the same
thing, ``["m1","m2",...]``. `decode_payload` turns it into ``list[str]`` or raises the
protocol's answer as a typed error:

* nothing (or only whitespace) → `RemoteProtocolError` 500 ``Payload expected.``;
* not JSON, not an array, or an array holding a non-string → 500 ``Broken JSON encoding.``;
* more than the configured number of bytes → `MessageTooLargeError` (checked first, before any
  parsing, so a huge body costs nothing);
* JSON ``null`` → no messages (Go's decoder turns ``null`` into an empty slice: sockjs-go ignores
  a ``null`` WebSocket message and answers ``null`` to ``xhr_send`` with 204).

Text is decoded like Go's ``encoding/json`` decodes it: invalid UTF-8 and escaped lone surrogates
(``"\\ud800"``) become U+FFFD, so every message is valid Unicode that can be re-encoded.

When ``orjson`` is installed it parses first (about five times faster on a message full of
``\\"`` escapes, the usual kite payload). It accepts exactly the well-formed payloads without
lone surrogates; whatever it refuses, or anything but a list of strings, takes the stdlib path
below, which alone decides the answer, so both give the same result for every input.

Deliberate differences from sockjs-go (see the package README): a wrongly shaped payload
(``{"a":1}``, ``[1]``) is refused over HTTP (Go answers 204 and drops it); anything after the
first JSON value is an error (Go ignores it); an empty WebSocket message is ignored as the
SockJS protocol asks (sockjs-go kills the session); other bad WebSocket messages raise
`RemoteProtocolError` without an HTTP status: the runtime ends the session (sockjs-go writes an
empty text frame and drops the TCP connection, sockjs-node closes with 3000 ``Broken framing.``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from json.scanner import make_scanner
from typing import Any
from urllib.parse import parse_qsl

try:  # pragma: no cover - depends on the environment
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None  # type: ignore[assignment]

from ._errors import MessageTooLargeError, RemoteProtocolError
from ._frames import quote

__all__ = [
    "BROKEN_JSON",
    "PAYLOAD_EXPECTED",
    "decode_jsonp_send",
    "decode_payload",
    "decode_websocket_message",
    "encode_payload",
]

#: The protocol's two answers to a bad payload (HTTP 500 bodies).
PAYLOAD_EXPECTED = "Payload expected."
BROKEN_JSON = "Broken JSON encoding."

# The stdlib decoder's (C) scanner; typeshed types make_scanner's argument oddly.
_scan: Callable[[str, int], tuple[Any, int]] = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_SURROGATE = re.compile("[\\ud800-\\udfff]")
_FORM = "application/x-www-form-urlencoded"
_JSON_SPACE = " \t\r\n"

Data = bytes | bytearray | memoryview | str


def _size(data: Data) -> int:
    if type(data) is bytes:
        return len(data)
    if isinstance(data, str):
        return len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
    return memoryview(data).nbytes


def _go_utf8(data: bytes) -> str:
    """UTF-8 bytes as Go's decoder reads them: each byte of an invalid sequence is one U+FFFD
    (Python's "replace" gives one per maximal invalid sequence: b"\\xe2\\x82" one, Go two)."""
    text = data.decode("utf-8", "surrogateescape")  # one lone surrogate per invalid byte
    if not text.isascii() and _SURROGATE.search(text):
        return _SURROGATE.sub("\ufffd", text)
    return text


def _text(data: Data) -> str:
    if type(data) is bytes:
        return _go_utf8(data)
    if isinstance(data, str):
        # A str can hold lone surrogates that no UTF-8 wire could: treat them as Go treats
        # invalid UTF-8 (one U+FFFD each).
        if not data.isascii() and _SURROGATE.search(data):
            return _SURROGATE.sub("\ufffd", data)
        return data
    # Go's decoder replaces invalid UTF-8 inside strings with U+FFFD; outside strings the
    # replacement character is a syntax error either way.
    return _go_utf8(bytes(data))


def _check_size(data: Data, max_size: int | None) -> None:
    if max_size is not None:
        size = _size(data)
        if size > max_size:
            raise MessageTooLargeError(
                f"client payload of {size} bytes exceeds the limit of {max_size}",
                limit=max_size,
                size=size,
            )


def _fast_messages(data: Data) -> list[str] | None:
    """The messages if orjson parses ``data`` as a list of strings (or ``null``), else None."""
    try:
        value = _orjson_loads(data)
    except _OrjsonDecodeError:
        return None
    if type(value) is list:
        for item in value:
            if type(item) is not str:
                return None
        return value
    return [] if value is None else None


_fast: Callable[[Data], list[str] | None] | None = None
if _orjson is not None:
    _orjson_loads = _orjson.loads
    _OrjsonDecodeError = _orjson.JSONDecodeError
    _fast = _fast_messages


def _broken(reason: str, *, http: bool) -> RemoteProtocolError:
    if http:
        return RemoteProtocolError(reason, status=500, body=BROKEN_JSON)
    return RemoteProtocolError(reason)


def _messages(text: str, *, http: bool) -> list[str]:
    """Parse stripped, non-empty text into a list of strings (the core of every decoder).

    It calls the stdlib's (C) scanner directly: ``json.loads`` would only add a BOM check and
    two whitespace scans that the caller's ``strip`` already did.
    """
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise _broken(f"{BROKEN_JSON} expecting a JSON value", http=http) from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise _broken(f"{BROKEN_JSON} {exc}", http=http) from None
    if end != len(text):
        raise _broken(f"{BROKEN_JSON} extra data at character {end}", http=http)
    if type(value) is list:
        for item in value:
            if type(item) is not str:
                reason = f"{BROKEN_JSON} array element {item!r:.40} is not a string"
                raise _broken(reason, http=http)
        if "\\u" in text and ("\\ud" in text or "\\uD" in text):
            value = [_SURROGATE.sub("\ufffd", m) for m in value]
        return value
    if value is None:
        return []
    reason = f"{BROKEN_JSON} expected an array of strings, got {type(value).__name__}"
    raise _broken(reason, http=http)


def decode_payload(data: Data, *, max_size: int | None = None) -> list[str]:
    """Decode an ``xhr_send`` body (or any HTTP client payload) into its messages.

    Args:
        data: the request body, as received (any content type).
        max_size: the byte limit (``Options.max_payload_size``); ``None`` for no limit.

    Returns:
        The messages in order; ``[]`` for ``[]`` and for ``null``.

    Raises:
        MessageTooLargeError: ``data`` is longer than ``max_size`` bytes.
        RemoteProtocolError: with ``status=500`` and ``body`` the protocol's text
            (`PAYLOAD_EXPECTED` or `BROKEN_JSON`).
    """
    _check_size(data, max_size)
    if _fast is not None and (messages := _fast(data)) is not None:
        return messages
    text = _text(data).strip(_JSON_SPACE)
    if not text:
        raise RemoteProtocolError(PAYLOAD_EXPECTED, status=500, body=PAYLOAD_EXPECTED)
    return _messages(text, http=True)


def decode_websocket_message(data: Data, *, max_size: int | None = None) -> list[str]:
    """Decode one (reassembled) WebSocket message, text or binary, into its messages.

    An empty or blank message and ``null`` yield ``[]`` (ignored, as the protocol asks). Binary
    messages are decoded exactly like text ones, as sockjs-go does.

    Raises:
        MessageTooLargeError: ``data`` is longer than ``max_size`` bytes.
        RemoteProtocolError: without an HTTP status; the session must be ended.
    """
    _check_size(data, max_size)
    if _fast is not None and (messages := _fast(data)) is not None:
        return messages
    text = _text(data).strip(_JSON_SPACE)
    if not text:
        return []
    return _messages(text, http=False)


def decode_jsonp_send(
    body: Data, content_type: str | None, *, max_size: int | None = None
) -> list[str]:
    """Decode a ``jsonp_send`` body: form field ``d`` (URL-encoded form) or the raw body.

    A form without a non-empty ``d`` is "Payload expected." (as in sockjs-go, where parsing the
    form consumes the body, and in sockjs-node).

    Raises:
        MessageTooLargeError: the body is longer than ``max_size`` bytes.
        RemoteProtocolError: ``status=500`` with the protocol's text.
    """
    _check_size(body, max_size)
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != _FORM:
        return decode_payload(body)
    text = _text(body)
    payload = ""
    for name, value in parse_qsl(text, keep_blank_values=True):
        if name == "d":
            payload = value
            break
    return decode_payload(payload)


def encode_payload(messages: Iterable[str]) -> bytes:
    """Encode messages the way Go's client sends them: ``["m1","m2"]`` as UTF-8 bytes.

    Strings are spelled by `sockjs._frames.quote`, Go's JSON quoting (so `<>&` are escaped and
    lone surrogates become U+FFFD, as Go's encoder replaces invalid UTF-8).
    """
    items = list(messages)
    for item in items:
        if type(item) is not str:
            raise TypeError(f"a SockJS message must be a str, not {type(item).__name__}")
    return ("[" + ",".join(map(quote, items)) + "]").encode("utf-8")
