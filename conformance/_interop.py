"""Shared pieces of the live interop matrix (``conformance/tests/test_interop_*.py``).

How this works: `python_math_kite` is the Python twin of the Go peer ``gomath`` (kite ``math``
1.0.0, the same methods, the same error types), so that every call the matrix makes to a Go kite
can be made to a Python kite too, and the Go client's output compared. `goclient` runs the Go
client with a bounded deadline (and, over XHR only, once more when Go's XHR client lost its one
call: a Go quirk described in ``conformance/README.md``). Keys come from both authorities:
`python_kontrol_init` runs the Python ``kontrol init`` command (SQLite in a test folder),
`go_kontrol_initial` runs ``gokontrol -initial`` with the captures' key pair; `key_config` turns
a kite key into the `kite.Config` a kite or client runs with. `open_python_kontrol` serves the
Python Kontrol on 127.0.0.1 (SQLite or PostgreSQL); `go_kontrol_args` are the flags starting
``gokontrol`` on PostgreSQL (``KITE_TEST_POSTGRES_DSN``, see `postgres_dsn_or_skip`).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

import kite
from kite import Config, Kite, KiteKey, KiteServer
from kontrol import Kontrol, KontrolOptions, open_storage

from ._gomath import math_kite
from ._gopeers import GoBuild, GoResult, kite_module_dir, run_go_program

__all__ = [
    "KEYS",
    "captures_key_pair",
    "go_kontrol_args",
    "go_kontrol_initial",
    "goclient",
    "key_config",
    "open_python_kontrol",
    "parse_lines",
    "postgres_dsn_or_skip",
    "python_kontrol_init",
    "python_math_kite",
]

#: The captures' keys: ``kontrol.pem``/``kontrol.pub`` (a Kontrol key pair), ``anchor.kite.key``.
KEYS: Path = Path(__file__).resolve().parent / "captures" / "keys"


def python_math_kite(config: Config | None = None) -> Kite:
    """A kite ``math`` 1.0.0 serving what the Go peer ``gomath`` serves (`_gomath.math_kite`).

    Args:
        config: the kite's configuration; default: authentication disabled (``gomath`` without
            ``-auth``). Pass a config with a kite key and Kontrol key for ``gomath -auth``.
    """
    return math_kite(config)


async def goclient(
    build: GoBuild,
    url: str,
    transport: str,
    method: str,
    args: str | None = None,
    *extra: str,
    time_limit: float = 25.0,
) -> GoResult:
    """Run ``goclient -url URL -transport T -method M [-args JSON] EXTRA...`` (10 s call timeout).

    Over XHR a run whose one call timed out is repeated once (Go's XHR client quirk).
    """
    argv = ["-url", url, "-transport", transport, "-method", method, "-timeout", "10s"]
    if args is not None:
        argv += ["-args", args]
    argv += extra
    result = await run_go_program(build, "goclient", argv, time_limit=time_limit)
    if transport == "xhr" and result.returncode == 1 and '"type":"timeout"' in result.stdout:
        result = await run_go_program(build, "goclient", argv, time_limit=time_limit)
    return result


def parse_lines(result: GoResult) -> list[Any]:
    """Each stdout line of a Go program as JSON."""
    return [json.loads(line) for line in result.lines()]


def postgres_dsn_or_skip() -> str:
    """``KITE_TEST_POSTGRES_DSN``, or skip the calling test saying it is missing."""
    import pytest

    dsn = os.environ.get("KITE_TEST_POSTGRES_DSN")
    if not dsn:
        pytest.skip("KITE_TEST_POSTGRES_DSN is not set (.ci/install-peers.sh sets it up)")
    return dsn


def go_kontrol_args(dsn: str, kitekey: Path, *extra: str) -> list[str]:
    """Flags starting ``gokontrol`` on ``dsn`` with the captures' Kontrol key pair."""
    return [
        "-dsn", dsn,
        "-create-schema", str(kite_module_dir() / "kontrol"),
        "-public-key", str(KEYS / "kontrol.pub"),
        "-private-key", str(KEYS / "kontrol.pem"),
        "-kitekey", str(kitekey),
        "-quiet",
        *extra,
    ]  # fmt: skip


def key_config(key: Path | str, **changes: Any) -> Config:
    """A `Config` carrying a kite key (a file or the JWT), as ``Config.from_env`` would load it."""
    raw = key.read_text() if isinstance(key, Path) else key
    config = Config().with_kite_key(KiteKey.parse(raw.strip(), now=time.time()))
    return config.replace(**changes) if changes else config


async def python_kontrol_init(data_dir: Path, username: str, url: str) -> Path:
    """Run ``kontrol init`` (the Python Kontrol's command, SQLite in ``data_dir``) for
    ``username``; return the kite key it wrote (``data_dir/home-<username>/kite.key``)."""
    home = data_dir / f"home-{username}"
    env = {**os.environ, "KITE_HOME": str(home)}
    argv = [sys.executable, "-m", "kontrol", "init", "--data-dir", str(data_dir)]
    with trio.fail_after(30):
        proc = await trio.run_process(
            [*argv, "--username", username, "--url", url],
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"kontrol init failed: {proc.stderr.decode(errors='replace')}")
    return home / "kite.key"


async def go_kontrol_initial(build: GoBuild, out: Path, username: str, url: str) -> Path:
    """Run ``gokontrol -initial`` (Go Kontrol's key issuing, the captures' key pair) for
    ``username``; return the kite key file ``out``."""
    result = await run_go_program(
        build,
        "gokontrol",
        [
            "-initial",
            "-username", username,
            "-kontrol-url", url,
            "-public-key", str(KEYS / "kontrol.pub"),
            "-private-key", str(KEYS / "kontrol.pem"),
            "-out", str(out),
        ],
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"gokontrol -initial failed: {result.stderr}")
    return out


def captures_key_pair() -> kite.KeyPair:
    """The captures' Kontrol key pair (the one ``gokontrol`` runs with in these tests)."""
    return kite.KeyPair(
        public=(KEYS / "kontrol.pub").read_text(), private=(KEYS / "kontrol.pem").read_text()
    )


@asynccontextmanager
async def open_python_kontrol(
    storage_url: str, kite_key: Path, key_pair: kite.KeyPair | None = None
) -> AsyncIterator[KiteServer]:
    """The Python Kontrol on ``storage_url`` (``sqlite:///...`` or a PostgreSQL DSN), running as
    the owner of ``kite_key``, served on 127.0.0.1 (a free port); yields its server."""
    async with open_storage(storage_url) as storage:
        kontrol = Kontrol(
            config=key_config(kite_key),
            storage=storage,
            key_pair=key_pair,
            options=KontrolOptions(shared_storage=storage_url.startswith("postgres")),
        )
        async with kontrol.running(), kontrol.serve("127.0.0.1", 0) as server:
            yield server
