"""The tunnels of the tunnel proxy: one outside SockJS session joined to one a kite dialled.

How this works: every kite registered to a `TunnelProxy` is a `TunnelledKite` -- the proxy's
connection to it (`peer`, over which the proxy calls `kite.tunnel`) and its open `Tunnel`s,
numbered from 1. A tunnel starts *opening* when an outside client's session arrives: it gets
a random single-use token, the kite is asked to dial `/tunnel/...?token=<token>`, and the
session the kite dials in is handed over with `arrive`. From then on `join` copies SockJS
messages both ways, one message at a time (each is sent on before the next is read, so a
slow side holds the other back), until either session ends. Closing a tunnel (`close`, or
closing its kite) cancels its scope, which ends both sessions.
"""

from __future__ import annotations

from contextlib import suppress

import trio

from .._errors import SendError
from .._rpc._peer import Peer
from .._rpc._pipe import MessagePipe
from .._sockjs._pipe import SockJSPipe

__all__ = ["Tunnel", "TunnelledKite", "join"]


class Tunnel:
    """One outside session on its way to, or joined with, a session the kite dialled."""

    __slots__ = ("_arrived", "_ended", "kite_side", "scope", "seq", "token")

    def __init__(self, seq: int, token: str) -> None:
        self.seq = seq
        self.token = token
        #: The session the kite dialled, once it arrived.
        self.kite_side: SockJSPipe | None = None
        #: Runs the outside session's side of the tunnel; cancelling it ends the tunnel.
        self.scope = trio.CancelScope()
        self._arrived = trio.Event()
        self._ended = trio.Event()

    @property
    def opening(self) -> bool:
        """Whether the kite has not dialled in yet."""
        return self.kite_side is None

    def arrive(self, session: SockJSPipe) -> None:
        """The kite dialled in: hand its session to the waiting outside side."""
        self.kite_side = session
        self._arrived.set()

    async def wait_arrived(self) -> SockJSPipe:
        """Wait for the kite's session."""
        await self._arrived.wait()
        assert self.kite_side is not None
        return self.kite_side

    def end(self) -> None:
        """The tunnel is over (the kite's session may end now)."""
        self._ended.set()

    async def wait_ended(self) -> None:
        """Wait until the tunnel is over."""
        await self._ended.wait()


class TunnelledKite:
    """A kite registered to the tunnel proxy over `peer`, with its tunnels."""

    __slots__ = ("_seq", "peer", "tunnels")

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        #: Open tunnels (opening or joined) by number.
        self.tunnels: dict[int, Tunnel] = {}
        self._seq = 0

    @property
    def opening(self) -> int:
        """Tunnels the kite has been asked for and has not dialled yet."""
        return sum(1 for tunnel in self.tunnels.values() if tunnel.opening)

    def open_tunnel(self, token: str) -> Tunnel:
        """A new tunnel, numbered after the last one."""
        self._seq += 1
        tunnel = Tunnel(self._seq, token)
        self.tunnels[tunnel.seq] = tunnel
        return tunnel

    def forget(self, tunnel: Tunnel) -> None:
        """Drop a tunnel that is over."""
        self.tunnels.pop(tunnel.seq, None)
        tunnel.end()

    def close(self) -> None:
        """End every tunnel of this kite."""
        for tunnel in self.tunnels.values():
            tunnel.scope.cancel()


async def join(outside: MessagePipe, kite_side: MessagePipe) -> None:
    """Copy messages between two sessions until either ends (then return)."""
    async with trio.open_nursery() as nursery:

        async def copy(source: MessagePipe, sink: MessagePipe) -> None:
            with suppress(SendError):  # PipeClosedError: one of the sessions ended
                while True:
                    await sink.send(await source.receive())
            nursery.cancel_scope.cancel()

        nursery.start_soon(copy, outside, kite_side)
        nursery.start_soon(copy, kite_side, outside)
