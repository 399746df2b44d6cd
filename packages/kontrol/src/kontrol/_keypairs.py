"""Kontrol's signing key pairs on top of the storage: several live pairs, one current.

How this works (docs/protocol.md §6.6): every pair lives in the storage (`add_key`, soft
`delete_key`), so several Kontrol processes sharing one database agree on the keys. The
*current* pair is the most recently added live one: it signs new kite keys, re-signs kite keys
presented with a deleted key, and signs tokens for kites whose registration names a deleted
pair. Older live pairs keep verifying and signing for the kites registered with them.

Rotation = add a new pair (it becomes current), later delete the old one. A deleted pair is
still *trusted* for authentication (Go's `Kontrol.Verify`), so kites holding kite keys signed
with it can reach Kontrol, which hands them a re-signed kite key (`register`) or the new public
key (`getKey`). A key the storage never knew is refused with the storage's text
(`no key pair found`).

Differences from Go: Go's self key pair is "the newest pair that verifies Kontrol's own kite
key", cached for the process lifetime; here it is simply the newest live pair, read from the
storage each time (rotation takes effect at once, also across processes). Deleting the last
live pair is refused (Go would leave Kontrol unable to sign anything).
"""

from __future__ import annotations

import uuid

import trio

import kite

from ._errors import KeyDeletedError, KeyNotFoundError, KeyPairError
from ._model import KeyPair
from ._storage import Storage

__all__ = ["KeyPairs", "as_key_pair"]


def as_key_pair(pair: KeyPair | kite.KeyPair, key_id: str = "") -> KeyPair:
    """A storage `KeyPair` from either pair type, keys trimmed (Go's `AddKeyPair`), id a new
    UUIDv4 unless given (PostgreSQL needs UUID ids)."""
    if isinstance(pair, KeyPair):
        key_id = key_id or pair.id
    return KeyPair(key_id or str(uuid.uuid4()), pair.public.strip(), pair.private.strip())


class KeyPairs:
    """Key-pair management for one Kontrol (see module doc)."""

    def __init__(self, storage: Storage, *, key_bits: int = 2048, cache_ttl: float = 5.0) -> None:
        """Args:
        storage: where the pairs live.
        key_bits: RSA size of generated pairs.
        cache_ttl: seconds a live pair found by id is remembered (`by_id`, the hot path of
            `getKites`); a deletion made by another process sharing the database is seen
            after at most this long. 0 disables the cache.
        """
        self.storage = storage
        self.key_bits = key_bits
        self.cache_ttl = cache_ttl
        self._by_id: dict[str, tuple[KeyPair, float]] = {}

    async def generate(self) -> KeyPair:
        """A fresh RSA pair in Go's PEM format (not stored); generated in a worker thread."""
        bits = self.key_bits
        pair = await trio.to_thread.run_sync(lambda: kite.generate_key_pair(bits))
        return as_key_pair(pair)

    async def add(self, pair: KeyPair | kite.KeyPair) -> KeyPair:
        """Store a pair (trimmed, with a new id if it has none); it becomes the current one.

        Raises:
            InvalidKeyPairError: an empty key (Go's texts).
            KeyPairExistsError: the id, public or private key is already stored.
        """
        stored = as_key_pair(pair)
        if stored.public:
            try:
                kite.parse_public_key(stored.public)
                kite.parse_private_key(stored.private)
            except kite.KeyFormatError as exc:
                raise KeyPairError(f"invalid key pair: {exc}") from None
        await self.storage.add_key(stored)
        return stored

    async def ensure(self, pair: KeyPair | kite.KeyPair | None = None) -> KeyPair:
        """Make sure Kontrol has a pair to sign with; returns the current pair.

        With `pair`: stored unless a pair with that public key already is (a deleted one is
        an error: it was rotated out). Without: a new pair is generated when the storage holds
        no live pair (first start).

        Raises:
            KeyDeletedError: `pair` was deleted from the storage.
        """
        if pair is not None:
            wanted = as_key_pair(pair)
            try:
                await self.storage.get_key_by_public(wanted.public)
            except KeyNotFoundError:
                await self.add(wanted)
            except KeyDeletedError:
                raise KeyDeletedError(
                    "the configured key pair was deleted (rotated out); configure the current one"
                ) from None
        try:
            return await self.storage.current_key()
        except KeyNotFoundError:
            if pair is not None:
                raise
        return await self.add(await self.generate())

    async def current(self) -> KeyPair:
        """The newest live pair (`KeyNotFoundError("kontrol has no key pair")` if none)."""
        return await self.storage.current_key()

    async def live(self) -> list[KeyPair]:
        """Live pairs, oldest first (the last one is current)."""
        return await self.storage.list_keys()

    async def rotate(self, pair: KeyPair | kite.KeyPair | None = None) -> KeyPair:
        """Add `pair` (default: a freshly generated one) as the new current pair.

        Older pairs stay live until `delete`d, so kites registered with them keep working.
        """
        return await self.add(pair if pair is not None else await self.generate())

    async def delete(self, key_id: str = "", public: str = "") -> KeyPair:
        """Delete (soft) the pair with this id or public key; returns it.

        Raises:
            KeyPairError: both empty (`keypair ID and public key are both empty`), or it is
                the last live pair.
            KeyNotFoundError / KeyDeletedError: no such live pair.
        """
        if not key_id and not public:
            raise KeyPairError("keypair ID and public key are both empty")
        if public:
            pair = await self.storage.get_key_by_public(public.strip())
        else:
            pair = await self.storage.get_key(key_id)
        live = await self.storage.list_keys()
        if [p.id for p in live] == [pair.id]:
            raise KeyPairError("cannot delete the last key pair: rotate first")
        await self.storage.delete_key(pair.id)
        self._by_id.clear()
        return pair

    async def by_public(self, public: str) -> tuple[KeyPair | None, bool]:
        """`(pair, False)` for a live pair with this exact public key, `(None, True)` if it was
        deleted, `(None, False)` if never known."""
        try:
            return await self.storage.get_key_by_public(public), False
        except KeyDeletedError:
            return None, True
        except KeyNotFoundError:
            return None, False

    async def by_id(self, key_id: str) -> tuple[KeyPair | None, bool]:
        """Like `by_public`, by pair id (live pairs cached for `cache_ttl` seconds)."""
        now = trio.current_time()
        cached = self._by_id.get(key_id)
        if cached is not None and cached[1] > now:
            return cached[0], False
        try:
            pair = await self.storage.get_key(key_id)
        except KeyDeletedError:
            self._by_id.pop(key_id, None)
            return None, True
        except KeyNotFoundError:
            self._by_id.pop(key_id, None)
            return None, False
        if self.cache_ttl > 0:
            if len(self._by_id) >= 1024:
                self._by_id.clear()
            self._by_id[key_id] = (pair, now + self.cache_ttl)
        return pair, False
