"""The token renewer, alone and in `KiteClient`s from `get_kites`, under trio's mock clock:
renews before expiry, retries while Kontrol is down, renews at once on `token is expired`,
stops with its client."""

from __future__ import annotations

import itertools
import logging

import pytest
import trio
import trio.testing
from kite_auth_support import KONTROL_PEM, NOW, ROGUE_PEM
from kontrol_client_helpers import (
    KONTROL_URL,
    MATH_URL,
    FakeKontrol,
    Network,
    local_kite,
    math_kite_with_tokens,
    wall_clock,
)

from kite import (
    RENEW_BEFORE,
    AuthenticationError,
    ExponentialBackoff,
    KiteError,
    KiteIdentity,
    TokenRenewer,
    issue_token,
)
from kite._auth._tokens import parse_unverified

HOUR = 3600.0


def token_at(
    now: float, ttl: float = 2 * HOUR, key: str = KONTROL_PEM, leeway: float = 300.0
) -> str:
    return issue_token(
        private_key=key,
        issuer="anchor",
        subject="anchor",
        audience="/",
        now=now,
        ttl=ttl,
        leeway=leeway,
    )


def exp_of(token: str) -> int:
    return parse_unverified(token).claims.exp


async def test_renews_before_expiry_and_again_with_each_new_token(
    autojump_clock: trio.testing.MockClock,
) -> None:
    fetched: list[float] = []
    current = token_at(wall_clock())

    async def fetch() -> str:
        fetched.append(wall_clock())
        return token_at(wall_clock())

    def adopt(token: str) -> None:
        nonlocal current
        current = token

    renewer = TokenRenewer(fetch, lambda: current, adopt, wall_clock=wall_clock)
    first_exp = exp_of(current)
    async with trio.open_nursery() as nursery:
        await nursery.start(renewer.run)
        await trio.sleep(3 * (2 * HOUR + 300))
        nursery.cancel_scope.cancel()
    assert renewer.renewals == 3
    assert renewer.failures == 0
    # the first renewal happened exactly RENEW_BEFORE before exp (sleeps are sliced, not late)
    assert fetched[0] == pytest.approx(first_exp - RENEW_BEFORE, abs=1e-6)
    assert all(
        b - a == pytest.approx(2 * HOUR + 300 - RENEW_BEFORE, abs=1)
        for a, b in itertools.pairwise(fetched)
    )


async def test_keeps_retrying_while_kontrol_is_down_and_recovers(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    current = token_at(wall_clock(), ttl=60)
    kontrol_up = False
    attempts: list[float] = []

    async def fetch() -> str:
        attempts.append(trio.current_time())
        if not kontrol_up:
            raise KiteError("Timed out registering to kontrol for getToken method after 15s")
        return token_at(wall_clock())

    def adopt(token: str) -> None:
        nonlocal current
        current = token

    renewer = TokenRenewer(fetch, lambda: current, adopt, wall_clock=wall_clock)
    caplog.set_level(logging.WARNING, logger="kite.renewer")
    async with trio.open_nursery() as nursery:
        await nursery.start(renewer.run)
        await trio.sleep(3 * HOUR)  # Kontrol down for three hours: the token expired long ago
        assert renewer.renewals == 0
        assert renewer.failures == len(attempts) >= 30
        gaps = [b - a for a, b in itertools.pairwise(attempts)]
        assert gaps[0] == pytest.approx(11, rel=0.11)  # Go's 1 s + 10 s, then growing
        assert max(gaps) <= 300 * 1.1  # ... but never beyond 5 min (+10 % jitter)
        kontrol_up = True
        await trio.sleep(6 * 60)
        assert renewer.renewals == 1
        nursery.cancel_scope.cancel()
    assert exp_of(current) > wall_clock()
    messages = [r.getMessage() for r in caplog.records]
    assert any("Cannot renew token; retrying in" in m for m in messages)
    assert any("the token has expired; still trying" in m for m in messages)


async def test_renew_now_wakes_it_at_once(autojump_clock: trio.testing.MockClock) -> None:
    current = token_at(wall_clock(), ttl=48 * HOUR)
    fetched: list[float] = []

    async def fetch() -> str:
        fetched.append(trio.current_time())
        return token_at(wall_clock(), ttl=48 * HOUR)

    renewer = TokenRenewer(fetch, lambda: current, lambda t: None, wall_clock=wall_clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(renewer.run)
        await trio.sleep(100)
        renewer.renew_now()
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert fetched == [100.0]


async def test_unparsable_new_token_counts_as_failure(
    autojump_clock: trio.testing.MockClock,
) -> None:
    answers = ["not a jwt", token_at(NOW)]
    current = token_at(wall_clock(), ttl=10)

    async def fetch() -> str:
        return answers.pop(0)

    def adopt(token: str) -> None:
        nonlocal current
        current = token

    renewer = TokenRenewer(fetch, lambda: current, adopt, wall_clock=wall_clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(renewer.run)
        await trio.sleep(600)
        nursery.cancel_scope.cancel()
    assert (renewer.failures, renewer.renewals) == (1, 1)


def test_exponential_backoff_is_cenkalti_v1_1_0() -> None:
    now = 0.0
    backoff = ExponentialBackoff(clock=lambda: now, rand=lambda: 0.5)
    values = [backoff.next_backoff() for _ in range(14)]
    expected = [min(0.5 * 1.5**i, 60.0) for i in range(14)]
    expected[12:] = [60.0, 60.0]  # 0.5 * 1.5**11 = 43.2 >= 60/1.5: the interval jumps to max
    assert values == pytest.approx(expected)
    low = ExponentialBackoff(clock=lambda: now, rand=lambda: 0.0)
    high = ExponentialBackoff(clock=lambda: now, rand=lambda: 1.0)
    assert (low.next_backoff(), high.next_backoff()) == (0.25, 0.75)
    now = 15 * 60 + 1
    assert backoff.next_backoff() is None  # MaxElapsedTime 15 min
    backoff.reset()
    assert backoff.next_backoff() == 0.5
    forever = ExponentialBackoff(max_elapsed=None, clock=lambda: now)
    now = 1e12
    assert forever.next_backoff() is not None


def test_renewer_validates_max_sleep() -> None:
    with pytest.raises(ValueError, match="max_sleep"):
        TokenRenewer(lambda: None, lambda: "", lambda t: None, max_sleep=0)  # type: ignore[arg-type,return-value]


# ------------------------------------------------------------------------ in KiteClients


async def test_get_kites_client_renews_through_kontrol_restart(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The Go bug this replaces: a renewer that gives up after a Kontrol hiccup. Here Kontrol
    dies just before the renewal is due, comes back (empty) 20 minutes later, the math kite
    re-registers, and the renewal goes through; the renewed token is used on the wire."""
    kontrol = FakeKontrol(heartbeat_interval=3600)  # fewer pings to simulate over two days
    math = math_kite_with_tokens()
    goquery = local_kite("goquery", "q")
    renewed: list[str] = []
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        net.serve(MATH_URL, math)
        async with (
            math.kontrol_client(url=KONTROL_URL, dialler=net.dialler(math)),
            goquery.kontrol_client(
                url=KONTROL_URL, dialler=net.dialler(goquery), wall_clock=wall_clock
            ),
        ):
            await math.register_forever(MATH_URL)
            (client,) = await goquery.get_kites({"username": "anchor", "name": "math"})
            client.on_token_renew(renewed.append)
            first = client.token
            async with client:
                due = client.renewer.next_renewal()
                assert due is not None
                await trio.sleep(due - wall_clock() - 60)
                await net.down(KONTROL_URL)
                await trio.sleep(20 * 60)
                assert client.renewer.failures > 0
                restarted = FakeKontrol(heartbeat_interval=3600)
                net.serve(KONTROL_URL, restarted.kite)
                await trio.sleep(6 * 60)
                assert renewed
                assert client.renewer.renewals == 1
                assert client.token == renewed[-1] != first
                assert parse_unverified(client.token).claims.aud == "/"  # Go's ID-only query
                assert await client.tell("square", 3) == 9
                assert math.id in restarted.registered
                sent = net.sent[MATH_URL][-1]
                assert client.token in sent
        nursery.cancel_scope.cancel()


async def test_token_is_expired_fires_hook_and_renews_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Tokens signed by a key the callee does not trust are refused as `token is expired`
    (Go's deliberate quirk after key rotation); the client renews immediately."""
    kontrol = FakeKontrol()
    kontrol.token_private_key = ROGUE_PEM
    math = math_kite_with_tokens()
    kontrol.registered[math.id] = (math.identity, MATH_URL)
    goquery = local_kite("goquery", "q")
    expired: list[float] = []
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        net.serve(MATH_URL, math)
        async with goquery.kontrol_client(
            url=KONTROL_URL, dialler=net.dialler(goquery), wall_clock=wall_clock
        ):
            (client,) = await goquery.get_kites(KiteIdentity(username="anchor", name="math"))
            client.on_token_expire(lambda: expired.append(trio.current_time()))
            async with client:
                with pytest.raises(AuthenticationError, match="token: token is expired"):
                    await client.tell("square", 2)
                kontrol.token_private_key = KONTROL_PEM  # Kontrol signs with the right key again
                await trio.sleep(0.1)
                assert client.renewer.renewals == 1
                assert await client.tell("square", 2) == 4
        nursery.cancel_scope.cancel()
    assert expired == [0.0]
    assert kontrol.calls.count("getToken") == 1


async def test_closing_the_client_stops_the_renewer_and_leaves_no_task(
    autojump_clock: trio.testing.MockClock,
) -> None:
    kontrol = FakeKontrol()
    math = math_kite_with_tokens()
    kontrol.registered[math.id] = (math.identity, MATH_URL)
    goquery = local_kite("goquery", "q")
    baseline = trio.lowlevel.current_statistics().tasks_living
    async with trio.open_nursery() as nursery:
        net = Network(nursery)
        net.serve(KONTROL_URL, kontrol.kite)
        net.serve(MATH_URL, math)
        async with goquery.kontrol_client(
            url=KONTROL_URL, dialler=net.dialler(goquery), wall_clock=wall_clock
        ):
            (client,) = await goquery.get_kites({"username": "anchor", "name": "math"})
            await trio.sleep(1)
            before = trio.lowlevel.current_statistics().tasks_living
            async with client:
                assert trio.lowlevel.current_statistics().tasks_living > before
            await trio.sleep(1)
            assert trio.lowlevel.current_statistics().tasks_living == before
            assert client.peer is None
            await trio.sleep(100 * HOUR)  # far past every renewal time
            assert kontrol.calls.count("getToken") == 0
        nursery.cancel_scope.cancel()
    assert trio.lowlevel.current_statistics().tasks_living == baseline


async def test_a_token_that_is_already_due_does_not_make_it_spin(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A Kontrol whose token cache outlives `exp - 30 s` keeps answering the old token: the
    renewer asks again after its back-off pause, not in a busy loop."""
    current = token_at(wall_clock(), ttl=60, leeway=0)  # due at 30 s
    fresh_after = 200.0
    fetched: list[float] = []

    async def fetch() -> str:
        fetched.append(trio.current_time())
        if trio.current_time() < fresh_after:
            return current  # the cached, soon-expiring token
        return token_at(wall_clock(), ttl=2 * HOUR)

    def adopt(token: str) -> None:
        nonlocal current
        current = token

    renewer = TokenRenewer(fetch, lambda: current, adopt, wall_clock=wall_clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(renewer.run)
        await trio.sleep(400)
        nursery.cancel_scope.cancel()
    assert 3 <= len(fetched) <= 10
    assert renewer.renewals == 1
    assert exp_of(current) > wall_clock() + HOUR
    assert "due for renewal already" in caplog.text
