"""A Python kite ``math`` 1.0.0 serving ``square`` and ``echo`` on 127.0.0.1 (benchmark peer).

``square`` is a plain ``handle`` handler; ``square_method`` is the same as a typed
``Kite.method``, ``square_blocking`` / ``square_method_blocking`` the same run in a worker
thread (``blocking=True``).

``python -m bench._peers.pykite`` binds port 0 (or ``--port``), prints ``pykite listening on
127.0.0.1:<port>`` and serves until SIGTERM. No authentication, like ``gomath`` without
``-auth``. RLIMIT_NOFILE is raised so the memory case can hold 10,000 connections.
"""

from __future__ import annotations

import argparse
import signal
from typing import Any

import trio

from bench._peers import raise_nofile_limit
from kite import Config, Kite, Request
from kite._http import HTTPLimits


def make_kite() -> Kite:
    """The benchmark kite (also used in-process by the pipe and raw-WebSocket cases)."""
    math = Kite("math", "1.0.0", Config(disable_authentication=True))

    @math.handle("square", auth=False)
    def square(r: Request) -> float:
        n = r.args.one().float()
        return n * n

    @math.handle("square_blocking", auth=False, blocking=True)
    def square_blocking(r: Request) -> float:
        n = r.args.one().float()
        return n * n

    @math.method("square_method", auth=False)
    def square_method(n: float) -> float:
        return n * n

    @math.method("square_method_blocking", auth=False, blocking=True)
    def square_method_blocking(n: float) -> float:
        return n * n

    @math.handle("echo", auth=False)
    def echo(r: Request) -> Any:
        return r.args.raw  # the argument list as received, like gomath

    return math


async def _main(port: int) -> None:
    math = make_kite()
    limits = HTTPLimits(max_connections=65536)
    async with math.serve("127.0.0.1", port, http_limits=limits) as server:
        print(f"pykite listening on 127.0.0.1:{server.port}", flush=True)
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                break


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._peers.pykite")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    raise_nofile_limit(1 << 20)
    trio.run(_main, args.port)


if __name__ == "__main__":
    main()
