"""The `Kite`: the facade a user holds, tying the layers together.

How this works: a `Kite` knows who it is (`identity`), which methods it serves (`handle`,
`handle_func`, typed functions with `method` (`_typed`), kept by its `Callee`, the callee
pipeline of `_rpc._callee`; `describe` and the built-in `kite.methods` list them) and how to
authenticate callers (`authenticate`, `authenticators`). It owns no sockets: a transport hands
it one `MessagePipe` per connection: `serve_pipe(pipe)` serves an accepted connection in the
calling task until it ends (what servers use: no task per idle connection), `accept(pipe)` and
`connect_pipe(pipe)` are `async with` blocks running the RPC `Peer` (`_rpc._peer`) for
connections it accepted or dialled. Every connection's reader hands each incoming method
request to `serve_request` (the `Callee`'s). `serve` and `dial` (`_sockjs`) put the kite on
the network, and `kontrol_client` (`_kontrol`) connects it to Kontrol.
"""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import trio

from ._auth._authenticators import Authenticators
from ._config import Config
from ._http import Handler as HTTPHandler
from ._http import HTTPLimits
from ._kontrol._client import KontrolLink
from ._kontrol._kite_methods import KontrolMethods
from ._kontrol._proxy_registration import PROXY_RETRY, default_proxy_query
from ._observe._health import HealthCheck, health_handler
from ._observe._logging import apply_log_level
from ._rpc._blocking import blocking_handler
from ._rpc._builtins import register_builtins
from ._rpc._callee import AuthenticateHook, Callee, PeerHook
from ._rpc._descriptions import MethodDescription
from ._rpc._hooks import run_hooks
from ._rpc._introspection import describe_kite
from ._rpc._limits import PeerLimits
from ._rpc._methods import Handler, Method, MethodHandling
from ._rpc._observer import CallObserver
from ._rpc._peer import Peer, ServeRequest, open_peer
from ._rpc._pipe import MessagePipe
from ._rpc._request import Request
from ._sockjs._client import Client, ClientHook, dial
from ._sockjs._options import ServerLimits
from ._sockjs._server import HTTPRoute, KiteServer, open_kite_server
from ._sockjs._tunnel import TUNNEL_METHOD, tunnel_handler
from ._typed import register_method
from .protocol import Auth, KiteIdentity

if TYPE_CHECKING:
    import ssl

    import sockjs

__all__ = ["AuthenticateHook", "Kite"]

log = logging.getLogger("kite")

_F = TypeVar("_F", bound=Callable[..., Any])


class Kite(KontrolMethods):
    """A kite: serves methods to, and calls methods on, other kites over message pipes.

    Args:
        name: the kite's name (non-empty).
        version: a three-part version, e.g. `"1.0.0"` (parts are not checked to be numeric).
        config: the kite's `Config` (default `Config()`): identity (`username`,
            `environment`, `region`), `disable_authentication` (captured per method at
            registration, as Go), the trusted Kontrol key/user the authenticators check, the
            listen address of `run()`, SockJS timings and the kite key `dial()` sends. The id
            is a fresh UUID4 per kite, as in Go (not `config.id`; assign `kite.id` to change).
        limits: per-connection `PeerLimits` (default `PeerLimits()`).
        enable_terminal_builtins: also serve `kite.prompt` and `kite.getPass`, which read this
            process's terminal on a remote caller's request. Unsafe; off by default.

    Raises:
        ValueError: Go's texts `kite: name cannot be empty`,
            `kite: version must be 3-digits semantic version`.
    """

    def __init__(
        self,
        name: str,
        version: str,
        config: Config | None = None,
        *,
        limits: PeerLimits | None = None,
        enable_terminal_builtins: bool = False,
    ) -> None:
        if not name:
            raise ValueError("kite: name cannot be empty")
        if len(version.split(".")) != 3:
            raise ValueError("kite: version must be 3-digits semantic version")
        self.name = name
        self.version = version
        config = config if config is not None else Config()
        #: The configuration; the authenticators read the current value on every request.
        self.config = config
        self.username = config.username or "unknown"
        self.environment = config.environment or "unknown"
        self.region = config.region or "unknown"
        self.id = str(uuid.uuid4())
        self.hostname = socket.gethostname()
        #: Methods registered from now on need authentication unless this is true (§4.7).
        self.disable_authentication = config.disable_authentication
        #: `MethodHandling` captured by methods registered from now on.
        self.method_handling = MethodHandling.RETURN_METHOD
        self.limits = limits if limits is not None else PeerLimits()
        #: Bounds the worker threads of blocking handlers (`None`: trio's default, 40).
        self.thread_limiter: trio.CapacityLimiter | None = None
        #: Authenticators by `authentication.type` (`kiteKey`, `token`, custom: `register`),
        #: used by the default `authenticate` with this kite's identity and `config`.
        self.authenticators = Authenticators()
        self._callee = Callee(self, self._authenticate)
        #: The callee pipeline every connection's reader hands incoming requests to.
        self.serve_request: ServeRequest = self._callee.serve_request
        self._on_connect: list[PeerHook] = []
        self._on_disconnect: list[PeerHook] = []
        self._http_routes: list[HTTPRoute] = []
        self._servers: list[KiteServer] = []
        self._kontrol_link = KontrolLink()
        #: Observes every call served and made (`kite.otel.instrument` sets one); `None`:
        #: only the `kite.server` / `kite.client` DEBUG lines, when that level is on.
        self.observer: CallObserver | None = None
        if config.log_level is not None:
            apply_log_level(config.log_level)
        register_builtins(self, terminal=enable_terminal_builtins)

    def __repr__(self) -> str:
        return f"<Kite {self.name} {self.version} {self.id}>"

    # ----------------------------------------------------------------------------------------
    # identity

    @property
    def identity(self) -> KiteIdentity:
        """This kite's `protocol.Kite`, as sent in the envelope of every call."""
        return KiteIdentity(
            self.name,
            self.username,
            self.id,
            self.environment,
            self.region,
            self.version,
            self.hostname,
        )

    @property
    def identity_json(self) -> dict[str, str]:
        """`identity` as the JSON object Go sends (Go's key order)."""
        return {
            "name": self.name,
            "username": self.username,
            "id": self.id,
            "environment": self.environment,
            "region": self.region,
            "version": self.version,
            "hostname": self.hostname,
        }

    # ----------------------------------------------------------------------------------------
    # methods and handlers

    @property
    def authenticate(self) -> AuthenticateHook:
        """The authentication hook: `fn(request) -> username`, raising `AuthenticationError`
        (default: `authenticators` with this kite's identity and `config`); assignable."""
        return self._callee.authenticate

    @authenticate.setter
    def authenticate(self, hook: AuthenticateHook) -> None:
        self._callee.authenticate = hook

    @property
    def methods(self) -> dict[str, Method]:
        """Registered methods by name (a copy)."""
        return dict(self._callee.methods)

    def handle_func(
        self, name: str, fn: Handler, *, auth: bool | None = None, blocking: bool = False
    ) -> Method:
        """Register `fn(request) -> result` (plain or async) as method `name`.

        Replaces a method of the same name. `auth=None` means "unless
        `disable_authentication` is set now" (Go's registration-time rule). With
        `blocking=True` the plain function `fn` runs in a worker thread (see `_rpc._blocking`).
        """
        if blocking:
            fn = blocking_handler(self, fn)
        method = Method(
            name,
            fn,
            authenticate=(not self.disable_authentication) if auth is None else auth,
            handling=self.method_handling,
        )
        self._callee.methods[name] = method
        return method

    def handle(
        self, name: str, *, auth: bool | None = None, blocking: bool = False
    ) -> Callable[[Handler], Method]:
        """Decorator form of `handle_func`; the decorated name becomes the `Method`."""

        def register(fn: Handler) -> Method:
            return self.handle_func(name, fn, auth=auth, blocking=blocking)

        return register

    def method(
        self, name: str | None = None, *, auth: bool | None = None, blocking: bool = False
    ) -> Callable[[_F], _F]:
        """Decorator serving a typed function (plain or async) as method `name`.

        The request's arguments are bound to the parameters and checked against their
        annotations (`kite._typed` has the rules); a misfit is answered with an
        `argumentError` naming the parameter. The function's result is the answer. The
        decorated function is returned unchanged; `kite.methods[name].described` holds what
        was read. `auth` as in `handle_func`; `blocking=True` runs a plain function in a
        worker thread.

        Raises:
            TypeError: an annotation has no JSON form (names the parameter).
        """

        def register(fn: _F) -> _F:
            register_method(self, fn, name, auth=auth, blocking=blocking)
            return fn

        return register

    def describe(self) -> list[MethodDescription]:
        """Every method, as `kite.methods` describes it to a caller who may call them all."""
        return describe_kite(self)

    def pre_handle(self, fn: _F) -> _F:
        """Run `fn(request)` before every method's main handler (after the method's own)."""
        self._callee.pre.append(fn)
        return fn

    def post_handle(self, fn: _F) -> _F:
        """Run `fn(request)` after every method's main handler (after the method's own)."""
        self._callee.post.append(fn)
        return fn

    def final_func(self, fn: _F) -> _F:
        """Run `fn(request, result, error) -> (result, error)` after every handler chain."""
        self._callee.final.append(fn)
        return fn

    # ----------------------------------------------------------------------------------------
    # lifecycle hooks

    def on_connect(self, fn: _F) -> _F:
        """Call `fn(peer)` when a connection is accepted, before any message is read.

        The connection is not read until the hooks return: to call the new peer from a hook,
        start a task with `peer.start_soon` instead of awaiting the call.
        """
        self._on_connect.append(fn)
        return fn

    def on_disconnect(self, fn: _F) -> _F:
        """Call `fn(peer)` after an accepted connection ended."""
        self._on_disconnect.append(fn)
        return fn

    def on_first_request(self, fn: _F) -> _F:
        """Call `fn(peer)` on the first method request of an accepted connection."""
        self._callee.on_first_request.append(fn)
        return fn

    async def _fire(self, hooks: list[PeerHook], peer: Peer) -> None:
        await run_hooks(hooks, peer, log=log)

    # ----------------------------------------------------------------------------------------
    # connections

    @asynccontextmanager
    async def accept(self, pipe: MessagePipe) -> AsyncIterator[Peer]:
        """Serve a connection this kite accepted, for the duration of the block.

        Runs `on_connect` hooks before reading, `on_disconnect` hooks after the end.
        """

        peer: Peer | None = None
        try:
            async with open_peer(
                pipe, self, trusted=False, limits=self.limits, before_start=self._connected
            ) as peer:
                yield peer
        finally:
            if peer is not None:
                with trio.CancelScope(shield=True):
                    await self._fire(self._on_disconnect, peer)

    async def serve_pipe(self, pipe: MessagePipe) -> None:
        """Serve a connection this kite accepted, in the calling task, until it ends.

        What a server calls once per accepted session. Runs `on_connect` hooks, then reads
        `pipe` in the calling task: an idle connection has no task but the caller's, and
        requests whose handler does not suspend are served right there (see `_rpc._peer`).
        Returns when `pipe.receive()` reports the end (`PipeClosedError`, or any error), once
        the connection's handlers have been cancelled and have finished; then closes `pipe`
        and runs `on_disconnect` hooks. To end it from outside, close the pipe (its `receive`
        must then raise `PipeClosedError`) or cancel the caller. Never raises for anything the
        remote does.
        """
        peer = Peer(pipe, self, trusted=False, limits=self.limits)
        try:
            await peer._run(self._connected)
        finally:
            with trio.CancelScope(shield=True):
                await peer.aclose()
                await self._fire(self._on_disconnect, peer)

    async def _connected(self, peer: Peer) -> None:
        if self._on_connect:
            await self._fire(self._on_connect, peer)

    @asynccontextmanager
    async def connect_pipe(
        self,
        pipe: MessagePipe,
        *,
        auth: Auth | None = None,
        remote: KiteIdentity | None = None,
    ) -> AsyncIterator[Peer]:
        """Use a connection this kite dialled, for the duration of the block.

        Args:
            auth: credentials sent with every call (`None` sends `"authentication":null`).
            remote: the remote kite's identity, if known (e.g. from Kontrol).
        """
        async with open_peer(
            pipe, self, trusted=True, auth=auth, remote=remote, limits=self.limits
        ) as peer:
            yield peer

    # ----------------------------------------------------------------------------------------
    # serving and dialling over the network (SockJS, see `_sockjs`)

    def enable_health(
        self, path: str = "/healthz", *, check: HealthCheck | None = None, timeout: float = 2.0
    ) -> None:
        """Answer health probes at `path` on this kite's servers (off unless called).

        `GET path` answers `200 {"status":"ok"}` while the kite serves, and `503
        {"status":"unavailable","reason":...}` while it shuts down or when `async check()`
        raises or takes more than `timeout` seconds: what load balancers and Kubernetes
        probes expect.
        """
        self.handle_http(path, health_handler(self._serving, check, timeout), exact=True)

    def _serving(self) -> bool:
        return any(not server.endpoint.closing for server in self._servers)

    def session_counts(self) -> dict[str, int]:
        """SockJS sessions open on this kite's servers: `{"websocket": n, "http": m}` (HTTP
        sessions are those of the XHR and other polling or streaming transports)."""
        websocket = sum(server.endpoint.websocket_count for server in self._servers)
        http = sum(server.endpoint.session_count for server in self._servers)
        return {"websocket": websocket, "http": http}

    def handle_http(self, prefix: str, handler: HTTPHandler, *, exact: bool = False) -> None:
        """Serve HTTP requests whose path starts with `prefix` (Go's `HandleHTTP`).

        `handler` is `async def handler(request: kite.HTTPRequest) -> None`; it applies
        to running servers and to those started later. `/kite` is the SockJS endpoint.
        """
        self._http_routes.append((prefix, handler, exact))
        for server in self._servers:
            server.handle_http(prefix, handler, exact=exact)

    def serve(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        options: sockjs.Options | None = None,
        http_limits: HTTPLimits | None = None,
        limits: ServerLimits | None = None,
        ssl_context: ssl.SSLContext | None = None,
        grace_period: float = 5.0,
    ) -> AbstractAsyncContextManager[KiteServer]:
        """`async with kite.serve(host, port) as server:` serve this kite for the block.

        Every SockJS transport is offered under `/kite` (`server.url`); each session is
        served like `accept`. Leaving the block stops accepting, lets requests in flight
        finish for up to `grace_period` seconds, then closes every session.

        Args:
            host: address to bind (default `config.ip`, Go's `0.0.0.0`).
            port: TCP port (default `config.port`; 0 = any free port, see `server.port`).
            options: SockJS options (default `kite_sockjs_options(config)`: Go kite's 10 s
                heartbeat and disconnect delay, 128 KiB streaming responses).
            http_limits: HTTP/WebSocket limits (`HTTPLimits()` defaults).
            limits: per-session buffers (`ServerLimits()` defaults).
            ssl_context: serve HTTPS/WSS.
            grace_period: seconds in-flight requests get at shutdown.
        """
        return self._serve(
            self.config.ip if host is None else host,
            self.config.port if port is None else port,
            options=options,
            http_limits=http_limits,
            limits=limits,
            ssl_context=ssl_context,
            grace_period=grace_period,
        )

    @asynccontextmanager
    async def _serve(
        self,
        host: str,
        port: int,
        *,
        options: sockjs.Options | None,
        http_limits: HTTPLimits | None,
        limits: ServerLimits | None,
        ssl_context: ssl.SSLContext | None,
        grace_period: float,
    ) -> AsyncIterator[KiteServer]:
        async with open_kite_server(
            self,
            host,
            port,
            routes=self._http_routes,
            wait_idle=self._callee.wait_idle,
            options=options,
            http_limits=http_limits,
            limits=limits,
            ssl_context=ssl_context,
            grace_period=grace_period,
        ) as server:
            self._servers.append(server)  # `handle_http` adds its routes to running servers
            try:
                yield server
            finally:
                self._servers.remove(server)

    async def run(
        self, *, task_status: trio.TaskStatus[KiteServer] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve on `config.ip:config.port` until cancelled (Go's `Kite.Run`).

        With `nursery.start(kite.run)` the started value is the `KiteServer`. As in Go, with
        `config.print_version` (`KITE_VERSION` set) it prints the version and returns.
        """
        if self.config.print_version:
            print(self.version)
            return
        async with self.serve() as server:
            task_status.started(server)
            await trio.sleep_forever()

    def dial(
        self,
        url: str,
        *,
        transport: Literal["auto", "websocket", "xhr"] | None = None,
        timeout: float | None = None,
        auth: Auth | Literal["default"] | None = "default",
        reconnect: bool = False,
        remote: KiteIdentity | None = None,
        limits: HTTPLimits | None = None,
        on_connect: ClientHook | None = None,
        on_disconnect: ClientHook | None = None,
    ) -> AbstractAsyncContextManager[Client]:
        """`async with kite.dial(url) as remote:` connect to the kite at `url` (Go's `Dial`).

        See `kite._sockjs._client.dial` for the arguments; `remote.tell(method, *args)` calls
        it, and it may call this kite's methods over the same session.
        """
        return dial(
            self,
            url,
            transport=transport,
            timeout=timeout,
            auth=auth,
            reconnect=reconnect,
            remote=remote,
            limits=limits,
            on_connect=on_connect,
            on_disconnect=on_disconnect,
        )

    async def register_to_tunnel(
        self,
        *,
        retry: float = PROXY_RETRY,
        task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Stay reachable through a tunnel proxy (Go's `RegisterToTunnel`); runs until
        cancelled. For a kite nobody can dial: it serves `kite.tunnel` (each outside session
        comes through a WebSocket it dials to the proxy, `_sockjs._tunnel`) and then does
        `register_to_proxy(None, query)` with the query `{username: <Kontrol user>,
        environment: <own>, name: "tunnelproxy"}`."""
        self.handle_func(TUNNEL_METHOD, tunnel_handler(self, timeout=self.config.timeout))
        await self.register_to_proxy(
            None,
            default_proxy_query(self.kontrol, "tunnelproxy"),
            retry=retry,
            task_status=task_status,
        )

    # ----------------------------------------------------------------------------------------
    # the callee pipeline

    async def _authenticate(self, request: Request) -> str:
        """Default `authenticate`: `authenticators` with this kite's identity and config."""
        return await self.authenticators.authenticate(
            request.auth, local=self.identity, config=self.config
        )
