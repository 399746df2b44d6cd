"""Watching Kontrol: `getKites` with a callback, and `cancelWatcher`.

How this works (docs/protocol.md §6.8). A `getKites` whose argument object carries a
function under `watchCallback` (Go's `protocol.GetKitesArgs`, 2014) or `watchHandler` (what
kite.js 1.0.13's `watchKites` sends) is a *watch*: Kontrol subscribes to the storage's registry
changes (`_storage._changes`) *before* reading the kites, answers `{"kites": [...],
"watcherID": "<uuid>"}`, and from then on calls the function once per change matching the
query, with the argument Go's Kontrol sent, a `kite.Response` holding a `protocol.KiteEvent`:

    {"error": null,
     "result": {"action": "REGISTER", "kite": {...}, "url": "...", "token": "..."}}
    {"error": null,
     "result": {"action": "DEREGISTER", "kite": {...}, "url": "...", "token": "..."}}

(`token` is a token for the watcher, as `getKites` gives; kite.js maps the upper-case actions
to its `register` / `deregister` events). Go's Kontrol sent no `url` or `token` with a
deregistration, but kite.js 1.0.13 builds a kite object for every event and fails on one
without a token, so both are sent whenever known.

Which changes there are, and when, is the storage's business: with PostgreSQL every Kontrol
sharing the database sees every change, Go Kontrol's included; a kite whose connection drops
is deregistered at once, one that stops heartbeating at its deadline (`_liveness`).

A watch ends with `cancelWatcher(watcherID)` (`null` answer, or Go's `Watcher not found`), when
the watcher's connection ends (its task lives in the connection's nursery), or when it falls
more than the feed's buffer behind: the function is then called once more with
`{"error": {"type": "watchError", "message": ...}, "result": null}`.

A change committed just before the watch subscribed may still be delivered (PostgreSQL hands
notifications over asynchronously), so a kite registering while a watch starts can show up
both in the answer's `kites` and as a `REGISTER` event.

Ordering: the watch task is started as the handler's last step; the kite runtime sends the
handler's result with no checkpoint before it takes the connection's FIFO send lock, so the
`getKites` answer always goes out before the first change.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import trio

import kite
from kite import Request

from ._errors import KontrolError
from ._model import canonical_uuid
from ._query import KontrolQuery, QueryPlan, plan_query
from ._storage import Storage
from ._storage._changes import FeedOverflowError, RegistryChange, Subscription

__all__ = ["WATCH_KEYS", "TokenFor", "Watchers", "watch_callback"]

log = logging.getLogger("kontrol")

#: The argument keys (any case) a watch function may come under: Go's and kite.js's.
WATCH_KEYS = ("watchcallback", "watchhandler")

#: `token_for(key_id)`: a token for the watcher to call a kite registered with that key pair.
TokenFor = Callable[[str], Awaitable[str]]

_ACTIONS = {"register": "REGISTER", "deregister": "DEREGISTER"}


def watch_callback(request: Request) -> Callable[..., Any] | None:
    """The watch function of a `getKites` request, if it has one."""
    raw = request.args.raw
    if not isinstance(raw, list) or len(raw) != 1 or not isinstance(raw[0], Mapping):
        return None
    for key, value in raw[0].items():
        if str(key).lower() in WATCH_KEYS and callable(value):
            return value  # type: ignore[no-any-return]
    return None


def _canonical(query: KontrolQuery) -> QueryPlan:
    """The query's plan, its id in the canonical UUID form storages report ids in."""
    plan = plan_query(query)
    equal = tuple((f, (canonical_uuid(v) or v) if f == "id" else v) for f, v in plan.equal)
    return QueryPlan(equal, plan.constraint)


@dataclass(slots=True)
class _Watch:
    peer: kite.Peer
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)


class Watchers:
    """One Kontrol's watches, by watcher id (see module doc)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._active: dict[str, _Watch] = {}

    def __len__(self) -> int:
        return len(self._active)

    def subscribe(self) -> AbstractContextManager[Subscription]:
        """Subscribe to the storage's changes (before the kites are read)."""
        return self._storage.subscribe_changes()

    def start(
        self,
        request: Request,
        query: KontrolQuery,
        token_for: TokenFor,
        callback: Callable[..., Any],
        changes: Subscription,
        closing: contextlib.ExitStack,
    ) -> str:
        """Run a watch on the caller's connection; returns its id. `token_for(key_id)` is the
        token of a registered kite for the caller. Takes over `closing` (which ends the
        subscription `changes`) and closes it when the watch ends."""
        watcher_id = str(uuid.uuid4())
        watch = _Watch(request.client)
        self._active[watcher_id] = watch
        try:
            request.client.start_soon(
                self._run, watcher_id, watch, query, token_for, callback, changes, closing
            )
        except BaseException:
            del self._active[watcher_id]
            raise
        log.info("kontrol: watcher %s enabled for query %s", watcher_id, query)
        return watcher_id

    def cancel(self, watcher_id: str) -> None:
        """End a watch (Go's `cancelWatcher`).

        Raises:
            KontrolError: `Watcher not found`.
        """
        watch = self._active.pop(watcher_id, None)
        if watch is None:
            raise KontrolError("Watcher not found")
        watch.scope.cancel()

    async def _run(
        self,
        watcher_id: str,
        watch: _Watch,
        query: KontrolQuery,
        token_for: TokenFor,
        callback: Callable[..., Any],
        changes: Subscription,
        closing: contextlib.ExitStack,
    ) -> None:
        plan = _canonical(query)
        try:
            with closing, watch.scope:
                try:
                    async for change in changes:
                        if not plan.matches(change.kite):
                            continue
                        event = await self._event(change, token_for)
                        await callback({"error": None, "result": event})
                except FeedOverflowError as exc:
                    error = {"type": "watchError", "message": exc.message}
                    await callback({"error": error, "result": None})
        except (kite.KiteError, KontrolError) as exc:
            log.info("kontrol: watcher %s ended: %s", watcher_id, exc)
        finally:
            if self._active.get(watcher_id) is watch:
                del self._active[watcher_id]

    @staticmethod
    async def _event(change: RegistryChange, token_for: TokenFor) -> dict[str, Any]:
        """Go's `protocol.KiteEvent` of a change (`url` and `token` omitted when empty)."""
        event: dict[str, Any] = {"action": _ACTIONS[change.action], "kite": change.kite.to_json()}
        if change.url:
            event["url"] = change.url
        try:
            event["token"] = await token_for(change.key_id)
        except KontrolError as exc:
            if change.action == "register":
                raise
            log.info("kontrol: no token for deregistered %s: %s", change.kite, exc.message)
        return event
