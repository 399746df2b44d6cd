"""A trio stream over a plain TCP socket that asks the kernel first and the scheduler second.

How this works: trio's own `SocketStream` makes every `receive_some` and `send_all` a full
checkpoint, a trip through the scheduler, even when the kernel already holds data or has
buffer room. On a small machine that trip costs as much as the rest of an RPC round trip, twice
per message. `SocketStream` here tries the non-blocking system call first and only parks the
task (`trio.lowlevel.wait_readable` / `wait_writable`) when the call would block, which is when
a scheduler trip is needed anyway.

Skipping checkpoints has two costs, both bounded: a task whose peer always has data ready
would never let others run, and a cancelled task would not notice until it blocks. So after
`YIELD_EVERY` operations in a row that did not wait, the next one checkpoints. Closing from
another task wakes a task parked on the socket with `trio.ClosedResourceError`, as trio's
streams do; failures of the socket come out as `trio.BrokenResourceError`.

Only plain TCP uses this (`wrap_socket_stream`); TLS keeps `trio.SSLStream` over trio's stream.
"""

from __future__ import annotations

import errno
import socket

import trio

__all__ = ["YIELD_EVERY", "SocketStream", "wrap_socket_stream"]

#: Operations in a row that may complete without a checkpoint (fairness, cancellation).
YIELD_EVERY = 16
_DEFAULT_RECEIVE_SIZE = 65536
_checkpoint = trio.lowlevel.checkpoint
_wait_readable = trio.lowlevel.wait_readable


class SocketStream(trio.abc.HalfCloseableStream):
    """A `trio.abc.HalfCloseableStream` over a connected, non-blocking stdlib TCP socket.

    Not safe for two tasks receiving (or two sending) at once; the WebSocket and HTTP layers
    above serialise their sends and have a single reader, as with any trio stream.
    """

    __slots__ = ("_closed", "_drained", "_streak", "socket")

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        #: The underlying stdlib socket (for `getpeername`, socket options).
        self.socket = sock
        self._closed = False
        self._streak = 0
        self._drained = False

    def _error(self, exc: OSError) -> trio.ClosedResourceError | trio.BrokenResourceError:
        if self._closed or exc.errno == errno.EBADF:
            return trio.ClosedResourceError("the socket was closed")
        return trio.BrokenResourceError(f"socket failed: {exc}")

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """The next bytes from the peer (b"" at end of stream), up to `max_bytes`."""
        if self._closed:
            raise trio.ClosedResourceError("the socket was closed")
        size = _DEFAULT_RECEIVE_SIZE if max_bytes is None else max_bytes
        if size < 1:
            raise ValueError("max_bytes must be at least 1")
        # Every `YIELD_EVERY`-th operation in a row that did not wait checkpoints, before
        # (never after) the system call: cancelled there, it has consumed no data.
        streak = self._streak + 1
        if streak >= YIELD_EVERY:
            streak = 0
            await _checkpoint()
        self._streak = streak
        sock = self.socket
        if self._drained:
            self._streak = 0
            await _wait_readable(sock)
        while True:
            try:
                data = sock.recv(size)
                self._drained = len(data) < size
                return data
            except BlockingIOError:
                self._streak = 0
                await _wait_readable(sock)
            except OSError as exc:
                raise self._error(exc) from exc

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Write all of `data`; cancelled part-way, the stream is broken (as trio's)."""
        if self._closed:
            raise trio.ClosedResourceError("the socket was closed")
        streak = self._streak + 1
        if streak >= YIELD_EVERY:
            streak = 0
            await _checkpoint()
        self._streak = streak
        sock = self.socket
        try:
            sent = sock.send(data) if data else 0
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            raise self._error(exc) from exc
        if sent == len(data):
            return
        self._streak = 0
        with memoryview(data) as view:
            while sent < len(view):
                await trio.lowlevel.wait_writable(sock)
                try:
                    sent += sock.send(view[sent:])
                except BlockingIOError:
                    continue
                except OSError as exc:
                    raise self._error(exc) from exc

    async def wait_send_all_might_not_block(self) -> None:
        """Wait until the kernel has room for more outgoing bytes."""
        if self._closed:
            raise trio.ClosedResourceError("the socket was closed")
        await trio.lowlevel.wait_writable(self.socket)

    async def send_eof(self) -> None:
        """Half-close: no more sends; the peer reads end of stream."""
        if self._closed:
            raise trio.ClosedResourceError("the socket was closed")
        await trio.lowlevel.checkpoint()
        try:
            self.socket.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise self._error(exc) from exc

    async def aclose(self) -> None:
        """Close the socket; tasks parked on it get `trio.ClosedResourceError`."""
        if not self._closed:
            self._closed = True
            if self.socket.fileno() >= 0:
                trio.lowlevel.notify_closing(self.socket)
            self.socket.close()
        await trio.lowlevel.checkpoint()


def wrap_socket_stream(tcp: trio.SocketStream) -> SocketStream:
    """Take over the socket of a trio `SocketStream` (which must no longer be used)."""
    sock = tcp.socket
    family, kind, proto = sock.family, sock.type, sock.proto
    return SocketStream(socket.socket(family, kind, proto, fileno=sock.detach()))
