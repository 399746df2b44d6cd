"""The verify cache of the `kiteKey` authenticator (Go's `Kite.verifyCache`, docs/protocol.md §5.5).

How this works: Go remembers, per presented Kontrol public key (its exact PEM text), whether the
key was trusted, for `VerifyTTL` (default 5 min) after the verdict was stored. A cached "not
trusted" verdict makes the next attempt fail with `invalid kontrol key found` without asking the
verify function again. Time is passed in by the caller (no clock reads), and unlike Go's cache
this one is bounded: past `max_entries` the oldest verdict is dropped, so a peer presenting
endless fresh keys cannot grow memory.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["TrustCache"]


class TrustCache:
    """Trust verdicts keyed by public-key PEM text, each valid for a TTL from when it was set."""

    def __init__(self, max_entries: int = 1024) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    def get(self, key: str, now: float) -> bool | None:
        """The cached verdict for `key` at time `now`, or None if absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        trusted, expires = entry
        if now >= expires:
            del self._entries[key]
            return None
        return trusted

    def set(self, key: str, trusted: bool, now: float, ttl: float) -> None:
        """Store a verdict valid until `now + ttl`, replacing any previous one."""
        self._entries.pop(key, None)
        self._entries[key] = (trusted, now + ttl)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every verdict (e.g. after the trusted Kontrol key changed)."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
