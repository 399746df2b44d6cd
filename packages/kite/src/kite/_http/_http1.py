"""HTTP/1.1 message syntax, sans-IO: request and response heads parsed, bodies framed, heads
written. What the server's keep-alive hot path runs instead of h11's general state machine.

How this works:
* `parse_request_head(buf, limit)` looks for the blank line ending a head in the bytes
  received so far; None means "need more". A complete head is checked in a few C-level
  regex calls (the request line; all header lines at once), then split: the `RequestHead`
  carries the raw header pairs (original case, value without surrounding whitespace) and
  the framing the headers declare (RFC 9112 §6: `Transfer-Encoding: chunked`, else
  `Content-Length`, else no body), keep-alive and `Expect: 100-continue`. Anything malformed
  raises `MessageError` with the status the server answers: 400, 431 (head over `limit`),
  501 (a transfer coding other than chunked), 505 (a version other than 1.0/1.1). The rules
  are h11's (strict RFC 9112 grammar, bare-LF line ends accepted, obs-fold and a space
  before the colon refused, equal duplicate `Content-Length`s merged).
* `parse_response_head` does the same for a client reading a response.
* `BodyReader` takes the body out of the receive buffer as it arrives: a count of bytes
  (`Content-Length`), chunks (`chunked`, trailers skipped) or everything until the peer
  closes. `feed(buf)` removes what it consumed from the buffer, so whatever follows (a
  pipelined request) stays there.
* `response_head` / `request_head` write a head; header lines are validated once and cached
  by `(name, value)` (a server's heads repeat the same few lines), the status line by status.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus

__all__ = [
    "BodyReader",
    "MessageError",
    "RequestHead",
    "ResponseHead",
    "parse_request_head",
    "parse_response_head",
    "request_head",
    "response_head",
]

RawHeaders = list[tuple[bytes, bytes]]

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
_FIELD_VALUE = rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?"
# The value's trailing whitespace is inside the optional group: with an empty value only the
# first `[ \t]*` can take spaces, so a long run of them cannot make the match quadratic.
_HEADER_LINE = rb"(?:" + _TOKEN + rb":[ \t]*(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*[ \t]*)?\r?\n)"
_HEADER_BLOCK = re.compile(_HEADER_LINE + rb"*")
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/([0-9]\.[0-9])\r?")
_STATUS_LINE = re.compile(rb"HTTP/([0-9]\.[0-9]) ([0-9]{3})(?: ([ \t\x21-\x7e\x80-\xff]*))?\r?")
_HEAD_END = re.compile(rb"\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"[0-9]+")
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,20})(?:;[^\r\n]*)?[ \t]*\r\n")
_VALID_NAME = re.compile(_TOKEN)
_VALID_VALUE = re.compile(_FIELD_VALUE)
_VALID_TARGET = re.compile(rb"[\x21-\x7e]+")
_SIZE_LINE = -1  # `BodyReader._chunk_left`: a chunk-size line is next
_CHUNK_END = -2  # the CRLF after a chunk's data is next
#: Longest chunk-size line (with extensions) and trailer section a `BodyReader` holds.
_CHUNK_LINE_LIMIT = 4096

REASONS: dict[int, bytes] = {s.value: s.phrase.encode() for s in HTTPStatus}


class MessageError(Exception):
    """A malformed HTTP message; `status` is the answer a server gives (400, 431, ...)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class RequestHead:
    """A parsed request head.

    Attributes:
        method, target, version: from the request line (`version` is `b"1.1"` or `b"1.0"`).
        headers: `(name, value)` pairs as sent (name case kept; value stripped).
        length: the body's `Content-Length` (0 without one); ignored when `chunked`.
        chunked: the body is chunked.
        keep_alive: the client allows reuse (HTTP/1.1 without `Connection: close`).
        expect_continue: the client waits for `100 Continue` before sending the body.
    """

    __slots__ = (
        "chunked",
        "expect_continue",
        "headers",
        "keep_alive",
        "length",
        "method",
        "target",
        "version",
    )

    def __init__(
        self,
        method: bytes,
        target: bytes,
        version: bytes,
        headers: RawHeaders,
        length: int,
        chunked: bool,
        keep_alive: bool,
        expect_continue: bool,
    ) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.length = length
        self.chunked = chunked
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue


class ResponseHead:
    """A parsed response head: `status`, `reason`, `version`, `headers` (as sent), and the
    framing (`length`: Content-Length or None; `chunked`; `keep_alive`)."""

    __slots__ = ("chunked", "headers", "keep_alive", "length", "reason", "status", "version")

    def __init__(
        self,
        status: int,
        reason: bytes,
        version: bytes,
        headers: RawHeaders,
        length: int | None,
        chunked: bool,
        keep_alive: bool,
    ) -> None:
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers
        self.length = length
        self.chunked = chunked
        self.keep_alive = keep_alive


class _Framing:
    __slots__ = ("chunked", "close", "expect_continue", "host_count", "length")

    def __init__(self) -> None:
        self.length: int | None = None
        self.chunked = False
        self.close = False
        self.expect_continue = False
        self.host_count = 0


def _split_head(buf: bytes | bytearray, limit: int) -> tuple[bytes, int] | None:
    """The head (without its final blank line) and the index just past it, or None."""
    match = _HEAD_END.search(buf)
    if match is None:
        if len(buf) > limit:
            raise MessageError("request head too large", 431)
        if buf and buf[0] < 0x21:
            raise MessageError("malformed start line")  # refused before it is complete
        return None
    end = match.end()
    if end > limit:
        raise MessageError("request head too large", 431)
    return bytes(buf[: match.start() + 1]), end


def _headers(block: bytes, framing: _Framing) -> RawHeaders:
    """Validate and split the header lines (`block`: each line ends in a newline)."""
    if _HEADER_BLOCK.fullmatch(block) is None:
        raise MessageError("malformed header line")
    headers: RawHeaders = []
    seen_length: bytes | None = None
    for line in block.split(b"\n")[:-1]:
        name, _, value = line.partition(b":")
        value = value.strip(b" \t\r")
        lname = name.lower()
        if lname == b"content-length":
            lengths = {v.strip(b" \t") for v in value.split(b",")}
            if len(lengths) != 1:
                raise MessageError("conflicting Content-Length values")
            value = lengths.pop()
            if _CONTENT_LENGTH.fullmatch(value) is None:
                raise MessageError("bad Content-Length")
            if seen_length is not None:
                if seen_length != value:
                    raise MessageError("conflicting Content-Length headers")
                continue  # an equal duplicate: kept once
            seen_length = value
            framing.length = int(value)
        elif lname == b"transfer-encoding":
            if framing.chunked or value.lower() != b"chunked":
                raise MessageError("only Transfer-Encoding: chunked is supported", 501)
            framing.chunked = True
        elif lname == b"connection":
            if b"close" in (t.strip(b" \t").lower() for t in value.split(b",")):
                framing.close = True
        elif lname == b"expect":
            framing.expect_continue = value.lower() == b"100-continue"
        elif lname == b"host":
            framing.host_count += 1
        headers.append((name, value))
    return headers


def parse_request_head(buf: bytes | bytearray, limit: int) -> tuple[RequestHead, int] | None:
    """The request head at the start of `buf` and its length in bytes, or None when the
    head is not complete yet.

    Raises:
        MessageError: malformed (400), larger than `limit` (431), a transfer coding we do
            not support (501), or an HTTP version other than 1.0/1.1 (505).
    """
    split = _split_head(buf, limit)
    if split is None:
        return None
    head, end = split
    line_end = head.find(b"\n")
    match = _REQUEST_LINE.fullmatch(head, 0, line_end)
    if match is None:
        raise MessageError("malformed request line")
    method, target, version = match.groups()
    framing = _Framing()
    headers = _headers(head[line_end + 1 :], framing)
    if version != b"1.1":
        if version != b"1.0":
            raise MessageError("unsupported HTTP version", 505)
        framing.close = True
        framing.expect_continue = False
    elif framing.host_count == 0:
        raise MessageError("missing Host header")
    if framing.host_count > 1:
        raise MessageError("more than one Host header")
    chunked = framing.chunked
    if chunked and framing.length is not None:
        framing.close = True  # RFC 9112 §6.1: chunked wins, and the connection is not reused
    request = RequestHead(
        method,
        target,
        version,
        headers,
        framing.length or 0,
        chunked,
        not framing.close,
        framing.expect_continue,
    )
    return request, end


def parse_response_head(
    buf: bytes | bytearray, limit: int, *, method: bytes = b"GET"
) -> tuple[ResponseHead, int] | None:
    """The response head at the start of `buf` and its length, or None if incomplete.
    `method` is the request's (a HEAD answer has no body).

    Raises:
        MessageError: malformed or larger than `limit`.
    """
    split = _split_head(buf, limit)
    if split is None:
        return None
    head, end = split
    line_end = head.find(b"\n")
    match = _STATUS_LINE.fullmatch(head, 0, line_end)
    if match is None:
        raise MessageError("malformed status line")
    version, status_text, reason = match.groups()
    framing = _Framing()
    headers = _headers(head[line_end + 1 :], framing)
    status = int(status_text)
    length = framing.length
    chunked = framing.chunked
    if method == b"HEAD" or status in (204, 304) or 100 <= status < 200:
        length, chunked = 0, False
    keep_alive = not framing.close and version == b"1.1"
    if not chunked and length is None:
        keep_alive = False  # the body runs until the server closes
    response = ResponseHead(
        status, (reason or b"").rstrip(b"\r"), version, headers, length, chunked, keep_alive
    )
    return response, end


class BodyReader:
    """Takes one message body out of a receive buffer as it arrives.

    `length`: the body's size, or None for a body that ends when the peer closes; `chunked`
    overrides `length`. `feed(buf)` removes the body bytes it can from `buf` (a `bytearray`)
    and returns them; `done` is set once the body is complete. `eof()` tells the end of the
    stream: fine for a close-delimited body, else `MessageError`.
    """

    __slots__ = ("_chunk_left", "_in_trailers", "_left", "chunked", "done")

    def __init__(self, length: int | None, chunked: bool = False) -> None:
        self.chunked = chunked
        self._left = length  # bytes left of a Content-Length body; None: until close
        self._chunk_left = _SIZE_LINE  # bytes left of the current chunk, or a state
        self._in_trailers = False
        self.done = not chunked and length == 0

    def feed(self, buf: bytearray) -> bytes:
        """The body bytes now in `buf` (removed from it); b"" if none arrived yet."""
        if self.done:
            return b""
        if self.chunked:
            return self._feed_chunked(buf)
        left = self._left
        if left is None:
            data = bytes(buf)
            buf.clear()
            return data
        data = bytes(buf[:left])
        del buf[:left]
        left -= len(data)
        self._left = left
        self.done = left == 0
        return data

    def eof(self) -> None:
        """The stream ended; raises `MessageError` unless the body was complete or runs to
        the close."""
        if self.done:
            return
        if self._left is None and not self.chunked:
            self.done = True
            return
        raise MessageError("connection closed in the middle of a body")

    def _feed_chunked(self, buf: bytearray) -> bytes:
        parts: list[bytes] = []
        while buf and not self.done:
            left = self._chunk_left
            if self._in_trailers:
                if not self._skip_trailers(buf):
                    break
            elif left == _SIZE_LINE:
                match = _CHUNK_LINE.match(buf)
                if match is None:
                    if len(buf) > _CHUNK_LINE_LIMIT or buf.find(b"\n") >= 0:
                        raise MessageError("malformed chunk size line")
                    break
                size = int(match.group(1), 16)
                del buf[: match.end()]
                self._chunk_left = size if size else _SIZE_LINE
                self._in_trailers = size == 0
            elif left == _CHUNK_END:
                if len(buf) < 2:
                    if buf != b"\r":
                        raise MessageError("malformed chunk end")
                    break
                if buf[:2] != b"\r\n":
                    raise MessageError("malformed chunk end")
                del buf[:2]
                self._chunk_left = _SIZE_LINE
            else:
                take = bytes(buf[:left])
                del buf[:left]
                parts.append(take)
                left -= len(take)
                self._chunk_left = left if left else _CHUNK_END
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _skip_trailers(self, buf: bytearray) -> bool:
        """Drop trailer lines until the blank line ending the body; False if incomplete."""
        while True:
            newline = buf.find(b"\n")
            if newline < 0:
                if len(buf) > _CHUNK_LINE_LIMIT:
                    raise MessageError("trailer line too long")
                return False
            line = bytes(buf[:newline]).rstrip(b"\r")
            del buf[: newline + 1]
            if not line:
                self.done = True
                return True
            if _HEADER_BLOCK.fullmatch(line + b"\n") is None:
                raise MessageError("malformed trailer line")


_line_cache: dict[tuple[str, str], bytes] = {}
_LINE_CACHE_SIZE = 4096
_status_lines: dict[int, bytes] = {}


def header_line(name: str, value: str) -> bytes:
    """`name: value\\r\\n` as bytes; ValueError if either is not valid HTTP."""
    key = (name, value)
    line = _line_cache.get(key)
    if line is not None:
        return line
    try:
        raw_name = name.encode("latin-1")
        raw_value = value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"header {name!r} is not latin-1") from None
    if _VALID_NAME.fullmatch(raw_name) is None:
        raise ValueError(f"illegal header name {raw_name!r}")
    if _VALID_VALUE.fullmatch(raw_value) is None:
        raise ValueError(f"illegal header value {raw_value!r}")
    line = b"%s: %s\r\n" % (raw_name, raw_value)
    if len(_line_cache) >= _LINE_CACHE_SIZE:
        _line_cache.clear()
    _line_cache[key] = line
    return line


def raw_header_line(name: bytes, value: bytes) -> bytes:
    """`name: value\\r\\n` of a pair already in bytes; ValueError if not valid HTTP."""
    if _VALID_NAME.fullmatch(name) is None:
        raise ValueError(f"illegal header name {name!r}")
    if _VALID_VALUE.fullmatch(value) is None:
        raise ValueError(f"illegal header value {value!r}")
    return b"%s: %s\r\n" % (name, value)


def status_line(status: int, reason: bytes | None = None) -> bytes:
    """`HTTP/1.1 <status> <reason>\\r\\n` (the standard reason unless one is given)."""
    if reason is None:
        line = _status_lines.get(status)
        if line is None:
            if not 100 <= status <= 999:
                raise ValueError(f"illegal status code {status}")
            line = _status_lines[status] = b"HTTP/1.1 %d %s\r\n" % (
                status,
                REASONS.get(status, b""),
            )
        return line
    if not 100 <= status <= 999:
        raise ValueError(f"illegal status code {status}")
    return b"HTTP/1.1 %d %s\r\n" % (status, reason)


def response_head(status: int, lines: Iterable[bytes], reason: bytes | None = None) -> bytes:
    """A response head from its status and header lines (`header_line`'s)."""
    return status_line(status, reason) + b"".join(lines) + b"\r\n"


def request_head(method: str, target: str, lines: Iterable[bytes]) -> bytes:
    """A request head from its method, target and header lines; ValueError if invalid."""
    raw_method = method.encode("ascii")
    raw_target = target.encode("ascii")
    if _VALID_NAME.fullmatch(raw_method) is None:
        raise ValueError(f"illegal method {method!r}")
    if _VALID_TARGET.fullmatch(raw_target) is None:
        raise ValueError(f"illegal request target {target!r}")
    return b"%s %s HTTP/1.1\r\n%s\r\n" % (raw_method, raw_target, b"".join(lines))


def lower_names(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    """The lower-cased names of `headers`."""
    return {k.lower() for k, _ in headers}
