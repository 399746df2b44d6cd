"""Serving a kite over HTTP: the SockJS endpoint at `/kite` plus the kite's own routes.

How this works: `open_kite_server` runs the HTTP server (`_http`), the `SockJSEndpoint` at
`/kite` (each session served by `kite.serve_pipe` in the task that carries it) and the routes
it is given. Closing (`KiteServer.aclose`, or leaving the block) refuses new sessions (503),
waits up to `grace_period` for the kite's requests in flight (`wait_idle`), then closes every
session (their handlers are cancelled) and cancels whatever HTTP handler is still running.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Protocol

import trio

import sockjs

from .._config import Config
from .._groups import single_exception
from .._http import Handler as HTTPHandler
from .._http import HTTPLimits, HTTPServer, open_http_server
from .._rpc._pipe import MessagePipe
from ._endpoint import SockJSEndpoint
from ._options import ServerLimits, kite_sockjs_options
from ._pipe import SockJSPipe

__all__ = ["HTTPRoute", "KiteServer", "ServedKite", "open_kite_server"]

#: An HTTP route of a kite: `(prefix, handler, exact)`, as given to `Kite.handle_http`.
HTTPRoute = tuple[str, HTTPHandler, bool]


class ServedKite(Protocol):
    """What a `KiteServer` uses of the kite it serves (a `Kite`)."""

    @property
    def config(self) -> Config: ...

    async def serve_pipe(self, pipe: MessagePipe) -> None: ...


class KiteServer:
    """A kite being served over HTTP: SockJS at `/kite` plus the kite's own routes.

    Attributes:
        http: the underlying `HTTPServer`.
        endpoint: the SockJS endpoint at `/kite`.
    """

    def __init__(
        self,
        kite: ServedKite,
        http: HTTPServer,
        endpoint: SockJSEndpoint,
        closing: trio.Event,
        grace_period: float,
        wait_idle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.kite = kite
        self.http = http
        self.endpoint = endpoint
        self.grace_period = grace_period
        self._closing = closing
        self._wait_idle = wait_idle

    async def aclose(self, grace_period: float | None = None) -> None:
        """Stop serving: stop accepting, give requests in flight `grace_period` seconds
        (default: the server's), then close every session and cancel what still runs.
        Idempotent; leaving `Kite.serve` calls it."""
        grace = self.grace_period if grace_period is None else grace_period
        self.endpoint.closing = True  # new sessions get 503 from now on
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.http.aclose, grace)  # stops accepting at once
            if not self._closing.is_set():
                if self._wait_idle is not None:
                    with trio.move_on_after(grace):
                        await self._wait_idle()
                self._closing.set()  # every session's peer closes now
                self.endpoint.close_all()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return self.http.port

    @property
    def host(self) -> str:
        """The bound address."""
        return self.http.host

    @property
    def url(self) -> str:
        """The kite's URL, what clients dial: `http://127.0.0.1:<port>/kite`."""
        return self.http.url + self.endpoint.options.prefix

    def handle_http(self, prefix: str, handler: HTTPHandler, *, exact: bool = False) -> None:
        """Route HTTP requests under `prefix` to `handler(request)` (Go's `HandleHTTP`)."""
        self.http.handle_http(prefix, handler, exact=exact)


@single_exception
@asynccontextmanager
async def open_kite_server(
    kite: ServedKite,
    host: str = "0.0.0.0",
    port: int = 0,
    *,
    routes: Iterable[HTTPRoute] = (),
    wait_idle: Callable[[], Awaitable[None]] | None = None,
    options: sockjs.Options | None = None,
    http_limits: HTTPLimits | None = None,
    limits: ServerLimits | None = None,
    ssl_context: ssl.SSLContext | None = None,
    grace_period: float = 5.0,
) -> AsyncIterator[KiteServer]:
    """Serve `kite` on `host:port` for the duration of the block (see `Kite.serve`).

    `routes` are served next to the SockJS endpoint; at shutdown the requests in flight get
    the grace period to finish, awaited with `wait_idle()` (the kite's `Callee.wait_idle`).
    """
    if options is None:
        options = kite_sockjs_options(kite.config)
    closing = trio.Event()

    async def serve_session(pipe: SockJSPipe) -> None:
        # Reads in this task (the HTTP connection's, for a WebSocket): an idle connection has
        # no other task. At shutdown `endpoint.close_all()` closes the session, which ends it.
        await kite.serve_pipe(pipe)

    async with trio.open_nursery() as sessions:
        endpoint = SockJSEndpoint(options, serve_session, sessions, limits=limits)
        try:
            async with open_http_server(
                host,
                port,
                ssl_context=ssl_context,
                limits=http_limits,
                grace_period=grace_period,
            ) as http:
                http.handle_http(options.prefix, endpoint)
                for prefix, handler, exact in routes:
                    http.handle_http(prefix, handler, exact=exact)
                server = KiteServer(kite, http, endpoint, closing, grace_period, wait_idle)
                try:
                    yield server
                finally:
                    await server.aclose()
        finally:
            sessions.cancel_scope.cancel()
