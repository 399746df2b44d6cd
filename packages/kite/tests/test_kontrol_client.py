"""The Kontrol client against a Kontrol kite over in-memory pipes: Go's message bytes (from the
kontrol-* captures), heartbeats, reconnection and re-registration, queries and key adoption."""

from __future__ import annotations

import json

import pytest
import trio
import trio.testing
from kite_auth_support import KONTROL_PUB, NOW, ROGUE_PEM, ROGUE_PUB, anchor_config
from kontrol_client_helpers import (
    KONTROL_URL,
    MATH_URL,
    FakeKontrol,
    HTTPKontrol,
    Network,
    capture_messages,
    local_kite,
    math_kite_with_tokens,
    wall_clock,
)

from kite import (
    KiteClient,
    KiteIdentity,
    KiteKey,
    KiteTimeoutError,
    KontrolError,
    KontrolQuery,
    NoKitesAvailableError,
    RegisterResult,
    Request,
    resign_kite_key,
)
from kite._auth._tokens import parse_unverified

REGISTER_ID = "9cd16cb2-60b6-4d7a-99d9-521948e7a3cf"


async def test_register_bytes_equal_go(autojump_clock: trio.testing.MockClock) -> None:
    """gomath's side of kontrol-register: register, first ping, heartbeat answer."""
    kontrol = FakeKontrol(heartbeat_interval=10)
    math = local_kite("math", REGISTER_ID)
    results: list[RegisterResult] = []
    math.on_register(results.append)
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        async with math.kontrol_client(url=KONTROL_URL, dialler=net.dialler(math)):
            result = await math.register(MATH_URL)
            await trio.sleep(1)
            assert net.sent[KONTROL_URL] == capture_messages("kontrol-register")
            await trio.sleep(25)  # pings every 10 s on the Kontrol connection
            assert net.sent[KONTROL_URL][3:] == ['{"method":1,"arguments":[],"callbacks":{}}'] * 2
        nursery.cancel_scope.cancel()
    assert result == RegisterResult(url=MATH_URL, heartbeat_interval=0)
    assert results == [result]
    assert kontrol.registered[REGISTER_ID][1] == MATH_URL
    assert kontrol.pings == [0.0, 10.0, 20.0]


@pytest.mark.parametrize(
    ("capture", "kite_id", "call"),
    [
        (
            "kontrol-getkites",
            "5175d11a-1b25-424e-8100-bdc202c0c02c",
            lambda k: k.get_kites(KontrolQuery(username="anchor", name="math")),
        ),
        (
            "kontrol-gettoken",
            "218e4cf6-9571-469b-aac1-1b8362ffe81e",
            lambda k: k.get_token(KiteIdentity(name="math", username="anchor")),
        ),
        ("kontrol-getkey", "10399304-f101-4d90-8af7-5e1ec59e574f", lambda k: k.get_key()),
    ],
)
async def test_query_bytes_equal_go(capture: str, kite_id: str, call: object) -> None:
    """goquery's request of kontrol-getkites / -gettoken / -getkey, byte for byte."""
    kontrol = FakeKontrol()
    kontrol.registered["10c39e01-6948-4637-aaca-cb4a96f2a1cf"] = (
        math_kite_with_tokens().identity,
        MATH_URL,
    )
    goquery = local_kite("goquery", kite_id)
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        async with goquery.kontrol_client(url=KONTROL_URL, dialler=net.dialler(goquery)):
            assert callable(call)
            await call(goquery)
        nursery.cancel_scope.cancel()
    assert net.sent[KONTROL_URL][:1] == capture_messages(capture)[:1]


async def test_get_token_force_shape() -> None:
    kontrol = FakeKontrol()
    math = math_kite_with_tokens()
    kontrol.registered[math.id] = (math.identity, MATH_URL)
    goquery = local_kite("goquery", "q")
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        async with goquery.kontrol_client(url=KONTROL_URL, dialler=net.dialler(goquery)):
            token = await goquery.get_token_force(KiteIdentity(name="math", username="anchor"))
        nursery.cancel_scope.cancel()
    sent = json.loads(net.sent[KONTROL_URL][0])
    assert json.dumps(sent["arguments"][0]["withArgs"], separators=(",", ":")) == (
        '[{"username":"anchor","environment":"","name":"math","version":"","region":"",'
        '"hostname":"","id":"","force":true}]'
    )
    assert parse_unverified(token).claims.aud == "/anchor//math"


async def test_get_kites_clients_dial_with_token_and_get_key_adopts() -> None:
    kontrol = FakeKontrol()
    math = math_kite_with_tokens()
    kontrol.registered[math.id] = (math.identity, MATH_URL)
    goquery = local_kite("goquery", "q")
    goquery.config = anchor_config().replace(kontrol_key="")
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        net.serve(MATH_URL, math)
        async with goquery.kontrol_client(
            url=KONTROL_URL, dialler=net.dialler(goquery), wall_clock=wall_clock
        ):
            clients = await goquery.get_kites({"username": "anchor", "name": "math"})
            assert [(c.kite, c.url, c.key_id) for c in clients] == [
                (math.identity, MATH_URL, "key-1")
            ]
            client = clients[0]
            assert client.auth.type == "token"
            assert parse_unverified(client.token).claims.aud == "/anchor//math"
            async with client:
                assert await client.tell("square", 6) == 36
            with pytest.raises(NoKitesAvailableError, match="no kites availabile"):
                await goquery.get_kites(KontrolQuery(username="anchor", name="nope"))
            assert await goquery.get_key() == KONTROL_PUB.strip()
            assert getattr(goquery.config, "kontrol_key", None) == KONTROL_PUB.strip()
        nursery.cancel_scope.cancel()


async def test_calls_time_out_naming_kontrol_and_why_while_it_is_unreachable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    k = local_kite("math", "m")
    async with trio.open_nursery() as nursery:
        net = Network(nursery)  # nothing serves KONTROL_URL
        async with k.kontrol_client(url=KONTROL_URL, dialler=net.dialler(k)):
            with pytest.raises(KiteTimeoutError) as info:
                await k.get_token(KiteIdentity(id="x"))
        nursery.cancel_scope.cancel()
    assert info.value.message == (
        f"cannot reach Kontrol at {KONTROL_URL} in 15s for getToken: "
        f"dial {KONTROL_URL}: connection refused"
    )
    # it kept redialling meanwhile, with Go's back-off (0.5 s growing x1.5, +-50 %)
    assert 5 <= net.dials[KONTROL_URL] <= 15


async def test_register_forever_survives_kontrol_restarts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    first = FakeKontrol()
    math = local_kite("math", "m-1")
    registrations: list[float] = []
    math.on_register(lambda result: registrations.append(trio.current_time()))
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, first.kite)
        async with math.kontrol_client(url=KONTROL_URL, dialler=net.dialler(math)) as kontrol:
            await math.register_forever(MATH_URL)
            assert kontrol.connections == 1
            await net.down(KONTROL_URL)  # Kontrol dies
            await trio.sleep(300)
            assert not kontrol.connected
            restarted = FakeKontrol()  # a new Kontrol process: it knows nothing
            net.serve(KONTROL_URL, restarted.kite)
            await trio.sleep(95)  # the back-off is at most 60 s +-50 %, i.e. 90 s
            assert kontrol.peer is not None
            assert restarted.registered["m-1"][1] == MATH_URL
            assert restarted.pings  # and its heartbeat reaches us again
        nursery.cancel_scope.cancel()
    assert len(registrations) == 2
    assert kontrol.connections == 2


async def test_register_forever_retries_refusals_every_10s(
    autojump_clock: trio.testing.MockClock,
) -> None:
    kontrol = FakeKontrol()
    math = local_kite("math", "m")
    refusals = 3

    original = kontrol.kite.methods["register"].handler

    async def flaky(r: Request) -> object:
        nonlocal refusals
        if refusals:
            refusals -= 1
            raise ValueError("internal error - register")
        return await original(r)

    kontrol.kite.handle_func("register", flaky)
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        async with math.kontrol_client(url=KONTROL_URL, dialler=net.dialler(math)):
            start = trio.current_time()
            await math.register_forever(MATH_URL)
            assert trio.current_time() - start == pytest.approx(30, abs=0.1)
            assert (await math.kontrol_ready()).url == MATH_URL
        nursery.cancel_scope.cancel()


async def test_register_adopts_resigned_kite_key(tmp_path: object) -> None:
    """After a key rotation Kontrol returns a re-signed kite key: the kite uses it (and its
    Kontrol key) from then on, also on the Kontrol connection."""
    claims = KiteKey.parse(anchor_config().kite_key, now=NOW).claims
    new_key = resign_kite_key(claims, private_key=ROGUE_PEM, public_key=ROGUE_PUB)
    kontrol = FakeKontrol(register_extra={"kiteKey": new_key, "publicKey": ROGUE_PUB.strip()})
    math = local_kite("math", "m")
    seen: list[str] = []
    math.on_register(lambda result: seen.append(result.kite_key))
    path = tmp_path / "kite.key"  # type: ignore[operator]
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        async with math.kontrol_client(
            url=KONTROL_URL,
            dialler=net.dialler(math),
            kite_key_path=path,
            wall_clock=lambda: float(NOW),
        ) as client:
            await math.register(MATH_URL)
            assert client.peer is not None
            assert client.peer.auth is not None
            assert client.peer.auth.key == new_key
        nursery.cancel_scope.cancel()
    assert seen == [new_key]
    assert getattr(math.config, "kite_key", None) == new_key
    assert getattr(math.config, "kontrol_key", None) == ROGUE_PUB.strip()
    assert path.read_text() == new_key


async def test_methods_need_an_open_client() -> None:
    k = local_kite("math", "m")
    with pytest.raises(KontrolError, match="no Kontrol client is open"):
        await k.get_key()
    no_url = local_kite("math", "m")
    no_url.config = anchor_config().replace(kontrol_url="")
    async with no_url.kontrol_client(dialler=lambda url: None) as kontrol:  # type: ignore[arg-type,return-value]
        with pytest.raises(KontrolError, match="no kontrol URL given in config"):
            await kontrol.get_key()
    for closed in (k, no_url):
        with pytest.raises(KontrolError, match="no Kontrol client is open"):
            closed.kontrol  # noqa: B018 - the property raises
    with pytest.raises(KontrolError, match="not open"):
        await kontrol.register(MATH_URL)


async def test_kite_client_requires_open_block() -> None:
    k = local_kite("goquery", "q")
    client = KiteClient(k.kontrol_client(url=KONTROL_URL), KiteIdentity(id="x"), MATH_URL, "t")
    with pytest.raises(KontrolError, match="not connected"):
        await client.tell("square", 2)


async def test_errors_of_the_block_come_out_unwrapped_and_clients_open_once() -> None:
    k = local_kite("math", "m")
    client = k.kontrol_client(url=KONTROL_URL)
    with pytest.raises(LookupError, match="boom"):
        async with client:
            raise LookupError("boom")
    with pytest.raises(KontrolError, match="no Kontrol client is open"):
        k.kontrol  # noqa: B018 - the property raises
    with pytest.raises(RuntimeError, match="opened once"):
        async with client:
            pass


async def test_nested_clients_restore_the_previous_one() -> None:
    k = local_kite("math", "m")
    async with k.kontrol_client(url="http://a/kite") as outer:
        assert k.kontrol is outer
        async with k.kontrol_client(url="http://b/kite") as inner:
            assert k.kontrol is inner
        assert k.kontrol is outer


async def test_kontrol_query_of_and_bad_answers(autojump_clock: trio.testing.MockClock) -> None:
    assert KontrolQuery.of({"name": "math", "id": "x"}) == KontrolQuery(name="math", id="x")
    with pytest.raises(ValueError, match="unknown Kontrol query field 'extra'"):
        KontrolQuery.of({"name": "math", "extra": "x"})
    assert KontrolQuery.of(KiteIdentity(name="n", id="i")) == KontrolQuery(name="n", id="i")
    kontrol = FakeKontrol()
    kontrol.kite.handle_func("getKites", lambda r: {"kites": "nope"})
    kontrol.kite.handle_func("getToken", lambda r: 5)
    k = local_kite("goquery", "q")
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        async with k.kontrol_client(url=KONTROL_URL, dialler=net.dialler(k)):
            with pytest.raises(KontrolError, match="invalid getKites result"):
                await k.get_kites(KontrolQuery(username="anchor"))
            with pytest.raises(KontrolError, match="invalid getToken result: 5"):
                await k.get_token(KiteIdentity(id="x"))
            assert await k.tell_kontrol("kite.ping") == "pong"
        nursery.cancel_scope.cancel()


async def test_register_forever_again_switches_url_without_duplicates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    kontrol = FakeKontrol()
    kontrol.kite.handle_func("getKites", lambda r: {"kites": None})
    math = local_kite("math", "m")
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        async with math.kontrol_client(url=KONTROL_URL, dialler=net.dialler(math)) as client:
            await math.register_forever(MATH_URL)
            await math.register_forever("http://127.0.0.1:9/kite")  # a new URL: registered
            await math.register("http://127.0.0.1:9/kite")
            await net.down(KONTROL_URL)
            net.serve(KONTROL_URL, kontrol.kite)
            await trio.sleep(120)
            assert client.connections == 2
            with pytest.raises(NoKitesAvailableError):  # Go reads `null` as no kites
                await math.get_kites(KontrolQuery(username="anchor"))
        nursery.cancel_scope.cancel()
    # the first URL, the second one, once by hand, once after the reconnection (latest URL)
    assert kontrol.calls.count("register") == 4
    assert kontrol.registered["m"][1] == "http://127.0.0.1:9/kite"


async def test_closing_the_kontrol_client_leaves_no_task(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Connection loop, register task, Kontrol's heartbeat ticker, an HTTP heartbeat loop and a
    dial back-off in progress all end with the block."""
    kontrol = FakeKontrol()
    http = HTTPKontrol()
    math = local_kite("math", "m")
    baseline = trio.lowlevel.current_statistics().tasks_living
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        inside = 0
        async with math.kontrol_client(
            url=KONTROL_URL, dialler=net.dialler(math), http=http
        ) as client:
            await math.register_forever(MATH_URL)
            await math.register_http(MATH_URL)
            await net.down(KONTROL_URL)  # the client is now waiting to redial
            await trio.sleep(5)
            assert not client.connected
            inside = trio.lowlevel.current_statistics().tasks_living
        await trio.sleep(1)
        assert trio.lowlevel.current_statistics().tasks_living < inside
        pings, dials, beats = len(kontrol.pings), net.dials[KONTROL_URL], len(http.requests)
        net.serve(KONTROL_URL, kontrol.kite)
        await trio.sleep(600)
        assert len(kontrol.pings) == pings  # nothing redials, nothing beats
        assert net.dials[KONTROL_URL] == dials
        assert len(http.requests) == beats
        nursery.cancel_scope.cancel()
    assert trio.lowlevel.current_statistics().tasks_living == baseline


async def test_key_renewer_refreshes_the_kontrol_key(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    kontrol = FakeKontrol()
    k = local_kite("math", "m")
    k.config = k.config.replace(kontrol_key="stale")
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        async with k.kontrol_client(url=KONTROL_URL, dialler=net.dialler(k)):
            with pytest.raises(ValueError, match="positive"):
                k.start_key_renewer(0)
            k.start_key_renewer(3600)
            await trio.sleep(3599)
            assert k.config.kontrol_key == "stale"
            await trio.sleep(2)
            assert k.config.kontrol_key == KONTROL_PUB.strip()
            await net.down(KONTROL_URL)
            await trio.sleep(3620)  # the next one waits 15 s for a connection, then fails
        nursery.cancel_scope.cancel()
    assert kontrol.calls.count("getKey") == 1
    assert f"Key renew failed: timeout: cannot reach Kontrol at {KONTROL_URL} in 15s" in caplog.text
