"""Shared material of the Kontrol tests: the Go-issued keys of conformance/captures/keys, a
Kontrol on a real SQLite file with a clock tied to trio's (so `autojump_clock` drives both
liveness timers and stored timestamps), and kites connected to it over memory pipes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

import kite
from kite import Auth, Kite, KiteIdentity, MemoryPipe, Peer, memory_pipe_pair
from kontrol import Kontrol, KontrolOptions, Storage, open_sqlite_storage

ROOT = Path(__file__).resolve().parents[3]
KEYS = ROOT / "conformance" / "captures" / "keys"
CAPTURES = ROOT / "conformance" / "captures"


def key_file(name: str) -> str:
    return (KEYS / name).read_text().strip()


KONTROL_PEM = (KEYS / "kontrol.pem").read_text()
KONTROL_PUB = (KEYS / "kontrol.pub").read_text()
ROGUE_PEM = (KEYS / "rogue.pem").read_text()
ROGUE_PUB = (KEYS / "rogue.pub").read_text()
ANCHOR_KEY = key_file("anchor.kite.key")
ALICE_KEY = key_file("alice.kite.key")
ROGUE_KEY = key_file("rogue.kite.key")
BADSIG_KEY = key_file("badsig.kite.key")

#: A moment at which every captured key is valid (the captures were made in November 2026).
NOW = 1795425467 + 60
KONTROL_URL = "http://127.0.0.1:4000/kite"
MATH_URL = "http://127.0.0.1:13636/kite"
MATH_ID = "9cd16cb2-60b6-4d7a-99d9-521948e7a3cf"


def wall_clock() -> float:
    """Unix time that advances with trio's clock, starting at `NOW`."""
    return NOW + trio.current_time()


class RecordingPipe:
    """A real pipe end that also keeps every message it sent."""

    def __init__(self, inner: MemoryPipe) -> None:
        self.inner = inner
        self.sent: list[str] = []

    async def send(self, message: str) -> None:
        await self.inner.send(message)
        self.sent.append(message)

    async def receive(self) -> str:
        return await self.inner.receive()

    async def aclose(self) -> None:
        await self.inner.aclose()


@asynccontextmanager
async def sqlite_storage(path: Path | str, **options: Any) -> AsyncIterator[Storage]:
    options.setdefault("clock", wall_clock)
    async with open_sqlite_storage(path, cleanup_interval=None, **options) as storage:
        yield storage


def make_kontrol(storage: Storage, **kwargs: Any) -> Kontrol:
    kwargs.setdefault("key_pair", kite.KeyPair(KONTROL_PUB, KONTROL_PEM))
    kwargs.setdefault("options", KontrolOptions())
    kwargs.setdefault("clock", wall_clock)
    return Kontrol(
        config=kite.Config(username="anchor", kontrol_url=KONTROL_URL), storage=storage, **kwargs
    )


@asynccontextmanager
async def running_kontrol(path: Path | str, **kwargs: Any) -> AsyncIterator[Kontrol]:
    async with sqlite_storage(path) as storage:
        kontrol = make_kontrol(storage, **kwargs)
        async with kontrol.running():
            yield kontrol


def math_kite(kite_id: str = MATH_ID, name: str = "math") -> Kite:
    """A kite like the captures' gomath (username is replaced by the kite key's `sub`)."""
    k = Kite(name, "1.0.0", kite.Config(username="anchor"))
    k.id = kite_id
    k.hostname = "vm"
    return k


@asynccontextmanager
async def dial(
    kontrol: Kontrol, client: Kite, key: str = ANCHOR_KEY, auth_type: str = "kiteKey"
) -> AsyncIterator[tuple[Peer, RecordingPipe]]:
    """`client` connects to `kontrol` over a memory pipe; yields (client's peer, Kontrol's
    recording pipe end)."""
    a, b = memory_pipe_pair()
    server_pipe = RecordingPipe(a)
    async with (
        kontrol.accept(server_pipe),
        client.connect_pipe(b, auth=Auth(auth_type, key)) as peer,
    ):
        yield peer, server_pipe


async def register(peer: Peer, url: str = MATH_URL) -> Any:
    return await peer.tell("register", {"url": url}, timeout=5)


def capture_messages(name: str) -> list[tuple[str, Any]]:
    """(direction, dnode message) of every SockJS message in a capture."""
    out = []
    for line in (CAPTURES / f"{name}.jsonl").read_text().splitlines():
        event = json.loads(line)
        messages = (event.get("sockjs") or {}).get("messages") or []
        out.extend((event["dir"], json.loads(m)) for m in messages)
    return out


def token_config(pub: str = KONTROL_PUB) -> kite.Config:
    """A kite's config trusting Kontrol `anchor` with key `pub`."""
    return kite.Config(username="anchor", kontrol_user="anchor", kontrol_key=pub.strip())


def verify_token(token: str, local: KiteIdentity, pub: str = KONTROL_PUB) -> str:
    """Authenticate `token` the way a kite would; returns the username."""
    return kite.Authenticators().authenticate_sync(
        Auth("token", token), local=local, config=token_config(pub), now=wall_clock()
    )


async def http_exchange(port: int, request: bytes) -> bytes:
    """One raw HTTP/1.1 exchange with a server on 127.0.0.1 (the request says
    `Connection: close`): the whole response's bytes."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        chunks = []
        with trio.fail_after(10):
            while chunk := await stream.receive_some(65536):
                chunks.append(chunk)
    return b"".join(chunks)


def split_response(response: bytes) -> tuple[str, dict[str, str], bytes]:
    """A raw HTTP/1.1 response as (status line, headers, body)."""
    head, _, body = response.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, headers, body
