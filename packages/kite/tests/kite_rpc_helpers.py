"""Shared helpers of the RPC core tests: a `math` kite like the Go captures' `gomath`, a
`goclient` kite, a recording pipe, and a connected pair of peers over an in-memory pipe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

import kite
from kite import Config, Kite, KiteError, MemoryPipe, Peer, Request, memory_pipe_pair


class RecordingPipe:
    """A real pipe end that also keeps every message it sent and received."""

    def __init__(self, inner: MemoryPipe) -> None:
        self.inner = inner
        self.sent: list[str] = []
        self.received: list[str] = []

    async def send(self, message: str) -> None:
        await self.inner.send(message)
        self.sent.append(message)

    async def receive(self) -> str:
        message = await self.inner.receive()
        self.received.append(message)
        return message

    async def aclose(self) -> None:
        await self.inner.aclose()


def math_kite(*, auth: bool = False, config: Config | None = None, **kwargs: Any) -> Kite:
    """A kite named `math` serving the methods of the captures' Go `gomath` program.

    Without `auth`, authentication is disabled on every method (as `gomath` without `-auth`).
    """
    config = (config or Config()).replace(disable_authentication=not auth)
    k = Kite("math", "1.0.0", config, **kwargs)
    k.hostname = "vm"

    @k.handle("square")
    def square(r: Request) -> float:
        n = r.args.one().float()
        return n * n

    @k.handle("echo")
    def echo(r: Request) -> Any:
        return r.args.raw

    @k.handle("add")
    def add(r: Request) -> float:
        a, b = r.args.slice(2)
        return a.float() + b.float()

    @k.handle("fail")
    def fail(r: Request) -> None:
        raise ValueError(r.args.one().string())

    @k.handle("failTyped")
    def fail_typed(r: Request) -> None:
        raise KiteError(r.args.one().string(), type="myType", code="E_CUSTOM")

    @k.handle("boom")
    def boom(r: Request) -> None:
        raise RuntimeError("boom: deliberate panic in handler")

    @k.handle("sleep")
    async def sleep(r: Request) -> str:
        await trio.sleep(r.args.one().float() / 1000)
        return "slept"

    @k.handle("countdown")
    async def countdown(r: Request) -> str:
        opts = r.args.one().map()
        cb = opts["cb"].function()
        for i in range(opts["from"].int(), 0, -1):
            await cb(i)
        return "done"

    @k.handle("callMeBack")
    async def call_me_back(r: Request) -> Any:
        return await r.client.tell("client.hello", "hello from math")

    return k


def client_kite(**kwargs: Any) -> Kite:
    """A kite named `goclient` with the `client.hello` method of the captures' Go client."""
    k = Kite("goclient", "1.0.0", **kwargs)
    k.hostname = "vm"
    k.handle_func("client.hello", lambda r: "hello from go client")
    return k


@asynccontextmanager
async def connected(
    server: Kite, client: Kite, **connect: Any
) -> AsyncIterator[tuple[Peer, Peer, RecordingPipe, RecordingPipe]]:
    """`client` dials `server` over an in-memory pipe; yields (client peer, server peer,
    client pipe, server pipe)."""
    a, b = memory_pipe_pair()
    server_pipe, client_pipe = RecordingPipe(a), RecordingPipe(b)
    async with (
        server.accept(server_pipe) as server_peer,
        client.connect_pipe(client_pipe, **connect) as client_peer,
    ):
        yield client_peer, server_peer, client_pipe, server_pipe


__all__ = ["RecordingPipe", "client_kite", "connected", "kite", "math_kite"]
