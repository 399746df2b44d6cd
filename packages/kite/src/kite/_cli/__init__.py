"""The `kite` command (`python -m kite` is the same): look into Kontrol and call kites.

    kite showkey                     the kite.key's claims
    kite register [--username U]     get a kite.key from Kontrol (`registerMachine`)
    kite list [QUERY OPTIONS]        the kites Kontrol holds, a table or --json objects
    kite tell TARGET METHOD [ARG...] call a method, print the result as JSON
    kite methods TARGET              what a kite offers (`kite.methods`)
    kite ping TARGET                 `kite.ping`: pong and the round-trip time
    kite watch [QUERY OPTIONS]       one line per registration / deregistration
    kite proxy [PROXY OPTIONS]       run the reverse proxy kite (`kite.proxy`)
    kite tunnelproxy [PROXY OPTIONS] run the tunnel proxy kite (`kite.proxy`)
    kite version                     the installed version

How this works: `main(argv)` parses the arguments (argparse; every command has `--help`) and
runs the command under `trio.run` with a `Session` (`_session`: configuration from the
kite.key under `KITE_HOME` and `KITE_*`, overridden by `--kite-key`, `--kontrol-url`,
`--timeout`, `--transport`). TARGET is a kite URL or a Kontrol query such as
`name=math,version=1.0.0` (`_target`). QUERY OPTIONS are `--username --environment --name
--version --region --hostname --id`; without any, the kite key's username is the query.

Exit status: 0 success, 1 the remote side answered an error (printed as `kite: <type>:
<message>`), 2 usage, configuration or connection errors; always one line on stderr, never a
traceback (`_errors`). Runtime logging is off unless `--verbose`. SIGINT (Ctrl-C) ends a
command, also when started with SIGINT ignored (a background job); `kite watch` then exits 0.
"""

from __future__ import annotations

import argparse
import functools
import logging
import platform
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import trio

from ..protocol import STRING_ORDER
from ._commands import COMMANDS
from ._errors import EXIT_OK, CLIError, classify
from ._format import print_json, print_line
from ._proxy_command import add_proxy_arguments, add_tunnelproxy_arguments
from ._session import KeyUse, Options, Session

__all__ = ["main", "version"]

_KEY_USE: dict[str, KeyUse] = {
    "register": "output",
    "tell": "optional",
    "methods": "optional",
    "ping": "optional",
}


#: Commands that run until interrupted: Ctrl-C (SIGINT) is their normal end, status 0.
_SERVERS = frozenset({"watch", "proxy", "tunnelproxy"})


def version() -> str:
    """The installed `kite-trio` version."""
    try:
        return metadata.version("kite-trio")
    except metadata.PackageNotFoundError:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--kontrol-url", default="", help="Kontrol's URL (default: the kite.key's kontrolURL)"
    )
    common.add_argument(
        "--kite-key",
        type=Path,
        default=None,
        help="the kite.key file (default: kite.key under $KITE_HOME, ~/.kite)",
    )
    common.add_argument(
        "--timeout", type=float, default=15.0, help="seconds to wait for answers (15)"
    )
    common.add_argument(
        "--transport",
        choices=("auto", "websocket", "xhr"),
        default="auto",
        help="SockJS transport to dial kites with (auto: WebSocket, else XHR polling)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log what the runtime does")
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print JSON")
    query = argparse.ArgumentParser(add_help=False)
    for field in STRING_ORDER:
        query.add_argument(f"--{field}", default="", help=f"kites whose {field} is this")

    parser = argparse.ArgumentParser(
        prog="kite", description="Look into Kontrol and call kites from the command line."
    )
    parser.add_argument("--version", action="version", version=f"kite-trio {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, *parents: argparse.ArgumentParser) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, parents=[common, *parents])

    command("showkey", "show the kite.key's claims", json_flag)
    reg = command("register", "get a kite.key for this machine from Kontrol", json_flag)
    reg.add_argument("--username", default="", help="the user to register (default: yours)")
    reg.add_argument("--auth-type", default="", help="authType passed to registerMachine")
    command("list", "list the kites Kontrol holds", json_flag, query)
    tell = command("tell", "call a method and print its result as JSON", json_flag)
    tell.add_argument("target", metavar="TARGET", help="kite URL, or a query: name=math,...")
    tell.add_argument("method", metavar="METHOD")
    tell.add_argument(
        "args",
        metavar="ARG",
        nargs="*",
        help="JSON if it parses, else a string; @callback passes a function whose calls print",
    )
    tell.add_argument(
        "--wait",
        type=float,
        default=0.0,
        help="seconds to wait after the result for later @callback calls (0)",
    )
    meth = command("methods", "list what a kite offers (kite.methods)", json_flag)
    meth.add_argument("target", metavar="TARGET", help="kite URL, or a query: name=math,...")
    png = command("ping", "ping a kite: pong and the round-trip time", json_flag)
    png.add_argument("target", metavar="TARGET", help="kite URL, or a query: name=math,...")
    wat = command(
        "watch", "print registrations and deregistrations as they happen", json_flag, query
    )
    wat.add_argument("--initial", action="store_true", help="first list the current kites")
    add_proxy_arguments(command("proxy", "run the reverse proxy kite until interrupted"))
    add_tunnelproxy_arguments(command("tunnelproxy", "run the tunnel proxy kite until interrupted"))
    command("version", "print the installed version", json_flag)
    return parser


def _version_command(args: argparse.Namespace) -> int:
    if args.json:
        print_json({"kite-trio": version(), "python": platform.python_version()})
    else:
        print_line(f"kite-trio {version()} (Python {platform.python_version()})")
    return EXIT_OK


def _fail(error: CLIError) -> int:
    print(f"kite: {error}", file=sys.stderr, flush=True)
    return error.status


async def _until_interrupted(fn: Callable[..., Awaitable[int]], *args: Any) -> int:
    """`fn(*args)` until SIGINT, which ends it as a `KeyboardInterrupt` raised by a task of
    its own, at a checkpoint: never injected into whatever code is running when the signal
    arrives (code that may be cleaning up a connection at that moment)."""
    async with trio.open_nursery() as nursery:

        async def interrupted() -> None:
            with trio.open_signal_receiver(signal.SIGINT) as signals:
                async for _ in signals:
                    raise KeyboardInterrupt

        nursery.start_soon(interrupted)
        status = await fn(*args)
        nursery.cancel_scope.cancel()
        return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `kite` command; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.CRITICAL + 1,
        format="%(asctime)s %(name)s %(message)s",
    )
    if args.command == "version":
        return _version_command(args)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started as a background job: Ctrl-C / SIGINT still ends the command (`kite watch`).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    options = Options(args.kontrol_url, args.kite_key, args.timeout, args.transport)
    try:
        session = Session(options, version(), key=_KEY_USE.get(args.command, "required"))
        run = functools.partial(COMMANDS[args.command], session, args)
        if args.command in _SERVERS:
            return trio.run(_until_interrupted, session.run, run)
        return trio.run(session.run, run)
    except KeyboardInterrupt:
        return EXIT_OK if args.command in _SERVERS else 130
    except BaseException as raw:
        exc = raw
        while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
            exc = exc.exceptions[0]
        if isinstance(exc, KeyboardInterrupt):
            return EXIT_OK if args.command in _SERVERS else 130
        error = classify(exc)
        if error is None:
            raise
        return _fail(error)
