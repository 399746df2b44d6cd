"""The tunnel proxy kite: public URLs for kites nobody can dial (Go's `tunnelproxy`).

How this works (docs/protocol.md §10.2): `TunnelProxy` is a kite named `tunnelproxy` plus two
SockJS endpoints. A kite that cannot be reached keeps a connection to it and calls
`register` (`Kite.register_to_tunnel`; the argument is ignored); the proxy remembers that
connection under the kite's id and answers `<scheme>://<public host>:<public port>/proxy?
kiteID=<id>`, which the kite registers to Kontrol.

* `/proxy` (outside clients): each SockJS session for `kiteID=<id>` becomes a tunnel
  (`_tunnels`). The proxy calls `kite.tunnel` on the kite over its connection with
  `{"url": "<ws|wss>://<public host>:<public port>/tunnel/<n>/<session>/websocket?token=<t>"}`
  and, once the kite has dialled that URL, copies messages between the two sessions. Every
  SockJS transport works for outside clients, also the form Go's XHR client sends, which
  puts the session path after the query (`/proxy?kiteID=<id>/<server>/<session>/xhr`).
* `/tunnel` (kites): a WebSocket session with a token the proxy handed out, used once
  (offered whatever `Config.sockjs_websocket` says, which applies to `/kite` and `/proxy`).

The token is a random string the proxy alone checks (Go signs a JWT there; to the kite both
are opaque). When the kite's connection to the proxy ends, the kite is no longer registered
and its tunnels end.

Limits (`TunnelLimits`): kites registered at once; per kite, outside sessions at once and
tunnels being opened at once; how long opening may take. Refusals are plain-text HTTP
answers naming the limit (`register` fails with a `KiteError`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

import trio

import sockjs

from .._config import Config
from .._errors import KiteError
from .._http import HTTPRequest
from .._rpc._peer import Peer
from .._rpc._request import Request
from .._sockjs._endpoint import SockJSEndpoint
from .._sockjs._options import kite_sockjs_options
from .._sockjs._pipe import SockJSPipe
from .._sockjs._tunnel import TUNNEL_METHOD
from ._public import PublicKite
from ._tunnels import Tunnel, TunnelledKite, join

__all__ = ["TUNNEL_NAME", "TUNNEL_VERSION", "TunnelLimits", "TunnelProxy", "outside_target"]

log = logging.getLogger("kite.proxy")

TUNNEL_NAME = "tunnelproxy"
TUNNEL_VERSION = "0.0.2"
OUTSIDE = "/proxy"
INSIDE = "/tunnel"

_TEXT = [("Content-Type", "text/plain; charset=utf-8")]


@dataclass(frozen=True, slots=True)
class TunnelLimits:
    """Limits of a `TunnelProxy`.

    Attributes:
        max_kites: kites registered at once; `register` beyond that fails with
            `tunnelproxy: too many kites registered`.
        max_sessions_per_kite: outside sessions relayed to one kite at once (each is one
            tunnel, open or opening); a request that would open one more is answered 503
            `tunnelproxy: too many sessions to this kite`.
        max_opening_per_kite: tunnels one kite has been asked to dial and has not dialled
            yet; beyond that new sessions are answered 503 `tunnelproxy: too many tunnels
            opening to this kite` (a kite that stops dialling is not flooded with calls).
        open_timeout: seconds the kite has to answer `kite.tunnel` (Go's 4 s).
        dial_timeout: seconds the kite then has to dial in (Go's one minute).
    """

    max_kites: int = 10_000
    max_sessions_per_kite: int = 1_000
    max_opening_per_kite: int = 32
    open_timeout: float = 4.0
    dial_timeout: float = 60.0

    def refusal(self, kite: TunnelledKite) -> str | None:
        """Why `kite` may not get one more session now, or `None`."""
        if len(kite.tunnels) >= self.max_sessions_per_kite:
            return "tunnelproxy: too many sessions to this kite"
        if kite.opening >= self.max_opening_per_kite:
            return "tunnelproxy: too many tunnels opening to this kite"
        return None


def _query_value(query: str, name: str) -> str:
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == name:
            return value
    return ""


def outside_target(path: str, query: str) -> tuple[str, str]:
    """`(kite id, SockJS path)` of an outside request: `/proxy/<rest>?kiteID=<id>`, or
    `/proxy?kiteID=<id>/<rest>` as Go's XHR client sends it (both give `/proxy/<rest>`)."""
    kite_id = _query_value(query, "kiteID")
    if path in (OUTSIDE, OUTSIDE + "/") and "/" in kite_id:
        kite_id, _, rest = kite_id.partition("/")
        return kite_id, f"{OUTSIDE}/{rest}"
    return kite_id, path


class TunnelProxy(PublicKite):
    """Go's tunnel proxy: the kite `tunnelproxy`, its `/proxy` and `/tunnel` endpoints.

    Args:
        config: the proxy kite's `Config` (kites calling `register` authenticate against it
            like any kite method).
        public_host: host of the public URLs it hands out.
        public_port: port of the public URLs (default: the port it serves on).
        limits: `TunnelLimits()` by default.

    `async with proxy.serve(host, port, ssl_context=...) as server:` serves it; with
    `ssl_context` the public URLs are `https` and kites dial their tunnels with `wss`.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        public_host: str = "127.0.0.1",
        public_port: int | None = None,
        limits: TunnelLimits | None = None,
    ) -> None:
        super().__init__(
            TUNNEL_NAME, TUNNEL_VERSION, config, public_host=public_host, public_port=public_port
        )
        self.limits = limits if limits is not None else TunnelLimits()
        #: Registered kites by kite id.
        self.kites: dict[str, TunnelledKite] = {}
        self._tokens: dict[str, Tunnel] = {}
        self._outside: SockJSEndpoint | None = None
        self._inside: SockJSEndpoint | None = None
        self.kite.handle_func("register", self._register)
        self.kite.on_disconnect(self._disconnected)
        self.kite.handle_http(OUTSIDE, self._outside_request)
        self.kite.handle_http(INSIDE, self._inside_request)

    def public_url(self, kite_id: str) -> str:
        """The URL the kite `kite_id` is reachable at through this proxy."""
        return f"{self.public_base}{OUTSIDE}?kiteID={quote(kite_id, safe='')}"

    @asynccontextmanager
    async def _alongside(self) -> AsyncIterator[None]:
        """The `/proxy` and `/tunnel` endpoints; leaving ends every tunnel."""
        async with trio.open_nursery() as nursery:
            self._outside = SockJSEndpoint(
                kite_sockjs_options(self.kite.config, prefix=OUTSIDE),
                self._outside_session,
                nursery,
            )
            self._inside = SockJSEndpoint(
                kite_sockjs_options(self.kite.config, prefix=INSIDE, websocket=True),
                self._inside_session,
                nursery,
            )
            try:
                yield
            finally:
                for kite in list(self.kites.values()):
                    kite.close()
                self._outside.close_all()
                self._inside.close_all()
                self._outside = self._inside = None
                nursery.cancel_scope.cancel()

    # -- the kite side -----------------------------------------------------------------------

    def _register(self, request: Request) -> str:
        peer = request.client
        kite_id = peer.kite.id
        if not kite_id:
            raise KiteError("tunnelproxy: the calling kite sent no id")
        known = self.kites.get(kite_id)
        if known is None or known.peer is not peer:
            if known is None and len(self.kites) >= self.limits.max_kites:
                raise KiteError("tunnelproxy: too many kites registered")
            if known is not None:
                known.close()  # the kite registered again over a new connection
            self.kites[kite_id] = TunnelledKite(peer)
        public = self.public_url(kite_id)
        log.info("Registering kite %s: reachable now at %s", kite_id, public)
        return public

    def _disconnected(self, peer: Peer) -> None:
        kite_id = peer.kite.id
        known = self.kites.get(kite_id)
        if known is not None and known.peer is peer:
            del self.kites[kite_id]
            known.close()
            log.info("Removing kite %s from the tunnel proxy: it disconnected", kite_id)

    # -- outside clients ---------------------------------------------------------------------

    async def _outside_request(self, request: HTTPRequest) -> None:
        endpoint = self._outside
        if endpoint is None:
            await request.respond(503, _TEXT, b"tunnelproxy: not serving\n")
            return
        kite_id, path = outside_target(request.path, request.query)
        known = self.kites.get(kite_id)
        if known is None:
            log.info("kite for id '%s' is not found: %s", kite_id, request.target)
            body = f"tunnelproxy: no kite with id {kite_id!r} is registered here\n"
            await request.respond(502, _TEXT, body.encode())
            return
        request.path = path
        request.query = f"kiteID={quote(kite_id, safe='')}"
        request.target = f"{path}?{request.query}"
        refusal = self.limits.refusal(known) if self._opens_session(request) else None
        if refusal is not None:
            log.warning("[%s] %s", kite_id, refusal)
            await request.respond(503, _TEXT, f"{refusal}\n".encode())
            return
        await endpoint(request)

    def _opens_session(self, request: HTTPRequest) -> bool:
        """Whether `request` would open a new outside session."""
        assert self._outside is not None
        found = sockjs.resolve(
            sockjs.Request(request.method, request.path, request.query), self._outside.options
        )
        if not isinstance(found, sockjs.Endpoint) or found.kind.transport is None:
            return False
        if found.kind is sockjs.EndpointKind.WEBSOCKET:
            return True
        return not self._outside.has_session(found.session_id or "")

    def _tunnel_url(self, tunnel: Tunnel, session_id: str) -> str:
        base = self.public_base.replace("http", "ws", 1)
        return f"{base}{INSIDE}/{tunnel.seq}/{session_id}/websocket?token={tunnel.token}"

    async def _outside_session(self, session: SockJSPipe) -> None:
        kite_id = _query_value(session.query, "kiteID")
        known = self.kites.get(kite_id)
        if known is None:
            return
        refusal = self.limits.refusal(known)
        if refusal is not None:  # another session got there first
            log.warning("[%s] %s", kite_id, refusal)
            return
        tunnel = known.open_tunnel(secrets.token_urlsafe(24))
        self._tokens[tunnel.token] = tunnel
        try:
            with tunnel.scope:
                async with trio.open_nursery() as asking:
                    kite_side = await self._open(known, kite_id, tunnel, session.session_id, asking)
                    if kite_side is not None:
                        await join(session, kite_side)
                    asking.cancel_scope.cancel()  # a kite.tunnel call still unanswered
        finally:
            self._tokens.pop(tunnel.token, None)
            known.forget(tunnel)

    async def _open(
        self,
        known: TunnelledKite,
        kite_id: str,
        tunnel: Tunnel,
        session_id: str,
        asking: trio.Nursery,
    ) -> SockJSPipe | None:
        """Ask the kite to dial the tunnel (the call runs in `asking`); its session as soon as
        it dials in, whether or not it has answered yet (as Go's proxy, which starts carrying
        a tunnel when it arrives: a kite may answer after the first messages have crossed),
        or `None` when it refused or did not come. A refusal after it dialled in cancels
        `asking`, which the caller's join runs in: the session ends, as with Go."""
        url = self._tunnel_url(tunnel, session_id)
        refused = trio.Event()

        async def ask() -> None:
            try:
                await known.peer.call(
                    TUNNEL_METHOD, [{"url": url}], timeout=self.limits.open_timeout
                )
            except KiteError as exc:
                log.warning("[%s] cannot open a tunnel to the kite: %s", kite_id, exc)
                refused.set()
                asking.cancel_scope.cancel()

        asking.start_soon(ask)
        with trio.move_on_after(self.limits.open_timeout + self.limits.dial_timeout):
            async with trio.open_nursery() as first:

                async def arrival() -> None:
                    await tunnel.wait_arrived()
                    first.cancel_scope.cancel()

                async def refusal() -> None:
                    await refused.wait()
                    first.cancel_scope.cancel()

                first.start_soon(arrival)
                first.start_soon(refusal)
            if refused.is_set():
                return None
            return tunnel.kite_side
        log.warning("[%s] the kite did not dial tunnel %d in time", kite_id, tunnel.seq)
        return None

    # -- kites dialling their tunnels --------------------------------------------------------

    async def _inside_request(self, request: HTTPRequest) -> None:
        endpoint = self._inside
        if endpoint is None:
            await request.respond(503, _TEXT, b"tunnelproxy: not serving\n")
            return
        tunnel = self._tokens.get(_query_value(request.query, "token"))
        if tunnel is None or not tunnel.opening:
            await request.respond(403, _TEXT, b"tunnelproxy: unknown or used tunnel token\n")
            return
        await endpoint(request)

    async def _inside_session(self, session: SockJSPipe) -> None:
        tunnel = self._tokens.pop(_query_value(session.query, "token"), None)
        if tunnel is None or not tunnel.opening:
            return
        tunnel.arrive(session)
        await tunnel.wait_ended()  # the outside side joins the two sessions
