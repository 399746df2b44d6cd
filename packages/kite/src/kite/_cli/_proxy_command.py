"""`kite proxy` and `kite tunnelproxy`: run a proxy kite (`kite.proxy`) until interrupted.

`kite proxy` runs the reverse proxy (`ReverseProxy`), `kite tunnelproxy` the tunnel proxy
(`TunnelProxy`). Either serves on `--ip:--port` (TLS with `--tls-cert` and `--tls-key`), hands
out URLs on `--public-host:--public-port`, and with `--register` registers itself to Kontrol
so that kites find it (`Kite.register_to_proxy`, `Kite.register_to_tunnel`). It prints
`<name> listening on <ip>:<port>` once it accepts connections, and `<name> registered <url>`
after each registration (`<name>`: `proxy` or `tunnelproxy`).
"""

from __future__ import annotations

import argparse
import ssl
from typing import NoReturn

import trio

from ..proxy import ReverseProxy, TunnelLimits, TunnelProxy
from ..proxy._public import PublicKite
from ._errors import CLIError
from ._format import print_line
from ._session import Session

__all__ = ["add_proxy_arguments", "add_tunnelproxy_arguments", "proxy", "tunnelproxy"]


def add_proxy_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `kite proxy`."""
    parser.add_argument("--ip", default="0.0.0.0", help="address to listen on (0.0.0.0)")
    parser.add_argument("--port", type=int, default=3999, help="port to listen on (3999)")
    parser.add_argument(
        "--public-host", default="127.0.0.1", help="host of the public URLs (127.0.0.1)"
    )
    parser.add_argument(
        "--public-port", type=int, default=0, help="port of the public URLs (the listening port)"
    )
    parser.add_argument("--tls-cert", default="", help="certificate file: serve HTTPS")
    parser.add_argument("--tls-key", default="", help="its private key file")
    parser.add_argument(
        "--register", action="store_true", help="register <public URL>/kite to Kontrol"
    )


def add_tunnelproxy_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `kite tunnelproxy`: those of `kite proxy` and the per-kite limits."""
    add_proxy_arguments(parser)
    default = TunnelLimits()
    parser.add_argument(
        "--max-sessions-per-kite",
        type=int,
        default=default.max_sessions_per_kite,
        help=f"outside sessions to one kite at once ({default.max_sessions_per_kite})",
    )
    parser.add_argument(
        "--max-opening-per-kite",
        type=int,
        default=default.max_opening_per_kite,
        help=f"tunnels being opened to one kite at once ({default.max_opening_per_kite})",
    )


def _tls_context(cert: str, key: str) -> ssl.SSLContext | None:
    if not cert and not key:
        return None
    if not (cert and key):
        raise CLIError("--tls-cert and --tls-key go together")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise CLIError(f"cannot load the TLS certificate: {exc}") from None
    context.set_alpn_protocols(["http/1.1"])
    return context


async def proxy(session: Session, args: argparse.Namespace) -> int:
    """Serve the reverse proxy until interrupted (SIGINT ends the command with status 0)."""
    server_proxy = ReverseProxy(
        session.config,
        public_host=args.public_host,
        public_port=args.public_port or None,
    )
    await _run(server_proxy, "proxy", session, args)


async def tunnelproxy(session: Session, args: argparse.Namespace) -> int:
    """Serve the tunnel proxy until interrupted (SIGINT ends the command with status 0)."""
    limits = TunnelLimits(
        max_sessions_per_kite=args.max_sessions_per_kite,
        max_opening_per_kite=args.max_opening_per_kite,
    )
    server_proxy = TunnelProxy(
        session.config,
        public_host=args.public_host,
        public_port=args.public_port or None,
        limits=limits,
    )
    await _run(server_proxy, "tunnelproxy", session, args)


async def _run(
    server_proxy: PublicKite, name: str, session: Session, args: argparse.Namespace
) -> NoReturn:
    context = _tls_context(args.tls_cert, args.tls_key)
    async with server_proxy.serve(args.ip, args.port, ssl_context=context) as server:
        print_line(f"{name} listening on {args.ip}:{server.port}")
        if args.register:
            await _stay_registered(server_proxy, name, session)
        await trio.sleep_forever()


async def _stay_registered(server_proxy: PublicKite, name: str, session: Session) -> NoReturn:
    kite = server_proxy.kite

    @kite.on_register
    def registered(result: object) -> None:
        print_line(f"{name} registered {getattr(result, 'url', '')}")

    async with kite.kontrol_client(url=session.kontrol_url, timeout=session.options.timeout):
        await kite.register_forever(server_proxy.register_url)
        await trio.sleep_forever()
