"""Watching Kontrol: the kites matching a query as they register and deregister.

How this works: `watch_kites(kontrol_client, query)` calls `getKites` with a function under
`watchCallback` (Go's `protocol.GetKitesArgs`). A Kontrol that watches answers with a
`watcherID` and then calls the function once per change with Go's `kite.Response` of a
`protocol.KiteEvent` (`{"error": null, "result": {"action": "REGISTER" | "DEREGISTER", "kite",
"url", "token"}}`). Each call is turned into a `KiteEvent` and queued in a bounded channel
that `KiteWatch` iterates. The watch ends with the `async with` block (`cancelWatcher` is
sent and the function forgotten), and iteration fails with a `KontrolError` when the Kontrol
connection ends (a watch does not survive a reconnection), when Kontrol reports an error, or
when the consumer falls more than `buffer` events behind. A Kontrol that does not watch (Go
Kontrol since 2014) answers without a `watcherID`: that is a `KontrolError` at once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import trio

from .._errors import KiteError
from .._rpc._peer import Peer
from ..protocol import KiteIdentity, KontrolQuery
from ._registration import KontrolError

__all__ = ["DEFAULT_WATCH_BUFFER", "KiteEvent", "KiteWatch", "WatchingKontrol", "watch_kites"]

log = logging.getLogger("kite.kontrol")

#: Events a watch holds for a consumer that has not read them yet.
DEFAULT_WATCH_BUFFER = 1000

_ACTIONS: dict[str, Literal["register", "deregister"]] = {
    "register": "register",
    "deregister": "deregister",
}


class WatchingKontrol(Protocol):
    """What a watch needs of its Kontrol client (a `KontrolClient`)."""

    timeout: float

    @property
    def peer(self) -> Peer | None: ...

    @property
    def nursery(self) -> trio.Nursery: ...

    async def call(self, method: str, args: list[Any] | None) -> Any: ...

    def kite_clients(self, value: Any) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class KiteEvent:
    """A kite matching the watched query registered or deregistered.

    Attributes:
        action: `register` or `deregister`.
        kite: the kite's identity.
        url: where it is (or was) registered.
        token: a token to call it (Kontrol sends one with `deregister` too, for kite.js).
    """

    action: Literal["register", "deregister"]
    kite: KiteIdentity
    url: str = ""
    token: str = ""

    @classmethod
    def from_response(cls, response: Any) -> KiteEvent:
        """Read Kontrol's callback argument (a `kite.Response` of a `KiteEvent`).

        Raises:
            KontrolError: Kontrol sent an error, or not an event.
        """
        if not isinstance(response, Mapping):
            raise KontrolError(f"invalid watch event: {response!r}")
        folded = {str(k).lower(): v for k, v in response.items()}
        error = folded.get("error")
        if error:
            message = error.get("message") if isinstance(error, Mapping) else error
            raise KontrolError(f"kontrol ended the watch: {message}")
        result = folded.get("result")
        if not isinstance(result, Mapping):
            raise KontrolError(f"invalid watch event: {response!r}")
        event = {str(k).lower(): v for k, v in result.items()}
        action = _ACTIONS.get(str(event.get("action", "")).lower())
        url, token = event.get("url") or "", event.get("token") or ""
        if action is None or not isinstance(url, str) or not isinstance(token, str):
            raise KontrolError(f"invalid watch event: {response!r}")
        return cls(action, KiteIdentity.from_json(event.get("kite")), url, token)


class KiteWatch:
    """An open watch (from `KontrolClient.watch_kites`): `kites` matched when it started,
    then `async for event in watch` yields a `KiteEvent` per change.

    Attributes:
        watcher_id: Kontrol's id of the watch.
        kites: the kites matching the query when the watch started (`KiteClient`s).
    """

    def __init__(self, buffer: int) -> None:
        self.watcher_id = ""
        self.kites: list[Any] = []
        self._send, self._receive = trio.open_memory_channel[KiteEvent](buffer)
        self._error: KontrolError | None = None

    def __aiter__(self) -> KiteWatch:
        return self

    async def __anext__(self) -> KiteEvent:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            if self._error is not None:
                raise self._error from None
            raise StopAsyncIteration from None

    def _deliver(self, response: Any = None) -> None:
        """The watch function Kontrol calls."""
        if self._error is not None:
            return
        try:
            event = KiteEvent.from_response(response)
            self._send.send_nowait(event)
        except KontrolError as exc:
            self._end(exc)
        except trio.WouldBlock:
            self._end(KontrolError("the watch fell behind Kontrol's events"))
        except trio.ClosedResourceError:
            pass

    def _end(self, error: KontrolError | None) -> None:
        if self._error is None:
            self._error = error
        self._send.close()


@asynccontextmanager
async def watch_kites(
    kontrol: WatchingKontrol,
    query: KontrolQuery | KiteIdentity | Mapping[str, str],
    *,
    buffer: int = DEFAULT_WATCH_BUFFER,
) -> AsyncIterator[KiteWatch]:
    """Watch the kites matching `query` (see module doc).

    Raises:
        KontrolError: Kontrol does not watch (no `watcherID`), or answered oddly.
        KiteError: `getKites` failed (Kontrol's error, timeout, connection).
    """
    watch = KiteWatch(buffer)
    q = KontrolQuery.of(query)
    value = await kontrol.call(
        "getKites", [{"query": q.to_json(), "watchCallback": watch._deliver, "who": None}]
    )
    watch.kites = kontrol.kite_clients(value)
    watcher_id = {str(k).lower(): v for k, v in value.items()}.get("watcherid")
    if not isinstance(watcher_id, str) or not watcher_id:
        raise KontrolError("this Kontrol does not watch (its getKites answer has no watcherID)")
    watch.watcher_id = watcher_id
    peer = kontrol.peer
    guard = trio.CancelScope()
    if peer is not None:  # in the client's nursery: the body's errors stay ungrouped
        kontrol.nursery.start_soon(_end_with_connection, watch, peer, guard)
    try:
        yield watch
    finally:
        guard.cancel()
        watch._end(None)
        if peer is not None and not peer.closed:
            with trio.CancelScope(shield=True), trio.move_on_after(kontrol.timeout):
                try:
                    await peer.tell("cancelWatcher", watcher_id, timeout=kontrol.timeout)
                except KiteError as exc:
                    log.debug("cancelWatcher %s failed: %s", watcher_id, exc)
        if peer is not None:  # the watch function is not called any more: forget it
            table = peer.callbacks
            for cid in [c for c in table if table.get(c) == watch._deliver]:
                table.remove(cid)


async def _end_with_connection(watch: KiteWatch, peer: Peer, guard: trio.CancelScope) -> None:
    with guard:
        await peer.wait_closed()
        watch._end(KontrolError("the connection to Kontrol ended, the watch with it"))
