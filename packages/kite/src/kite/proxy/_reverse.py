"""The reverse proxy kite: public URLs for kites behind it (Go's `reverseproxy`, kite `proxy`).

How this works (docs/protocol.md §10.1): `ReverseProxy` is a kite named `proxy` (version
`0.0.1`) plus an HTTP route. Its method `register(url)` records the calling kite's id with the
URL it is reachable at (its local URL) and answers the public URL
`<scheme>://<public host>:<public port>/proxy/<kite id>`; a kite then registers that URL to
Kontrol (`Kite.register_to_proxy`). Requests under `/proxy/<kite id>/<rest>` go to
`<registered URL's path>/<rest>` (query kept) on the registered host: WebSocket upgrades as a
byte tunnel, everything else as streamed HTTP (`_forward`). TLS ends at the proxy: the backend
is always dialled in plain TCP. When the kite's connection to the proxy ends, its mapping is
dropped (only the mapping that connection made: a kite that already registered again over a
new connection keeps its new one) and its URL answers 502, as Go's does for unknown ids.

Limits (`ProxyLimits`): registered kites at once, forwarded connections per kite, and the time
allowed to connect to a backend.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

from .._config import Config
from .._errors import KiteError
from .._http import HTTPRequest
from .._rpc._peer import Peer
from .._rpc._request import Request
from ._forward import BackendError, forward_http, is_upgrade, tunnel_upgrade
from ._public import PublicKite

__all__ = ["NAME", "VERSION", "Backend", "ProxyLimits", "ReverseProxy"]

log = logging.getLogger("kite.proxy")

NAME = "proxy"
VERSION = "0.0.1"
PREFIX = "/proxy/"


@dataclass(frozen=True, slots=True)
class ProxyLimits:
    """Limits of a `ReverseProxy`.

    Attributes:
        max_kites: kites registered at once; `register` beyond that fails with
            `proxy: too many kites registered`.
        max_connections_per_kite: forwarded requests and WebSockets open at once to one kite;
            beyond that the proxy answers 503.
        connect_timeout: seconds allowed to connect to a backend kite (then 502).
    """

    max_kites: int = 10_000
    max_connections_per_kite: int = 1_000
    connect_timeout: float = 10.0


@dataclass(slots=True)
class Backend:
    """Where one registered kite is reachable, and by which proxy connection it registered."""

    url: str
    host: str
    port: int
    path: str
    peer: Peer
    open_connections: int = 0


def _backend(url: str, peer: Peer) -> Backend:
    parts = urlsplit(url)
    if not parts.hostname:
        raise KiteError("proxy: the kite URL must be absolute, e.g. http://host:port/kite")
    default_port = 443 if parts.scheme in ("https", "wss") else 80
    try:
        port = parts.port or default_port
    except ValueError:
        raise KiteError(f"proxy: bad port in kite URL {url!r}") from None
    return Backend(url, parts.hostname, port, parts.path, peer)


def split_proxy_path(path: str) -> tuple[str, str]:
    """`/proxy/<id>/<rest>` → (`<id>`, cleaned `<rest>` without a leading slash)."""
    _, _, after = path.partition(PREFIX)
    kite_id, _, rest = after.partition("/")
    return kite_id, posixpath.normpath("/" + rest).lstrip("/")


class ReverseProxy(PublicKite):
    """Go's reverse proxy: the kite `proxy` and its `/proxy/<kite id>/...` forwarding.

    Args:
        config: the proxy kite's `Config` (kite key, Kontrol URL; kites calling `register`
            authenticate against it like any kite method).
        public_host: host of the public URLs it hands out (Go's `-publicHost`).
        public_port: port of the public URLs (default: the port it serves on).
        limits: `ProxyLimits()` by default.

    `async with proxy.serve(host, port, ssl_context=...) as server:` serves the kite (under
    `/kite`) and the forwarding; with `ssl_context` the public URLs are `https`.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        public_host: str = "127.0.0.1",
        public_port: int | None = None,
        limits: ProxyLimits | None = None,
    ) -> None:
        super().__init__(NAME, VERSION, config, public_host=public_host, public_port=public_port)
        self.limits = limits if limits is not None else ProxyLimits()
        #: Registered kites by kite id.
        self.kites: dict[str, Backend] = {}
        self.kite.handle_func("register", self._register)
        self.kite.on_disconnect(self._disconnected)
        self.kite.handle_http(PREFIX, self._forward)

    def public_url(self, kite_id: str) -> str:
        """The URL the kite `kite_id` is reachable at through this proxy."""
        return f"{self.public_base}/proxy/{kite_id}"

    # -- the kite side -----------------------------------------------------------------------

    def _register(self, request: Request) -> str:
        url = request.args.one().string()
        kite_id = request.client.kite.id
        if not kite_id:
            raise KiteError("proxy: the calling kite sent no id")
        if kite_id not in self.kites and len(self.kites) >= self.limits.max_kites:
            raise KiteError("proxy: too many kites registered")
        self.kites[kite_id] = _backend(url, request.client)
        public = self.public_url(kite_id)
        log.info("Registering kite with url: '%s'. Can be reached now with: '%s'", url, public)
        return public

    def _disconnected(self, peer: Peer) -> None:
        kite_id = peer.kite.id
        backend = self.kites.get(kite_id)
        if backend is not None and backend.peer is peer:
            del self.kites[kite_id]
            log.info("Removing kite Id '%s' from proxy. It's disconnected", kite_id)

    # -- the HTTP side -----------------------------------------------------------------------

    async def _forward(self, request: HTTPRequest) -> None:
        kite_id, rest = split_proxy_path(request.path)
        backend = self.kites.get(kite_id)
        if backend is None:
            log.info("kite for id '%s' is not found: %s", kite_id, request.target)
            await request.respond(502)
            return
        if backend.open_connections >= self.limits.max_connections_per_kite:
            await request.respond(
                503,
                [("Content-Type", "text/plain; charset=utf-8")],
                b"proxy: too many connections to this kite\n",
            )
            return
        target = f"{backend.path}/{rest}" + (f"?{request.query}" if request.query else "")
        relay = tunnel_upgrade if is_upgrade(request) else forward_http
        backend.open_connections += 1
        try:
            await relay(
                request,
                backend.host,
                backend.port,
                target,
                connect_timeout=self.limits.connect_timeout,
            )
        except BackendError as exc:
            log.warning("[%s] proxying to %s failed: %s", kite_id, backend.url, exc)
            if not request.response_started:
                await request.respond(502)
        finally:
            backend.open_connections -= 1
