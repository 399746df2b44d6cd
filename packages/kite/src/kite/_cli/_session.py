"""The `kite` command's view of the world: its configuration, Kontrol and the kites it calls.

How this works: `Session(options)` reads the kite key (`--kite-key`, else `kite.key` under
`KITE_HOME`) and the `KITE_*` environment as any kite does (`Config.from_env`), then applies
the command line (`--kontrol-url`, `--timeout`, `--transport`). The command acts as a kite of
its own (`kite-cli`), whose username is the kite key's.

Connecting: `session.kontrol()` opens a `KontrolClient`; its connection is redialled forever
by design, so the session's dialler remembers the first failure and cancels the command
(`Session.run`), which then fails at once with that cause instead of after a timeout.
`session.connect(target)` yields a `Caller` for a kite URL (with the kite key, if any) or for
the first kite Kontrol finds for a query (with the token Kontrol gave; a query without
`username` is for the kite key's user, as a token's audience must name one).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import trio

from .._auth._kitekey import KiteKey, kite_key_path, read_kite_key
from .._config import Config, Transport
from .._configerrors import KiteKeyError
from .._kite import Kite
from .._kontrol._client import KontrolClient, NoKitesAvailableError
from .._rpc._peer import Peer
from ..protocol import Auth
from ._errors import CLIError, RemoteError
from ._target import Target

__all__ = ["CLI_KITE_NAME", "Caller", "KeyUse", "Options", "Session"]

#: The name the command's own kite goes by.
CLI_KITE_NAME = "kite-cli"

T = TypeVar("T")

TransportName = Literal["auto", "websocket", "xhr"]
KeyUse = Literal["required", "optional", "output"]
_TRANSPORTS = {
    "auto": Transport.AUTO,
    "websocket": Transport.WEBSOCKET,
    "xhr": Transport.XHR_POLLING,
}


@dataclass(frozen=True, slots=True)
class Options:
    """The options every command takes."""

    kontrol_url: str = ""
    kite_key: Path | None = None
    timeout: float = 15.0
    transport: TransportName = "auto"


@dataclass(slots=True)
class Caller:
    """A connected kite: `call(method, args)` with the command's timeout."""

    peer: Peer
    url: str
    timeout: float

    async def call(self, method: str, args: list[Any] | None) -> Any:
        return await self.peer.call(method, args, timeout=self.timeout)


class Session:
    """Configuration and connections of one `kite` command (see module doc)."""

    def __init__(self, options: Options, version: str, *, key: KeyUse = "required") -> None:
        """Read the configuration; `key` says what the kite key is to the command: needed
        (`required`), used when there is one (`optional`: the default file may be missing,
        a `--kite-key` file may not) or written (`output`: read only if it exists)."""
        self.options = options
        self.key_path = options.kite_key or kite_key_path(os.environ)
        self.key: KiteKey | None = None
        explicit = options.kite_key is not None and key != "output"
        if self.key_path.exists() or explicit:
            try:
                self.key = read_kite_key(self.key_path)
            except KiteKeyError as exc:
                raise CLIError(f"cannot read kite.key: {exc}") from None
        elif key == "required":
            raise CLIError(
                f"no kite.key at {self.key_path}: run `kite register` or pass --kite-key"
            )
        config = Config.from_env(kite_key=self.key, strict=False)
        if options.kontrol_url:
            config = config.replace(kontrol_url=options.kontrol_url)
        self.config = config.replace(
            timeout=options.timeout, transport=_TRANSPORTS[options.transport]
        )
        self.kite = Kite(CLI_KITE_NAME, version, self.config)
        self._failure: str | None = None
        self._scope: trio.CancelScope | None = None

    def use_username(self, username: str) -> None:
        """Call as `username` from now on (what `registerMachine` issues a kite key for)."""
        self.config = self.config.replace(username=username)
        self.kite = Kite(CLI_KITE_NAME, self.kite.version, self.config)

    # ----------------------------------------------------------------------------------------

    async def run(self, command: Callable[[], Awaitable[T]]) -> T:
        """Run `command`; a failed first dial of Kontrol or a kite ends it with that cause."""
        with trio.CancelScope() as scope:
            self._scope = scope
            try:
                return await command()
            except Exception:
                if self._failure is None:
                    raise
        raise CLIError(f"cannot connect to {self._failure}")

    def _dial_failed(self, url: str, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = f"{url}: {_reason(exc)}"
        if self._scope is not None:
            self._scope.cancel()

    @property
    def kontrol_url(self) -> str:
        """Kontrol's URL: `--kontrol-url`, else the kite key's (or `KITE_KONTROL_URL`)."""
        if not self.config.kontrol_url:
            raise CLIError("no Kontrol URL: pass --kontrol-url or use a kite.key that names one")
        return self.config.kontrol_url

    def kontrol(self) -> KontrolClient:
        """A Kontrol client (open it with `async with`); needs the kite key."""
        url = self.kontrol_url
        if self.key is None:
            raise CLIError(
                f"no kite.key at {self.key_path}: run `kite register` or pass --kite-key"
            )
        return self.kite.kontrol_client(
            url=url, dialler=self._dialler, timeout=self.options.timeout
        )

    def dial(self, url: str, auth: Auth | None) -> AbstractAsyncContextManager[Peer]:
        """Connect to the kite at `url` with `auth`."""
        return self._dial(url, auth)

    @asynccontextmanager
    async def _dial(self, url: str, auth: Auth | None) -> AsyncIterator[Peer]:
        opened = False
        try:
            async with self.kite.dial(url, auth=auth, timeout=self.options.timeout) as client:
                opened = True
                yield client.peer
        except Exception as exc:
            if not opened:
                self._dial_failed(url, exc)
            raise

    def _dialler(self, url: str) -> AbstractAsyncContextManager[Peer]:
        return self._dial(url, Auth("kiteKey", self.key.raw) if self.key else None)

    @asynccontextmanager
    async def connect(self, target: Target) -> AsyncIterator[Caller]:
        """A connected `Caller` for `target` (see module doc)."""
        if target.query is None:
            auth = Auth("kiteKey", self.key.raw) if self.key is not None else None
            async with self.dial(target.url, auth) as peer:
                yield Caller(peer, target.url, self.options.timeout)
            return
        query = target.query
        if not query.username and self.key is not None:
            # A token's audience names the username; kites refuse one without (Go's rule).
            query = dataclasses.replace(query, username=self.key.username)
        async with self.kontrol() as kontrol:
            try:
                found = await kontrol.get_kites(query)
            except NoKitesAvailableError:
                raise RemoteError(f"no kite matches the query {_query_text(target)}") from None
            client = found[0]
            async with self.dial(client.url, client.auth) as peer:
                yield Caller(peer, client.url, self.options.timeout)


def _query_text(target: Target) -> str:
    assert target.query is not None
    return ",".join(f"{k}={v}" for k, v in target.query.to_json().items() if v)


def _reason(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return (str(exc) or type(exc).__name__).removeprefix("cannot connect: ")
