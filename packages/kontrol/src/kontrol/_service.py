"""What Kontrol's kite methods (`_methods`) and HTTP endpoints (`_http_endpoints`) use of Kontrol.

`Kontrol` (`_kontrol`) implements it; the methods and endpoints depend on this protocol only,
so they and the class that registers them do not import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import trio

import kite
from kite.protocol import KiteIdentity

from ._keypairs import KeyPairs
from ._model import KeyPair
from ._options import KontrolOptions, MachineAuthenticate
from ._registrations import Registrations
from ._storage import Storage
from ._watch import Watchers

__all__ = ["KontrolService"]


class KontrolService(Protocol):
    """Kontrol's state and operations, as its methods and endpoints see them (a `Kontrol`)."""

    storage: Storage
    watchers: Watchers
    keys: KeyPairs
    options: KontrolOptions
    machine_authenticate: MachineAuthenticate | None
    clock: Callable[[], float]
    authenticators: kite.Authenticators
    config: kite.Config
    registrations: Registrations

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
