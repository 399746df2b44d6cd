"""Sans-IO hixie-76 WebSocket codec: the handshake challenge and the ``0x00 … 0xFF`` framing.

How this works
--------------
hixie-76 (draft-hixie-thewebsocketprotocol-76, 2010) is the WebSocket draft that Safari 5,
iOS 4-5 and old proxies spoke before RFC 6455. The SockJS protocol test suite still checks it
(``test_haproxy``); Go's sockjs-go does not serve it, so our server only does when asked to
(``sockjs.Options(hixie76=True)``). Nothing here touches a socket.

Handshake: the client sends ``Sec-WebSocket-Key1``/``Key2`` headers and, *after* the head,
an 8-byte nonce (``key3``) with no ``Content-Length``. Each key encodes a 32-bit number as
its digits divided by its number of spaces (:func:`key_number`). The server answers 101
with ``Sec-WebSocket-Origin``/``Sec-WebSocket-Location`` (:func:`response_headers`) and then
the 16-byte MD5 of ``n1 ‖ n2 ‖ key3`` (:func:`challenge_response`). The headers may (and
behind HAProxy must) be written before the nonce arrives.

Frames: text is ``0x00 <UTF-8> 0xFF`` (:func:`encode_text`); ``0xFF 0x00`` closes. A frame
type with the high bit set carries a 7-bits-per-byte length and binary data, which the draft
says to skip; a low frame type other than ``0x00`` is read up to ``0xFF`` and skipped too.
:class:`Hixie76Decoder` turns received bytes into :class:`Hixie76Text` and
:class:`Hixie76Close` events; how the bytes are chunked never changes the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "CLOSE_FRAME",
    "Hixie76Close",
    "Hixie76Decoder",
    "Hixie76Error",
    "Hixie76Event",
    "Hixie76Text",
    "challenge_response",
    "encode_text",
    "is_hixie76_request",
    "key_number",
    "response_headers",
]

#: The closing handshake frame (both directions).
CLOSE_FRAME = b"\xff\x00"
#: Length of the client's nonce (key3), sent after the request head.
NONCE_SIZE = 8


class Hixie76Error(ValueError):
    """A malformed hixie-76 handshake key or frame."""


@dataclass(frozen=True, slots=True)
class Hixie76Text:
    """One text frame from the peer."""

    data: str


@dataclass(frozen=True, slots=True)
class Hixie76Close:
    """The peer's closing frame ``0xFF 0x00``."""


Hixie76Event = Hixie76Text | Hixie76Close


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _tokens(value: str | None) -> set[str]:
    return {t.strip().lower() for t in (value or "").split(",")}


def is_hixie76_request(method: str, headers: Iterable[tuple[str, str]]) -> bool:
    """Whether a request is a hixie-76 upgrade: GET, ``Upgrade: WebSocket``, ``Connection:
    Upgrade``, both ``Sec-WebSocket-Key1``/``Key2`` and no ``Sec-WebSocket-Version``."""
    headers = list(headers)
    return (
        method == "GET"
        and "websocket" in _tokens(_header(headers, "upgrade"))
        and "upgrade" in _tokens(_header(headers, "connection"))
        and bool(_header(headers, "sec-websocket-key1"))
        and bool(_header(headers, "sec-websocket-key2"))
        and _header(headers, "sec-websocket-version") is None
    )


def key_number(key: str) -> int:
    """The 32-bit number a ``Sec-WebSocket-Key1``/``Key2`` encodes (its digits / its spaces).

    Raises:
        Hixie76Error: no digits, no spaces, not divisible, or not a 32-bit number.
    """
    digits = "".join(c for c in key if "0" <= c <= "9")
    spaces = key.count(" ")
    if not digits or spaces == 0:
        raise Hixie76Error(f"bad hixie-76 key (no digits or no spaces): {key!r}")
    number = int(digits)
    if number % spaces or number // spaces > 0xFFFFFFFF:
        raise Hixie76Error(f"bad hixie-76 key (number not a multiple of spaces): {key!r}")
    return number // spaces


def challenge_response(key1: str, key2: str, key3: bytes) -> bytes:
    """The 16 bytes the server sends after the 101 head: ``MD5(n1 ‖ n2 ‖ key3)``.

    Raises:
        Hixie76Error: a bad key, or ``key3`` not 8 bytes.
    """
    if len(key3) != NONCE_SIZE:
        raise Hixie76Error(f"hixie-76 key3 must be {NONCE_SIZE} bytes, got {len(key3)}")
    challenge = key_number(key1).to_bytes(4, "big") + key_number(key2).to_bytes(4, "big") + key3
    return hashlib.md5(challenge, usedforsecurity=False).digest()


def response_headers(
    host: str, target: str, origin: str | None, *, secure: bool = False
) -> list[tuple[bytes, bytes]]:
    """The 101 response headers: ``Upgrade``, ``Connection``, ``Sec-WebSocket-Origin`` and
    ``Sec-WebSocket-Location`` (``ws[s]://<host><target>``)."""
    scheme = "wss" if secure else "ws"
    return [
        (b"Upgrade", b"WebSocket"),
        (b"Connection", b"Upgrade"),
        (b"Sec-WebSocket-Origin", (origin or "null").encode("latin-1")),
        (b"Sec-WebSocket-Location", f"{scheme}://{host}{target}".encode("latin-1")),
    ]


def encode_text(text: str) -> bytes:
    """One text frame: ``0x00``, the UTF-8 text (which never contains ``0xFF``), ``0xFF``."""
    return b"\x00" + text.encode("utf-8", errors="replace") + b"\xff"


class Hixie76Decoder:
    """Incremental frame parser: ``receive_data(bytes)``, then iterate ``events()``.

    Args:
        max_message_size: the largest text frame accepted, in bytes; more raises
            :class:`Hixie76Error` (the connection should then be dropped).
    """

    __slots__ = ("_buffer", "_closed", "_max", "_skip")

    def __init__(self, max_message_size: int = 16 * 1024 * 1024) -> None:
        self._buffer = bytearray()
        self._max = max_message_size
        self._skip = 0  # bytes of a binary frame still to discard
        self._closed = False

    def receive_data(self, data: bytes | bytearray) -> None:
        """Feed received bytes (``b""`` is ignored; EOF is the caller's business)."""
        if not self._closed:
            self._buffer += data

    def events(self) -> Iterator[Hixie76Event]:
        """Yield every complete frame received so far.

        Raises:
            Hixie76Error: a text frame over the limit or invalid UTF-8.
        """
        buf = self._buffer
        while buf and not self._closed:
            if self._skip:
                n = min(self._skip, len(buf))
                del buf[:n]
                self._skip -= n
                continue
            kind = buf[0]
            if kind & 0x80:
                length = 0
                pos = 1
                while True:
                    if pos >= len(buf):
                        return  # the length is not complete yet
                    byte = buf[pos]
                    pos += 1
                    length = length * 128 + (byte & 0x7F)
                    if length > self._max:
                        raise Hixie76Error("hixie-76 binary frame too large")
                    if not byte & 0x80:
                        break
                del buf[:pos]
                if kind == 0xFF and length == 0:
                    self._closed = True
                    buf.clear()
                    yield Hixie76Close()
                    return
                self._skip = length
                continue
            end = buf.find(b"\xff", 1)
            if end < 0:
                if len(buf) - 1 > self._max:
                    raise Hixie76Error("hixie-76 text frame too large")
                return
            if end - 1 > self._max:
                raise Hixie76Error("hixie-76 text frame too large")
            payload = bytes(buf[1:end])
            del buf[: end + 1]
            if kind != 0x00:
                continue  # unknown text-style frame type: skipped, as the draft says
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise Hixie76Error(f"hixie-76 text frame is not UTF-8: {exc}") from None
            yield Hixie76Text(text)
