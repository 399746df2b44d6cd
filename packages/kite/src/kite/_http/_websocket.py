"""One WebSocket connection over a trio stream, shared by our server and client.

How this works: wsproto's frame-level `Connection` does the parsing and framing (sans-IO); this
class does the I/O. There is no reader task: the task that calls `receive()` reads the socket,
answers pings, assembles fragments into one message (a single join, no copy for one-frame
messages) and handles the close handshake. That keeps an idle connection at one task (its
owner's) and a handful of small objects, and costs no task or channel hop per message.
Sends are serialised by a lock so several tasks may `send()` while one task receives.

Close behaviour (what Go's gorilla/websocket does, PROTOCOL.md §2.6):
* a close frame from the peer is answered by echoing its code with an empty reason, then TCP
  is closed and `receive()` raises `ConnectionClosedError(code, reason)`;
* a framing violation is answered by a close frame (1002/1007 with wsproto's reason);
* a message above `max_message_size` is answered by close 1009;
* TCP EOF without a close frame gives code 1006;
* `aclose()` does the close handshake, `abort()` just drops TCP (what Go does on `Close()`).
"""

from __future__ import annotations

import os
from contextlib import suppress
from typing import NoReturn, cast

import trio
from wsproto.connection import Connection, ConnectionState
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

__all__ = ["WebSocketConnection"]

MESSAGE_TOO_BIG = int(CloseReason.MESSAGE_TOO_BIG)
INVALID_PAYLOAD = int(CloseReason.INVALID_FRAME_PAYLOAD_DATA)


class WebSocketConnection:
    """A message-oriented WebSocket: `send(text)`, `receive() -> str`, `aclose()`.

    Built by the server (`HTTPRequest.accept_websocket`) or the client (`open_ws_client`).
    `receive()` may be called by one task at a time; `send()` by any number of tasks.
    """

    __slots__ = (
        "_close_event",
        "_close_timeout",
        "_closed",
        "_local_close",
        "_max_message",
        "_part_size",
        "_parts",
        "_pings",
        "_read_size",
        "_receiving",
        "_send_lock",
        "_stream",
        "_ws",
        "path",
        "request_headers",
        "response_headers",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        ws: Connection,
        limits: HTTPLimits,
        *,
        path: str = "",
        request_headers: list[tuple[str, str]] | None = None,
        response_headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self._stream = stream
        self._ws = ws
        self._max_message = limits.max_message_size
        self._read_size = limits.receive_buffer_size
        self._close_timeout = limits.close_timeout
        self._send_lock = trio.Lock()
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

    async def _send_raw(self, data: bytes) -> None:
        """Write bytes under the send lock; a cancelled partial write breaks the connection."""
        lock = self._send_lock
        if lock.locked():
            await lock.acquire()  # contended: wait our turn (FIFO)
        else:
            lock.acquire_nowait()  # fast path: no extra schedule point per message
        try:
            await self._stream.send_all(data)
        except BaseException as exc:
            # A write that did not complete leaves a torn frame on the wire: nothing more
            # can be sent, so the connection is over.
            self._mark_closed(1006, "send failed", local=True)
            await trio.aclose_forcefully(self._stream)
            if isinstance(exc, (trio.BrokenResourceError, trio.ClosedResourceError, OSError)):
                raise ConnectionClosedError(
                    f"connection lost while sending: {exc}", code=1006, local=False
                ) from exc
            raise
        finally:
            lock.release()

    async def send(self, message: str | bytes) -> None:
        """Send one message (text for `str`, binary for `bytes`), unfragmented like Go.

        Raises:
            ConnectionClosedError: the connection is (or became) closed.
        """
        if self._closed is not None:
            raise self._closed_error()
        try:
            data = self._ws.send(Message(data=cast(str, message)))
        except LocalProtocolError:
            raise ConnectionClosedError("WebSocket is closing", code=1006, local=True) from None
        await self._send_raw(data)

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

        Binary messages are decoded as UTF-8 (sockjs-go treats binary frames like text);
        invalid UTF-8 closes the connection with 1007.

        Raises:
            ConnectionClosedError: closed by the peer, by us, or by a protocol violation
                (its `code` says which: 1000/peer's code, 1002, 1006, 1007, 1009).
        """
        message = await self.receive_message()
        if isinstance(message, str):
            return message
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            await self._fail(INVALID_PAYLOAD, "invalid UTF-8 in binary message")

    async def receive_message(self) -> str | bytes:
        """Wait for the next message: `str` for text, `bytes` for binary."""
        if self._closed is not None:
            raise self._closed_error()
        if self._receiving:
            raise RuntimeError("another task is already receiving on this WebSocket")
        self._receiving = True
        try:
            return await self._receive_loop()
        finally:
            self._receiving = False

    async def _receive_loop(self) -> str | bytes:
        ws = self._ws
        while True:
            for event in ws.events():
                if isinstance(event, (TextMessage, BytesMessage)):
                    data: str | bytes = event.data  # type: ignore[assignment]
                    self._part_size += len(data)
                    if self._part_size > self._max_message:
                        await self._fail(MESSAGE_TOO_BIG, "message too big")
                    if event.message_finished:
                        parts = self._parts
                        self._part_size = 0
                        if not parts:
                            return data if isinstance(data, str) else bytes(data)
                        parts.append(data)
                        self._parts = []
                        if isinstance(data, str):
                            return "".join(parts)  # type: ignore[arg-type]
                        return b"".join(parts)  # type: ignore[arg-type]
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
            try:
                chunk = cast(bytes, await self._stream.receive_some(self._read_size))
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                if self._closed is not None:  # closed by aclose/abort in another task
                    raise self._closed_error() from None
                self._mark_closed(1006, "", local=False)
                await trio.aclose_forcefully(self._stream)
                raise self._closed_error() from exc
            if self._closed is not None:  # closed by another task while we were reading
                raise self._closed_error()
            ws.receive_data(chunk or None)

    async def _on_close_event(self, event: CloseConnection) -> NoReturn:
        ws = self._ws
        code, reason = event.code, event.reason or ""
        if ws.state is ConnectionState.REMOTE_CLOSING:
            # The peer started the close: echo its code with an empty reason, like gorilla.
            reply = CloseConnection(code=code if code not in (1005, 1006) else 1000)
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
        await self._fail(code, reason)

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
