"""The Kontrol side of a `Kite`: Go's `Kite.Register`, `GetKites`, ... as methods of the kite,
each forwarded to the kite's open `KontrolClient`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, cast

import trio

from ..protocol import KiteIdentity, KontrolQuery
from ._client import Dialler, KontrolClient, KontrolKite, KontrolLink
from ._kite_client import KiteClient
from ._proxy_registration import PROXY_RETRY, register_to_proxy
from ._registration import HTTPRequester, KontrolError, RegisterResult

__all__ = ["KontrolMethods"]

_F = TypeVar("_F", bound=Callable[..., Any])


class KontrolMethods:
    """The Kontrol side of a `Kite` (Go's `Kite.Register`, `GetKites`, ...), mixed into
    `Kite`. Each method uses the kite's open `KontrolClient` (`async with
    kite.kontrol_client(...)`)."""

    _kontrol_link: KontrolLink

    def kontrol_client(
        self,
        *,
        url: str | None = None,
        dialler: Dialler | None = None,
        http: HTTPRequester | None = None,
        timeout: float | None = None,
        kite_key_path: Path | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> KontrolClient:
        """A `KontrolClient` for this kite (see its arguments); open it with `async with`."""
        return KontrolClient(
            cast(KontrolKite, self),
            url=url,
            dialler=dialler,
            http=http,
            timeout=timeout,
            kite_key_path=kite_key_path,
            wall_clock=wall_clock,
            link=self._kontrol_link,
        )

    @property
    def kontrol(self) -> KontrolClient:
        """The open Kontrol client.

        Raises:
            KontrolError: none is open.
        """
        client = self._kontrol_link.client
        if client is None:
            raise KontrolError(
                "no Kontrol client is open: use `async with kite.kontrol_client(...)`"
            )
        return client

    def on_register(self, fn: _F) -> _F:
        """Call `fn(result)` (plain or async) after each successful Kontrol registration."""
        self._kontrol_link.on_register.append(fn)
        return fn

    async def register(self, url: str) -> RegisterResult:
        """Register once over the Kontrol connection (`KontrolClient.register`)."""
        return await self.kontrol.register(url)

    async def register_forever(self, url: str) -> RegisterResult:
        """Stay registered (`KontrolClient.register_forever`)."""
        return await self.kontrol.register_forever(url)

    async def register_http(self, url: str) -> RegisterResult:
        """Register over HTTP with heartbeats (`KontrolClient.register_http`)."""
        return await self.kontrol.register_http(url)

    async def register_http_forever(self, url: str) -> RegisterResult:
        """HTTP registration retried until it succeeds (`KontrolClient.register_http_forever`)."""
        return await self.kontrol.register_http_forever(url)

    async def register_to_proxy(
        self,
        url: str | None = None,
        query: KontrolQuery | KiteIdentity | Mapping[str, str] | None = None,
        *,
        retry: float = PROXY_RETRY,
        task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Stay reachable through a proxy kite, registered to Kontrol under the proxy's public
        URL (Go's `RegisterToProxy`); runs until cancelled.

        The proxy is `config.proxy_url` (`KITE_PROXY_URL`, dialled with the kite key) or a
        random kite Kontrol returns for `query` (default: Kontrol's user, this kite's
        environment, name `proxy`). Its `register(url)` answers the public URL, which is
        registered to Kontrol; when the proxy connection ends this starts over, and a failed
        round is retried after `retry` seconds. With `await nursery.start(...)` the started
        value is the first public URL registered.
        """
        await register_to_proxy(
            self.kontrol,
            url,
            None if query is None else KontrolQuery.of(query),
            retry=retry,
            task_status=task_status,
        )

    async def kontrol_ready(self) -> RegisterResult:
        """Wait for the first successful registration (Go's `KontrolReadyNotify`)."""
        return await self.kontrol.ready()

    async def get_kites(
        self, query: KontrolQuery | KiteIdentity | Mapping[str, str]
    ) -> list[KiteClient]:
        """Kites matching `query` as ready-to-dial clients (`KontrolClient.get_kites`)."""
        return await self.kontrol.get_kites(query)

    async def get_token(self, kite: KiteIdentity | KontrolQuery | Mapping[str, str]) -> str:
        """A token for one kite (`KontrolClient.get_token`)."""
        return await self.kontrol.get_token(kite)

    async def get_token_force(self, kite: KiteIdentity | KontrolQuery | Mapping[str, str]) -> str:
        """A newly signed token for one kite (`KontrolClient.get_token_force`)."""
        return await self.kontrol.get_token_force(kite)

    async def get_key(self) -> str:
        """Kontrol's public key, adopted (`KontrolClient.get_key`)."""
        return await self.kontrol.get_key()

    def start_key_renewer(self, interval: float) -> None:
        """Refresh Kontrol's key every `interval` seconds (`KontrolClient.start_key_renewer`)."""
        self.kontrol.start_key_renewer(interval)

    async def tell_kontrol(
        self,
        method: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        """Any call on Kontrol (Go's `TellKontrolWithTimeout`)."""
        return await self.kontrol.call(method, list(args) if args else None, timeout=timeout)
