"""Accepting connections in bursts: every connection waiting in the kernel's queue at once.

How this works: trio's `SocketListener.accept()` yields to the scheduler after every
connection it accepts, so an accept loop gets one connection per scheduling round. Under load
a round runs every busy connection's task first, and a burst of new clients (200 XHR sessions
opening their send connections together) waits in the kernel's accept queue for hundreds of
rounds: seconds. `BurstAcceptor.accept(more)` waits for the first connection the trio way,
then takes up to `more` others that are already queued with non-blocking `accept()` calls on a
duplicate of the listening socket (same queue, its own file descriptor, closed with the
acceptor), without yielding in between.
"""

from __future__ import annotations

import os
import socket
from types import TracebackType

import trio

__all__ = ["BurstAcceptor"]


class BurstAcceptor:
    """Accepts the connections queued on `listener` in bursts; use it as a context manager."""

    def __init__(self, listener: trio.SocketListener) -> None:
        self._listener = listener
        self._raw: socket.socket | None = None  # the duplicate, made at the first connection

    def _duplicate(self) -> socket.socket:
        trio_socket = self._listener.socket
        raw = socket.socket(
            trio_socket.family, trio_socket.type, fileno=os.dup(trio_socket.fileno())
        )
        raw.setblocking(False)
        self._raw = raw
        return raw

    def __enter__(self) -> BurstAcceptor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._raw is not None:
            self._raw.close()

    async def accept(self, more: int) -> list[trio.SocketStream]:
        """Wait for a connection; return it and up to `more` others already queued.

        Raises:
            OSError: accepting the first connection failed (e.g. out of file descriptors).
        """
        streams: list[trio.SocketStream] = [await self._listener.accept()]
        if not more:
            return streams
        raw = self._raw
        if raw is None:
            try:
                raw = self._duplicate()
            except OSError:  # out of file descriptors: one at a time this round
                return streams
        for _ in range(more):
            try:
                sock, _address = raw.accept()
            except OSError:  # nothing queued (BlockingIOError), or no capacity: next round
                break
            streams.append(trio.SocketStream(trio.socket.from_stdlib_socket(sock)))
        return streams
