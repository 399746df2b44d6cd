"""The request a handler receives: Go's `kite.Request` (docs/protocol.md §4.5, §4.6).

How this works: the callee pipeline builds one `Request` per incoming method call and passes
the same object through pre-handlers, the handler, post-handlers and final funcs, so they can
share values through `context`. `client` is the peer the call came from: a handler can call
methods back on the caller with `await request.client.tell(...)`.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

import dnode

from ..protocol import Auth, KiteIdentity

if TYPE_CHECKING:
    from ._peer import LocalKite, Peer

__all__ = ["Request", "new_request_id"]


def new_request_id() -> str:
    """16 lowercase hex characters from a CSPRNG, as Go's request ids."""
    return secrets.token_hex(8)


class Request:
    """One incoming method call.

    Attributes:
        id: the request id (16 hex); the `id` of any error sent back. Drawn from the CSPRNG
            when first read (most successful calls never need one); pass `""` for that.
        method: the method name.
        username: the authenticated username; for methods without authentication the caller's
            self-declared one; empty on connections this kite dialled (trusted, §5.7).
        args: `withArgs` as a `dnode.Partial` (nil when `withArgs` was missing or null).
        client: the peer the call came from (call it back with `client.tell`).
        auth: the credentials the caller sent, if any.
        local_kite: the kite serving the call.
        context: free-form values shared along the handler chain.
    """

    __slots__ = ("_context", "_id", "args", "auth", "client", "local_kite", "method", "username")

    def __init__(
        self,
        id: str,
        method: str,
        username: str,
        args: dnode.Partial,
        client: Peer,
        auth: Auth | None,
        local_kite: LocalKite,
        context: dict[str, Any] | None = None,
    ) -> None:
        self._id = id
        self.method = method
        self.username = username
        self.args = args
        self.client = client
        self.auth = auth
        self.local_kite = local_kite
        self._context = context

    def __repr__(self) -> str:
        return f"<Request {self.method!r} id={self.id} username={self.username!r}>"

    @property
    def id(self) -> str:
        """The request id (16 lowercase hex), drawn on first use."""
        if not self._id:
            self._id = new_request_id()
        return self._id

    @id.setter
    def id(self, value: str) -> None:
        self._id = value

    @property
    def context(self) -> dict[str, Any]:
        """Free-form values shared along the handler chain (created on first use)."""
        if self._context is None:
            self._context = {}
        return self._context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._context = value

    @property
    def remote(self) -> KiteIdentity:
        """The caller's identity as its first request declared it (username authenticated)."""
        return self.client.kite
