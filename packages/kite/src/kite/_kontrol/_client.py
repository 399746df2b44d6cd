"""The Kontrol client: a kite's connection to Kontrol, registration, queries and tokens.

How this works (docs/protocol.md §4.11, §5.8, §6.2, §6.4, §6.5). A `KontrolClient` is an
`async with` object owning a nursery; while it is open it is the kite's Kontrol client and the
kite's `register`, `get_kites`, ... methods use it (`_kite_methods`), through the kite's
`KontrolLink`.

* **Connection** (Go's `SetupKontrolClient`): dialled lazily by the first call, through a
  *dialler* -- `dialler(url)` is an async context manager yielding a connected `Peer` (the
  kite's `dial` over SockJS by default; a memory pipe in tests). The connection authenticates
  with the kite key (`kiteKey`) and is redialled forever with Go's back-off (cenkalti/backoff
  defaults: 0.5 s, x1.5, +-50 %, at most 60 s; reset by every successful dial). Requests
  Kontrol sends on it (its `kite.heartbeat`) are trusted and answered by the RPC core.
* **Calls** wait for the connection up to `Config.timeout`, then run with that timeout. When
  it is not up in time the `KiteTimeoutError` names Kontrol's URL and the last dial failure
  (`cannot reach Kontrol at <url> in 15s for getKites: <why>`), where Go says `Timed out
  registering to kontrol for getKites method`, whatever the method.
* **`register(url)`** sends `register [{"url": url}]`, adopts a re-signed kite key / new
  Kontrol key from the result (§5.8) and fires the kite's `on_register` hooks.
  **`register_forever(url)`** re-registers on every (re)connection, retrying a failure every
  10 s, and returns after the first success (Go's `KontrolReadyNotify`).
* **HTTP path**: `register_http(url)` posts to `/register` and starts heartbeats to
  `/heartbeat` at the interval Kontrol returned (see `_registration`); `registeragain`
  re-registers with Go's HTTP back-off; `register_http_forever` retries the first
  registration with that back-off.
* **Queries**: `get_kites(query)` returns `KiteClient`s (`_kite_client`: ready to dial, each
  with its token and a `TokenRenewer`), `get_token`, `get_token_force`, `get_key` (adopts the key).

Message shapes are Go's, key order included (checked against the kontrol-* captures).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import trio

import dnode

from .._backoff import ExponentialBackoff
from .._duration import format_seconds
from .._errors import KiteError, KiteTimeoutError
from .._groups import raise_single
from .._rpc._hooks import run_hooks
from .._rpc._peer import Peer
from .._sockjs._client import Client
from .._urls import check_kite_url
from ..protocol import Auth, KiteIdentity, KontrolQuery
from ._kite_client import KiteClient
from ._opened import OpenedByAsyncWith
from ._registration import (
    DIAL_BACKOFF,
    HEARTBEAT_HEADERS,
    HTTP_REGISTER_BACKOFF,
    ConfiguredKite,
    HTTPRequester,
    KontrolError,
    RegisterAgainError,
    RegisterResult,
    adopt_register_result,
    check_heartbeat_answer,
    default_http_requester,
    heartbeat_url,
    kite_key_of,
    parse_register_http_answer,
    register_http_request,
    update_config,
)

if TYPE_CHECKING:
    from ._watch import KiteWatch

__all__ = [
    "Dialler",
    "KontrolClient",
    "KontrolKite",
    "KontrolLink",
    "NoKitesAvailableError",
    "RegisterHook",
]

log = logging.getLogger("kite.kontrol")

#: `dialler(url)`: an async context manager yielding a connected `Peer` of the local kite.
Dialler = Callable[[str], AbstractAsyncContextManager[Peer]]
#: An `on_register` hook: `fn(result)`, plain or async.
RegisterHook = Callable[[RegisterResult], Any]

_F = TypeVar("_F", bound=Callable[..., Any])

#: Go's `kontrolRetryDuration`: pause between failed `register_forever` attempts.
REGISTER_RETRY = 10.0

#: Go's `protocol.GetKitesResult` and `protocol.KiteWithToken`.
_GET_KITES_RESULT = dnode.GoFields("kites")
_KITE_WITH_TOKEN = dnode.GoFields("kite", "url", "keyId", "token")


class KontrolKite(ConfiguredKite, Protocol):
    """What a `KontrolClient` uses of its kite (a `Kite`): its `config` (kite key, Kontrol URL
    and key, timeout; replaced when Kontrol re-signs the key), its identity, and `dial` for
    the default dialler."""

    id: str

    @property
    def identity_json(self) -> dict[str, str]: ...

    def dial(self, url: str) -> AbstractAsyncContextManager[Client]: ...


class KontrolLink:
    """A kite's side of its Kontrol clients: the one open now, and the `on_register` hooks
    every client fires after a successful registration."""

    __slots__ = ("client", "on_register")

    def __init__(self) -> None:
        self.client: KontrolClient | None = None
        self.on_register: list[RegisterHook] = []


class NoKitesAvailableError(KontrolError):
    """`get_kites` matched nothing (Go's `ErrNoKitesAvailable`, text and typo included)."""

    def __init__(self, message: str = "no kites availabile") -> None:
        super().__init__(message)


class KontrolClient(OpenedByAsyncWith):
    """A kite's client of Kontrol (see the module docstring). Use as `async with`.

    Args:
        kite: the local kite (its `config` supplies `kite_key`, `kontrol_url`, `timeout`).
        url: Kontrol's URL (default `kite.config.kontrol_url`).
        dialler: opens kite connections, `dialler(url)` (default: the kite's `dial`,
            SockJS over WebSocket or XHR as `Config.transport` says).
        http: the HTTP client of the HTTP register path (default: `kite._http` based).
        timeout: Kontrol call timeout, seconds (default `kite.config.timeout`, 15 s).
        kite_key_path: also write a kite key re-signed by Kontrol to this file (Go keeps it
            in memory only).
        wall_clock: UTC seconds, for token times (default `time.time`).
        link: the kite's `KontrolLink` (`Kite.kontrol_client` passes it): the client is the
            kite's open one while open, and fires the link's `on_register` hooks.
    """

    def __init__(
        self,
        kite: KontrolKite,
        *,
        url: str | None = None,
        dialler: Dialler | None = None,
        http: HTTPRequester | None = None,
        timeout: float | None = None,
        kite_key_path: Path | None = None,
        wall_clock: Callable[[], float] = time.time,
        link: KontrolLink | None = None,
    ) -> None:
        self.kite = kite
        self._link = link if link is not None else KontrolLink()
        self.url = url if url is not None else kite.config.kontrol_url
        self.timeout = timeout if timeout is not None else kite.config.timeout
        self.kite_key_path = kite_key_path
        self.wall_clock = wall_clock
        self._dialler = dialler
        self._http = http
        self._nursery: trio.Nursery | None = None
        self._closed = False
        self._peer: Peer | None = None
        self._connected = trio.Event()
        self._dial_error: Exception | None = None  # the last failed dial, until one works
        self._loop_started = False
        self._forever_url: str | None = None
        self._registering: Peer | None = None  # the connection a register task runs on
        self._registered = trio.Event()
        self._last_result: RegisterResult | None = None
        self._http_scope: trio.CancelScope | None = None
        self._http_close: Callable[[], Awaitable[None]] | None = None
        #: Successful (re)connections to Kontrol so far.
        self.connections = 0

    def __repr__(self) -> str:
        return f"<KontrolClient {self.url!r} connected={self.connected}>"

    # ----------------------------------------------------------------------------------------
    # lifetime

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[None]:
        if self._closed or self._nursery is not None:
            raise RuntimeError("a KontrolClient can be opened once")
        link = self._link
        previous = link.client
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                link.client = self
                try:
                    yield
                finally:
                    self._closed = True
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            raise_single(group)
        finally:
            self._closed = True
            self._peer = None
            link.client = previous
            if self._http_close is not None:
                with trio.CancelScope(shield=True):
                    await self._http_close()

    @property
    def connected(self) -> bool:
        """Whether a Kontrol connection is up now."""
        return self._peer is not None and not self._peer.closed

    @property
    def peer(self) -> Peer | None:
        """The current Kontrol connection, if any."""
        return self._peer if self.connected else None

    @property
    def nursery(self) -> trio.Nursery:
        """The client's nursery, for tasks that live as long as it is open.

        Raises:
            KontrolError: the client is not open.
        """
        return self._require_nursery()

    def _require_nursery(self) -> trio.Nursery:
        if self._closed or self._nursery is None:
            raise KontrolError("the Kontrol client is not open (use `async with`)")
        return self._nursery

    # ----------------------------------------------------------------------------------------
    # the connection

    def dial(self, url: str) -> AbstractAsyncContextManager[Peer]:
        """Open a kite connection to `url` with the configured dialler (default: the kite's
        `dial`, one SockJS session without reconnection: this client redials itself)."""
        if self._dialler is not None:
            return self._dialler(url)
        return _dial_peer(self.kite, url)

    def _ensure_connecting(self) -> None:
        nursery = self._require_nursery()
        if self._loop_started:
            return
        if not self.url:
            raise KontrolError("no kontrol URL given in config")
        if self._dialler is None:  # a custom dialler reads its URLs its own way
            check_kite_url(self.url, what="Kontrol URL")
        self._loop_started = True
        nursery.start_soon(self._connection_loop)

    async def _connection_loop(self) -> None:
        backoff = ExponentialBackoff(**DIAL_BACKOFF)
        while True:
            try:
                async with self.dial(self.url) as peer:
                    backoff.reset()
                    self._on_connected(peer)
                    await peer.wait_closed()
                    self._on_disconnected()
                log.warning("Disconnected from Kontrol.")
            except Exception as exc:  # noqa: BLE001 - any dial failure is retried
                self._dial_error = exc
                log.warning("Cannot connect to Kontrol at %s: %s", self.url, exc)
            finally:
                self._on_disconnected()
            delay = backoff.next_backoff()
            assert delay is not None  # DIAL_BACKOFF never gives up
            log.info("Dialling Kontrol again in %.1f s", delay)
            await trio.sleep(delay)

    def _on_connected(self, peer: Peer) -> None:
        peer.auth = Auth("kiteKey", kite_key_of(self.kite))
        peer.kite = KiteIdentity(name="kontrol")
        self._peer = peer
        self._dial_error = None
        self.connections += 1
        self._connected.set()
        log.info("Connected to Kontrol")
        if self._forever_url is not None:
            peer.start_soon(self._register_until_ok, peer)

    def _on_disconnected(self) -> None:
        self._peer = None
        if self._connected.is_set():
            self._connected = trio.Event()

    async def call(
        self,
        method: str,
        args: list[Any] | None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        """Call `method` on Kontrol (Go's `TellKontrolWithTimeout`), dialling if needed.

        Raises:
            KiteTimeoutError: not connected within the timeout, or no answer in time.
            KiteError: Kontrol's error, `DisconnectError`, `SendError`, `KontrolError`.
        """
        self._ensure_connecting()
        wait = self.timeout
        deadline = trio.current_time() + wait
        while (peer := self._peer) is None or peer.closed:
            event = self._connected
            with trio.move_on_at(deadline) as scope:
                await event.wait()
            if scope.cancelled_caught:
                why = f": {self._dial_error}" if self._dial_error else " (still connecting)"
                raise KiteTimeoutError(
                    f"cannot reach Kontrol at {self.url} in {format_seconds(wait)} for "
                    f"{method}{why}"
                )
        return await peer.call(method, args, timeout=timeout if timeout is not None else wait)

    # ----------------------------------------------------------------------------------------
    # registration over the Kontrol connection

    async def register(self, url: str) -> RegisterResult:
        """Register this kite at `url` once (Go's `Register`); returns Kontrol's answer."""
        log.info("Registering to kontrol with URL: %s", url)
        value = await self.call("register", [{"url": url}])
        result = RegisterResult.from_json(value)
        log.info("Registered to kontrol with URL: %s", result.url)
        await self._after_register(result)
        return result

    async def register_forever(self, url: str) -> RegisterResult:
        """Stay registered at `url`: register now and after every reconnection (Go's
        `RegisterForever`). Returns the first successful result; failures are logged and
        retried every 10 s. A different `url` than before (a proxy's new public URL) is
        registered now and replaces the old one; this returns once it is registered."""
        if self._forever_url is not None and url != self._forever_url:
            self._registered = trio.Event()
        self._forever_url = url
        self._ensure_connecting()
        peer = self._peer
        if peer is not None and not peer.closed and self._registering is not peer:
            peer.start_soon(self._register_until_ok, peer)
        await self._registered.wait()
        assert self._last_result is not None
        return self._last_result

    async def ready(self) -> RegisterResult:
        """Wait for the first successful registration (Go's `KontrolReadyNotify`)."""
        await self._registered.wait()
        assert self._last_result is not None
        return self._last_result

    async def _register_until_ok(self, peer: Peer) -> None:
        """Register `_forever_url` on this connection until it works (one task per peer)."""
        self._registering = peer
        try:
            while not peer.closed and (url := self._forever_url) is not None:
                try:
                    await self.register(url)
                except KiteError as exc:
                    log.error(
                        "Cannot register to Kontrol: %s Will retry after %d seconds",
                        exc,
                        REGISTER_RETRY,
                    )
                    await trio.sleep(REGISTER_RETRY)
                    continue
                if url == self._forever_url:
                    return
        finally:
            if self._registering is peer:
                self._registering = None

    async def _after_register(self, result: RegisterResult) -> None:
        changed = adopt_register_result(
            self.kite, result, kite_key_path=self.kite_key_path, now=self.wall_clock()
        )
        peer = self._peer
        if changed and peer is not None and peer.auth is not None and peer.auth.type == "kiteKey":
            peer.auth = Auth("kiteKey", kite_key_of(self.kite))
        self._last_result = result
        self._registered.set()
        await run_hooks(self._link.on_register, result, log=log, what="on_register hook")

    # ----------------------------------------------------------------------------------------
    # registration over HTTP

    def _get_http(self) -> HTTPRequester:
        if self._http is None:
            requester = default_http_requester(self.timeout)
            self._http = requester
            self._http_close = getattr(requester, "aclose", None)
        return self._http

    async def register_http(self, url: str) -> RegisterResult:
        """Register over HTTP `POST /register` and start HTTP heartbeats (Go's `RegisterHTTP`).

        Raises:
            KontrolError: Kontrol's `err`, a bad answer, or a transport failure.
        """
        nursery = self._require_nursery()
        if not self.url:
            raise KontrolError("no kontrol URL given in config")
        http = self._get_http()
        target, headers, body = register_http_request(
            self.url, url, self.kite.identity_json, kite_key_of(self.kite)
        )
        try:
            status, answer = await http("POST", target, headers, body)
        except KiteError:
            raise
        except Exception as exc:  # a custom HTTP client's own error
            raise KontrolError(f"POST {target}: {exc}") from exc
        result = parse_register_http_answer(status, answer)
        log.info(
            "Registered (via HTTP) with URL: '%s' and HeartBeat interval: '%ds'",
            result.url,
            result.heartbeat_interval,
        )
        if self._http_scope is not None:
            self._http_scope.cancel()
        scope = trio.CancelScope()
        self._http_scope = scope
        nursery.start_soon(self._http_heartbeats, scope, result.heartbeat_interval, url)
        await self._after_register(result)
        return result

    async def register_http_forever(self, url: str) -> RegisterResult:
        """`register_http`, retried with Go's back-off (30 s, x1.7, max 5 min) until it
        succeeds (Go's `RegisterHTTPForever`)."""
        backoff = ExponentialBackoff(**HTTP_REGISTER_BACKOFF)
        while True:
            try:
                return await self.register_http(url)
            except KontrolError as exc:
                if self._closed:
                    raise
                delay = backoff.next_backoff()
                assert delay is not None
                log.error("Cannot register to Kontrol: %s Will retry after %d seconds", exc, delay)
                await trio.sleep(delay)

    async def _http_heartbeats(self, scope: trio.CancelScope, interval: int, url: str) -> None:
        with scope:
            http = self._get_http()
            target = heartbeat_url(self.url, self.kite.id)
            deadline = trio.current_time()
            while True:
                deadline = max(deadline + interval, trio.current_time())
                await trio.sleep_until(deadline)
                try:
                    status, body = await http("GET", target, HEARTBEAT_HEADERS, b"")
                    check_heartbeat_answer(status, body)
                except RegisterAgainError:
                    log.info("Disconnected from Kontrol, going to register again")
                    self._require_nursery().start_soon(self.register_http_forever, url)
                    return
                except Exception as exc:  # noqa: BLE001 - logged, the beat goes on (as Go)
                    log.error("heartbeat to Kontrol failed: %s", exc)

    # ----------------------------------------------------------------------------------------
    # queries, tokens, keys

    async def get_kites(
        self, query: KontrolQuery | KiteIdentity | Mapping[str, str]
    ) -> list[KiteClient]:
        """Kites matching `query`, as ready-to-dial `KiteClient`s with tokens (Go's `GetKites`).

        Raises:
            NoKitesAvailableError: nothing matched.
            ValueError: an unknown query field.
        """
        q = KontrolQuery.of(query)
        value = await self.call(
            "getKites", [{"query": q.to_json(), "watchCallback": None, "who": None}]
        )
        clients = self.kite_clients(value)
        if not clients:
            raise NoKitesAvailableError()
        return clients

    def watch_kites(
        self, query: KontrolQuery | KiteIdentity | Mapping[str, str]
    ) -> AbstractAsyncContextManager[KiteWatch]:
        """Watch the kites matching `query` register and deregister (`kite._kontrol._watch`):
        `async with kontrol.watch_kites(q) as watch:` gives the matching kites now
        (`watch.kites`), then `async for event in watch:` the changes, until the block ends.
        """
        from ._watch import watch_kites

        return watch_kites(self, query)

    def kite_clients(self, value: Any) -> list[KiteClient]:
        """The `KiteClient`s of a `getKites` answer (`[]` when none matched).

        Raises:
            KontrolError: the answer is not Go's `GetKitesResult` shape.
        """
        if not isinstance(value, Mapping):
            raise KontrolError(f"invalid getKites result: {value!r}")
        kites = _GET_KITES_RESULT.pick(value).get("kites")
        if kites is None:  # Go decodes `null` as an empty list
            kites = []
        if not isinstance(kites, list):
            raise KontrolError(f"invalid getKites result: {value!r}")
        clients = []
        for entry in kites:
            if not isinstance(entry, Mapping):
                raise KontrolError(f"invalid getKites entry: {entry!r}")
            folded = _KITE_WITH_TOKEN.pick(entry)
            kite_url, token, key_id = (folded.get(k) or "" for k in ("url", "token", "keyId"))
            if not all(isinstance(v, str) for v in (kite_url, token, key_id)):
                raise KontrolError(f"invalid getKites entry: {entry!r}")
            clients.append(
                KiteClient(
                    self,
                    KiteIdentity.from_json(folded.get("kite")),
                    str(kite_url),
                    str(token),
                    key_id=str(key_id),
                )
            )
        return clients

    async def get_token(self, kite: KiteIdentity | KontrolQuery | Mapping[str, str]) -> str:
        """A token for exactly one kite (Go's `GetToken`; Kontrol may return a cached one)."""
        identity = kite if isinstance(kite, KiteIdentity) else _identity(KontrolQuery.of(kite))
        return _string(await self.call("getToken", [identity.to_json()]), "getToken")

    async def get_token_force(self, kite: KiteIdentity | KontrolQuery | Mapping[str, str]) -> str:
        """A newly signed token for one kite (Go's `GetTokenForce`)."""
        args = {**KontrolQuery.of(kite).to_json(), "force": True}
        return _string(await self.call("getToken", [args]), "getToken")

    async def get_key(self) -> str:
        """Kontrol's current public key for this kite; adopted as the trusted key (Go's
        `GetKey`)."""
        key = _string(await self.call("getKey", None), "getKey")
        update_config(self.kite, kontrol_key=key)
        return key

    def start_key_renewer(self, interval: float) -> None:
        """Call `get_key` every `interval` seconds while the client is open (Go's
        `NewKeyRenewer`, which blocks its caller forever); failures are logged."""
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._require_nursery().start_soon(self._renew_key, interval)

    async def _renew_key(self, interval: float) -> None:
        while True:
            await trio.sleep(interval)
            try:
                await self.get_key()
            except KiteError as exc:
                log.warning("Key renew failed: %s", exc)


@asynccontextmanager
async def _dial_peer(kite: KontrolKite, url: str) -> AsyncIterator[Peer]:
    """The default dialler: `kite.dial(url)` (SockJS, `Config.transport`), its `Peer`."""
    async with kite.dial(url) as client:
        yield client.peer


def _identity(query: KontrolQuery) -> KiteIdentity:
    return KiteIdentity(**query.to_json())


def _string(value: Any, method: str) -> str:
    if not isinstance(value, str):
        raise KontrolError(f"invalid {method} result: {value!r}")
    return value
