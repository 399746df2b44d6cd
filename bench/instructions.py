"""Instructions per call, counted by callgrind: a load-independent cost of a kite call.

``python -m bench.instructions [METHOD ...]`` runs, for each method of the benchmark kite
(``bench._peers.pykite``; default: ``square``, ``square_method``, ``square_blocking``,
``square_method_blocking``), the in-memory call loop under ``valgrind --tool=callgrind``
twice, with N and 2N sequential calls, and prints ``(Ir(2N) - Ir(N)) / N``: the instructions
one more call costs, in every thread (a blocking handler's worker thread included), with the
start-up and the warm-up left out. Wall-clock time spent waiting (thread wake-ups) is not an
instruction and is not counted; the time cases of ``typed_bench`` show it.
``python -m bench.instructions --loop METHOD N`` is the loop itself.

``--transport ws`` counts the same calls over a real SockJS WebSocket on loopback instead
(``kite.serve`` and ``Kite.dial`` in one process, so both ends' instructions are counted, the
HTTP/WebSocket stack and SockJS framing included); ``--transport xhr`` the same over SockJS
XHR polling (a call is an ``xhr_send`` carrying the request and a poll answered with the
reply); ``--transport memory`` (the default) is the RPC core alone. ``--dnode`` counts
instead the instructions of one operation of each dnode micro-benchmark
(``bench.dnode_bench``, orjson backend): receive (decode + unscrub), send (scrub + encode),
decode, encode.

Start-up is the same in both runs, so it cancels out; set ``PYTHONHASHSEED=0`` for counts that
repeat to the instruction. Putting the mypyc build first on ``PYTHONPATH`` (``python3 dev.py
build --compiled`` prints it) counts the compiled packages instead of the pure-Python ones.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

import trio

import dnode
from kite import Kite, memory_pipe_pair

DEFAULT_METHODS = ["square", "square_method", "square_blocking", "square_method_blocking"]
CALLS = 2_000
DNODE_OPS = 20_000
DNODE_CASES = ["receive", "send", "decode_only", "encode_only"]


def _loop(method: str, calls: int, transport: str) -> None:
    from bench._peers.pykite import make_kite

    async def calls_on(peer: Any) -> None:
        for _ in range(200):  # warm-up, the same in both runs
            await peer.tell(method, 4)
        for _ in range(calls):
            await peer.tell(method, 4)

    async def main() -> None:
        server = make_kite()
        client = Kite("pybench", "1.0.0")
        if transport in ("ws", "xhr"):
            kind = "websocket" if transport == "ws" else "xhr"
            async with server.serve("127.0.0.1", 0) as served:
                url = f"http://127.0.0.1:{served.port}/kite"
                async with client.dial(url, transport=kind, auth=None) as remote:
                    await calls_on(remote)
            return
        a, b = memory_pipe_pair()
        async with server.accept(a), client.connect_pipe(b) as peer:
            await calls_on(peer)

    trio.run(main)


def _dnode_loop(case: str, ops: int) -> None:
    from bench import dnode_bench

    dnode.set_backend(dnode.BACKENDS[0])
    func = getattr(dnode_bench, case)
    for _ in range(200):
        func()
    for _ in range(ops):
        func()


def _instructions(loop: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        argv = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            sys.executable, "-m", "bench.instructions", *loop,
        ]  # fmt: skip
        subprocess.run(argv, check=True, capture_output=True)
        total = 0
        for name in os.listdir(tmp):  # one file per thread with --separate-threads; else one
            with open(os.path.join(tmp, name)) as f:
                for line in f:
                    m = re.match(r"(?:summary|totals): (\d+)", line)
                    if m:
                        total += int(m.group(1))
                        break
        return total


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions")
    parser.add_argument("--loop", nargs=2, metavar=("METHOD", "N"))
    parser.add_argument("--dnode-loop", nargs=2, metavar=("CASE", "N"))
    parser.add_argument("--transport", choices=["memory", "ws", "xhr"], default="memory")
    parser.add_argument("--dnode", action="store_true", help="count the dnode micro-benchmarks")
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("methods", nargs="*", default=None)
    args = parser.parse_args()
    if args.loop:
        _loop(args.loop[0], int(args.loop[1]), args.transport)
        return
    if args.dnode_loop:
        _dnode_loop(args.dnode_loop[0], int(args.dnode_loop[1]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    if args.dnode:
        names, n, unit = args.methods or DNODE_CASES, args.calls or DNODE_OPS, "op"
        flag, extra = "--dnode-loop", []
    else:
        names, n, unit = args.methods or DEFAULT_METHODS, args.calls or CALLS, "call"
        flag, extra = "--loop", ["--transport", args.transport]
    base = None
    for name in names:
        once = _instructions([flag, name, str(n), *extra])
        twice = _instructions([flag, name, str(2 * n), *extra])
        per_op = (twice - once) / n
        base = base or per_op
        print(f"{name:28} {per_op:12,.0f} instructions/{unit}  {per_op / base:5.2f}x", flush=True)


if __name__ == "__main__":
    main()
