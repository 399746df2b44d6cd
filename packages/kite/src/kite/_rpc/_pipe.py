"""The message pipe: what the RPC core needs from a transport, and an in-memory implementation.

How this works: a kite connection, whatever carries it (a SockJS WebSocket session, XHR
polling, a tunnel, a test), is to the RPC core just a bidirectional pipe of *messages*: each
message is one dnode JSON text (one SockJS message). `MessagePipe` is that contract, three
methods. A transport adapts its session to it; `memory_pipe_pair()` joins two ends with trio
memory channels, which is a real pipe (buffering, back-pressure, close propagation), used by
the tests and usable to run two kites in one process.

Like the network transports, a pipe's `send` and `receive` complete without a checkpoint when
they need not wait (buffer room, a message buffered): the RPC core then serves a plain request
without any task switch (see `_peer`), and itself checkpoints often enough to stay fair.

End of stream is always reported as `PipeClosedError`, so the core has one thing to catch.
It is a `SendError` with Go's `can't send, client is closed` text, which is exactly what a
caller sees when it sends on a closed kite connection.
"""

from __future__ import annotations

from typing import Protocol

import trio

from .._errors import SendError

__all__ = ["MemoryPipe", "MessagePipe", "PipeClosedError", "memory_pipe_pair"]


class PipeClosedError(SendError):
    """The message pipe is closed (by either end); nothing more can be sent or received."""

    def __init__(self, message: str = "can't send, client is closed") -> None:
        super().__init__(message)


class MessagePipe(Protocol):
    """One kite connection as a pipe of text messages (one dnode message each).

    Implementations must allow one task in `receive` while other tasks call `send` (the RPC
    core serialises its own sends, so `send` is never called concurrently by it). Both may
    return without a checkpoint when they need not wait; `receive` may be called by
    different tasks over time (never two at once).
    """

    async def send(self, message: str) -> None:
        """Send one message. Raises `PipeClosedError` (or `SendError`) when it cannot."""
        ...

    async def receive(self) -> str:
        """Wait for the next message. Raises `PipeClosedError` at the end of the stream."""
        ...

    async def aclose(self) -> None:
        """Close this end; the other end's `receive` then raises `PipeClosedError`. Idempotent."""
        ...


class MemoryPipe:
    """One end of an in-memory message pipe (see `memory_pipe_pair`)."""

    __slots__ = ("_receiver", "_sender")

    def __init__(
        self, sender: trio.MemorySendChannel[str], receiver: trio.MemoryReceiveChannel[str]
    ) -> None:
        self._sender = sender
        self._receiver = receiver

    async def send(self, message: str) -> None:
        """Queue one message for the other end (waits only while its buffer is full)."""
        try:
            self._sender.send_nowait(message)
            return
        except trio.WouldBlock:
            pass
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise PipeClosedError() from None
        try:
            await self._sender.send(message)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise PipeClosedError() from None

    async def receive(self) -> str:
        """Next message from the other end (waits only while none is buffered)."""
        try:
            return self._receiver.receive_nowait()
        except trio.WouldBlock:
            pass
        except (trio.EndOfChannel, trio.ClosedResourceError, trio.BrokenResourceError):
            raise PipeClosedError() from None
        try:
            return await self._receiver.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError, trio.BrokenResourceError):
            raise PipeClosedError() from None

    async def aclose(self) -> None:
        """Close both directions of this end."""
        await self._sender.aclose()
        await self._receiver.aclose()


def memory_pipe_pair(max_buffer: int = 64) -> tuple[MemoryPipe, MemoryPipe]:
    """Two connected pipe ends; what one sends, the other receives, in order.

    Args:
        max_buffer: messages buffered per direction before `send` waits (back-pressure).
    """
    a_send, b_receive = trio.open_memory_channel[str](max_buffer)
    b_send, a_receive = trio.open_memory_channel[str](max_buffer)
    return MemoryPipe(a_send, a_receive), MemoryPipe(b_send, b_receive)
