"""`open_test_kontrol()`: a Kontrol for tests, served on 127.0.0.1 with SQLite in a temporary
directory, and kite configurations it issued.

How this works: the storage is opened first, then Kontrol is served on a free loopback port so
its URL is known, then its URL is set (Kontrol registers itself under it and puts it in the kite
keys it issues) and `Kontrol.running()` starts. `RunningKontrol.config(username)` signs a kite
key for that user with Kontrol's key pair (`kite.testing.TEST_KEY_PAIR` by default) at call
time, the way `kontrol init` does, and returns the `kite.Config` Go's `config.Get()` would read
from it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

import kite
from kite.testing import TEST_KEY_PAIR

from .._kontrol import Kontrol, KontrolOptions
from .._storage import open_sqlite_storage

__all__ = ["RunningKontrol", "open_test_kontrol"]

#: The username `kite_config` and `RunningKontrol.config()` issue kite keys for.
TEST_USERNAME = "testuser"


@dataclass(frozen=True, slots=True)
class RunningKontrol:
    """A Kontrol served for a test (from `open_test_kontrol`).

    Attributes:
        kontrol: the `kontrol.Kontrol` kite (its `storage`, `keys`, methods).
        server: where it is served (`kite.KiteServer`: `port`, `url`).
        key_pair: the pair Kontrol signs kite keys and tokens with.
        data_dir: the directory of its SQLite database.
    """

    kontrol: Kontrol
    server: kite.KiteServer
    key_pair: kite.KeyPair
    data_dir: Path

    @property
    def url(self) -> str:
        """Kontrol's URL, `http://127.0.0.1:<port>/kite`."""
        return self.server.url

    def kite_key(self, username: str = TEST_USERNAME) -> str:
        """A kite key (raw JWT) for `username`, issued now by this Kontrol, as `kontrol init`
        writes one to `kite.key`."""
        return kite.issue_kite_key(
            private_key=self.key_pair.private,
            public_key=self.key_pair.public,
            issuer=self.kontrol.username,
            subject=username,
            kontrol_url=self.url,
            now=time.time(),
        )

    def config(self, username: str = TEST_USERNAME, **changes: object) -> kite.Config:
        """A `kite.Config` holding a fresh kite key for `username`: identity username,
        `kontrol_url`, `kontrol_key` and `kontrol_user` set from it, listening on 127.0.0.1,
        then `changes` applied. A `Kite(name, version, config)` can `register_forever` and
        `get_kites` with it at once."""
        key = kite.KiteKey.parse(self.kite_key(username), now=time.time())
        return kite.Config(ip="127.0.0.1").with_kite_key(key).replace(**changes)


@kite.single_exception
@asynccontextmanager
async def open_test_kontrol(
    *,
    key_pair: kite.KeyPair = TEST_KEY_PAIR,
    data_dir: Path | str | None = None,
    username: str = "kontrol",
    options: KontrolOptions | None = None,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[RunningKontrol]:
    """Run a Kontrol for the block: SQLite, served on 127.0.0.1 (a free port), trusting
    `key_pair` and signing with it.

    Args:
        key_pair: Kontrol's signing pair (default: `kite.testing.TEST_KEY_PAIR`).
        data_dir: where its database goes (default: a temporary directory, removed after).
        username: Kontrol's own username, the issuer of its keys and tokens.
        options: Kontrol's tunables.
        clock: Kontrol's wall clock (Unix seconds).

    Yields:
        The `RunningKontrol`: `.url`, `.config(username)` for kites, `.kontrol`.
    """
    own_dir = data_dir is None
    path = Path(tempfile.mkdtemp(prefix="kontrol-test-")) if data_dir is None else Path(data_dir)
    try:
        await trio.Path(path).mkdir(parents=True, exist_ok=True)
        async with open_sqlite_storage(path / "kontrol.db", clock=clock) as storage:
            kontrol = Kontrol(
                config=kite.Config(username=username, ip="127.0.0.1"),
                storage=storage,
                key_pair=key_pair,
                options=options,
                clock=clock,
            )
            async with kontrol.serve(host="127.0.0.1", port=0) as server:
                kontrol.config = kontrol.config.replace(kontrol_url=server.url)
                async with kontrol.running():
                    yield RunningKontrol(kontrol, server, key_pair, path)
    finally:
        if own_dir:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(shutil.rmtree, path, True)
