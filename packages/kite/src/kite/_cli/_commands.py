"""The `kite` sub-commands; each takes the parsed arguments and returns the exit status.

Their output is described in the package docstring (`kite._cli`); failures raise
`CLIError` / `RemoteError` (`_errors`), which `main` prints as one line.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import getpass
import hashlib
import time
from collections.abc import Mapping
from typing import Any

import trio
from cryptography.hazmat.primitives import serialization

from .._auth._keys import KeyFormatError, parse_public_key
from .._auth._kitekey import KiteKey, write_kite_key
from .._auth._token_errors import TokenError
from .._configerrors import KiteKeyError
from .._errors import MethodNotFoundError
from .._kontrol._client import NoKitesAvailableError
from ..protocol import STRING_ORDER, KontrolQuery
from ._errors import EXIT_OK, CLIError, RemoteError, remote_text
from ._format import KITE_COLUMNS, kite_row, print_json, print_line, print_table
from ._proxy_command import proxy, tunnelproxy
from ._session import Session
from ._target import CALLBACK_ARG, parse_arg, parse_target

__all__ = ["COMMANDS"]

METHODS_METHOD = "kite.methods"


def _fingerprint(pem: str) -> str:
    """`SHA256:<base64>` of a public key's DER form (as `ssh-keygen -l` prints keys)."""
    try:
        der = parse_public_key(pem).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except KeyFormatError:
        return "(not an RSA public key)"
    digest = base64.b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def _utc(seconds: int) -> str:
    if not seconds:
        return ""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def showkey(session: Session, args: argparse.Namespace) -> int:
    """The kite.key's claims."""
    key = session.key
    assert key is not None
    claims = key.claims
    shown = {
        "path": str(session.key_path),
        "username": claims.sub,
        "issuer": claims.iss,
        "kontrol_url": claims.kontrol_url,
        "kontrol_key_fingerprint": _fingerprint(claims.kontrol_key),
        "issued_at": _utc(claims.iat),
        "id": claims.jti,
    }
    if args.json:
        print_json(shown)
    else:
        width = max(len(k) for k in shown)
        for k, v in shown.items():
            print_line(f"{k.ljust(width)}  {v}")
    return EXIT_OK


async def register(session: Session, args: argparse.Namespace) -> int:
    """kitectl's `register`: a kite key from Kontrol's `registerMachine`, written to disk."""
    username = args.username or (session.key.username if session.key else "") or getpass.getuser()
    url = session.kontrol_url
    session.use_username(username)
    async with session.dial(url, None) as peer:
        raw = await peer.call(
            "registerMachine", [{"authType": args.auth_type}], timeout=session.options.timeout
        )
    if not isinstance(raw, str):
        raise RemoteError(f"registerMachine answered {raw!r}, not a kite key")
    try:
        key = KiteKey.parse(raw, now=time.time())
    except TokenError as exc:
        raise RemoteError(f"registerMachine answered an invalid kite key: {exc.message}") from None
    try:
        path = await trio.to_thread.run_sync(write_kite_key, key.raw, session.key_path)
    except KiteKeyError as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        print_json({"path": str(path), "username": key.username, "kontrol_url": key.kontrol_url})
    else:
        print_line(
            f"registered {key.username} with {key.kontrol_url or url}: kite.key written to {path}"
        )
    return EXIT_OK


def _query(session: Session, args: argparse.Namespace) -> KontrolQuery:
    """The query of the `--username ... --id` options; without any, the kite key's user."""
    fields = {f: getattr(args, f) or "" for f in STRING_ORDER}
    if not any(fields.values()):
        fields["username"] = session.key.username if session.key else ""
    return KontrolQuery(**fields)


async def list_kites(session: Session, args: argparse.Namespace) -> int:
    """The kites Kontrol holds for a query."""
    async with session.kontrol() as kontrol:
        try:
            found = await kontrol.get_kites(_query(session, args))
        except NoKitesAvailableError:
            found = []
    rows = sorted(
        (kite_row(k.kite, k.url) for k in found),
        key=lambda r: (r["name"], r["version"], r["id"]),
    )
    if args.json:
        print_json(rows)
    elif rows:
        print_table(KITE_COLUMNS, rows)
    return EXIT_OK


async def tell(session: Session, args: argparse.Namespace) -> int:
    """Call a method and print its result (and every call of `@callback` arguments)."""

    def callback(*values: Any) -> None:
        print_json({"callback": list(values)} if args.json else list(values))

    call_args = [callback if a == CALLBACK_ARG else parse_arg(a) for a in args.args]
    async with session.connect(parse_target(args.target)) as caller:
        result = await caller.call(args.method, call_args if call_args else None)
        print_json({"result": result} if args.json else result)
        if args.wait > 0 and CALLBACK_ARG in args.args:
            await trio.sleep(args.wait)  # later calls of the callbacks are printed meanwhile
    return EXIT_OK


def _signature(method: Mapping[str, Any]) -> str:
    params = method.get("params")
    name = str(method.get("name", ""))
    if not isinstance(params, list):
        return name
    shown = []
    for p in params:
        if not isinstance(p, Mapping):
            continue
        kind = (
            (p.get("schema") or {}).get("type", "any")
            if isinstance(p.get("schema"), Mapping)
            else "any"
        )
        text = f"{p.get('name')}: {kind}"
        if not p.get("required", True) and "default" in p:
            text += f" = {p['default']!r}"
        shown.append(text)
    result = method.get("result")
    kind = result.get("type", "any") if isinstance(result, Mapping) else "any"
    return f"{name}({', '.join(shown)}) -> {kind}"


async def methods(session: Session, args: argparse.Namespace) -> int:
    """What a kite offers (its `kite.methods`)."""
    async with session.connect(parse_target(args.target)) as caller:
        try:
            answer = await caller.call(METHODS_METHOD, None)
        except MethodNotFoundError as exc:
            raise RemoteError(
                f"{caller.url} does not describe its methods (no {METHODS_METHOD}, as Go kites):"
                f" {remote_text(exc)}"
            ) from None
    listed = answer.get("methods") if isinstance(answer, Mapping) else None
    if not isinstance(listed, list):
        raise RemoteError(f"{METHODS_METHOD} answered {answer!r}, not a description")
    if args.json:
        print_json(listed)
        return EXIT_OK
    for method in listed:
        if not isinstance(method, Mapping):
            continue
        print_line(_signature(method) + ("" if method.get("auth", True) else "  [no auth]"))
        doc = str(method.get("doc") or "").strip()
        for line in doc.splitlines():
            print_line(f"    {line}".rstrip())
    return EXIT_OK


async def ping(session: Session, args: argparse.Namespace) -> int:
    """`kite.ping`: pong and the round-trip time."""
    async with session.connect(parse_target(args.target)) as caller:
        start = time.perf_counter()
        answer = await caller.call("kite.ping", None)
        rtt = time.perf_counter() - start
    if args.json:
        print_json({"result": answer, "url": caller.url, "rtt_ms": round(rtt * 1e3, 3)})
    else:
        print_line(f"{answer} from {caller.url} in {rtt * 1e3:.2f} ms")
    return EXIT_OK


async def watch(session: Session, args: argparse.Namespace) -> int:
    """One line per registry change until interrupted."""
    async with session.kontrol() as kontrol, kontrol.watch_kites(_query(session, args)) as w:
        if args.initial:
            for k in w.kites:
                _print_change(args, "register", kite_row(k.kite, k.url))
        async for event in w:
            _print_change(args, event.action, kite_row(event.kite, event.url))
    return EXIT_OK


def _print_change(args: argparse.Namespace, action: str, row: dict[str, str]) -> None:
    if args.json:
        print_json({"action": action, **row})
    else:
        print_line(" ".join([action, *(row[c] for c in KITE_COLUMNS)]))


COMMANDS = {
    "showkey": showkey,
    "register": register,
    "list": list_kites,
    "tell": tell,
    "methods": methods,
    "ping": ping,
    "watch": watch,
    "proxy": proxy,
    "tunnelproxy": tunnelproxy,
}
