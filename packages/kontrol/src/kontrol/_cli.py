"""The `kontrol` command: `init`, `serve` and `keys` (docs/protocol.md §6.7).

How this works: `main(argv)` parses arguments with argparse and runs one sub-command under
`trio.run`; every expected failure (missing kite.key, unreachable database, port in use, ...)
is printed as one `kontrol: ...` line on stderr with exit status 1, never a traceback.

* `kontrol init --data-dir DIR --username NAME --url URL` (Go's `-initial`): opens the storage
  (SQLite `DIR/kontrol.db`, or `--postgres DSN`), generates Kontrol's key pair if the storage
  has none, writes the public key to `DIR/kontrol.pub`, and writes a kite key for NAME
  (`iss` = `sub` = NAME, `kontrolURL` = URL) to `$KITE_HOME/kite.key` (default
  `~/.kite/kite.key`). Running it again keeps the key pair and writes a fresh kite key.
* `kontrol serve --data-dir DIR [--host H] [--port N] [--postgres DSN] [--kite-key FILE]`:
  reads the kite key (`--kite-key`, default `$KITE_HOME/kite.key`; its `sub` is Kontrol's
  username, its `kontrolURL` the URL Kontrol registers for itself), checks that the storage
  holds the pair that signed it, and serves Kontrol (kite connections plus HTTP `/register`
  and `/heartbeat`) with `Kite.serve` until interrupted.
* `kontrol keys list|rotate|delete ID`: key pair management on the same storage.
* `kontrol --version`: the installed version.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from importlib import metadata
from pathlib import Path

import trio

import kite

from ._errors import KontrolError, StorageUnavailableError
from ._keypairs import KeyPairs
from ._kontrol import DEFAULT_PORT, KONTROL_VERSION, Kontrol, KontrolOptions
from ._storage import Storage, open_postgres_storage, open_sqlite_storage

__all__ = ["CLIError", "main"]

log = logging.getLogger("kontrol")

DB_NAME = "kontrol.db"
PUB_NAME = "kontrol.pub"


class CLIError(Exception):
    """An expected failure: printed as `kontrol: <message>`, exit status 1."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kontrol", description="Kontrol: kite registry and key/token authority."
    )
    parser.add_argument("--version", action="version", version=f"kite-kontrol {_installed()}")
    sub = parser.add_subparsers(dest="command", required=True)

    def storage_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data-dir",
            required=True,
            type=Path,
            help=f"directory of Kontrol's data (SQLite database {DB_NAME}, {PUB_NAME})",
        )
        p.add_argument(
            "--postgres",
            metavar="DSN",
            default="",
            help="use PostgreSQL (libpq DSN or postgresql:// URL) instead of SQLite",
        )

    init = sub.add_parser("init", help="create the key pair and write the first kite.key")
    storage_args(init)
    init.add_argument("--username", required=True, help="Kontrol's username (kite key sub/iss)")
    init.add_argument("--url", required=True, help="Kontrol's URL, e.g. http://host:4000/kite")

    serve = sub.add_parser("serve", help="run Kontrol")
    storage_args(serve)
    serve.add_argument("--host", default="0.0.0.0", help="listen address (default all)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="listen port (4000)")
    serve.add_argument(
        "--kite-key",
        type=Path,
        default=None,
        help="Kontrol's kite.key (default: kite.key under $KITE_HOME, ~/.kite)",
    )
    serve.add_argument("--register-url", default="", help="URL Kontrol registers for itself")
    serve.add_argument("--version", default=KONTROL_VERSION, help="Kontrol's kite version")
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web page origin (https://app.example.com, or * for all) whose pages may call"
        " Kontrol from a browser; repeatable (default: none)",
    )
    serve.add_argument(
        "--heartbeat-interval",
        type=float,
        default=10.0,
        help="seconds between kite heartbeats (10)",
    )
    serve.add_argument(
        "--shared-storage",
        action="store_true",
        help="other Kontrols use this database: keep the registrations found at start until"
        " the storage TTL instead of one heartbeat timeout",
    )

    keys = sub.add_parser("keys", help="list, rotate or delete key pairs")
    storage_args(keys)
    action = keys.add_subparsers(dest="action", required=True)
    action.add_parser("list", help="live key pairs, oldest first (the last one is current)")
    action.add_parser("rotate", help="generate a new current key pair")
    delete = action.add_parser("delete", help="delete a key pair by id")
    delete.add_argument("id")
    return parser


@contextlib.asynccontextmanager
async def _open_storage(args: argparse.Namespace, *, create: bool) -> AsyncIterator[Storage]:
    """The storage named by the arguments, with failures turned into `CLIError`."""
    try:
        if args.postgres:
            async with open_postgres_storage(args.postgres) as pg:
                yield pg
            return
        data_dir = trio.Path(args.data_dir)
        if not await data_dir.is_dir():
            if not create:
                raise CLIError(f"data directory {data_dir} does not exist: run `kontrol init`")
            try:
                await data_dir.mkdir(mode=0o700, parents=True)
            except OSError as exc:
                raise CLIError(f"cannot create {data_dir}: {exc.strerror}") from None
        db = os.fspath(data_dir / DB_NAME)
        try:
            await trio.to_thread.run_sync(_create_private_file, db)
        except OSError as exc:
            raise CLIError(f"cannot open {db}: {exc.strerror}") from None
        async with open_sqlite_storage(db) as lite:
            yield lite
    except StorageUnavailableError as exc:
        raise CLIError(f"database unreachable: {exc.message}") from None
    except KontrolError as exc:
        raise CLIError(f"storage: {exc.message}") from None


def _create_private_file(path: str) -> None:
    """Create the database file readable by its owner only: it holds private keys."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


async def _init(args: argparse.Namespace) -> int:
    async with _open_storage(args, create=True) as storage:
        pair = await KeyPairs(storage).ensure()
    if not args.postgres:
        pub = trio.Path(args.data_dir) / PUB_NAME
        try:
            await pub.write_text(pair.public + "\n")
        except OSError as exc:
            raise CLIError(f"cannot write {pub}: {exc.strerror}") from None
    raw = kite.issue_kite_key(
        private_key=pair.private,
        public_key=pair.public,
        issuer=args.username,
        subject=args.username,
        kontrol_url=args.url,
        now=time.time(),
    )
    path = kite.kite_key_path(os.environ)
    try:
        await trio.to_thread.run_sync(kite.write_kite_key, raw, path)
    except kite.KiteKeyError as exc:
        raise CLIError(str(exc)) from None
    print(f"kite.key is written to {path}. Key pair id: {pair.id}")
    return 0


def _read_own_kite_key(path: Path | None) -> kite.Config:
    try:
        key = kite.read_kite_key(path) if path is not None else "required"
        return kite.Config.from_env(kite_key=key, strict=False)
    except kite.KiteKeyError as exc:
        raise CLIError(f"Cannot read kite.key: {exc} (run `kontrol init` first)") from None


def _installed() -> str:
    """The installed `kite-kontrol` version."""
    try:
        return metadata.version("kite-kontrol")
    except metadata.PackageNotFoundError:
        return "unknown"


async def _serve(args: argparse.Namespace) -> int:
    config = _read_own_kite_key(args.kite_key).replace(
        port=args.port, ip=args.host, sockjs_allowed_origins=tuple(args.allow_origin)
    )
    try:
        kite.kite_sockjs_options(config)
    except ValueError as bad:
        raise CLIError(f"--allow-origin: {bad}") from None
    options = KontrolOptions(
        heartbeat_interval=args.heartbeat_interval,
        register_url=args.register_url,
        shared_storage=args.shared_storage,
    )
    async with _open_storage(args, create=False) as storage:
        pair, deleted = await KeyPairs(storage).by_public(config.kontrol_key)
        if pair is None and not deleted:
            raise CLIError(
                "the key pair that signed kite.key is not in the storage: run `kontrol init`"
                " with this data directory / database"
            )
        kontrol = Kontrol(config=config, storage=storage, version=args.version, options=options)
        async with kontrol.running():
            try:
                async with kontrol.serve(host=args.host, port=args.port) as server:
                    print(f"kontrol serving on {server.url}", flush=True)
                    await _until_stopped()
            except Exception as raw:
                exc = _single(raw)
                if not isinstance(exc, kite.ListenError):
                    raise
                raise CLIError(str(exc)) from None
    return 0


async def _until_stopped() -> None:
    """Return on SIGTERM or SIGINT, so that `serve` shuts down cleanly (connections closed,
    Kontrol's own registration removed) also under service managers and when SIGINT is
    ignored (background jobs)."""
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("kontrol: %s received, stopping", signal.Signals(signum).name)
            return


async def _keys(args: argparse.Namespace) -> int:
    async with _open_storage(args, create=False) as storage:
        keys = KeyPairs(storage)
        try:
            if args.action == "list":
                for pair in await keys.live():
                    print(pair.id)
            elif args.action == "rotate":
                pair = await keys.rotate()
                print(f"new current key pair: {pair.id}")
                if not args.postgres:
                    await (trio.Path(args.data_dir) / PUB_NAME).write_text(pair.public + "\n")
            else:
                pair = await keys.delete(args.id)
                print(f"deleted key pair: {pair.id}")
        except KontrolError as exc:
            raise CLIError(exc.message) from None
    return 0


def _single(exc: BaseException) -> BaseException:
    """The one error inside (nested) single-exception groups, else `exc` itself."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `kontrol` command; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    command = {"init": _init, "serve": _serve, "keys": _keys}[args.command]
    try:
        return trio.run(command, args)
    except (CLIError, KeyboardInterrupt, BaseExceptionGroup) as raw:
        exc = _single(raw)
        if isinstance(exc, KeyboardInterrupt):
            return 130
        if not isinstance(exc, CLIError):
            raise
        print(f"kontrol: {exc}", file=sys.stderr)
        return 1
