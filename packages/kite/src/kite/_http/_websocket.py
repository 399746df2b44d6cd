"""One WebSocket connection over a trio stream, shared by our server and client.

How this works: the common frame, a complete unfragmented text or binary message, is parsed
and built right here (header, length, mask); everything else (control frames, fragments,
reserved bits, oversized or truncated frames, the close handshake, our own pings) goes to
wsproto's frame-level `Connection` (sans-IO), through a `FrameGate` that judges each frame as
gorilla/websocket (Go kite's WebSocket) does and hands wsproto what gorilla accepts
(`_ws_gate`). The switch is one way: the first frame the fast path declines is handed over
with every byte after it, and wsproto runs the connection from then on, so its state is never
out of step. Until then no wsproto object exists, which also keeps idle connections small.

This class does the I/O. There is no reader task: the task that calls `receive()` reads the
socket, answers pings, assembles fragments into one message (a single join, no copy for
one-frame messages) and handles the close handshake. That keeps an idle connection at one task
(its owner's) and a handful of small objects, and costs no task or channel hop per message.
Sends are serialised FIFO so several tasks may `send()` while one task receives.

Close behaviour (what Go's gorilla/websocket does, docs/protocol.md §2.6):
* a close frame from the peer is answered by echoing its code with an empty reason (no code
  for none), then TCP is closed and `receive()` raises `ConnectionClosedError(code, reason)`;
* a framing violation is answered as gorilla answers it: close 1002 with gorilla's reason
  (`incorrect mask flag`, `unknown opcode 3`, ...), or TCP dropped without a close frame where
  gorilla sends none (`_ws_gate` lists them); text that is not UTF-8 is no violation (gorilla
  does not check it): it is received as bytes;
* a message above `max_message_size` is answered by close 1009 (at once when a frame's header
  announces it);
* TCP EOF without a close frame gives code 1006;
* `aclose()` does the close handshake, `abort()` just drops TCP (what Go does on `Close()`).
"""

from __future__ import annotations

import os
import struct
from contextlib import suppress
from typing import NoReturn, cast

import trio
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Pong,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

from ._errors import ConnectionClosedError
from ._limits import HTTPLimits
from ._ws_gate import FrameGate, GateViolation

__all__ = ["WebSocketConnection"]

MESSAGE_TOO_BIG = int(CloseReason.MESSAGE_TOO_BIG)
INVALID_UTF8 = int(CloseReason.INVALID_FRAME_PAYLOAD_DATA)
#: The close reason sent with 1007 (a text message or close reason that is not UTF-8).
INVALID_UTF8_REASON = "text is not valid UTF-8"

_TEXT, _BINARY = 0x1, 0x2
_HEAD16 = struct.Struct("!BBH")
_HEAD64 = struct.Struct("!BBQ")


def _mask(payload: bytes, key: bytes) -> bytes:
    """XOR `payload` with the 4-byte masking `key` (masking and unmasking are the same)."""
    n = len(payload)
    if not n:
        return payload
    stream = (key * ((n + 3) >> 2))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")).to_bytes(
        n, "little"
    )


def _frame_head(opcode: int, length: int, masked: bool) -> bytes:
    """The header of a final (unfragmented) frame of `length` payload bytes."""
    mask_bit = 0x80 if masked else 0
    if length < 126:
        return bytes((0x80 | opcode, mask_bit | length))
    if length < 0x10000:
        return _HEAD16.pack(0x80 | opcode, mask_bit | 126, length)
    return _HEAD64.pack(0x80 | opcode, mask_bit | 127, length)


class _MaskKeys:
    """Masking keys from the OS's CSPRNG (RFC 6455 section 5.3: unpredictable), 4 bytes at a
    time out of one 4 KiB draw, instead of a system call per client frame."""

    __slots__ = ("_pool", "_pos")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the drawn keys (a forked child must not repeat its parent's)."""
        self._pool = b""
        self._pos = 0

    def next(self) -> bytes:
        pos = self._pos
        if pos >= len(self._pool):
            self._pool, pos = os.urandom(4096), 0
        self._pos = pos + 4
        return self._pool[pos : pos + 4]


_mask_keys = _MaskKeys()
os.register_at_fork(after_in_child=_mask_keys.reset)


class _DeclinedError(Exception):
    """The fast path does not handle this frame: wsproto takes over from its first byte."""


class _TooBigError(_DeclinedError):
    """The fast path met a data frame announcing more than `max_message_size`: close 1009
    at once, without waiting for a payload that may never come."""


class WebSocketConnection:
    """A message-oriented WebSocket: `send(text)`, `receive() -> str`, `aclose()`.

    Built by the server (`HTTPRequest.accept_websocket`) or the client (`open_ws_client`).
    `receive()` may be called by one task at a time; `send()` by any number of tasks.
    """

    __slots__ = (
        "_buffer",
        "_client",
        "_close_event",
        "_close_timeout",
        "_closed",
        "_gate",
        "_local_close",
        "_max_message",
        "_part_size",
        "_parts",
        "_peer_mask_bit",
        "_pings",
        "_read_size",
        "_receiving",
        "_send_waiters",
        "_sending",
        "_stream",
        "_wsproto",
        "path",
        "request_headers",
        "response_headers",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        limits: HTTPLimits,
        *,
        client: bool,
        trailing_data: bytes = b"",
        path: str = "",
        request_headers: list[tuple[str, str]] | None = None,
        response_headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self._stream = stream
        self._client = client
        self._peer_mask_bit = 0 if client else 0x80  # frames from clients are masked
        #: Received bytes the fast path has not consumed (only before wsproto takes over).
        self._buffer = bytes(trailing_data)  # no copy of bytes
        #: wsproto, once it runs the connection (see the module docstring), and the gate that
        #: judges every byte before wsproto sees it (`_ws_gate`).
        self._wsproto: Connection | None = None
        self._gate: FrameGate | None = None
        self._max_message = limits.max_message_size
        self._read_size = limits.receive_buffer_size
        self._close_timeout = limits.close_timeout
        # The send "lock": a flag, plus a FIFO of waiting senders made on first contention
        # (cheaper than trio.Lock per message, and nothing allocated for an idle connection).
        self._sending = False
        self._send_waiters: trio.lowlevel.ParkingLot | None = None
        self._receiving = False
        self._closed: ConnectionClosedError | None = None
        self._local_close = False
        self._close_event: trio.Event | None = None
        self._parts: list[str | bytes] = []
        self._part_size = 0
        self._pings: dict[bytes, trio.Event] | None = None
        #: The request target path of the handshake (server side) or the dialled path.
        self.path = path
        #: Handshake request headers, original case.
        self.request_headers = request_headers if request_headers is not None else []
        #: Handshake response headers (client side), original case.
        self.response_headers = response_headers if response_headers is not None else []

    # -- state -------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the connection is closed (by either side)."""
        return self._closed is not None

    @property
    def close_code(self) -> int | None:
        """The close code once closed (1006 when TCP went away without a close frame)."""
        return None if self._closed is None else self._closed.code

    @property
    def close_reason(self) -> str | None:
        """The close reason once closed."""
        return None if self._closed is None else self._closed.reason

    @property
    def _ws(self) -> Connection:
        """wsproto's connection, handing it the connection first if the fast path still has it."""
        ws = self._wsproto
        if ws is None:
            ws = self._wsproto = Connection(
                ConnectionType.CLIENT if self._client else ConnectionType.SERVER
            )
            self._gate = FrameGate(server=not self._client)
            if self._buffer:
                ws.receive_data(self._gate.feed(self._buffer))
                self._buffer = b""
        return ws

    def _feed(self, data: bytes) -> None:
        """Hand received bytes (b"" at EOF) to wsproto through the gate."""
        assert self._wsproto is not None
        assert self._gate is not None
        self._wsproto.receive_data(self._gate.feed(data) if data else None)

    def _closed_error(self) -> ConnectionClosedError:
        assert self._closed is not None
        c = self._closed
        return ConnectionClosedError(str(c), code=c.code, reason=c.reason, local=c.local)

    def _mark_closed(self, code: int, reason: str, *, local: bool) -> ConnectionClosedError:
        if self._closed is None:
            who = "locally" if local else "by peer"
            self._closed = ConnectionClosedError(
                f"WebSocket closed {who}: code={code} reason={reason!r}",
                code=code,
                reason=reason,
                local=local,
            )
            self._parts = []
            if self._close_event is not None:
                self._close_event.set()
            if self._pings:
                for event in self._pings.values():
                    event.set()
                self._pings = None
        return self._closed_error()

    # -- sending -----------------------------------------------------------------------------

    async def _send_raw(self, data: bytes | bytearray) -> None:
        """Write bytes under the send lock; a cancelled partial write breaks the connection."""
        if self._sending:  # contended: wait our turn (FIFO); the turn is handed over
            if self._send_waiters is None:
                self._send_waiters = trio.lowlevel.ParkingLot()
            await self._send_waiters.park()
        else:
            self._sending = True  # fast path: no extra schedule point per message
        try:
            await self._stream.send_all(data)
        except BaseException as exc:  # noqa: BLE001 - `_send_failed` re-raises it
            await self._send_failed(exc)
        finally:
            self._end_send_turn()

    def _end_send_turn(self) -> None:
        if self._send_waiters:
            self._send_waiters.unpark()  # the next sender owns the turn now
        else:
            self._sending = False

    async def _send_failed(self, exc: BaseException) -> NoReturn:
        """A write failed or was cancelled part-way: the connection is over."""
        # A write that did not complete leaves a torn frame on the wire: nothing more can be
        # sent. Closed by another task (abort, a peer close seen by the reader) keeps that
        # reason; a lost or torn connection is a 1006.
        lost = isinstance(exc, (trio.BrokenResourceError, trio.ClosedResourceError, OSError))
        error = self._mark_closed(1006, "", local=not lost)
        await trio.aclose_forcefully(self._stream)
        if lost:
            raise error from exc
        raise exc

    async def send(self, message: str | bytes) -> None:
        """Send one message (text for `str`, binary for `bytes`), unfragmented like Go.

        Raises:
            ConnectionClosedError: the connection is (or became) closed.
        """
        if self._closed is not None:
            raise self._closed_error()
        if self._wsproto is None:
            if isinstance(message, str):
                payload, opcode = message.encode("utf-8"), _TEXT
            else:
                payload, opcode = bytes(message), _BINARY
            n = len(payload)
            if self._client:  # RFC 6455: a client masks every frame with a fresh key
                key = _mask_keys.next()
                head = (
                    _HEAD16.pack(0x80 | opcode, 0xFE, n)  # the usual kite message size
                    if 125 < n < 0x10000
                    else _frame_head(opcode, n, True)
                )
                data = head + key + _mask(payload, key)
            elif 125 < n < 0x10000:
                data = _HEAD16.pack(0x80 | opcode, 126, n) + payload
            else:
                data = _frame_head(opcode, n, False) + payload
        else:
            try:
                data = self._wsproto.send(Message(data=cast(str, message)))
            except LocalProtocolError:
                raise ConnectionClosedError("WebSocket is closing", code=1006, local=True) from None
        if self._sending:
            await self._send_raw(data)
            return
        self._sending = True  # `_send_raw` inlined for the uncontended case (per message)
        try:
            await self._stream.send_all(data)
        except BaseException as exc:  # noqa: BLE001 - `_send_failed` re-raises it
            await self._send_failed(exc)
        finally:
            self._end_send_turn()

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping and wait for its pong.

        The pong is seen by the task blocked in `receive()`, so one must be running. Returns
        early (without error) if the connection closes meanwhile; use `closed` to tell.
        """
        if self._closed is not None:
            raise self._closed_error()
        if self._pings is None:
            self._pings = {}
        if not payload:
            payload = os.urandom(8).hex().encode("ascii")
        event = self._pings[payload] = trio.Event()
        try:
            data = self._ws.send(Ping(payload=payload))
        except LocalProtocolError:
            raise ConnectionClosedError("WebSocket is closing", code=1006, local=True) from None
        await self._send_raw(data)
        await event.wait()

    # -- receiving ---------------------------------------------------------------------------

    async def receive(self) -> str:
        """Wait for the next message and return it as text.

        Binary messages, and text messages that are not UTF-8 (gorilla does not check), are
        decoded as UTF-8 with invalid bytes replaced by U+FFFD, as Go's JSON decoder sees them:
        sockjs-go parses binary frames like text and answers garbage at the SockJS level
        (docs/protocol.md §8), so the layer above must get to see it.

        Raises:
            ConnectionClosedError: closed by the peer, by us, or by a protocol violation
                (its `code` says which: 1000/peer's code, 1002, 1006, 1007, 1009).
        """
        message = await self.receive_message()
        if isinstance(message, str):
            return message
        return message.decode("utf-8", errors="replace")

    async def receive_message(self) -> str | bytes:
        """Wait for the next message: `str` for text, `bytes` for binary (and for text that is
        not UTF-8, which gorilla accepts)."""
        if self._closed is not None:
            raise self._closed_error()
        if self._receiving:
            raise RuntimeError("another task is already receiving on this WebSocket")
        if self._wsproto is None:
            # The fast path in this frame (each coroutine layer costs, twice per message).
            data = self._buffer
            try:
                message, used = self._parse(data)
            except _TooBigError:
                await self._too_big()
            except _DeclinedError:
                message, used = None, -1
            if message is not None:
                self._buffer = data[used:] if used < len(data) else b""
                return message
            if used >= 0:
                self._receiving = True
                try:
                    message = await self._fast_receive(data, used)
                finally:
                    self._receiving = False
                if message is not None:
                    return message
            else:
                self._ws  # noqa: B018 - hands the connection and the buffer to wsproto
        self._receiving = True
        try:
            return await self._receive_loop()
        finally:
            self._receiving = False

    async def _too_big(self) -> NoReturn:
        """A frame announced a message above the limit: close 1009 now (as gorilla does)."""
        self._ws  # noqa: B018 - hands the connection to wsproto, which sends the close
        await self._fail(MESSAGE_TOO_BIG, "message too big")

    async def _read_failed(self, exc: BaseException) -> NoReturn:
        """A socket read failed: the connection is closed (1006 unless closed already)."""
        if self._closed is not None:  # closed by aclose/abort in another task
            raise self._closed_error() from None
        self._mark_closed(1006, "", local=False)
        await trio.aclose_forcefully(self._stream)
        raise self._closed_error() from exc

    async def _read(self) -> bytes:
        """The next bytes from the socket (b"" at EOF); a failed socket closes us (1006)."""
        try:
            chunk = bytes(await self._stream.receive_some(self._read_size))  # no copy of bytes
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            await self._read_failed(exc)
        if self._closed is not None:  # closed by another task while we were reading
            raise self._closed_error()
        return chunk

    def _parse(self, data: bytes) -> tuple[str | bytes | None, int]:
        """One complete data frame at the start of `data`: (message, bytes used), or
        (None, bytes needed) when incomplete. Raises `_DeclinedError` for anything else."""
        size = len(data)
        if size < 2:
            return None, 2
        b0 = data[0]
        b1 = data[1]
        # FIN set, no reserved bits, a text or binary opcode (0x81, 0x82), masked from
        # clients only.
        if (b0 != 0x81 and b0 != 0x82) or b1 & 0x80 != self._peer_mask_bit:
            raise _DeclinedError
        length = b1 & 0x7F
        pos = 2
        if length == 126:
            if size < 4:
                return None, 4
            length = (data[2] << 8) | data[3]
            pos = 4
            if length < 126:
                raise _DeclinedError  # not the shortest encoding: wsproto names the violation
        elif length == 127:
            if size < 10:
                return None, 10
            length = int.from_bytes(data[2:10], "big")
            pos = 10
            if length < 0x10000 or length >> 63:
                raise _DeclinedError
        if length > self._max_message:
            raise _TooBigError
        if not self._client:
            pos += 4
        end = pos + length
        if size < end:
            return None, end
        payload = data[pos:end]
        if not self._client:
            payload = _mask(payload, data[pos - 4 : pos])
        if b0 == 0x81:  # text
            try:
                return payload.decode("utf-8"), end
            except UnicodeDecodeError:
                return payload, end  # as gorilla: not checked; the bytes, as for binary
        return payload, end

    async def _fast_receive(self, data: bytes, needed: int) -> str | bytes | None:
        """Read until a whole message is here (`data` is the buffer, `needed` the bytes the
        parser asked for), or None once wsproto has taken over.

        `self._buffer` always holds every received byte not yet consumed, so wsproto can take
        over at any await (another task's `aclose()` or `ping()` hands it the connection).
        """
        receive_some = self._stream.receive_some
        read_size = self._read_size
        while True:
            # Incomplete: read until `needed` bytes (the header, or the whole frame) are here.
            parts = [data]
            have = len(data)
            while have < needed:
                try:
                    chunk = bytes(await receive_some(read_size))  # no copy of bytes
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                    await self._read_failed(exc)
                if self._closed is not None:  # closed by another task while we were reading
                    raise self._closed_error()
                if self._wsproto is not None:  # taken over while we read: it got parts[0]
                    for part in parts[1:]:
                        self._feed(part)
                    self._feed(chunk)
                    return None
                if not chunk:  # EOF inside a frame: wsproto reports it (1006)
                    self._buffer = b"".join(parts)
                    self._ws.receive_data(None)
                    return None
                parts.append(chunk)
                have += len(chunk)
            data = self._buffer = parts[1] if len(parts) == 2 and not parts[0] else b"".join(parts)
            try:
                message, used = self._parse(data)
            except _TooBigError:
                await self._too_big()
            except _DeclinedError:
                self._ws  # noqa: B018 - hands the connection and the buffer to wsproto
                return None
            if message is not None:
                self._buffer = data[used:] if used < len(data) else b""
                return message
            needed = used

    async def _receive_loop(self) -> str | bytes:
        """wsproto's receive loop (once it runs the connection; see the module docstring)."""
        ws = self._ws
        gate = self._gate
        assert gate is not None
        while True:
            for event in ws.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    # The gate hands every message on as binary; `kinds` says which were text.
                    data = bytes(event.data)  # type: ignore[arg-type]
                    self._part_size += len(data)
                    if self._part_size > self._max_message:
                        await self._fail(MESSAGE_TOO_BIG, "message too big")
                    if event.message_finished:
                        parts = self._parts
                        self._part_size = 0
                        if parts:
                            parts.append(data)
                            self._parts = []
                            data = b"".join(parts)  # type: ignore[arg-type]
                        if gate.kinds.popleft() == _TEXT:
                            try:
                                return data.decode("utf-8")
                            except UnicodeDecodeError:
                                pass  # as gorilla: not checked; the bytes, as for binary
                        return data
                    self._parts.append(data)
                elif isinstance(event, Ping):
                    if ws.state is ConnectionState.OPEN:
                        await self._send_raw(ws.send(event.response()))
                elif isinstance(event, Pong):
                    if self._pings:
                        waiter = self._pings.pop(bytes(event.payload), None)
                        if waiter is not None:
                            waiter.set()
                elif isinstance(event, CloseConnection):
                    await self._on_close_event(event)
            if gate.violation is not None:
                await self._refuse(gate.violation)
            self._feed(await self._read())

    async def _on_close_event(self, event: CloseConnection) -> NoReturn:
        ws = self._ws
        code, reason = event.code, event.reason or ""
        if ws.state is ConnectionState.REMOTE_CLOSING:
            # The peer started the close: echo its code with an empty reason, like gorilla; a
            # close frame without a code is answered by one without a code.
            reply = (  # the enum member itself: wsproto tells "no code" by identity
                CloseConnection(code=CloseReason.NO_STATUS_RCVD)
                if code == CloseReason.NO_STATUS_RCVD
                else CloseConnection(code=code)
            )
            error = self._mark_closed(code, reason, local=False)
            with suppress(ConnectionClosedError):
                await self._send_raw(ws.send(reply))
            await trio.aclose_forcefully(self._stream)
            raise error
        if ws.state is ConnectionState.CLOSED:
            # Either the answer to our own close frame, or TCP EOF (code 1006).
            error = self._mark_closed(code, reason, local=self._local_close)
            await trio.aclose_forcefully(self._stream)
            raise error
        # Still OPEN: wsproto found a framing violation and reports the close it wants sent.
        await self._fail(code, INVALID_UTF8_REASON if code == INVALID_UTF8 else reason)

    async def _refuse(self, violation: GateViolation) -> NoReturn:
        """Answer a frame gorilla refuses as Go kite does: close 1002 with gorilla's reason, or
        (where gorilla sends no close frame) drop TCP; a server first writes the empty text
        frame sockjs-go writes when its session's read fails."""
        if violation.code is not None:
            await self._fail(violation.code, violation.reason)
        error = self._mark_closed(1006, violation.reason, local=True)
        if not self._client:
            with trio.move_on_after(self._close_timeout), suppress(ConnectionClosedError):
                await self._send_raw(b"\x81\x00")
        await trio.aclose_forcefully(self._stream)
        raise error

    async def _fail(self, code: int, reason: str) -> NoReturn:
        """Close with `code` because of something the peer did, then raise."""
        error = self._mark_closed(code, reason, local=True)
        if self._ws.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            data = self._ws.send(CloseConnection(code=code, reason=reason))
            with trio.move_on_after(self._close_timeout):
                with suppress(ConnectionClosedError):
                    await self._send_raw(data)
        await trio.aclose_forcefully(self._stream)
        raise error

    # -- closing -----------------------------------------------------------------------------

    async def aclose(self, code: int = 1000, reason: str = "") -> None:
        """Close with a close handshake: send a close frame, wait (bounded by
        `close_timeout`) for the peer's, then close TCP. Idempotent."""
        if self._closed is not None:
            await trio.aclose_forcefully(self._stream)
            return
        ws = self._ws
        self._local_close = True
        try:
            with trio.move_on_after(self._close_timeout):
                if ws.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
                    data = ws.send(CloseConnection(code=code, reason=reason))
                    try:
                        await self._send_raw(data)
                    except ConnectionClosedError:
                        return
                if ws.state is ConnectionState.CLOSED:
                    return
                if self._receiving:
                    # The receiving task will see the peer's answer and mark us closed.
                    if self._close_event is None:
                        self._close_event = trio.Event()
                    await self._close_event.wait()
                    return
                # Nobody is reading: drain until the peer's close frame or EOF.
                self._receiving = True
                try:
                    while True:
                        await self._receive_loop()
                except ConnectionClosedError:
                    pass
                finally:
                    self._receiving = False
        finally:
            self._mark_closed(code, reason, local=True)
            await trio.aclose_forcefully(self._stream)

    async def abort(self) -> None:
        """Drop the TCP connection without a close frame (what Go kite does on `Close()`)."""
        self._mark_closed(1006, "", local=True)
        await trio.aclose_forcefully(self._stream)
