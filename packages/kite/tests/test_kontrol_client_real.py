"""The Kontrol client against the real Kontrol (`kontrol.Kontrol` on SQLite): over memory pipes
under the mock clock (registration bytes, queries, renewal through a Kontrol restart), and
over real 127.0.0.1 sockets with the default dialler (`Kite.dial`) and HTTP client."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from kite_auth_support import KONTROL_PEM, KONTROL_PUB
from kontrol_client_helpers import (
    KONTROL_URL,
    MATH_URL,
    Network,
    capture_messages,
    local_kite,
    math_kite_with_tokens,
    use_wall_clock,
    wall_clock,
)

import kite
from kite import KiteIdentity, KontrolQuery, NoKitesAvailableError, RegisterResult
from kite._auth._tokens import parse_unverified

kontrol = pytest.importorskip("kontrol")

REGISTER_ID = "9cd16cb2-60b6-4d7a-99d9-521948e7a3cf"
#: Kontrol call timeout under the mock clock (see `sqlite_clock`).
SLOW = 60.0


@pytest.fixture
def sqlite_clock() -> trio.testing.MockClock:
    """An autojumping clock that waits 5 ms of real idleness before jumping: Kontrol's SQLite
    statements run in worker threads, and a zero threshold would jump timers past them. (The
    Kontrol clients below also get a long call timeout, so a slow statement on a busy machine
    can at worst jump the clock to the next ping, never time a call out.)"""
    return trio.testing.MockClock(autojump_threshold=0.005)


@asynccontextmanager
async def running_kontrol(
    db: Path, *, url: str = KONTROL_URL, clock: Any = wall_clock, **options: Any
) -> AsyncIterator[Any]:
    """A real Kontrol (user anchor, the captures' key pair) on an SQLite file."""
    async with kontrol.open_sqlite_storage(db, cleanup_interval=None, clock=clock) as storage:
        k = kontrol.Kontrol(
            config=kite.Config(username="anchor", kontrol_url=url),
            storage=storage,
            key_pair=kite.KeyPair(KONTROL_PUB, KONTROL_PEM),
            options=kontrol.KontrolOptions(**options),
            clock=clock,
        )
        k.hostname = "vm"
        async with k.running():
            yield k


async def test_register_bytes_equal_go_against_real_kontrol(tmp_path: Path) -> None:
    # The real clock: with an autojumping one, a busy machine's slow SQLite thread let the
    # clock jump to the register call's deadline, and the retry changed the bytes sent.
    math = use_wall_clock(local_kite("math", REGISTER_ID))
    async with running_kontrol(tmp_path / "k.db") as real, trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, real)
        async with math.kontrol_client(url=KONTROL_URL, dialler=net.dialler(math), timeout=SLOW):
            result = await math.register_forever(MATH_URL)
            await trio.sleep(1)
            assert net.sent[KONTROL_URL] == capture_messages("kontrol-register")
            records = await real.storage.get(kontrol.KontrolQuery(username="anchor", name="math"))
            assert [r.url for r in records] == [MATH_URL]
        nursery.cancel_scope.cancel()
    assert result == RegisterResult(url=MATH_URL, heartbeat_interval=0)


async def test_get_kites_token_and_key_against_real_kontrol(
    tmp_path: Path, sqlite_clock: trio.testing.MockClock
) -> None:
    math = math_kite_with_tokens()
    goquery = use_wall_clock(local_kite("goquery", "5175d11a-1b25-424e-8100-bdc202c0c02c"))
    async with running_kontrol(tmp_path / "k.db") as real, trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, real)
        net.serve(MATH_URL, math)
        async with (
            math.kontrol_client(url=KONTROL_URL, dialler=net.dialler(math), timeout=SLOW),
            goquery.kontrol_client(
                url=KONTROL_URL, dialler=net.dialler(goquery), wall_clock=wall_clock, timeout=SLOW
            ),
        ):
            await math.register_forever(MATH_URL)
            (client,) = await goquery.get_kites(KontrolQuery(username="anchor", name="math"))
            assert net.sent[KONTROL_URL][:1] == capture_messages("kontrol-getkites")[:1]
            assert client.kite == math.identity
            assert client.key_id  # the key pair's id in Kontrol's storage
            assert parse_unverified(client.token).claims.aud == "/anchor//math"
            async with client:
                assert await client.tell("square", 6) == 36
            token = await goquery.get_token(KiteIdentity(name="math", username="anchor"))
            assert token == client.token  # Kontrol's token cache, as Go's
            forced = await goquery.get_token_force(KiteIdentity(name="math", username="anchor"))
            assert forced != token
            assert await goquery.get_key() == KONTROL_PUB.strip()
            with pytest.raises(NoKitesAvailableError):
                await goquery.get_kites(KontrolQuery(username="anchor", name="nothing"))
        nursery.cancel_scope.cancel()


async def test_renewal_and_reregistration_through_real_kontrol_restart(
    tmp_path: Path, sqlite_clock: trio.testing.MockClock
) -> None:
    """Short-lived tokens (renewed every 150 s) renewed again and again while Kontrol is
    stopped and started on the same database; the math kite re-registers by itself."""
    options: dict[str, Any] = {"token_ttl": 120.0, "token_leeway": 60.0}  # exp = iat + 4 min
    math = math_kite_with_tokens()
    goquery = use_wall_clock(local_kite("goquery", "q"))
    renewed: list[str] = []
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(MATH_URL, math)
        restart = trio.Event()
        started = trio.Event()

        async def run_kontrol() -> None:
            async with running_kontrol(tmp_path / "k.db", **options) as real:
                net.serve(KONTROL_URL, real)
                started.set()
                await restart.wait()
                await net.down(KONTROL_URL)
            await trio.sleep(300)  # down for five minutes
            async with running_kontrol(tmp_path / "k.db", **options) as real:
                net.serve(KONTROL_URL, real)
                await trio.sleep_forever()

        nursery.start_soon(run_kontrol)
        await started.wait()
        async with (
            math.kontrol_client(url=KONTROL_URL, dialler=net.dialler(math), timeout=SLOW),
            goquery.kontrol_client(
                url=KONTROL_URL, dialler=net.dialler(goquery), wall_clock=wall_clock, timeout=SLOW
            ),
        ):
            await math.register_forever(MATH_URL)
            (client,) = await goquery.get_kites({"username": "anchor", "name": "math"})
            client.on_token_renew(renewed.append)
            async with client:
                await trio.sleep(320)
                assert len(renewed) == 2  # at 150 s and 300 s
                assert client.renewer.failures == 0
                restart.set()
                await trio.sleep(300)
                assert client.renewer.failures > 0  # it kept trying while Kontrol was down
                count = len(renewed)
                # Back-off after the outage (renewer up to 5 min, math's redial up to 90 s) plus
                # two 150 s renewals: 700 s leaves margin on the mock clock (costs no real time).
                await trio.sleep(700)
                assert len(renewed) >= count + 2  # and renews normally again
                assert await client.tell("square", 5) == 25
                exp = parse_unverified(client.token).claims.exp
                assert exp > wall_clock()
        nursery.cancel_scope.cancel()


async def test_real_sockets_default_dialler_and_http_client(
    kontrol_server: Any, kite_config: kite.Config
) -> None:
    """No memory pipes: Kontrol (the `kontrol_server` fixture) and math listen on 127.0.0.1,
    everyone uses `Kite.dial` and the default HTTP client; math registers over HTTP, goquery
    finds it and calls it."""
    math = kite.Kite("math", "1.0.0", kite_config)
    math.handle_func("square", lambda r: r.args.one().float() ** 2)
    goquery = kite.Kite("goquery", "1.0.0", kite_config)
    async with (
        math.serve("127.0.0.1", 0) as math_server,
        math.kontrol_client(),
        goquery.kontrol_client(),
    ):
        with trio.fail_after(10):
            result = await math.register_http(math_server.url)
            assert result.heartbeat_interval == 10
            (client,) = await goquery.get_kites({"username": "testuser", "name": "math"})
            assert client.url == math_server.url
            async with client:
                assert await client.tell("square", 7) == 49
            assert await goquery.get_key() == kontrol_server.key_pair.public.strip()
            ws_result = await math.register(math_server.url)
            assert ws_result.url == math_server.url


async def test_kites_found_but_not_dialled_are_freed_without_the_gc(
    tmp_path: Path, sqlite_clock: trio.testing.MockClock
) -> None:
    # A getKites answer holds a KiteClient per kite found; one that is never dialled must not
    # sit in a reference cycle (its token renewer is made only when used).
    math = math_kite_with_tokens()
    goquery = use_wall_clock(local_kite("goquery", "5175d11a-1b25-424e-8100-bdc202c0c02c"))
    async with running_kontrol(tmp_path / "k.db") as real, trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, real)
        async with (
            math.kontrol_client(url=KONTROL_URL, dialler=net.dialler(math), timeout=SLOW),
            goquery.kontrol_client(
                url=KONTROL_URL, dialler=net.dialler(goquery), wall_clock=wall_clock, timeout=SLOW
            ),
        ):
            await math.register_forever(MATH_URL)
            (client,) = await goquery.get_kites(KontrolQuery(username="anchor", name="math"))
            ref = weakref.ref(client)
            gc.disable()
            try:
                del client
                assert ref() is None
            finally:
                gc.enable()
            (client,) = await goquery.get_kites(KontrolQuery(username="anchor", name="math"))
            assert client.renewer.name == f"math/{math.identity.id}"  # still there when used
        nursery.cancel_scope.cancel()
