"""The SockJS protocol suite's test server, on kite's SockJS endpoint.

How this works: the `sockjs-protocol` test suite (`sockjs-protocol.py`) expects four services
on one HTTP server; each is a `SockJSEndpoint` with its own options and session handler:

* `/echo`: echoes every message; response limit 4096 bytes;
* `/disabled_websocket_echo`: the same without the WebSocket transport;
* `/cookie_needed_echo`: the same with `cookie_needed` (JSESSIONID);
* `/close`: closes every session at once with `c[3000,"Go away!"]`.

Raw WebSocket (`<prefix>/websocket`) is on except where WebSocket is disabled; every service
accepts hixie-76 WebSockets and escapes the characters the protocol wants escaped. Timings are
the SockJS defaults the suite assumes (heartbeat 25 s, disconnect delay 5 s).
Run it with `python -m kite.testing.sockjs_app --port 8081` and point the suite at
`http://localhost:8081`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import trio

import sockjs

from .._http import HTTPServer, open_http_server
from .._rpc._pipe import PipeClosedError
from .._sockjs._endpoint import SessionHandler, SockJSEndpoint
from .._sockjs._pipe import SockJSPipe

__all__ = ["SERVICES", "echo", "main", "open_sockjs_app"]


async def echo(pipe: SockJSPipe) -> None:
    """Send every message back, until the session ends."""
    try:
        while True:
            await pipe.send(await pipe.receive())
    except PipeClosedError:
        return


async def close(pipe: SockJSPipe) -> None:
    """Close the session at once (`c[3000,"Go away!"]`)."""
    await pipe.aclose()


#: The suite sends made-up origins ("test", "null"): its services allow every origin.
ANY = ("*",)
#: prefix -> (options, handler) of every service the protocol suite uses.
_SERVICES: dict[str, tuple[sockjs.Options, SessionHandler]] = {
    "/echo": (
        sockjs.Options(
            prefix="/echo", response_limit=4096, raw_websocket=True, allowed_origins=ANY
        ),
        echo,
    ),
    "/disabled_websocket_echo": (
        sockjs.Options(prefix="/disabled_websocket_echo", websocket=False, allowed_origins=ANY),
        echo,
    ),
    "/cookie_needed_echo": (
        sockjs.Options(
            prefix="/cookie_needed_echo",
            cookie_needed=True,
            raw_websocket=True,
            allowed_origins=ANY,
        ),
        echo,
    ),
    "/close": (sockjs.Options(prefix="/close", raw_websocket=True, allowed_origins=ANY), close),
}
# What the suite checks beyond Go's behaviour: hixie-76 WebSockets (`test_haproxy`) and the
# server-side escaping of U+200C-U+200F, U+2028-U+202F, U+2060-U+206F, U+FFF0-U+FFFF
# (`test_xhr_server_encodes`). Both are off in Go kite (and by default).
SERVICES: dict[str, tuple[sockjs.Options, SessionHandler]] = {
    prefix: (dataclasses.replace(options, hixie76=True, escape_unicode=True), handler)
    for prefix, (options, handler) in _SERVICES.items()
}


@asynccontextmanager
async def open_sockjs_app(host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[HTTPServer]:
    """Serve the four test services on `host:port` for the duration of the block."""
    async with trio.open_nursery() as sessions:
        try:
            async with open_http_server(host, port, grace_period=0.5) as server:
                for prefix, (options, handler) in SERVICES.items():
                    server.handle_http(prefix, SockJSEndpoint(options, handler, sessions))
                yield server
        finally:
            sessions.cancel_scope.cancel()


async def _serve(host: str, port: int) -> None:
    async with open_sockjs_app(host, port) as server:
        print(f"SockJS test app on {server.url} ({', '.join(SERVICES)})", flush=True)
        await trio.sleep_forever()


def main(argv: list[str] | None = None) -> None:
    """`python -m kite.testing.sockjs_app [--host H] [--port P]`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    with suppress(KeyboardInterrupt):
        trio.run(_serve, args.host, args.port)


if __name__ == "__main__":
    main()
