"""A kite's connection ending while Kontrol registers it, over real WebSocket sessions on
127.0.0.1, on SQLite and PostgreSQL: the registration never stays in the registry, and the
clean-up never removes a newer registration of the same kite id (a new connection's, or an
HTTP one). The same holds for the registration a late ping makes after expiry.

A storage wrapper holds chosen calls the way a slow database statement would: the call is in
flight, cannot be abandoned (both back-ends finish a started statement even when the caller is
cancelled), and completes when the test releases it, after the kite's connection has ended.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from kontrol_test_support import ANCHOR_KEY, MATH_ID, make_kontrol, math_kite, wall_clock

import kite
from kite import Auth, KiteIdentity, Peer
from kontrol import Kontrol, KontrolOptions, KontrolQuery, Storage

OLD_URL = "http://127.0.0.1:1/old/kite"
NEW_URL = "http://127.0.0.1:2/new/kite"
HTTP_URL = "http://127.0.0.1:3/http/kite"
AUTH = Auth("kiteKey", ANCHOR_KEY)


class HeldStorage:
    """A real storage whose chosen calls wait, shielded like a statement in flight, until the
    test releases them.

    `hold_upsert(url)`: upserts of `url` wait, then run; a caller cancelled meanwhile then
    sees the cancellation at once (`cancelled_after_write="raises"`, as the SQLite storage) or
    at its next checkpoint (`"returns"`, as a call in a worker thread, the PostgreSQL
    storage). `hold_key_lookups()`: key lookups by public key wait, then run and return
    normally even when the caller was cancelled meanwhile.
    """

    def __init__(self, inner: Storage, cancelled_after_write: str) -> None:
        self.inner = inner
        self.cancelled_after_write = cancelled_after_write
        self.upsert_entered: dict[str, trio.Event] = {}
        self._upsert_release: dict[str, trio.Event] = {}
        self.lookup_entered = trio.Event()
        self._lookup_release: trio.Event | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def hold_upsert(self, url: str) -> None:
        self.upsert_entered[url] = trio.Event()
        self._upsert_release[url] = trio.Event()

    def release_upsert(self, url: str) -> None:
        self._upsert_release.pop(url).set()

    def hold_key_lookups(self) -> None:
        self._lookup_release = trio.Event()

    def release_key_lookups(self) -> None:
        assert self._lookup_release is not None
        self._lookup_release.set()
        self._lookup_release = None

    async def upsert(self, kite: KiteIdentity, url: str, key_id: str) -> None:
        release = self._upsert_release.get(url)
        if release is None:
            await self.inner.upsert(kite, url, key_id)
            return
        self.upsert_entered[url].set()
        with trio.CancelScope(shield=True):
            await release.wait()
            await self.inner.upsert(kite, url, key_id)
        if self.cancelled_after_write == "raises":
            await trio.lowlevel.checkpoint_if_cancelled()

    async def get_key_by_public(self, public: str) -> Any:
        release = self._lookup_release
        with trio.CancelScope(shield=True):
            if release is not None:
                self.lookup_entered.set()
                await release.wait()
            return await self.inner.get_key_by_public(public)


class ServerPeers:
    """Kontrol's side of each accepted connection, and an event set once Kontrol's own
    `on_disconnect` handling of it has finished (hooks run in order; Kontrol's is first)."""

    def __init__(self, kontrol: Kontrol) -> None:
        self.peers: list[Peer] = []
        self.gone: dict[int, trio.Event] = {}
        kontrol.on_connect(self._connected)
        kontrol.on_disconnect(self._disconnected)

    def _connected(self, peer: Peer) -> None:
        self.peers.append(peer)
        self.gone[id(peer)] = trio.Event()

    def _disconnected(self, peer: Peer) -> None:
        self.gone[id(peer)].set()

    async def wait_gone(self, peer: Peer) -> None:
        with trio.fail_after(5):
            await self.gone[id(peer)].wait()


@pytest.fixture(params=["raises", "returns"])
def cancelled_after_write(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def served_kontrol(
    request: pytest.FixtureRequest, **kwargs: Any
) -> AsyncIterator[tuple[Kontrol, HeldStorage, kite.KiteServer]]:
    opener = request.getfixturevalue("open_backend")
    async with opener(clock=wall_clock) as inner:
        mode = "raises"
        if "cancelled_after_write" in request.fixturenames:
            mode = request.getfixturevalue("cancelled_after_write")
        storage = HeldStorage(inner, mode)
        kontrol = make_kontrol(storage, **kwargs)  # type: ignore[arg-type]
        async with kontrol.running(), kontrol.serve("127.0.0.1", 0) as server:
            yield kontrol, storage, server


async def rows(kontrol: Kontrol) -> list[str]:
    """The URLs stored for the math kite's id."""
    return [r.url for r in await kontrol.storage.get(KontrolQuery(id=MATH_ID))]


async def register_and_vanish(
    server: kite.KiteServer, url: str, entered: trio.Event, peers: ServerPeers
) -> Peer:
    """The math kite registers at `url` over a new WebSocket session and goes away (as on
    Ctrl-C) once `entered` is set; returns Kontrol's peer of that session, once it has seen
    the end."""
    seen = len(peers.peers)

    async def kite_process() -> None:
        async with math_kite().dial(server.url, auth=AUTH) as remote:
            await remote.tell("register", {"url": url}, timeout=10)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(kite_process)
            await entered.wait()
            nursery.cancel_scope.cancel()
        peer = peers.peers[seen]
        await peer.wait_closed()
    return peer


async def test_connection_ending_while_the_row_is_written_removes_it(
    backend: str, cancelled_after_write: str, request: pytest.FixtureRequest
) -> None:
    async with served_kontrol(request) as (kontrol, storage, server):
        peers = ServerPeers(kontrol)
        storage.hold_upsert(OLD_URL)
        peer = await register_and_vanish(server, OLD_URL, storage.upsert_entered[OLD_URL], peers)
        storage.release_upsert(OLD_URL)  # the write completes after the connection ended
        await peers.wait_gone(peer)
        assert await rows(kontrol) == []


async def test_connection_ended_before_the_row_is_written_stores_nothing(
    backend: str, request: pytest.FixtureRequest
) -> None:
    async with served_kontrol(request) as (kontrol, storage, server):
        peers = ServerPeers(kontrol)
        storage.hold_key_lookups()  # the request is past authentication, or in `register`
        peer = await register_and_vanish(server, OLD_URL, storage.lookup_entered, peers)
        storage.release_key_lookups()  # lookups return normally; the upsert would come next
        await peers.wait_gone(peer)
        assert await rows(kontrol) == []


async def test_cleanup_keeps_a_newer_registration_over_a_new_connection(
    backend: str, cancelled_after_write: str, request: pytest.FixtureRequest
) -> None:
    async with served_kontrol(request) as (kontrol, storage, server):
        peers = ServerPeers(kontrol)
        storage.hold_upsert(OLD_URL)
        old = await register_and_vanish(server, OLD_URL, storage.upsert_entered[OLD_URL], peers)
        async with math_kite().dial(server.url, auth=AUTH) as remote, trio.open_nursery() as n:
            # The kite came back on a new connection and registers again while the old
            # connection's row is still being written.
            n.start_soon(remote.tell, "register", {"url": NEW_URL})
            await trio.sleep(0.2)
            storage.release_upsert(OLD_URL)
            await peers.wait_gone(old)
            with trio.fail_after(5):
                while await rows(kontrol) != [NEW_URL]:  # noqa: ASYNC110
                    await trio.sleep(0.01)  # the new registration waits for the clean-up
            await trio.sleep(0.2)
            assert await rows(kontrol) == [NEW_URL]
        new = peers.peers[-1]
        await peers.wait_gone(new)
        assert await rows(kontrol) == []  # ... and owned by the new connection


async def _http_register(port: int, url: str) -> bytes:
    body = json.dumps(
        {
            "url": url,
            "kite": math_kite().identity_json,
            "auth": {"type": "kiteKey", "key": ANCHOR_KEY},
        }
    ).encode()
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(
            b"POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        chunks = []
        with trio.fail_after(5):
            while chunk := await stream.receive_some(65536):
                chunks.append(chunk)
    return b"".join(chunks)


async def test_cleanup_keeps_a_newer_http_registration(
    backend: str, cancelled_after_write: str, request: pytest.FixtureRequest
) -> None:
    async with served_kontrol(request) as (kontrol, storage, server):
        peers = ServerPeers(kontrol)
        storage.hold_upsert(OLD_URL)
        old = await register_and_vanish(server, OLD_URL, storage.upsert_entered[OLD_URL], peers)
        answers: list[bytes] = []

        async def http_kite() -> None:
            answers.append(await _http_register(server.port, HTTP_URL))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(http_kite)
            await trio.sleep(0.2)
            storage.release_upsert(OLD_URL)
            await peers.wait_gone(old)
        (answer,) = answers
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        await trio.sleep(0.2)
        assert await rows(kontrol) == [HTTP_URL]
        assert kontrol.registrations.http_heartbeat(MATH_ID)


async def test_connection_ending_while_a_late_ping_registers_again_removes_it(
    backend: str, cancelled_after_write: str, request: pytest.FixtureRequest
) -> None:
    options = KontrolOptions(heartbeat_interval=1, heartbeat_delay=0.2)
    async with served_kontrol(request, options=options) as (kontrol, storage, server):
        peers = ServerPeers(kontrol)
        math = math_kite()
        callbacks: list[Any] = []

        def heartbeat(r: kite.Request) -> None:  # keeps the callback, pings only when told
            callbacks.append(r.args.slice(2)[1].function())

        math.handle_func("kite.heartbeat", heartbeat, auth=False)
        with trio.fail_after(5):
            async with math.dial(server.url, auth=AUTH) as remote:
                await remote.tell("register", {"url": OLD_URL}, timeout=5)
                while not callbacks or await rows(kontrol):  # noqa: ASYNC110
                    await trio.sleep(0.05)  # silent for 1.2 s: the registration expired
                storage.hold_upsert(OLD_URL)
                await callbacks[0]()  # a late ping: Kontrol registers the kite again ...
                await storage.upsert_entered[OLD_URL].wait()
            # ... and the kite goes away while that row is written
            (peer,) = peers.peers
            await peer.wait_closed()
        storage.release_upsert(OLD_URL)
        await peers.wait_gone(peer)
        await trio.sleep(0.1)
        assert await rows(kontrol) == []
