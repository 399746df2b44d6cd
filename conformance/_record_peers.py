"""Recording Go Kontrol and Go's proxies in the captures' format (`conformance.record`).

How this works: like `_recorder.record_scenario`, a `RecordingProxy` stands between the Go
programs and writes every chunk; what differs is who runs behind it.

- `record_kontrol_scenario`: ``gokontrol`` (PostgreSQL, the captures' Kontrol key pair, its own
  key ``keys/anchor.kite.key``) behind the link ``kontrol``, ``gomath -auth`` behind ``math``.
  Queries (``getKites``, ``getToken``, ``getKey``): gomath registers itself directly to Kontrol
  before the capture, with the URL of the proxy's ``math`` link, and ``goquery`` asks through
  the proxy (with ``-method``, it then calls the kite found, through the proxy too). Its step in
  ``meta.json`` keeps the kite id the registration printed (``kite_id``): the replay registers
  its twin under that id, so queries by id find it. Registrations (``register ws|http``): gomath
  registers through the proxy during the capture and is stopped after ``linger`` seconds.
- `record_reverse_proxy_scenario`: ``goreverseproxy`` behind the link ``proxy`` (its public URLs
  name the proxy's port), ``gomath`` behind ``math``. gomath registers to the reverse proxy
  (Go's ``RegisterToProxy`` with ``KITE_PROXY_URL`` naming the ``proxy`` link, and the URL of
  the ``math`` link), so both the ``register`` call and the reverse proxy's forwarded traffic are
  recorded; then ``goclient`` calls the public URL the reverse proxy answered. With
  ``tunnel=True`` it is Go's tunnel proxy (``gotunnelproxy`` behind the link ``tunnel``, its
  public host the link's) and gomath's ``RegisterToTunnel``: the proxy's ``kite.tunnel`` call
  and the tunnel gomath dials back cross the recording proxy too.

Ports behind the proxy are picked before the proxy starts (`free_port`): the Go programs need
the proxy's ports on their command lines, and the proxy needs theirs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from ._recorder import (
    NONDETERMINISTIC,
    Link,
    RecordError,
    Recording,
    RecordingProxy,
    _prepare,
    _relative,
    _write_decoded,
    decode_raw_file,
)

__all__ = [
    "KONTROL_MODES",
    "free_port",
    "record_kontrol_scenario",
    "record_reverse_proxy_scenario",
]

Json = dict[str, Any]

#: What `record_kontrol_scenario` records: goquery's modes, or gomath's ``-register`` kinds.
KONTROL_MODES = ("getkites", "gettoken", "getkey", "register-ws", "register-http")

#: Extra nondeterministic values of Kontrol and proxy recordings.
_KONTROL_NONDETERMINISTIC = (
    "JWT tokens (kiteKey / token): jti, iat, exp, nbf and signature; verify with keys/kontrol.pub",
    "key pair id (keyId) from the kite.key table",
    "registered kite ids and kontrol's own kite id",
    "heartbeat timing",
)
_PROXY_NONDETERMINISTIC = (
    "the registered kite's id in the reverse proxy's public URL /proxy/<kite id>",
    "X-Forwarded-For (the client's address) of forwarded requests",
)

_REGISTERED = r"gomath registered (\S+) as (\S+)"
_PROXY_REGISTERED = r"goreverseproxy registered (\S+) for (\S+)"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a program that must be told its port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _keys(directory: Path) -> Path:
    return directory / "keys"


def _kontrol_argv(dsn: str, keys: Path, port: int, flags: Sequence[str]) -> list[str]:
    from ._gopeers import kite_module_dir

    return [
        "-port", str(port),
        "-dsn", dsn,
        "-create-schema", str(kite_module_dir() / "kontrol"),
        "-public-key", str(keys / "kontrol.pub"),
        "-private-key", str(keys / "kontrol.pem"),
        "-kitekey", str(keys / "anchor.kite.key"),
        "-quiet",
        *flags,
    ]  # fmt: skip


def _shown(program: str, argv: Sequence[str], keys: Path) -> str:
    """The step's command as the captures write it (``bin/PROGRAM``, keys relative)."""
    text = [a.replace(str(keys), "keys") for a in argv]
    return shlex.join([f"bin/{program}", *text])


async def record_kontrol_scenario(
    name: str,
    *,
    directory: Path,
    mode: str,
    query: Sequence[str] = (),
    method: str | None = None,
    args: str = "[]",
    kontrol_flags: Sequence[str] = (),
    linger: float = 5.0,
    description: str | None = None,
    settle: float = 2.0,
) -> Recording:
    """Record Go Kontrol answering goquery (`mode` ``getkites``, ``gettoken``, ``getkey``) or a
    Go kite registering to it (``register-ws``, ``register-http``).

    Args:
        query: goquery's query flags (``-q-name math``); ``{id}`` in a value is replaced by the
            id of the kite registered before the capture.
        method, args: with ``getkites``: goquery's ``-method``/``-args`` on the kite found.
        kontrol_flags: extra gokontrol flags (``-heartbeat-interval 2s``).
        linger: registrations: seconds the registered kite stays (heartbeats) before it stops.
    """
    from ._captures import CAPTURES_DIR
    from ._gopeers import build_go_peers, open_go_peer, run_go_program

    if mode not in KONTROL_MODES:
        raise RecordError(f"mode must be one of {', '.join(KONTROL_MODES)}")
    dsn = os.environ.get("KITE_TEST_POSTGRES_DSN")
    if not dsn:
        raise RecordError("Go Kontrol needs PostgreSQL: set KITE_TEST_POSTGRES_DSN")
    _prepare(directory, CAPTURES_DIR)
    keys = _keys(directory).resolve()
    build = build_go_peers()
    kontrol_port, math_port = free_port(), free_port()
    kontrol_argv = _kontrol_argv(dsn, keys, kontrol_port, kontrol_flags)
    shown = [a for i, a in enumerate(kontrol_argv) if i not in (2, 3, 4, 5)]  # no DSN, schema
    steps: list[Json] = [
        {
            "action": "start-background",
            "label": "gokontrol",
            "cmd": _shown("gokontrol", shown, keys),
            "during_capture": False,
        }
    ]
    links = [
        Link("kontrol", 0, "127.0.0.1", kontrol_port),
        Link("math", 0, "127.0.0.1", math_port),
    ]
    raw_path = directory / f"{name}.raw.jsonl"
    result: Any = None
    forget: list[str] = []
    await _database_chores(dsn)  # registrations left expired by earlier programs
    async with (
        _forgotten(dsn, forget),
        open_go_peer(build, "gokontrol", *kontrol_argv) as _kontrol,
    ):
        with raw_path.open("w", encoding="utf-8") as raw:
            proxy = RecordingProxy(links, raw)
            async with trio.open_nursery() as nursery:
                await nursery.start(proxy.serve)
                recorded_at = time.time()
                math_url = f"http://127.0.0.1:{proxy.ports['math']}/kite"
                proxy_step = {
                    "action": "start-proxy",
                    "cmd": "conformance._recorder.RecordingProxy "
                    + " ".join(f"--map {link.spec(proxy.ports[link.name])}" for link in links),
                    "maps": [link.name for link in links],
                }
                registering = mode.startswith("register-")
                kontrol_at = proxy.ports["kontrol"] if registering else kontrol_port
                math_argv = [
                    "-port", str(math_port), "-auth", "-kitekey", str(keys / "anchor.kite.key"),
                    "-register", mode.removeprefix("register-") if registering else "ws",
                    "-kontrol-url", f"http://127.0.0.1:{kontrol_at}/kite",
                    "-register-url", math_url,
                ]  # fmt: skip
                if not registering:
                    steps.append(proxy_step)
                async with open_go_peer(build, "gomath", *math_argv) as math:
                    with trio.fail_after(30):
                        match = await math.wait_for_output(_REGISTERED)
                    kite_id = match.group(2)
                    math_step: Json = {
                        "action": "start-background",
                        "label": "gomath",
                        "cmd": _shown("gomath", math_argv, keys),
                        "during_capture": registering,
                        "kite_id": kite_id,
                    }
                    forget.append(kite_id)
                    if registering:
                        steps += [proxy_step, math_step]
                        await trio.sleep(linger)
                        result = None
                    else:
                        steps.append(math_step)
                        query_argv = [
                            "-kitekey", str(keys / "anchor.kite.key"),
                            "-kontrol-url", f"http://127.0.0.1:{proxy.ports['kontrol']}/kite",
                            "-mode", mode,
                            *(q.replace("{id}", kite_id) for q in query),
                        ]  # fmt: skip
                        if method is not None:
                            query_argv += ["-method", method, "-args", args]
                        started = time.monotonic()
                        result = await run_go_program(build, "goquery", query_argv)
                        _only_ours(result.stdout, kite_id)
                        steps.append(
                            {
                                "action": "run",
                                "label": "goquery",
                                "cmd": _shown("goquery", query_argv, keys),
                                "rc": result.returncode,
                                "during_capture": True,
                                "seconds": round(time.monotonic() - started, 3),
                            }
                        )
                        # the pre-capture registration stays in place until the proxy stops
                        with trio.move_on_after(settle):
                            await proxy.wait_idle()
                        all_closed = proxy.open_connections == 0
                        nursery.cancel_scope.cancel()
                if registering:
                    steps.append({"action": "stop", "label": "gomath", "seconds": linger})
                    with trio.move_on_after(settle):
                        await proxy.wait_idle()
                    all_closed = proxy.open_connections == 0
                    nursery.cancel_scope.cancel()
    outputs = []
    if result is not None:
        outputs = [{"label": "goquery", "rc": result.returncode, "stdout": result.stdout}]
    what = {
        "getkites": "goquery asks getKites" + (f" then calls {method}" if method else ""),
        "gettoken": "goquery asks getToken",
        "getkey": "goquery asks getKey",
        "register-ws": "gomath -register ws registers over its Kontrol connection",
        "register-http": "gomath -register http registers over HTTP /register",
    }[mode]
    default = (
        f"{what} (query flags: {' '.join(query) or 'none'}); Go Kontrol (gokontrol, "
        f"PostgreSQL) behind link 'kontrol', gomath -auth behind link 'math'."
    )
    meta = _meta(name, description or default, recorded_at, build, steps, outputs, all_closed)
    meta["nondeterministic"] += list(_KONTROL_NONDETERMINISTIC)
    meta["software"]["server"] = "gokontrol (koding/kite kontrol package, PostgreSQL)"
    events = _write_decoded(directory, name, meta)
    stdout = result.stdout if result is not None else ""
    return Recording(name, directory, result.returncode if result else 0, stdout, events)


async def _database_chores(dsn: str, forget: Sequence[str] = ()) -> None:
    """Delete the expired registrations of the shared database (as Go Kontrol's cleaner does)
    and the kites in `forget` (the recording's own, which Go Kontrol keeps after they stop)."""
    from kontrol import open_storage

    async with open_storage(dsn, cleanup_interval=None, listen=False) as storage:
        await storage.clean_expired()
        for kite_id in forget:
            await storage.delete(kite_id)


@asynccontextmanager
async def _forgotten(dsn: str, forget: list[str]) -> AsyncIterator[None]:
    """On leaving the block, however it is left, delete the kites `forget` names by then."""
    try:
        yield
    finally:
        with trio.CancelScope(shield=True):
            await _database_chores(dsn, forget)


def _only_ours(stdout: str, kite_id: str) -> None:
    """Refuse a recording whose getKites answer lists a kite other than the one registered
    (the database is shared; the replay's Kontrol knows only the recorded registration)."""
    for line in stdout.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        for found in value.get("kites", []) if isinstance(value, dict) else []:
            other = found.get("kite", {}).get("id")
            if other != kite_id:
                raise RecordError(
                    f"Kontrol also listed kite {other} (another program's registration in the "
                    "shared database); record again"
                )


async def record_reverse_proxy_scenario(
    name: str,
    *,
    directory: Path,
    method: str = "kite.ping",
    args: str = "[]",
    transport: str = "websocket",
    client_flags: Sequence[str] = (),
    description: str | None = None,
    settle: float = 2.0,
    client_timeout: float = 30.0,
    tunnel: bool = False,
) -> Recording:
    """Record gomath registering to Go's reverse proxy (``goreverseproxy``; with `tunnel`, Go's
    tunnel proxy ``gotunnelproxy``) and goclient calling ``METHOD(ARGS)`` through it, every
    connection through the recording proxy."""
    from ._captures import CAPTURES_DIR
    from ._gopeers import build_go_peers, open_go_peer, run_go_program

    _prepare(directory, CAPTURES_DIR)
    keys = _keys(directory).resolve()
    build = build_go_peers()
    link = "tunnel" if tunnel else "proxy"
    proxy_port, math_port = free_port(), free_port()
    links = [
        Link(link, 0, "127.0.0.1", proxy_port),
        Link("math", 0, "127.0.0.1", math_port),
    ]
    raw_path = directory / f"{name}.raw.jsonl"
    key = str(keys / "anchor.kite.key")
    dead_kontrol = f"http://127.0.0.1:{free_port()}/kite"  # the proxies' Kontrol: none
    steps: list[Json] = []
    with raw_path.open("w", encoding="utf-8") as raw:
        proxy = RecordingProxy(links, raw)
        async with trio.open_nursery() as nursery:
            await nursery.start(proxy.serve)
            recorded_at = time.time()
            steps.append(
                {
                    "action": "start-proxy",
                    "cmd": "conformance._recorder.RecordingProxy "
                    + " ".join(f"--map {ln.spec(proxy.ports[ln.name])}" for ln in links),
                    "maps": [ln.name for ln in links],
                }
            )
            public = f"127.0.0.1:{proxy.ports[link]}"
            if tunnel:
                program = "gotunnelproxy"
                proxy_argv = [
                    "-port", str(proxy_port), "-public-host", public, "-kitekey", key,
                    "-public-key", str(keys / "kontrol.pub"),
                    "-private-key", str(keys / "kontrol.pem"),
                    "-kontrol-url", dead_kontrol, "-quiet",
                ]  # fmt: skip
            else:
                program = "goreverseproxy"
                proxy_argv = [
                    "-port", str(proxy_port), "-public-port", str(proxy.ports[link]),
                    "-kitekey", key,
                ]  # fmt: skip
            math_argv = [
                "-port", str(math_port), "-kitekey", key, "-kontrol-url", dead_kontrol,
                *(["-register", "tunnel"] if tunnel else [
                    "-register", "proxy",
                    "-register-url", f"http://127.0.0.1:{proxy.ports['math']}/kite",
                ]),
            ]  # fmt: skip
            env = {"KITE_PROXY_URL": f"http://{public}/kite"}
            async with (
                open_go_peer(build, program, *proxy_argv) as reverse,
                open_go_peer(build, "gomath", *math_argv, env=env),
            ):
                with trio.fail_after(30):
                    if tunnel:
                        public_url = await _tunnel_url(raw_path)
                        kite_id = public_url.rpartition("=")[2]
                    else:
                        match = await reverse.wait_for_output(_PROXY_REGISTERED)
                        public_url, kite_id = match.group(1), match.group(2)
                steps += [
                    {
                        "action": "start-background",
                        "label": program,
                        "cmd": _shown(program, proxy_argv, keys),
                        "during_capture": True,
                    },
                    {
                        "action": "start-background",
                        "label": "gomath",
                        "cmd": _shown("gomath", math_argv, keys),
                        "env": env,
                        "during_capture": True,
                        "kite_id": kite_id,
                    },
                ]
                client_argv = [
                    "-url", public_url, "-transport", transport,
                    "-method", method, "-args", args, *client_flags,
                ]  # fmt: skip
                started = time.monotonic()
                open_before_client = proxy.open_connections
                result = await run_go_program(
                    build, "goclient", client_argv, time_limit=client_timeout
                )
                steps.append(
                    {
                        "action": "run",
                        "label": "goclient",
                        "cmd": _shown("goclient", client_argv, keys),
                        "rc": result.returncode,
                        "during_capture": True,
                        "seconds": round(time.monotonic() - started, 3),
                    }
                )
                with trio.move_on_after(settle):  # goclient's connections end
                    while proxy.open_connections > open_before_client:  # noqa: ASYNC110
                        await trio.sleep(0.05)  # (the proxy signals only when all have ended)
                # The recording ends here: gomath's connection to the proxy and the reverse
                # proxy's keep-alive connections to gomath are still open (they would close
                # only as the programs stop, which is no part of the scenario).
                all_closed = proxy.open_connections == 0
                nursery.cancel_scope.cancel()
            steps.append({"action": "stop", "label": f"gomath, {program}"})
    kind = "XHR" if transport == "xhr" else "WebSocket"
    call = f"{method}({args.strip()[1:-1]})"
    if tunnel:
        default = (
            f"gomath registers to Go's tunnel proxy (gotunnelproxy, link 'tunnel': register "
            f"with kiteKey authentication, Go's RegisterToTunnel via KITE_PROXY_URL), then "
            f"goclient calls {call} at the URL it answered, /proxy?kiteID=<kite id>: the proxy "
            f"calls kite.tunnel({{url}}) on gomath, which dials /tunnel/...?token=<JWT> and "
            f"serves the client's session over it. Transport: {kind}."
        )
    else:
        default = (
            f"gomath registers to Go's reverse proxy (goreverseproxy, link 'proxy': "
            f"register(url) with kiteKey authentication, Go's RegisterToProxy via "
            f"KITE_PROXY_URL), then goclient calls {call} through the public URL it answered, "
            f"/proxy/<kite id>; the reverse proxy forwards to gomath (link 'math'). "
            f"Transport: {kind}."
        )
    outputs = [{"label": "goclient", "rc": result.returncode, "stdout": result.stdout}]
    meta = _meta(name, description or default, recorded_at, build, steps, outputs, all_closed)
    meta["nondeterministic"] += list(_PROXY_NONDETERMINISTIC)
    if tunnel:
        meta["nondeterministic"].append("the tunnel token (JWT) and its tunnel number (seq)")
    meta["software"]["server"] = f"{program} and gomath"
    events = _write_decoded(directory, name, meta)
    return Recording(name, directory, result.returncode, result.stdout, events)


_TUNNEL_URL = re.compile(r"http://[^\\\"]+/proxy\?kiteID=[0-9a-f-]+")


async def _tunnel_url(raw_path: Path) -> str:
    """The URL Go's tunnel proxy answered to gomath's ``register``, read from the recording so
    far (the tunnel proxy prints nothing)."""
    while True:
        for event in decode_raw_file(raw_path):
            if event.get("dir") == "s2c" and "kiteID" in str(event.get("data", "")):
                match = _TUNNEL_URL.search(str(event["data"]))
                if match is not None:
                    return match.group(0)
        await trio.sleep(0.05)


def _meta(
    name: str,
    description: str,
    recorded_at: float,
    build: Any,
    steps: list[Json],
    outputs: list[Json],
    all_closed: bool,
) -> Json:
    return {
        "name": name,
        "description": description,
        "recorded_at": round(recorded_at, 3),
        "cwd": str(_relative(build.bin_dir.parent)),
        "env": {"KITE_HOME": "(an empty temporary folder)"},
        "steps": steps,
        "proxy": next(s["cmd"] for s in steps if s["action"] == "start-proxy"),
        "client_outputs": outputs,
        "checks": [],
        "verified": all(o["rc"] == 0 for o in outputs),
        "all_connections_closed_before_stop": all_closed,
        "nondeterministic": list(NONDETERMINISTIC),
        "software": {
            "go toolchain": build.toolchain,
            "recorder": "conformance._record_peers (python -m conformance.record)",
        },
        "notes": [],
    }
