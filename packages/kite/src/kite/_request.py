"""The request a handler receives: Go's `kite.Request` (PROTOCOL.md §4.5, §4.6).

How this works: the callee pipeline builds one `Request` per incoming method call and passes
the same object through pre-handlers, the handler, post-handlers and final funcs, so they can
share values through `context`. `client` is the peer the call came from: a handler can call
methods back on the caller with `await request.client.tell(...)`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import dnode

from .protocol import Auth, KiteIdentity

if TYPE_CHECKING:
    from ._kite import Kite
    from ._peer import Peer

__all__ = ["Request", "new_request_id"]


def new_request_id() -> str:
    """16 lowercase hex characters from a CSPRNG, as Go's request ids."""
    return secrets.token_hex(8)


@dataclass(slots=True, eq=False)
class Request:
    """One incoming method call.

    Attributes:
        id: the request id (16 hex); the `id` of any error sent back.
        method: the method name.
        username: the authenticated username; for methods without authentication the caller's
            self-declared one; empty on connections this kite dialled (trusted, §5.7).
        args: `withArgs` as a `dnode.Partial` (nil when `withArgs` was missing or null).
        client: the peer the call came from (call it back with `client.tell`).
        auth: the credentials the caller sent, if any.
        local_kite: the kite serving the call.
        context: free-form values shared along the handler chain.
    """

    id: str
    method: str
    username: str
    args: dnode.Partial
    client: Peer
    auth: Auth | None
    local_kite: Kite
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def remote(self) -> KiteIdentity:
        """The caller's identity as its first request declared it (username authenticated)."""
        return self.client.kite
