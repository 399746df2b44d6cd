"""JWT segments in base64url as jwt-go writes and reads them (`EncodeSegment`, `DecodeSegment`),
with Go's decoder's error texts."""

from __future__ import annotations

import base64
import re

from ._token_errors import TokenError

__all__ = ["b64url_decode", "b64url_encode"]


_B64URL_OK = re.compile(r"[A-Za-z0-9_-]*")
_DECODE_MAP: dict[int, int] = {
    c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}


def b64url_encode(data: bytes) -> str:
    """jwt-go's `EncodeSegment`: URL alphabet, padding stripped."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(segment: str) -> bytes:
    """jwt-go's `DecodeSegment` (pad to a multiple of four, Go's decoder), canonical only.

    Go's decoder is lenient in ways no Go encoder ever uses: it ignores `\\r`/`\\n` inside
    a segment, accepts explicit `=` padding and non-zero bits in the last character.
    Accepting those would let many strings stand for one signed token, so we refuse them
    (same error text, offset of the offending character); every token Go or we issue
    decodes exactly as in Go.

    Raises:
        TokenError: `illegal base64 data at input byte N` (Go's offset where Go refuses too).
    """
    if len(segment) % 4 != 1 and _B64URL_OK.fullmatch(segment):
        # The common, well-formed case decodes identically with the stdlib.
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        if b64url_encode(data) != segment:
            # Non-zero padding bits: Go accepts them, we refuse (see `b64url_decode` doc).
            raise _corrupt(len(segment) - 1)
        return data
    src = segment.encode("utf-8", "surrogateescape")
    src += b"=" * (-len(src) % 4)
    _go_base64_decode(src)  # raises Go's error for anything Go refuses
    # Go accepted it only thanks to line breaks or explicit padding: refuse, naming the first.
    raise _corrupt(min(i for i, ch in enumerate(segment) if ch in "\r\n="))


def _corrupt(offset: int) -> TokenError:
    return TokenError(f"illegal base64 data at input byte {offset}")


def _go_base64_decode(src: bytes) -> bytes:
    """Go's `base64.URLEncoding.DecodeString`, quantum by quantum, for the error offsets."""
    out = bytearray()
    n = len(src)
    si = 0
    while True:
        quantum = [0, 0, 0, 0]
        j = 0
        length = 4
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                raise _corrupt(si - j)
            c = src[si]
            si += 1
            value = _DECODE_MAP.get(c)
            if value is not None:
                quantum[j] = value
                j += 1
                continue
            if c in (0x0A, 0x0D):
                continue
            if c != 0x3D or j < 2:  # not '=' or padding too early
                raise _corrupt(si - 1)
            if j == 2:  # "==" expected; the first '=' is consumed
                while si < n and src[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    raise _corrupt(n)
                if src[si] != 0x3D:
                    raise _corrupt(si - 1)
                si += 1
            while si < n and src[si] in (0x0A, 0x0D):
                si += 1
            if si < n:
                raise _corrupt(si)
            length = j
            break
        word = quantum[0] << 18 | quantum[1] << 12 | quantum[2] << 6 | quantum[3]
        out.extend(word.to_bytes(3, "big")[: length - 1])
        if length < 4:
            return bytes(out)
