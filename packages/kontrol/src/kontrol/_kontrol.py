"""`Kontrol`: the registry and key/token authority, itself a kite named `kontrol`.

How this works (docs/protocol.md §6). `Kontrol` is a `kite.Kite` whose methods (`register`,
`registerMachine`, `getKites`, `getToken`, `getKey`, `cancelWatcher`; bodies in `_methods`,
watches in `_watch`) and HTTP endpoints (`/register`, `/heartbeat`; `_http_endpoints`) work on
a `Storage` (registrations and key pairs) and `KeyPairs` (`_keypairs`). It runs inside
`async with kontrol.running():`, which makes sure a key pair exists (generating one on first
start), registers Kontrol itself and owns the nursery of the HTTP heartbeat trackers and the
self-registration refresher. Connections are served as for any kite (`kontrol.accept(pipe)`,
or a transport's `serve_pipe`).

Authentication: `kiteKey` and `token` as every kite, except that a presented Kontrol key is
trusted when the storage knows it, live *or deleted* (Go's `Kontrol.Verify`), so kites with
rotated-out keys can still fetch new ones; an unknown key is refused with the storage's text
(`kiteKey: no key pair found`), not cached.

Liveness and registrations: see `_registrations`.

Restarts: registrations live in the storage, kites' connections and HTTP trackers in memory.
After a restart every live kite registers again within a heartbeat (a kite connection's kite
reconnects and re-registers, an HTTP kite's next `/heartbeat` is answered `registeragain`), so
unless `options.shared_storage`, the rows not written since the start are deleted one
`heartbeat_timeout` after it (their kites died meanwhile; Go serves them until the storage TTL,
up to 90 s after their last refresh), and Kontrol's own entry from the earlier run (same
identity and URL, another id) is deleted at once.

Tokens are cached per (audience, requester, issuer, key pair id) for `token_ttl -
token_leeway`, as Go, so `getKites` and `getToken` return the same string until `force`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable

import trio

import kite
from kite import AuthContext, Request, single_exception

from ._errors import KeyNotFoundError, KontrolError
from ._http_endpoints import HTTPAnswer, heartbeat_http, register_http
from ._keypairs import KeyPairs
from ._methods import register_methods
from ._model import KeyPair
from ._options import KontrolOptions, MachineAuthenticate
from ._query import KontrolQuery
from ._registrations import Registrations
from ._storage import Storage
from ._watch import Watchers

__all__ = ["DEFAULT_PORT", "KONTROL_VERSION", "Kontrol", "KontrolOptions", "MachineAuthenticate"]

log = logging.getLogger("kontrol")

#: Go's `kontrol.DefaultPort`.
DEFAULT_PORT = 4000
#: The version the Go `kontrol` binary reports by default.
KONTROL_VERSION = "0.0.1"


class Kontrol(kite.Kite):
    """Go's Kontrol: kite registry, kite key and token authority (see module doc).

    Args:
        config: Kontrol's kite configuration; `username` (Kontrol's own username, the issuer
            of everything it signs, Go: the `sub` of its kite key), `environment`, `region`,
            `kontrol_url` (put in issued kite keys) are used.
        storage: registrations and key pairs (`open_storage`, `open_sqlite_storage`, ...).
        key_pair: a pair to sign with; stored on start unless already known. Without one, the
            newest stored pair is used, or a new one is generated on first start.
        version: the kite version (Go binary default `0.0.1`).
        options: tunables (`KontrolOptions()`).
        machine_authenticate: enables `registerMachine`: called with the request's `authType`
            and the request, raises to refuse (`cannot authenticate user: <error>`). Without
            it `registerMachine` always answers `no valid authentication key found` (as the Go
            binary does).
        clock: wall clock (Unix seconds) for issued tokens and keys and for verifying them.
        limits: per-connection RPC limits.
    """

    def __init__(
        self,
        *,
        config: kite.Config | None = None,
        storage: Storage,
        key_pair: KeyPair | kite.KeyPair | None = None,
        version: str = KONTROL_VERSION,
        options: KontrolOptions | None = None,
        machine_authenticate: MachineAuthenticate | None = None,
        clock: Callable[[], float] = time.time,
        limits: kite.PeerLimits | None = None,
    ) -> None:
        config = config if config is not None else kite.Config()
        if config.port == 0:
            config = config.replace(port=DEFAULT_PORT)
        super().__init__("kontrol", version, config.replace(kontrol_user=config.username))
        if limits is not None:
            self.limits = limits
        self.storage = storage
        self.keys = KeyPairs(storage)
        self.options = options if options is not None else KontrolOptions()
        self.machine_authenticate = machine_authenticate
        self.clock = clock
        self._initial_pair = key_pair
        self._current: KeyPair | None = None
        self._nursery: trio.Nursery | None = None
        self.authenticators = kite.Authenticators(
            kite_key=kite.KiteKeyAuthenticator(verify=self._verify_kontrol_key)
        )
        self.authenticate = self._authenticate_request
        #: Who owns each registered kite id, in step with the storage.
        self.registrations = Registrations(storage, self.options)
        self._tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self.watchers = Watchers(storage)
        self.on_disconnect(self.registrations.disconnected)
        self.handle_http("/register", self._serve_register_http, exact=True)
        self.handle_http("/heartbeat", self._serve_heartbeat_http, exact=True)
        self.enable_health("/healthz", check=self._storage_answers)

        register_methods(self)

    async def _storage_answers(self) -> None:
        """The health check: the storage answers a query (raises when it does not)."""
        await self.storage.list_keys()

    @property
    def live_registrations(self) -> int:
        """Kites registered through this Kontrol whose connection or HTTP heartbeats live."""
        return len(self.registrations)

    # ----------------------------------------------------------------------------------------
    # lifecycle

    @single_exception
    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Kontrol]:
        """Run Kontrol's background work for the duration of the block.

        Makes sure a key pair exists (see `key_pair` in the class doc), registers Kontrol in
        the storage (refreshed every heartbeat timeout, deleted on exit), owns the HTTP
        heartbeat trackers and, unless `options.shared_storage`, removes what an earlier run
        left behind (see "Restarts" in the module doc).

        Raises:
            KontrolError: the key pair cannot be set up (storage error, deleted pair, ...).
        """
        if self._nursery is not None:
            raise RuntimeError("Kontrol is already running")
        self._set_current(await self.keys.ensure(self._initial_pair))
        started_at = self.clock()
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                self.registrations.start(nursery)
                if not self.options.shared_storage:
                    await self._forget_own_old_entries()
                    nursery.start_soon(self._sweep_unconfirmed, started_at)
                if self.self_url:
                    await nursery.start(self._register_self)
                yield self
                nursery.cancel_scope.cancel()
        finally:
            self._nursery = None
            self.registrations.stop()

    async def run(
        self, *, task_status: trio.TaskStatus[kite.KiteServer] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run Kontrol and serve it on `config.ip:config.port` until cancelled (Go's `Run`).

        With `nursery.start(kontrol.run)` the started value is the `KiteServer`.
        """
        async with self.running(), self.serve() as server:
            task_status.started(server)
            await trio.sleep_forever()

    @property
    def self_url(self) -> str:
        """The URL Kontrol registers for itself (`register_url` or `config.kontrol_url`)."""
        return self.options.register_url or self.config.kontrol_url

    async def _register_self(
        self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        identity = self.identity
        try:
            first = True
            while True:
                try:
                    pair = await self.current_key_pair()
                    await self.storage.upsert(identity, self.self_url, pair.id)
                except KontrolError as exc:
                    log.warning("kontrol: registering itself failed: %s", exc.message)
                    delay = 1.0
                else:
                    delay = self.options.heartbeat_timeout
                if first:
                    first = False
                    task_status.started()
                await trio.sleep(delay)
        finally:
            with trio.CancelScope(shield=True), contextlib.suppress(KontrolError):
                await self.storage.delete(identity.id)

    async def _forget_own_old_entries(self) -> None:
        """Delete this Kontrol's entries from an earlier run: same identity but for the id,
        registered at the same URL (which no other process can be serving now)."""
        me = self.identity
        if not self.self_url:
            return
        try:
            found = await self.storage.get(
                KontrolQuery(username=me.username, environment=me.environment, name=me.name)
            )
            for record in found:
                old = record.kite
                if (
                    record.url == self.self_url
                    and old.id != me.id
                    and (old.region, old.hostname) == (me.region, me.hostname)
                ):
                    await self.storage.delete(old.id)
        except KontrolError as exc:
            log.warning("kontrol: removing its entries of an earlier run failed: %s", exc.message)

    async def _sweep_unconfirmed(self, started_at: float) -> None:
        """One heartbeat timeout after the start, delete the registrations not written since
        (their kites did not come back: dead while Kontrol was down)."""
        await trio.sleep(self.options.heartbeat_timeout)
        try:
            removed = await self.storage.clean_not_refreshed_since(started_at)
        except KontrolError as exc:
            log.warning("kontrol: removing registrations of an earlier run failed: %s", exc.message)
        else:
            if removed:
                log.info("kontrol: removed %d registrations no kite renewed after start", removed)

    def require_running(self) -> trio.Nursery:
        """The nursery of `running()` (registrations' background work lives there).

        Raises:
            KontrolError: Kontrol is not running.
        """
        if self._nursery is None:
            raise KontrolError("kontrol is not running")
        return self._nursery

    # ----------------------------------------------------------------------------------------
    # keys

    async def current_key_pair(self) -> KeyPair:
        """The pair Kontrol signs new kite keys with (the newest live pair)."""
        pair = await self.keys.current()
        self._set_current(pair)
        return pair

    async def rotate_key_pair(self, pair: KeyPair | kite.KeyPair | None = None) -> KeyPair:
        """Make `pair` (default: a freshly generated one) the current pair; older pairs stay
        valid until `delete_key_pair`. Returns the new pair."""
        await self.keys.rotate(pair)
        return await self.current_key_pair()

    async def delete_key_pair(self, key_id: str = "", public: str = "") -> KeyPair:
        """Delete a pair by id or public key (Go's `DeleteKeyPair`); kites presenting kite keys
        signed with it get re-signed ones on `register`. Returns the deleted pair.

        Raises:
            KeyPairError: both empty, unknown, already deleted, or the last live pair.
        """
        deleted = await self.keys.delete(key_id, public)
        await self.current_key_pair()
        return deleted

    def _set_current(self, pair: KeyPair) -> None:
        """Remember the current pair; the `token` authenticator trusts its public key."""
        if self._current is None or self._current.public != pair.public:
            self.config = self.config.replace(kontrol_user=self.username, kontrol_key=pair.public)
        self._current = pair

    @property
    def public_key(self) -> str:
        """The current public key as last read from the storage (empty before `running`)."""
        return self._current.public if self._current is not None else ""

    async def _verify_kontrol_key(self, pem: str, ctx: AuthContext) -> None:
        """Go's `Kontrol.Verify`: live or deleted pairs are trusted; any other storage answer
        is the (uncached) refusal."""
        try:
            pair, deleted = await self.keys.by_public(pem)
        except KontrolError as exc:
            raise kite.AuthenticationError(exc.message) from None
        if pair is None and not deleted:
            raise kite.AuthenticationError(KeyNotFoundError().message)

    async def _authenticate_request(self, request: Request) -> str:
        return await self.authenticators.authenticate(
            request.auth, local=self.identity, config=self.config, now=self.clock()
        )

    async def issue_kite_key(self, username: str) -> str:
        """A kite key for `username` signed with the current pair (Go's `registerUser`)."""
        pair = await self.current_key_pair()
        return kite.issue_kite_key(
            private_key=pair.private,
            public_key=pair.public,
            issuer=self.username,
            subject=username,
            kontrol_url=self.config.kontrol_url,
            now=self.clock(),
            leeway=self.options.token_leeway,
        )

    def generate_token(self, audience: str, username: str, pair: KeyPair, *, force: bool) -> str:
        """A token (cached per audience, requester, issuer and pair, Go's `generateToken`).

        Raises:
            KontrolError: `Server error: Cannot generate a token`.
        """
        key = "\x00".join((audience, username, self.username, pair.id))
        now = trio.current_time()
        if not force:
            cached = self._tokens.get(key)
            if cached is not None and cached[1] > now:
                self._tokens.move_to_end(key)
                return cached[0]
        try:
            signed = kite.issue_token(
                private_key=pair.private,
                issuer=self.username,
                subject=username,
                audience=audience,
                now=self.clock(),
                ttl=self.options.token_ttl,
                leeway=self.options.token_leeway,
                not_before=not self.options.token_no_nbf,
            )
        except (kite.KeyFormatError, ValueError) as exc:
            log.error("kontrol: signing a token failed: %s", exc)
            raise KontrolError("Server error: Cannot generate a token") from None
        self._tokens[key] = (signed, now + self.options.token_ttl - self.options.token_leeway)
        self._tokens.move_to_end(key)
        while len(self._tokens) > self.options.token_cache_size:
            self._tokens.popitem(last=False)
        return signed

    # ----------------------------------------------------------------------------------------
    # registrations

    async def handle_register_http(self, body: bytes) -> HTTPAnswer:
        """The `/register` endpoint: the request body in, Go's response out (`_http_endpoints`)."""
        return await register_http(self, body)

    def handle_heartbeat_http(self, query: str) -> HTTPAnswer:
        """The `/heartbeat` endpoint: the query string (`id=...`) in, Go's response out."""
        return heartbeat_http(self, query)

    async def _serve_register_http(self, request: kite.HTTPRequest) -> None:
        answer = await self.handle_register_http(await request.body())
        await request.respond(answer.status, answer.headers, answer.body)

    async def _serve_heartbeat_http(self, request: kite.HTTPRequest) -> None:
        answer = self.handle_heartbeat_http(request.query)
        await request.respond(answer.status, answer.headers, answer.body)
