"""What Kontrol's kite methods (`_methods`) and HTTP endpoints (`_handlers`) use of Kontrol.

`Kontrol` (`_kontrol`) implements it; the methods and endpoints depend on this protocol only,
so they and the class that registers them do not import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import trio

import kite
from kite.protocol import KiteIdentity

from ._keypairs import KeyPairs
from ._liveness import PingTracker
from ._model import KeyPair
from ._options import KontrolOptions, MachineAuthenticate
from ._storage import Storage

__all__ = ["KontrolService"]


class KontrolService(Protocol):
    """Kontrol's state and operations, as its methods and endpoints see them (a `Kontrol`)."""

    storage: Storage
    keys: KeyPairs
    options: KontrolOptions
    machine_authenticate: MachineAuthenticate | None
    clock: Callable[[], float]
    authenticators: kite.Authenticators
    config: kite.Config

    @property
    def identity(self) -> KiteIdentity: ...

    def handle_func(
        self, name: str, fn: kite.Handler, *, auth: bool | None = None
    ) -> kite.Method: ...

    def require_running(self) -> trio.Nursery: ...

    async def current_key_pair(self) -> KeyPair: ...

    async def issue_kite_key(self, username: str) -> str: ...

    def generate_token(
        self, audience: str, username: str, pair: KeyPair, *, force: bool
    ) -> str: ...

    async def register_connection(
        self, peer: kite.Peer, identity: KiteIdentity, url: str, key_id: str
    ) -> PingTracker | None: ...

    def heartbeat_callback(
        self, peer: kite.Peer, tracker: PingTracker, identity: KiteIdentity, url: str, key_id: str
    ) -> Callable[..., Any]: ...

    async def register_http_kite(self, identity: KiteIdentity, url: str, key_id: str) -> None: ...

    def http_heartbeat(self, kite_id: str) -> bool: ...
