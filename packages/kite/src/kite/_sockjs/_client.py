"""Dialling kites: `Kite.dial(url)` → a `Client` over a SockJS session (Go's `*kite.Client`).

How this works (docs/protocol.md §2.2, §4.11, §5.7): `dial` opens a SockJS client session
(`_client_pipes`) with the chosen transport — `websocket`, `xhr`, or `auto`, which tries WebSocket
and falls back to XHR polling exactly when Go's does: only when the WebSocket handshake got a
non-101 answer (`HandshakeError`); refused connections, timeouts and DNS errors are raised as
they are. The session is a `MessagePipe` handed to `Kite.connect_pipe`, so the connection is
bidirectional: the dialled kite may call this kite's methods over it, and those requests are
trusted (§5.7).

A `Client` lives in a nursery owned by the `async with dial(...)` block. Its task runs the
connection; with `reconnect=True`, when the session ends it dials again (fresh session ids)
with Go's exponential back-off (initial 0.5 s, times 1.5, 50 % jitter, at most 60 s between
attempts; per client, where Go shares one back-off per process), running `on_disconnect` and
then `on_connect` hooks. Calls made while disconnected wait for the next connection (bounded
by their timeout). With `reconnect=True` the first dial is retried too (Go's `DialForever`).
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal, Protocol

import trio

from .._backoff import Backoff
from .._config import Config, Transport
from .._duration import format_seconds
from .._errors import KiteTimeoutError, SendError
from .._groups import raise_single
from .._http import HandshakeError, HTTPLimits, TransportError
from .._rpc._descriptions import MethodDescription, remote_methods
from .._rpc._hooks import run_hooks
from .._rpc._peer import Peer
from .._rpc._pipe import MessagePipe
from .._urls import check_kite_url
from ..protocol import Auth, KiteIdentity
from ._client_pipes import WebSocketClientPipe, XHRClientPipe

__all__ = ["Client", "ClientHook", "DiallingKite", "TransportName", "dial", "open_session"]

log = logging.getLogger("kite.client")

TransportName = Literal["auto", "websocket", "xhr"]
#: A client lifecycle hook: `fn(client)`, plain or async.
ClientHook = Callable[["Client"], Any]


class DiallingKite(Protocol):
    """What a `Client` uses of the kite that dials (a `Kite`)."""

    @property
    def config(self) -> Config: ...

    def connect_pipe(
        self, pipe: MessagePipe, *, auth: Auth | None = ..., remote: KiteIdentity | None = ...
    ) -> AbstractAsyncContextManager[Peer]: ...


_TRANSPORTS: dict[Transport, TransportName] = {
    Transport.AUTO: "auto",
    Transport.WEBSOCKET: "websocket",
    Transport.XHR_POLLING: "xhr",
}


async def open_session(
    url: str,
    transport: TransportName,
    *,
    timeout: float,  # noqa: ASYNC109
    xhr_timeout: float,
    limits: HTTPLimits | None = None,
) -> WebSocketClientPipe | XHRClientPipe:
    """Open one SockJS client session to the kite at `url` (see the module doc for `auto`)."""
    if transport == "xhr":
        return await XHRClientPipe.open(url, timeout=xhr_timeout, limits=limits)
    try:
        return await WebSocketClientPipe.connect(url, timeout=timeout, limits=limits)
    except HandshakeError:
        if transport != "auto":
            raise
        log.debug("WebSocket handshake refused by %s, falling back to XHR polling", url)
    return await XHRClientPipe.open(url, timeout=xhr_timeout, limits=limits)


def _address(url: str) -> tuple[str, int] | None:
    """The `(host, port)` a kite URL points at (the scheme's default port when none)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    if port is None:
        port = 443 if parts.scheme in ("https", "wss") else 80
    return parts.hostname, port


class Client:
    """A connection this kite dialled to a remote kite (Go's `*kite.Client`).

    Obtained from `Kite.dial`. Calls go to the current session's `Peer`.

    Attributes:
        local_kite: the dialling kite (it serves the remote's calls on this connection).
        url: the remote kite's URL.
        transport: `"auto"`, `"websocket"` or `"xhr"`.
        auth: credentials put in every call's envelope (`None` → `null`).
        reconnect: dial again when the session ends.
        remote: the remote kite's identity, if known.
        session_transport: the transport the current session uses (`"websocket"`/`"xhr"`).
    """

    def __init__(
        self,
        local_kite: DiallingKite,
        url: str,
        *,
        transport: TransportName,
        timeout: float,
        xhr_timeout: float,
        auth: Auth | None,
        reconnect: bool,
        remote: KiteIdentity | None,
        limits: HTTPLimits | None = None,
    ) -> None:
        self.local_kite = local_kite
        self.url = url
        self.transport = transport
        self.timeout = timeout
        self.xhr_timeout = xhr_timeout
        self.auth = auth
        self.reconnect = reconnect
        self.remote = remote
        self.limits = limits
        self.session_transport = ""
        self.backoff = Backoff()
        self._peer: Peer | None = None
        self._connected = trio.Event()
        self._closing = False
        self._on_connect: list[ClientHook] = []
        self._on_disconnect: list[ClientHook] = []

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"<Client {self.url} {state}>"

    # -- hooks -------------------------------------------------------------------------------

    def on_connect(self, fn: ClientHook) -> ClientHook:
        """Call `fn(client)` after every successful (re)connection."""
        self._on_connect.append(fn)
        return fn

    def on_disconnect(self, fn: ClientHook) -> ClientHook:
        """Call `fn(client)` after every session end."""
        self._on_disconnect.append(fn)
        return fn

    # -- state -------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether a session is up now."""
        return self._peer is not None and not self._peer.closed

    @property
    def peer(self) -> Peer:
        """The RPC peer of the current (or last) session.

        Raises:
            SendError: never connected.
        """
        if self._peer is None:
            raise SendError("can't send, client is closed")
        return self._peer

    async def wait_connected(self) -> None:
        """Wait until a session is up."""
        await self._connected.wait()

    # -- calls -------------------------------------------------------------------------------

    async def tell(
        self,
        method: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109
        free_callbacks: bool = False,
    ) -> Any:
        """Call `method` on the remote kite (see `Peer.tell`)."""
        peer = self._peer
        if peer is None or peer.closed:  # (re)connecting, or closed: see `call`
            return await self.call(
                method, list(args) if args else None, timeout=timeout, free_callbacks=free_callbacks
            )
        return await peer.call(
            method, list(args) if args else None, timeout=timeout, free_callbacks=free_callbacks
        )

    async def methods(self, *, timeout: float | None = None) -> list[MethodDescription]:  # noqa: ASYNC109
        """The remote kite's methods that this side may call (its `kite.methods`).

        Raises:
            MethodsNotDescribedError: the remote kite does not describe its methods (Go).
        """
        return await remote_methods(self.tell, timeout)

    async def call(
        self,
        method: str,
        args: list[Any] | None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
        free_callbacks: bool = False,
    ) -> Any:
        """Call with the argument list as is (see `Peer.call`)."""
        peer = self._peer
        if (peer is None or peer.closed) and self.reconnect and not self._closing:
            deadline = trio.current_time() + timeout if timeout is not None else float("inf")
            with trio.move_on_at(deadline):
                await self._connected.wait()
            if not self._connected.is_set():
                raise KiteTimeoutError(
                    f'No response to "{method}" method in {format_seconds(timeout or 0)}'
                )
            if timeout is not None:
                timeout = max(deadline - trio.current_time(), 0.0)
        return await self.peer.call(method, args, timeout=timeout, free_callbacks=free_callbacks)

    # -- the connection task -----------------------------------------------------------------

    async def _dial_once(self) -> MessagePipe:
        session = await open_session(
            self.url,
            self.transport,
            timeout=self.timeout,
            xhr_timeout=self.xhr_timeout,
            limits=self.limits,
        )
        self.session_transport = session.transport
        session.remote_address = _address(self.url)
        log.info(
            "connected to %s over %s (session %s)", self.url, session.transport, session.session_id
        )
        return session

    async def _dial_forever(self) -> MessagePipe:
        while True:
            try:
                pipe = await self._dial_once()
            except TransportError as exc:
                delay = self.backoff.next_delay()
                log.info("dial %s failed (%s); retrying in %.2fs", self.url, exc, delay)
                await trio.sleep(delay)
                continue
            self.backoff.reset()
            return pipe

    async def _run(
        self,
        pipe: MessagePipe | None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        started = pipe is None  # reconnecting: the block starts at once, calls wait (DialForever)
        if started:
            task_status.started()
        while True:
            if pipe is None:
                pipe = await self._dial_forever()
            try:
                async with self.local_kite.connect_pipe(
                    pipe, auth=self.auth, remote=self.remote
                ) as peer:
                    self._peer = peer
                    self._connected.set()
                    if not started:
                        started = True
                        task_status.started()
                    await run_hooks(self._on_connect, self, log=log, what="client hook")
                    await peer.wait_closed()
            finally:
                self._connected = trio.Event()
                pipe = None
                with trio.CancelScope(shield=True):
                    await run_hooks(self._on_disconnect, self, log=log, what="client hook")
            if not self.reconnect or self._closing:
                return

    async def aclose(self) -> None:
        """Close the connection and stop reconnecting (idempotent)."""
        self._closing = True
        self.reconnect = False
        if self._peer is not None:
            await self._peer.aclose()


@asynccontextmanager
async def dial(
    kite: DiallingKite,
    url: str,
    *,
    transport: TransportName | None = None,
    timeout: float | None = None,  # noqa: ASYNC109
    auth: Auth | Literal["default"] | None = "default",
    reconnect: bool = False,
    remote: KiteIdentity | None = None,
    limits: HTTPLimits | None = None,
    on_connect: ClientHook | None = None,
    on_disconnect: ClientHook | None = None,
) -> AsyncIterator[Client]:
    """Connect `kite` to the kite at `url` for the duration of the block.

    Args:
        url: the remote kite's URL, e.g. `http://127.0.0.1:3636/kite` (`https` → `wss`).
        transport: `"auto"` (WebSocket, XHR when the handshake is refused), `"websocket"` or
            `"xhr"`; default from `kite.config.transport` (`KITE_TRANSPORT`).
        timeout: dial timeout in seconds (WebSocket handshake; XHR session open and every
            poll's answer); default `config.handshake_timeout` / `config.timeout` (15 s).
        auth: credentials sent with every call; by default a `kiteKey` auth with the
            configured kite key (`config.kite_key`), or none when there is no key.
        reconnect: redial with back-off whenever the session ends, Go's `DialForever`: the
            block starts at once and the first dial is retried in the background too; calls
            wait for a session (bounded by their timeout).
        remote: the remote kite's identity, if known (e.g. from Kontrol).
        limits: HTTP/WebSocket limits of the client side.
        on_connect: hook run after every (re)connection, `fn(client)`.
        on_disconnect: hook run after every session end.

    Raises:
        InvalidURLError: `url` is not an `http(s)://` or `ws(s)://` URL with a host.
        HandshakeError, ConnectError, TransportTimeoutError, ProtocolError: the (first) dial
            failed, without `reconnect`.
    """
    check_kite_url(url)
    config = kite.config
    if auth == "default":
        auth = Auth("kiteKey", config.kite_key) if config.kite_key else None
    name = transport if transport is not None else _TRANSPORTS[config.transport]
    if name not in ("auto", "websocket", "xhr"):
        raise ValueError(f"transport '{name}' doesn't exists")
    client = Client(
        kite,
        url,
        transport=name,
        timeout=config.handshake_timeout if timeout is None else timeout,
        xhr_timeout=config.timeout if timeout is None else timeout,
        auth=auth,
        reconnect=reconnect,
        remote=remote,
        limits=limits,
    )
    if on_connect is not None:
        client.on_connect(on_connect)
    if on_disconnect is not None:
        client.on_disconnect(on_disconnect)
    pipe = None if reconnect else await client._dial_once()
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(client._run, pipe)
            try:
                yield client
            finally:
                client._closing = True
                client.reconnect = False
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise_single(group)
    finally:
        if pipe is not None and client._peer is None:
            await pipe.aclose()
