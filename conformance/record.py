"""``python -m conformance.record NAME --method M [...]``: record a scenario from live peers.

Runs ``goclient`` → recording proxy → ``gomath`` (Go's, or our Python twin with ``--python``) and
writes ``NAME.raw.jsonl``, ``NAME.jsonl`` and ``NAME.meta.json`` (``captures/FORMAT.md``) into
``--out DIR`` (default: a new temporary folder). ``conformance/captures`` itself is written only
when named with ``--into``. Prints the files written; exits 0 once they are, 1 when the peers
cannot run, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import trio

from ._captures import CAPTURES_DIR
from ._gopeers import GoPeerError, GoPeersUnavailableError
from ._record_peers import KONTROL_MODES, record_kontrol_scenario, record_reverse_proxy_scenario
from ._recorder import RecordError, Recording, record_scenario


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m conformance.record",
        description="record goclient -> proxy -> gomath in the captures' format",
    )
    parser.add_argument("name", help="scenario name (NAME.raw.jsonl, NAME.jsonl, NAME.meta.json)")
    parser.add_argument("--method", default="kite.ping", help="goclient -method")
    parser.add_argument("--args", default="[]", help="goclient -args (JSON array text)")
    parser.add_argument("--transport", choices=("websocket", "xhr"), default="websocket")
    parser.add_argument("--python", action="store_true", help="serve our Python gomath twin")
    parser.add_argument(
        "--server-flag", action="append", default=[], help="extra flag for Go's gomath (repeat)"
    )
    parser.add_argument(
        "--calls", help='goclient -calls: several calls on one connection, [{"method","args"}]'
    )
    parser.add_argument("--parallel", action="store_true", help="goclient -parallel (with --calls)")
    parser.add_argument(
        "--client-flag", action="append", default=[], help="extra flag for goclient (repeat)"
    )
    parser.add_argument(
        "--raw-hex",
        help="no goclient: a raw WebSocket client sends these bytes (hex) after the open frame",
    )
    parser.add_argument(
        "--kontrol",
        choices=KONTROL_MODES,
        help="record Go Kontrol instead: goquery's getKites/getToken/getKey (gomath registered "
        "first; --method/--args call the kite found), or gomath registering over ws or http",
    )
    parser.add_argument(
        "--query",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="with --kontrol: a goquery query field (name=math, version='>= 1.0', id={id}: the "
        "registered kite's id); repeat",
    )
    parser.add_argument(
        "--kontrol-flag", action="append", default=[], help="extra flag for gokontrol (repeat)"
    )
    parser.add_argument(
        "--linger", type=float, default=5.0, help="--kontrol register-*: seconds registered"
    )
    parser.add_argument(
        "--reverse-proxy",
        action="store_true",
        help="record gomath registering to Go's reverse proxy and goclient calling through it",
    )
    parser.add_argument(
        "--tunnel-proxy",
        action="store_true",
        help="record gomath registering to Go's tunnel proxy and goclient calling through it",
    )
    parser.add_argument("--description", help="meta.json description")
    parser.add_argument("--expect", help="regex goclient's stdout must match (meta.json checks)")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to wait for closes")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, help="output folder (default: a new temporary one)")
    where.add_argument("--into", type=Path, help="write into this folder, conformance/captures too")
    args = parser.parse_args(argv)
    if args.out is not None and args.out.resolve() == CAPTURES_DIR.resolve():
        parser.error("--out names conformance/captures: use --into to write there on purpose")
    directory: Path = args.into or args.out or Path(tempfile.mkdtemp(prefix="kite-record-"))
    client_flags = list(args.client_flag)
    if args.calls is not None:
        client_flags += ["-calls", args.calls]
    if args.parallel:
        client_flags.append("-parallel")
    raw = bytes.fromhex(args.raw_hex) if args.raw_hex is not None else None
    query: list[str] = []
    for field in args.query:
        key, eq, value = field.partition("=")
        if not eq:
            parser.error(f"--query {field!r}: write FIELD=VALUE")
        query += [f"-q-{key}", value]

    common = {"directory": directory, "description": args.description, "settle": args.settle}

    async def record() -> Recording:
        if args.kontrol is not None:
            method = None if args.method == "kite.ping" else args.method
            return await record_kontrol_scenario(
                args.name,
                mode=args.kontrol,
                query=query,
                method=method,
                args=args.args,
                kontrol_flags=args.kontrol_flag,
                linger=args.linger,
                **common,
            )
        call = {"method": args.method, "args": args.args, "transport": args.transport}
        if args.reverse_proxy or args.tunnel_proxy:
            return await record_reverse_proxy_scenario(
                args.name, client_flags=client_flags, tunnel=args.tunnel_proxy, **call, **common
            )
        return await record_scenario(
            args.name,
            python_server=args.python,
            server_flags=args.server_flag,
            expect=args.expect,
            client_flags=client_flags,
            raw_frames=raw,
            **call,
            **common,
        )

    try:
        recording = trio.run(record)
    except RecordError as exc:
        parser.error(str(exc))
    except (GoPeersUnavailableError, GoPeerError) as exc:
        print(f"record: {exc}", file=sys.stderr)
        return 1
    for path in recording.files:
        print(path)
    print(
        f"record: {recording.name}: {recording.events} events, client exit "
        f"{recording.returncode}, stdout {recording.stdout.strip()[:200]!r}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
