"""Key pairs: generation on first start, rotation with re-signed kite keys, deleted keys, and
the tokens kites accept after a rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from kontrol_test_support import (
    ANCHOR_KEY,
    KONTROL_PEM,
    KONTROL_PUB,
    MATH_ID,
    ROGUE_KEY,
    ROGUE_PEM,
    ROGUE_PUB,
    dial,
    make_kontrol,
    math_kite,
    register,
    running_kontrol,
    sqlite_storage,
    verify_token,
    wall_clock,
)

import kite
from kite import AuthenticationError, KiteKey
from kontrol import (
    KeyDeletedError,
    KeyNotFoundError,
    KeyPairError,
    KeyPairs,
    KontrolError,
    KontrolQuery,
)

ROGUE = kite.KeyPair(ROGUE_PUB, ROGUE_PEM)


async def test_first_start_generates_a_key_pair_then_reuses_it(tmp_path: Path) -> None:
    async with sqlite_storage(tmp_path / "k.db") as storage:
        kontrol = make_kontrol(storage, key_pair=None)
        async with kontrol.running():
            pair = await kontrol.current_key_pair()
            assert pair.public.startswith("-----BEGIN PUBLIC KEY-----")
            assert not pair.public.endswith("\n")  # trimmed, as Go's AddKeyPair
            raw = await kontrol.issue_kite_key("bob")
            key = KiteKey.parse(raw, now=wall_clock())
            assert key.kontrol_key == pair.public
            # The new key signs the kite key: it verifies against the stored public key.
            kite.parse_token(raw, lambda _t: kite.parse_public_key(pair.public), now=wall_clock())
        again = make_kontrol(storage, key_pair=None)
        async with again.running():
            assert await again.current_key_pair() == pair
            assert [p.id for p in await again.keys.live()] == [pair.id]


async def test_rotation_resigns_kite_keys_and_tokens(tmp_path: Path) -> None:
    async with running_kontrol(tmp_path / "k.db") as kontrol:
        old = await kontrol.current_key_pair()
        other = math_kite("bbbbbbbb-1b25-424e-8100-bdc202c0c02c", name="other")
        async with dial(kontrol, other) as (other_peer, _):
            await register(other_peer)  # registered with the old pair
            new = await kontrol.rotate_key_pair(ROGUE)
            assert new.public == ROGUE_PUB.strip()
            # Old pair still live: a kite presenting it gets no new key.
            async with dial(kontrol, math_kite()) as (peer, _):
                assert await register(peer) == {
                    "url": "http://127.0.0.1:13636/kite",
                    "heartbeatInterval": 0,
                }
            deleted = await kontrol.delete_key_pair(public=KONTROL_PUB)
            assert deleted.id == old.id
            # A kite key signed with the deleted pair still authenticates to Kontrol...
            async with dial(kontrol, math_kite()) as (peer, _):
                result = await register(peer)
                assert list(result) == ["url", "heartbeatInterval", "publicKey", "kiteKey"]
                assert result["publicKey"] == ROGUE_PUB.strip()
                resigned = KiteKey.parse(result["kiteKey"], now=wall_clock())
                original = KiteKey.parse(ANCHOR_KEY, now=wall_clock())
                assert resigned.claims == kite.KiteClaims(
                    **{
                        **{f: getattr(original.claims, f) for f in original.claims.__slots__},
                        "kontrol_key": ROGUE_PUB.strip(),
                    }
                )
                assert await peer.tell("getKey") == ROGUE_PUB.strip()
                (record,) = await kontrol.storage.get(KontrolQuery(id=MATH_ID))
                assert record.key_id == new.id
                # ... and the kite registered with the deleted pair gets tokens signed with the
                # new one: kites that adopted the new key accept them, old-key kites renew.
                found = await peer.tell(
                    "getKites", {"query": {"username": "anchor", "name": "other"}}
                )
                token = found["kites"][0]["token"]
                assert verify_token(token, other.identity, ROGUE_PUB) == "anchor"
                with pytest.raises(AuthenticationError) as info:
                    verify_token(token, other.identity, KONTROL_PUB)
                assert info.value.message == "token: token is expired"
            # The re-signed kite key works as the kite's key from now on.
            async with dial(kontrol, math_kite(), key=result["kiteKey"]) as (peer, _):
                assert "publicKey" not in await register(peer)


async def test_key_pair_storage_rules(tmp_path: Path) -> None:
    async with sqlite_storage(tmp_path / "k.db") as storage:
        keys = KeyPairs(storage)
        first = await keys.ensure(kite.KeyPair(KONTROL_PUB, KONTROL_PEM))
        assert await keys.ensure(kite.KeyPair(KONTROL_PUB + "\n", KONTROL_PEM)) == first
        with pytest.raises(KeyPairError, match="both empty"):
            await keys.delete()
        with pytest.raises(KeyPairError, match="last key pair"):
            await keys.delete(first.id)
        second = await keys.rotate(ROGUE)
        assert (await keys.current()).id == second.id
        await keys.delete(first.id)
        assert await keys.by_public(KONTROL_PUB.strip()) == (None, True)
        assert await keys.by_public("nope") == (None, False)
        with pytest.raises(KeyDeletedError):
            await keys.delete(first.id)
        with pytest.raises(KeyNotFoundError):
            await keys.delete("00000000-0000-0000-0000-000000000000")
        with pytest.raises(KeyDeletedError, match="rotated out"):
            await keys.ensure(kite.KeyPair(KONTROL_PUB, KONTROL_PEM))
        with pytest.raises(KontrolError, match="invalid key pair"):
            await keys.add(kite.KeyPair("junk", "junk"))


async def test_unknown_key_becomes_trusted_once_added(tmp_path: Path) -> None:
    async with (
        running_kontrol(tmp_path / "k.db") as kontrol,
        dial(kontrol, math_kite(), key=ROGUE_KEY) as (peer, _),
    ):
        with pytest.raises(AuthenticationError, match="no key pair found"):
            await register(peer)
        await kontrol.rotate_key_pair(ROGUE)  # refusals were not cached
        assert "publicKey" not in await register(peer)
