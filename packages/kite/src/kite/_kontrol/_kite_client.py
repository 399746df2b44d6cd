"""A kite found through Kontrol, ready to dial with its token, renewed before it expires."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol, TypeVar

import trio

from .._auth._authenticators import is_token_expiry
from .._auth._token_errors import TokenError
from .._auth._tokens import parse_unverified
from .._errors import KiteError
from .._groups import raise_single
from .._rpc._descriptions import MethodDescription, remote_methods
from .._rpc._hooks import run_hooks
from .._rpc._peer import Peer
from ..protocol import Auth, InvalidKiteStringError, KiteIdentity
from ._opened import OpenedByAsyncWith
from ._registration import KontrolError
from ._renewer import TokenRenewer

__all__ = ["KiteClient", "TokenSource"]

log = logging.getLogger("kite.kontrol")

_F = TypeVar("_F", bound=Callable[..., Any])


class TokenSource(Protocol):
    """What a `KiteClient` uses of the Kontrol client it came from (a `KontrolClient`)."""

    wall_clock: Callable[[], float]

    async def get_token(self, kite: KiteIdentity) -> str: ...

    def dial(self, url: str) -> AbstractAsyncContextManager[Peer]: ...


class KiteClient(OpenedByAsyncWith):
    """A kite found through Kontrol: its identity, URL and token, ready to dial.

    `async with client:` dials it (token authentication) and runs its `TokenRenewer`; both
    end with the block. Use it inside the `KontrolClient` block it came from (renewals ask
    that Kontrol).

    Attributes:
        kite: the remote kite's identity.
        url: where it is registered.
        key_id: the id of the key pair that signed its registration (`keyId`, may be empty).
        auth: the current credentials (`token`), replaced by each renewal.
        renewer: the client's `TokenRenewer`.
    """

    def __init__(
        self,
        kontrol: TokenSource,
        kite: KiteIdentity,
        url: str,
        token: str,
        *,
        key_id: str = "",
    ) -> None:
        self.kontrol = kontrol
        self.kite = kite
        self.url = url
        self.key_id = key_id
        self.auth = Auth("token", token)
        self.peer: Peer | None = None
        self._on_token_renew: list[Callable[[str], Any]] = []
        self._on_token_expire: list[Callable[[], Any]] = []
        self._renewer: TokenRenewer | None = None

    def __repr__(self) -> str:
        return f"<KiteClient {self.kite.name} {self.url!r}>"

    @property
    def renewer(self) -> TokenRenewer:
        """The client's `TokenRenewer`, made on first use: a `getKites` answer holds one
        `KiteClient` per kite found, most never dialled, and a renewer refers back to its
        client (a reference cycle only the garbage collector frees)."""
        if self._renewer is None:
            self._renewer = TokenRenewer(
                self._fetch_token,
                lambda: self.auth.key,
                self._adopt_token,
                name=f"{self.kite.name}/{self.kite.id}",
                wall_clock=self.kontrol.wall_clock,
            )
        return self._renewer

    @property
    def token(self) -> str:
        """The current token."""
        return self.auth.key

    def on_token_renew(self, fn: _F) -> _F:
        """Call `fn(token)` (plain or async) after each renewal."""
        self._on_token_renew.append(fn)
        return fn

    def on_token_expire(self, fn: _F) -> _F:
        """Call `fn()` (plain or async) when a call is refused with `token is expired`."""
        self._on_token_expire.append(fn)
        return fn

    async def _fetch_token(self) -> str:
        # Go's renewer asks for `{"id": <remote id>}` only (hence audience "/", §5.6).
        return await self.kontrol.get_token(KiteIdentity(id=self.kite.id))

    async def _adopt_token(self, token: str) -> None:
        self.auth = Auth("token", token)
        if self.peer is not None:
            self.peer.auth = self.auth
        await run_hooks(self._on_token_renew, token, log=log, what="on_token_renew hook")

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[None]:
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self.renewer.run)
                try:
                    async with self.kontrol.dial(self.url) as peer:
                        peer.auth = self.auth
                        peer.kite = self.kite
                        self.peer = peer
                        yield
                finally:
                    self.peer = None
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            raise_single(group)

    async def tell(self, method: str, *args: Any, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        """Call `method` on the kite (see `Peer.tell`); a `token is expired` refusal fires
        `on_token_expire` hooks and an immediate renewal, then is raised."""
        return await self.call(method, list(args) if args else None, timeout=timeout)

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
    ) -> Any:
        """Like `tell`, with the argument list given as is."""
        peer = self.peer
        if peer is None:
            raise KontrolError("the client is not connected (use `async with client:`)")
        try:
            return await peer.call(method, args, timeout=timeout)
        except KiteError as exc:
            if is_token_expiry(exc):
                self.renewer.renew_now()
                await run_hooks(self._on_token_expire, log=log, what="on_token_expire hook")
            hint = _ownerless_audience_hint(exc, self.auth.key, self.kite)
            if hint:
                raise type(exc)(
                    f"{exc.message}: {hint}", type=exc.type, code=exc.code, id=exc.id
                ) from None
            raise


def _ownerless_audience_hint(exc: KiteError, token: str, remote: KiteIdentity) -> str:
    """What to do when a kite refused a token whose audience names no user: Go's `getKites`
    with a name or environment but no username gets such tokens (audience `///math`), and
    every kite with a username refuses them (`audience: username "" not allowed`)."""
    if exc.type != "authenticationError" or 'audience: username "" not allowed' not in exc.message:
        return ""
    try:
        audience = KiteIdentity.from_string(parse_unverified(token).claims.aud)
    except (TokenError, InvalidKiteStringError):
        return ""
    fields = {"username": remote.username, "environment": audience.environment}
    query = {key: value for key, value in {**fields, "name": audience.name}.items() if value}
    return (
        "the token came from a Kontrol query without username; ask get_kites with the kites' "
        f"owner, e.g. {query}"
    )
