"""The `Kite`: identity, method registry, the callee pipeline and connection lifecycle hooks.

How this works: a `Kite` knows who it is (`identity`), which methods it serves (`handle`,
`handle_func`) and how to authenticate callers (`authenticate`, `authenticators`). It owns no
sockets: a transport hands it one `MessagePipe` per connection: `serve_pipe(pipe)` serves an
accepted connection in the calling task until it ends (what servers use: no task per idle
connection), `accept(pipe)` and `connect_pipe(pipe)` are `async with` blocks running the RPC
`Peer` (see `_peer`) for connections it accepted or dialled. For every incoming method request
the peer runs `_serve_request`, Go's callee pipeline (PROTOCOL.md §4.6), as one coroutine
with no checkpoint of its own, so a plain handler is served inline by the reader:

1. unscrub and read the envelope (a malformed one is answered with `argumentError` when a
   response callback is found, otherwise dropped and logged; Go crashes, §4.1);
2. unknown method → `methodNotFound` (no request id), before anything else;
3. first request of an accepted connection: adopt the caller's claimed identity, run
   `on_first_request` hooks;
4. authentication if the method needs it (trusted dialled connections skip it, username "");
5. throttle → `requestLimitError`;
6. the handler chain (`_handlers.run_chain`; a bare handler is called directly);
7. reply `{"error":null,"result":...}` or the error object; exceptions never escape.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import trio

import dnode

from ._authenticators import Authenticators
from ._config import Config
from ._envelope import EnvelopeError, error_json, parse_request
from ._errors import RequestLimitError, SendError
from ._handlers import FinalFunc, Handler, Method, MethodHandling, run_chain
from ._hooks import run_hooks
from ._kontrol_client import KontrolClient, KontrolMethods, RegisterHook
from ._peer import Peer, PeerLimits, is_awaitable, open_peer
from ._request import Request, new_request_id
from ._session import MessagePipe
from .protocol import Auth, KiteIdentity

if TYPE_CHECKING:
    import ssl

    import sockjs

    from ._dial import Client, ClientHook
    from ._http import Handler as HTTPHandler
    from ._http import HTTPLimits
    from ._server import KiteServer, ServerLimits

__all__ = ["AuthenticateHook", "Kite"]

log = logging.getLogger("kite")

#: `fn(request) -> username`, plain or async; raises to refuse the request.
AuthenticateHook = Callable[[Request], "str | Awaitable[str]"]
#: A connection lifecycle hook: `fn(peer)`, plain or async.
PeerHook = Callable[[Peer], Any]

_F = TypeVar("_F", bound=Callable[..., Any])


def _error(type_: str, message: str, request_id: str) -> dict[str, str]:
    return {"type": type_, "message": message, "code": "", "id": request_id}


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
        #: Authenticators by `authentication.type` (`kiteKey`, `token`, custom: `register`),
        #: used by the default `authenticate` with this kite's identity and `config`.
        self.authenticators = Authenticators()
        #: The authentication hook: `fn(request) -> username`, raising `AuthenticationError`.
        self.authenticate: AuthenticateHook = self._authenticate
        self._methods: dict[str, Method] = {}
        self._pre: list[Handler] = []
        self._post: list[Handler] = []
        self._final: list[FinalFunc] = []
        self._on_connect: list[PeerHook] = []
        self._on_disconnect: list[PeerHook] = []
        self._on_first_request: list[PeerHook] = []
        self._heartbeat_scope: trio.CancelScope | None = None
        self._http_routes: list[tuple[str, Any, bool]] = []
        self._servers: list[KiteServer] = []
        self._in_flight = 0  # method requests being served, on every connection
        self._idle_lot: trio.lowlevel.ParkingLot | None = None  # made by `_wait_idle`
        self._kontrol: KontrolClient | None = None  # the open Kontrol client, if any
        self._on_register_hooks: list[RegisterHook] = []

        from ._builtins import register_builtins

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
    def methods(self) -> dict[str, Method]:
        """Registered methods by name (a copy)."""
        return dict(self._methods)

    def handle_func(self, name: str, fn: Handler, *, auth: bool | None = None) -> Method:
        """Register `fn(request) -> result` (plain or async) as method `name`.

        Replaces a method of the same name. `auth=None` means "unless
        `disable_authentication` is set now" (Go's registration-time rule).
        """
        method = Method(
            name,
            fn,
            authenticate=(not self.disable_authentication) if auth is None else auth,
            handling=self.method_handling,
        )
        self._methods[name] = method
        return method

    def handle(self, name: str, *, auth: bool | None = None) -> Callable[[Handler], Method]:
        """Decorator form of `handle_func`; the decorated name becomes the `Method`."""

        def register(fn: Handler) -> Method:
            return self.handle_func(name, fn, auth=auth)

        return register

    def pre_handle(self, fn: _F) -> _F:
        """Run `fn(request)` before every method's main handler (after the method's own)."""
        self._pre.append(fn)
        return fn

    def post_handle(self, fn: _F) -> _F:
        """Run `fn(request)` after every method's main handler (after the method's own)."""
        self._post.append(fn)
        return fn

    def final_func(self, fn: _F) -> _F:
        """Run `fn(request, result, error) -> (result, error)` after every handler chain."""
        self._final.append(fn)
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
        self._on_first_request.append(fn)
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
        requests whose handler does not suspend are served right there (see `_peer`).
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
    # serving and dialling over the network (SockJS, see `_server` and `_dial`)

    def handle_http(self, prefix: str, handler: HTTPHandler, *, exact: bool = False) -> None:
        """Serve HTTP requests whose path starts with `prefix` (Go's `HandleHTTP`).

        `handler` is `async def handler(request: kite._http.HTTPRequest) -> None`; it applies
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
        from ._server import open_kite_server

        return open_kite_server(
            self,
            self.config.ip if host is None else host,
            self.config.port if port is None else port,
            options=options,
            http_limits=http_limits,
            limits=limits,
            ssl_context=ssl_context,
            grace_period=grace_period,
        )

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

        See `kite._dial.dial` for the arguments; `remote.tell(method, *args)` calls it, and
        it may call this kite's methods over the same session.
        """
        from ._dial import dial

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

    # ----------------------------------------------------------------------------------------
    # the callee pipeline

    async def _authenticate(self, request: Request) -> str:
        """Default `authenticate`: `authenticators` with this kite's identity and config."""
        return await self.authenticators.authenticate(
            request.auth, local=self.identity, config=self.config
        )

    async def _serve_request(self, peer: Peer, message: dnode.Message) -> None:
        """Serve one incoming method request on `peer` (never raises but cancellation).

        One coroutine for the whole pipeline (each `await` of a helper coroutine costs), and
        no checkpoint of its own: with a plain handler and a pipe whose `send` does not
        block, the peer's reader runs it to the end in one step (see `_peer`).
        """
        self._in_flight += 1
        try:
            name = message.method
            assert isinstance(name, str)
            try:
                envelope = parse_request(message, peer.send_callback)
            except EnvelopeError as exc:
                if exc.response_callback is None:
                    log.warning("dropped %r: malformed envelope: %s", name, exc)
                    return
                error = _error("argumentError", str(exc), new_request_id())
                await self._respond(peer, exc.response_callback, error, None)
                return
            respond = envelope.response_callback
            method = self._methods.get(name)
            if method is None:
                if respond is not None:
                    error = _error("methodNotFound", f"Method not found: {name}", "")
                    await self._respond(peer, respond, error, None)
                return
            if not peer.first_request_seen and not peer.trusted:
                peer.first_request_seen = True
                peer.kite = KiteIdentity.from_json(envelope.kite)
                await self._fire(self._on_first_request, peer)
            request = Request("", name, "", envelope.with_args, peer, envelope.authentication, self)
            try:
                if not method.authenticate:
                    request.username = peer.kite.username
                elif not peer.trusted:
                    claimed = self.authenticate(request)
                    if is_awaitable(claimed):
                        claimed = await claimed
                    username = str(claimed)
                    request.username = username
                    if peer.kite.username != username:
                        peer.kite = dataclasses.replace(peer.kite, username=username)
                if method.bucket is not None and not method.bucket.take():
                    raise RequestLimitError("The maximum request rate is exceeded.")
                if (
                    method.pre_handlers
                    or method.post_handlers
                    or method.final_funcs
                    or self._pre
                    or self._post
                    or self._final
                ):
                    result = await run_chain(method, request, self._pre, self._post, self._final)
                else:  # a bare handler: run_chain's common case, without its frames
                    result = method.handler(request)
                    if is_awaitable(result):
                        result = await result
            except Exception as exc:  # noqa: BLE001 - every failure is answered, never raised
                if respond is not None:
                    error = error_json(exc, request.id)
                    log.info("%s failed (request id %s): %s", name, error["id"], error["message"])
                    await self._respond(peer, respond, error, None)
                return
            if respond is not None:
                try:
                    if type(respond) is dnode.RemoteFunction:  # always (parse_request): by id
                        await peer.send_response(respond.id, result)
                    else:
                        await respond({"error": None, "result": result})
                except SendError as exc:
                    await self._respond_failed(peer, respond, exc, request.id)
        except Exception:  # the pipeline answers errors itself: a bug, keep serving
            log.exception("error serving %r", message.method)
        finally:
            self._in_flight -= 1
            if not self._in_flight and self._idle_lot is not None:
                self._idle_lot.unpark_all()

    async def _wait_idle(self) -> None:
        """Wait until no method request is being served (graceful shutdown)."""
        while self._in_flight:
            if self._idle_lot is None:
                self._idle_lot = trio.lowlevel.ParkingLot()
            await self._idle_lot.park()

    async def _respond(
        self,
        peer: Peer,
        respond: Callable[..., Any],
        error: dict[str, str] | None,
        result: Any,
        request_id: str = "",
    ) -> None:
        try:
            await respond({"error": error, "result": result})
        except SendError as exc:
            if error is not None:
                log.debug("could not send response: %s", exc)
                return
            await self._respond_failed(peer, respond, exc, request_id)

    async def _respond_failed(
        self, peer: Peer, respond: Callable[..., Any], exc: SendError, request_id: str
    ) -> None:
        """A result could not be sent: answer with that error instead (if still connected)."""
        if peer.closed:
            log.debug("could not send response: %s", exc)
            return
        fallback = _error("genericError", str(exc), request_id)
        try:
            await respond({"error": fallback, "result": None})
        except SendError:
            log.debug("could not send response: %s", exc)
