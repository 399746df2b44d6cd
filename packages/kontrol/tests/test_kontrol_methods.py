"""Kontrol's kite methods over real memory pipes against the real SQLite storage: answers and
message order compared with the Go captures, Go's error texts, tokens that kites accept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
from kontrol_test_support import (
    ALICE_KEY,
    BADSIG_KEY,
    KONTROL_PUB,
    MATH_ID,
    MATH_URL,
    ROGUE_KEY,
    capture_messages,
    dial,
    math_kite,
    register,
    running_kontrol,
    verify_token,
    wall_clock,
)

import kite
from kite import AuthenticationError, GenericError, KiteError, KiteKey
from kontrol import Kontrol, KontrolQuery


@pytest.fixture
async def kontrol(tmp_path: Path) -> Any:
    async with running_kontrol(tmp_path / "kontrol.db") as k:
        yield k


async def _math_records(kontrol: Kontrol) -> list[Any]:
    return await kontrol.storage.get(KontrolQuery(username="anchor", name="math"))


async def expect_error(awaitable: Any, message: str, type_: str = "genericError") -> None:
    """The awaited call fails with exactly this kite error type and message."""
    with pytest.raises(KiteError) as info:
        await awaitable
    assert (info.value.type, info.value.message) == (type_, message)


def _shape(message: Any) -> Any:
    """A dnode message with the nondeterministic values (ids, hostnames) blanked."""
    text = json.dumps(message)
    for key in ("id", "hostname"):
        text = _blank(text, key)
    return json.loads(text)


def _blank(text: str, key: str) -> str:
    out = json.loads(text)

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: ("*" if k == key and isinstance(x, str) else walk(x)) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return json.dumps(walk(out))


async def test_register_matches_capture(kontrol: Kontrol) -> None:
    math = math_kite()
    async with dial(kontrol, math) as (peer, sent):
        result = await register(peer)
        assert result == {"url": MATH_URL, "heartbeatInterval": 0}
        assert list(result) == ["url", "heartbeatInterval"]
        # Kontrol sends kite.heartbeat [10, cb] *before* the register response, as Go does.
        ours = [json.loads(m) for m in sent.sent[:2]]
        go = [m for d, m in capture_messages("kontrol-register") if d == "s2c"][:2]
        assert [_shape(m) for m in ours] == [_shape(m) for m in go]
        records = await _math_records(kontrol)
        assert [(r.kite.id, r.url) for r in records] == [(MATH_ID, MATH_URL)]
        assert records[0].key_id == (await kontrol.current_key_pair()).id


async def test_register_replaces_username_with_kite_key_subject(kontrol: Kontrol) -> None:
    impostor = math_kite()
    impostor.username = "root"
    async with dial(kontrol, impostor) as (peer, _):
        await register(peer)
    # (the registration ends with the connection, so look while connected)
    async with dial(kontrol, impostor, key=ALICE_KEY) as (peer, _):
        await register(peer)
        records = await kontrol.storage.get(KontrolQuery(id=MATH_ID))
        assert [r.kite.username for r in records] == ["alice"]


async def test_getkites_result_shape_and_token_verifies(kontrol: Kontrol) -> None:
    math = math_kite()
    query_kite = math_kite("5175d11a-1b25-424e-8100-bdc202c0c02c", name="goquery")
    async with dial(kontrol, math) as (mpeer, _), dial(kontrol, query_kite) as (qpeer, _):
        await register(mpeer)
        result = await qpeer.tell(
            "getKites",
            {"query": {"username": "anchor", "name": "math"}, "watchCallback": None, "who": None},
        )
        (entry,) = result["kites"]
        assert list(entry) == ["kite", "url", "keyId", "token"]
        assert entry["kite"] == math.identity_json | {"username": "anchor"}
        assert entry["url"] == MATH_URL
        claims = kite.parse_unverified(entry["token"]).claims
        assert (claims.aud, claims.iss, claims.sub) == ("/anchor//math", "anchor", "anchor")
        assert claims.exp - claims.iat == 48 * 3600 + 600
        assert verify_token(entry["token"], math.identity) == "anchor"
        # getToken answers the cached token; force signs a new one, which is then cached.
        same = await qpeer.tell("getToken", {"name": "math", "username": "anchor"})
        assert same == entry["token"]
        forced = await qpeer.tell("getToken", {"name": "math", "username": "anchor", "force": True})
        assert forced != same
        assert await qpeer.tell("getToken", {"name": "math", "username": "anchor"}) == forced
        # An id-only query (Go's token renewer) gives the superuser audience "/".
        renewed = await qpeer.tell("getToken", {"id": MATH_ID})
        assert kite.parse_unverified(renewed).claims.aud == "/"
        empty = await qpeer.tell("getKites", {"query": {"username": "anchor", "name": "nope"}})
        assert empty == {"kites": []}


async def test_getkites_finds_kontrol_itself(kontrol: Kontrol) -> None:
    async with dial(kontrol, math_kite()) as (peer, _):
        result = await peer.tell("getKites", {"query": {"username": "anchor", "name": "kontrol"}})
        (entry,) = result["kites"]
        assert entry["kite"]["id"] == kontrol.id
        assert entry["kite"]["version"] == "0.0.1"
        # The token for Kontrol authenticates to Kontrol; register refuses it (kiteKey only).
        async with dial(kontrol, math_kite(), key=entry["token"], auth_type="token") as (tp, _):
            await expect_error(register(tp), "Unexpected authentication type: token")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"query": {}}, "all query fields are empty"),
        ({"query": None}, "all query fields are empty"),
        ({"query": {"username": "anchor", "version": ">>1"}}, "Malformed constraint: >>1"),
        (5, "json: cannot unmarshal number into Go value of type protocol.GetKitesArgs. Data: 5"),
    ],
)
async def test_getkites_errors(kontrol: Kontrol, args: Any, message: str) -> None:
    async with dial(kontrol, math_kite()) as (peer, _):
        with pytest.raises(GenericError) as info:
            await peer.tell("getKites", args)
        assert info.value.message == message


async def test_gettoken_errors(kontrol: Kontrol) -> None:
    a = math_kite("aaaaaaaa-1b25-424e-8100-bdc202c0c02c")
    b = math_kite("bbbbbbbb-1b25-424e-8100-bdc202c0c02c")
    async with dial(kontrol, a) as (pa, _), dial(kontrol, b) as (pb, _):
        await register(pa)
        await register(pb)
        await expect_error(
            pa.tell("getToken", {"username": "anchor", "name": "math"}),
            "query matches more than one kite",
        )
        await expect_error(
            pa.tell("getToken", {"username": "anchor", "name": "nope"}), "no kites found"
        )
        with pytest.raises(GenericError) as info:
            await pa.tell("getToken", 5)
        assert info.value.message == (
            "invalid query: json: cannot unmarshal number into Go value of type"
            " protocol.GetTokenArgs. Data: 5"
        )
        await expect_error(pa.tell("getToken"), "Cannot unmarshal nil argument", "argumentError")
        await expect_error(pa.call("getToken", []), "Invalid array length", "argumentError")


async def test_getkey_returns_the_claimed_key_exactly(kontrol: Kontrol) -> None:
    async with dial(kontrol, math_kite()) as (peer, _):
        key = await peer.tell("getKey")
        assert key == KONTROL_PUB.strip()
        go = [m for d, m in capture_messages("kontrol-getkey") if d == "s2c"]
        assert go[-1]["arguments"][0]["result"] == key


async def test_forged_and_unknown_kite_keys_are_refused_and_nothing_stored(
    kontrol: Kontrol,
) -> None:
    for key, message in [
        (ROGUE_KEY, "kiteKey: no key pair found"),
        (BADSIG_KEY, "kiteKey: crypto/rsa: verification error"),
        ("not-a-jwt", None),
    ]:
        async with dial(kontrol, math_kite(), key=key) as (peer, _):
            for _ in range(2):  # refusals are not cached into a different text
                with pytest.raises(AuthenticationError) as info:
                    await register(peer)
                if message is not None:
                    assert info.value.message == message
    assert await kontrol.storage.get(KontrolQuery(id=MATH_ID)) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"region": ""}, "Empty Kite field: region"),
        ({"name": "a/b"}, "Field \"name\" must not contain '/'"),
        ({"name": "m" * 300}, 'Field "name" is too long (300 characters, limit 256)'),
    ],
)
async def test_bad_registrations_store_nothing(
    kontrol: Kontrol, change: dict[str, str], message: str
) -> None:
    math = math_kite()
    for attr, value in change.items():
        setattr(math, attr, value)
    async with dial(kontrol, math) as (peer, _):
        with pytest.raises(GenericError) as info:
            await register(peer)
        assert info.value.message == message
    assert await kontrol.storage.get(KontrolQuery(id=MATH_ID)) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty url"),
        ("http://x/\x01", 'invalid register URL: parse "http://x/\\u0001": net/url: invalid'),
        ("http://x/%zz", 'invalid register URL: parse "http://x/%zz": invalid URL escape "%zz"'),
        ("http://x/" + "a" * 3000, "invalid register URL: too long (3009 characters"),
    ],
)
async def test_register_url_errors(kontrol: Kontrol, url: str, message: str) -> None:
    async with dial(kontrol, math_kite()) as (peer, _):
        with pytest.raises(GenericError) as info:
            await register(peer, url)
        assert info.value.message.startswith(message)
    assert await kontrol.storage.get(KontrolQuery(id=MATH_ID)) == []


async def test_register_machine(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []

    async def check(auth_type: str, request: kite.Request) -> None:
        seen.append((auth_type, request.username))
        if auth_type != "password":
            raise ValueError("nope")

    async with running_kontrol(tmp_path / "k.db", machine_authenticate=check) as kontrol:
        newcomer = math_kite(name="newcomer")
        newcomer.username = "bob"
        async with dial(kontrol, newcomer, key="") as (peer, _):
            raw = await peer.tell("registerMachine", {"authType": "password"})
            key = KiteKey.parse(raw, now=wall_clock())
            assert (key.username, key.kontrol_user, key.kontrol_url) == (
                "bob",
                "anchor",
                "http://127.0.0.1:4000/kite",
            )
            assert key.kontrol_key == KONTROL_PUB.strip()
            await expect_error(
                peer.tell("registerMachine", {"authType": "other"}),
                "cannot authenticate user: nope",
            )
            with pytest.raises(GenericError) as info:
                await peer.tell("registerMachine", "alice")
            assert info.value.message == (
                "json: cannot unmarshal string into Go value of type struct { AuthType string }."
                ' Data: "alice"'
            )
        assert seen == [("password", "bob"), ("other", "bob")]


async def test_register_machine_disabled_by_default(kontrol: Kontrol) -> None:
    async with dial(kontrol, math_kite(), key="") as (peer, _):
        await expect_error(
            peer.tell("registerMachine", {"authType": "x"}), "no valid authentication key found"
        )


async def test_kontrol_is_a_kite_named_kontrol(kontrol: Kontrol) -> None:
    assert isinstance(kontrol, kite.Kite)
    assert (kontrol.name, kontrol.username, kontrol.version) == ("kontrol", "anchor", "0.0.1")
    async with dial(kontrol, math_kite()) as (peer, _):
        assert await peer.tell("kite.ping") == "pong"


async def test_methods_need_a_running_kontrol(tmp_path: Path) -> None:
    from kontrol_test_support import make_kontrol, sqlite_storage

    async with sqlite_storage(tmp_path / "k.db") as storage:
        kontrol = make_kontrol(storage)
        async with kontrol.running():
            pass
        async with dial(kontrol, math_kite()) as (peer, _):
            await expect_error(register(peer), "kontrol is not running")
        await trio.lowlevel.checkpoint()
