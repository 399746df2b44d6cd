"""What both proxy kites share: the kite itself and the public address it hands out.

A proxy kite serves on some local address and gives out URLs on its *public* host and port
(what callers outside reach, e.g. a load balancer's name); `https` once it serves TLS. It
registers itself to Kontrol as `<public base>/kite` so that kites find it with a query.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from .._config import Config
from .._kite import Kite
from .._sockjs._server import KiteServer

if TYPE_CHECKING:
    import ssl

__all__ = ["PublicKite"]


class PublicKite:
    """A kite named `name` that hands out URLs on `public_host:public_port`.

    `public_port` `None` means the port it serves on.
    """

    def __init__(
        self,
        name: str,
        version: str,
        config: Config | None,
        *,
        public_host: str,
        public_port: int | None,
    ) -> None:
        self.kite = Kite(name, version, config)
        self.public_host = public_host
        self.public_port = public_port
        self.scheme = "http"
        self._server: KiteServer | None = None

    @property
    def public_base(self) -> str:
        """`<scheme>://<public host>:<public port>`."""
        port = self.public_port
        if port is None:
            if self._server is None:
                raise RuntimeError("the proxy is not serving: no public port yet")
            port = self._server.port
        return f"{self.scheme}://{self.public_host}:{port}"

    @property
    def register_url(self) -> str:
        """The URL the proxy kite itself registers to Kontrol (`<public base>/kite`)."""
        return f"{self.public_base}/kite"

    @asynccontextmanager
    async def serve(
        self,
        host: str = "0.0.0.0",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        grace_period: float = 5.0,
    ) -> AsyncIterator[KiteServer]:
        """Serve the proxy kite and its HTTP routes for the block (TLS with `ssl_context`)."""
        self.scheme = "https" if ssl_context is not None else "http"
        async with self.kite.serve(
            host, port, ssl_context=ssl_context, grace_period=grace_period
        ) as server:
            self._server = server
            try:
                async with self._alongside():
                    yield server
            finally:
                self._server = None

    @asynccontextmanager
    async def _alongside(self) -> AsyncIterator[None]:
        """What a proxy runs while it serves, inside its server (nothing here)."""
        yield
