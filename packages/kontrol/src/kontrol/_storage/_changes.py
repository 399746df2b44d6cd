"""Registry changes: what a storage reports when a registration appears or goes away.

How this works: both back-ends let a database trigger describe every change of the `kite`
table, so whatever wrote the row (this Kontrol, another process, Go Kontrol, the expiry
cleaner) the change is seen the same way:

* a new row is a `register` change; a deleted row a `deregister` change; an updated row whose
  URL changed is a `register` change of the new URL, and one whose identity changed is a
  `deregister` of the old identity followed by a `register` of the new one (a refresh that
  only moves `updated_at` is no change);
* the trigger hands each change over as a JSON object (`change_from_json` reads it): in
  PostgreSQL through `NOTIFY` on the storage's channel, so every process listening on the
  database sees it once committed; in SQLite through a function of the storage's own
  connection, so only that process sees it (SQLite has no notifications between processes).

A `ChangeFeed` fans changes out to its subscribers, each a bounded memory channel: a
subscriber that falls more than `buffer` changes behind is dropped (its iteration raises
`FeedOverflowError`), so one slow watcher never holds up the storage or the other watchers.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import trio

from kite.protocol import STRING_ORDER, KiteIdentity

from .._errors import StorageError

__all__ = [
    "DEFAULT_FEED_BUFFER",
    "ChangeFeed",
    "FeedOverflowError",
    "RegistryChange",
    "Subscription",
    "change_from_json",
]

log = logging.getLogger("kontrol.storage")

Action = Literal["register", "deregister"]

#: Changes a subscriber may fall behind before it is closed.
DEFAULT_FEED_BUFFER = 1000


@dataclass(frozen=True, slots=True)
class RegistryChange:
    """A registration that appeared (`register`, with its URL and key pair id) or went away
    (`deregister`)."""

    action: Action
    kite: KiteIdentity
    url: str = ""
    key_id: str = ""


class FeedOverflowError(StorageError):
    """A subscriber fell too far behind the changes and was dropped."""


def change_from_json(payload: str) -> RegistryChange:
    """Read a trigger's change object: `{"action", "kite": {identity}, "url", "key_id"}`.

    Raises:
        ValueError: not such an object.
    """
    obj = json.loads(payload)
    if not isinstance(obj, dict):
        raise ValueError("a change is a JSON object")
    if obj.get("truncated"):
        raise ValueError("a change too large to be sent whole (NOTIFY's 8000 bytes)")
    action = obj.get("action")
    kite = obj.get("kite")
    if action not in ("register", "deregister") or not isinstance(kite, dict):
        raise ValueError(f"not a registry change: {payload[:200]!r}")
    fields = {f: str(kite.get(f) or "") for f in STRING_ORDER}
    url, key_id = obj.get("url") or "", obj.get("key_id") or ""
    if not isinstance(url, str) or not isinstance(key_id, str):
        raise ValueError(f"not a registry change: {payload[:200]!r}")
    return RegistryChange(action, KiteIdentity(**fields), url, key_id)


class Subscription:
    """The changes published since `ChangeFeed.subscribe`, as an async iterator.

    Iteration raises `FeedOverflowError` once the subscriber has been dropped for falling
    behind, and ends when the subscription is closed.
    """

    def __init__(self, buffer: int) -> None:
        self._send, self._receive = trio.open_memory_channel[RegistryChange](buffer)
        self.overflowed = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> RegistryChange:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            if self.overflowed:
                raise FeedOverflowError("fell behind the registry changes") from None
            raise StopAsyncIteration from None

    def _offer(self, change: RegistryChange) -> bool:
        """Queue `change`; False (and the subscription ends) when the buffer is full."""
        try:
            self._send.send_nowait(change)
        except trio.WouldBlock:
            self.overflowed = True
            self._send.close()
            return False
        except trio.ClosedResourceError:
            return False
        return True

    def close(self) -> None:
        """End the subscription (iteration stops)."""
        self._send.close()
        self._receive.close()


class ChangeFeed:
    """Fans registry changes out to subscribers (see module doc)."""

    def __init__(self, *, buffer: int = DEFAULT_FEED_BUFFER) -> None:
        if buffer < 1:
            raise ValueError("buffer must be at least 1")
        self.buffer = buffer
        self._subscribers: set[Subscription] = set()

    def __len__(self) -> int:
        return len(self._subscribers)

    def publish(self, change: RegistryChange) -> None:
        """Hand `change` to every subscriber (never blocks)."""
        for sub in list(self._subscribers):
            if not sub._offer(change):
                if sub.overflowed:
                    log.warning("storage: a change subscriber fell behind, dropping it")
                self._subscribers.discard(sub)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """Receive every change published while the block runs."""
        sub = Subscription(self.buffer)
        self._subscribers.add(sub)
        try:
            yield sub
        finally:
            self._subscribers.discard(sub)
            sub.close()
