"""A hixie-76 WebSocket over a trio stream, with the same surface as `WebSocketConnection`.

How this works: the server (`HTTPRequest.accept_hixie76`) has already written the 101 head;
`Hixie76Connection.handshake()` then reads the 8-byte nonce (from the bytes h11 had buffered,
then the socket) and writes the 16-byte MD5 answer, the order HAProxy requires. Afterwards
`send(text)` writes ``0x00 … 0xFF`` frames and `receive()` pulls bytes through the sans-IO
`Hixie76Decoder` in the receiving task (no reader task). hixie-76 has no close codes: a
peer's ``0xFF 0x00`` or EOF raises `ConnectionClosedError` (1000 / 1006), and `aclose()`
sends ``0xFF 0x00`` and drops TCP.
"""

from __future__ import annotations

import trio

from ._errors import ConnectionClosedError, HandshakeError
from ._hixie76 import (
    CLOSE_FRAME,
    NONCE_SIZE,
    Hixie76Close,
    Hixie76Decoder,
    Hixie76Error,
    challenge_response,
    encode_text,
)
from ._limits import HTTPLimits

__all__ = ["Hixie76Connection"]


class Hixie76Connection:
    """A message-oriented hixie-76 WebSocket: `send(text)`, `receive() -> str`, `aclose()`."""

    __slots__ = (
        "_closed",
        "_decoder",
        "_handshake_timeout",
        "_pending",
        "_read_size",
        "_send_lock",
        "_stream",
        "path",
        "request_headers",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        limits: HTTPLimits,
        *,
        trailing_data: bytes = b"",
        path: str = "",
        request_headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self._stream = stream
        self._decoder = Hixie76Decoder(limits.max_message_size)
        self._pending = bytearray(trailing_data)  # bytes read before the handshake finished
        self._read_size = limits.receive_buffer_size
        self._handshake_timeout = limits.handshake_timeout
        self._send_lock = trio.Lock()
        self._closed: ConnectionClosedError | None = None
        #: The request target path of the handshake.
        self.path = path
        #: Handshake request headers, original case.
        self.request_headers = request_headers if request_headers is not None else []

    @property
    def closed(self) -> bool:
        """True once the connection is closed (by either side)."""
        return self._closed is not None

    @property
    def close_code(self) -> int | None:
        """1000 after a closing handshake, 1006 after EOF or an error; None while open."""
        return None if self._closed is None else self._closed.code

    async def handshake(self, key1: str, key2: str) -> None:
        """Read the client's 8-byte nonce and write the 16-byte challenge response.

        Raises:
            HandshakeError: bad keys, or no nonce within `handshake_timeout`.
        """
        with trio.move_on_after(self._handshake_timeout):
            while len(self._pending) < NONCE_SIZE:
                try:
                    data = await self._stream.receive_some(self._read_size)
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    data = b""
                if not data:
                    break
                self._pending += data
        if len(self._pending) < NONCE_SIZE:
            await trio.aclose_forcefully(self._stream)
            raise HandshakeError("hixie-76 client sent no key3 (8-byte nonce)", status=400)
        try:
            answer = challenge_response(key1, key2, bytes(self._pending[:NONCE_SIZE]))
        except Hixie76Error as exc:
            raise HandshakeError(str(exc), status=400) from None
        self._decoder.receive_data(bytes(self._pending[NONCE_SIZE:]))
        self._pending = bytearray()
        await self._send_raw(answer)

    def _mark_closed(self, code: int, reason: str) -> ConnectionClosedError:
        if self._closed is None:
            self._closed = ConnectionClosedError(
                f"WebSocket closed ({code})", code=code, reason=reason
            )
        return self._closed

    async def _send_raw(self, data: bytes) -> None:
        async with self._send_lock:
            try:
                await self._stream.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                error = self._mark_closed(1006, "")
                await trio.aclose_forcefully(self._stream)
                raise error from exc

    async def send(self, message: str | bytes) -> None:
        """Send one text message (`bytes` are sent as UTF-8 text: hixie-76 has no binary).

        Raises:
            ConnectionClosedError: the connection is closed.
        """
        if self._closed is not None:
            raise self._closed
        if isinstance(message, bytes):
            message = message.decode("utf-8", errors="replace")
        await self._send_raw(encode_text(message))

    async def receive(self) -> str:
        """Wait for the next text message.

        Raises:
            ConnectionClosedError: closed by the peer (1000), EOF (1006) or a bad frame
                (1002; the connection is dropped).
        """
        if self._closed is not None:
            raise self._closed
        decoder = self._decoder
        while True:
            try:
                for event in decoder.events():
                    if isinstance(event, Hixie76Close):
                        error = self._mark_closed(1000, "")
                        await trio.aclose_forcefully(self._stream)
                        raise error
                    return event.data
            except Hixie76Error as exc:
                error = self._mark_closed(1002, str(exc))
                await trio.aclose_forcefully(self._stream)
                raise error from None
            try:
                data = await self._stream.receive_some(self._read_size)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                data = b""
            if not data:
                error = self._closed or self._mark_closed(1006, "")
                await trio.aclose_forcefully(self._stream)
                raise error
            decoder.receive_data(data)

    async def receive_message(self) -> str | bytes:
        """Same as `receive()` (hixie-76 carries text only)."""
        return await self.receive()

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Send the closing frame ``0xFF 0x00`` and close TCP. Idempotent."""
        if self._closed is None:
            self._mark_closed(code, reason)
            try:
                with trio.move_on_after(1):
                    async with self._send_lock:
                        await self._stream.send_all(CLOSE_FRAME)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass
        await trio.aclose_forcefully(self._stream)

    async def abort(self) -> None:
        """Drop the TCP connection without a closing frame."""
        self._mark_closed(1006, "")
        await trio.aclose_forcefully(self._stream)
