"""A SockJS session over one WebSocket, as a `MessagePipe` with no task of its own.

How this works: a WebSocket is one receiver for the session's whole life, so
`WebSocketSessionPipe` drives the same `sockjs.ServerSession` machine as HTTP sessions with the
WebSocket attached as its only receiver: `receive()` reads and decodes the socket in the
application's task, `send()` writes the frame in the caller's task (back-pressure is TCP's),
and the endpoint's one heartbeat task sends every session's `h` at its deadline (`beat`,
`write_heartbeat`). A bad payload or a read error fails the session (sockjs-go's empty frame,
then TCP is dropped), and when the application closes a live session the client gets
`c[3000,"Go away!"]` and TCP drops. An idle kite connection is then one task, the HTTP
connection's, parked in a read. `RawWebSocketPipe` is the raw `<prefix>/websocket` endpoint:
bare messages, no SockJS framing.
"""

from __future__ import annotations

import logging

import trio

import sockjs

from .._http import ConnectionClosedError
from .._rpc._pipe import PipeClosedError
from ._pipe import AnyWebSocket, SockJSPipe

__all__ = ["RawWebSocketPipe", "WebSocketSessionPipe"]

log = logging.getLogger("kite.server")


class RawWebSocketPipe(SockJSPipe):
    """The raw `<prefix>/websocket` endpoint: one text message is one application message."""

    def __init__(self, ws: AnyWebSocket, options: sockjs.Options) -> None:
        self.session_id = ""
        self.transport = "raw_websocket"
        self._ws = ws
        self._max = options.max_payload_size

    async def send(self, message: str) -> None:
        try:
            await self._ws.send(message)
        except ConnectionClosedError:
            raise PipeClosedError() from None

    async def receive(self) -> str:
        try:
            message = await self._ws.receive()
        except ConnectionClosedError:
            raise PipeClosedError() from None
        if len(message) > self._max:
            await self._ws.aclose(1009, "message too big")
            raise PipeClosedError()
        return message

    async def aclose(self) -> None:
        await self._ws.aclose(1000, "Go away!")


_ATTACHED = sockjs.SessionState.ATTACHED


class WebSocketSessionPipe(SockJSPipe):
    """A SockJS session carried by one WebSocket, with no task of its own (module docstring).

    The machine is the same `sockjs.ServerSession` as for HTTP sessions, with the WebSocket
    attached as its only receiver. Whoever calls in (the application's `send`/`receive`, the
    endpoint's heartbeat task, `aclose`) feeds it and writes the frames it produces.
    """

    __slots__ = (
        "_done",
        "_inbox",
        "_max",
        "_ws",
        "beating",
        "ended",
        "machine",
        "session_id",
        "transport",
    )

    def __init__(self, ws: AnyWebSocket, session_id: str, options: sockjs.Options) -> None:
        self.session_id = session_id
        self.transport = "websocket"
        self.machine = sockjs.ServerSession(
            session_id,
            trio.current_time(),
            heartbeat_delay=options.heartbeat_delay,
            disconnect_delay=options.disconnect_delay,
            escape_unicode=options.escape_unicode,
        )
        self._ws = ws
        self._max = options.max_payload_size
        self._inbox: list[str] = []  # newest first: a list is smaller than a deque when idle
        self._done = False  # ReceiverDone: drop TCP once its frames are written
        self.beating = False  # a heartbeat write is in flight
        self.ended = False  # SessionClosed: no more messages either way

    def _frames(self) -> list[str]:
        """Apply the machine's events; return the frames to write, in order."""
        frames: list[str] = []
        for event in self.machine.events():
            kind = type(event)
            if kind is sockjs.SendFrame:
                frames.append(event.frame)  # type: ignore[union-attr]
            elif kind is sockjs.MessagesReceived:
                self._inbox[:0] = reversed(event.messages)  # type: ignore[union-attr]
            elif kind is sockjs.ReceiverDone:
                self._done = True
            else:  # SessionClosed, SessionFinished
                self.ended = True
        return frames

    async def _write(self, frames: list[str]) -> bool:
        """Write `frames`, then drop TCP if the machine finished the receiver. False if the
        socket failed (the session then fails, as sockjs-go's does on a write error)."""
        ws = self._ws
        try:
            for frame in frames:
                await ws.send(frame)
        except ConnectionClosedError:
            self._lost()
            return False
        if self._done:
            await ws.abort()
        return True

    def _lost(self) -> None:
        """The WebSocket is gone: fail the session (idempotent)."""
        if self.machine.state is not sockjs.SessionState.CLOSED:
            self.machine.fail(trio.current_time())
            self._frames()  # nothing can be written any more
        self.ended = True

    async def open(self) -> None:
        """Attach the WebSocket: the client gets `o`."""
        self.machine.attach(trio.current_time(), response_limit=None)
        await self._write(self._frames())

    def beat(self, now: float) -> list[str]:
        """Advance the machine's clock (the endpoint's heartbeat timer calls this when the
        `h` is due): the frames to write, for `write_heartbeat`."""
        self.machine.tick(now)
        frames = self._frames()
        self.beating = bool(frames)
        return frames

    async def write_heartbeat(self, frames: list[str]) -> None:
        """Write what `beat` returned (in a task of its own: a slow client stalls only it)."""
        try:
            await self._write(frames)
        finally:
            self.beating = False

    async def send(self, message: str) -> None:
        if self.ended:
            raise PipeClosedError()
        machine = self.machine
        if machine.state is _ATTACHED and not self._done:
            # What the machine does for an attached WebSocket (no response limit), without
            # its events: the `a[...]` frame, written right here.
            try:
                await self._ws.send(
                    sockjs.encode_messages((message,), escape=machine.escape_unicode)
                )
            except ConnectionClosedError:
                self._lost()
                raise PipeClosedError() from None
            return
        try:
            machine.send(message, trio.current_time())
        except sockjs.LocalProtocolError:
            raise PipeClosedError() from None
        if not await self._write(self._frames()):
            raise PipeClosedError()

    async def receive(self) -> str:
        inbox = self._inbox
        while not inbox:
            if self.ended:
                raise PipeClosedError()
            try:
                data = await self._ws.receive_message()
            except ConnectionClosedError:
                self._lost()
                raise PipeClosedError() from None
            try:
                messages = sockjs.decode_websocket_message(data, max_size=self._max)
            except (sockjs.ProtocolError, sockjs.MessageTooLargeError) as exc:
                # sockjs-go: the session dies; the peer gets an empty text frame, TCP drops.
                log.info("session %s: bad WebSocket message: %s", self.session_id, exc)
                if not self.ended:
                    self.machine.fail(trio.current_time())
                    await self._write(self._frames())
                self.ended = True
                raise PipeClosedError() from None
            if not messages:
                continue
            if self.machine.state is _ATTACHED:  # the machine would just pass them on
                if len(messages) == 1:
                    return messages[0]  # the inbox is empty: no need to queue it
                inbox[:0] = reversed(messages)
            else:
                self.machine.receive_messages(messages)
                self._frames()
        return inbox.pop()

    async def aclose(self) -> None:
        if not self.ended:
            self.machine.close(trio.current_time())  # c[3000,"Go away!"], then TCP drops
            with trio.move_on_after(max(self.machine.heartbeat_delay, 1.0)):
                await self._write(self._frames())
        await self._ws.abort()
