"""Instructions per call, counted by callgrind: a load-independent cost of a kite call.

``python -m bench.instructions [METHOD ...]`` runs, for each method of the benchmark kite
(``bench._peers.pykite``; default: ``square``, ``square_method``, ``square_blocking``,
``square_method_blocking``), the in-memory call loop under ``valgrind --tool=callgrind``
twice, with N and 2N sequential calls, and prints ``(Ir(2N) - Ir(N)) / N``: the instructions
one more call costs, in every thread (a blocking handler's worker thread included), with the
start-up and the warm-up left out. Wall-clock time spent waiting (thread wake-ups) is not an
instruction and is not counted; the time cases of ``typed_bench`` show it.
``python -m bench.instructions --loop METHOD N`` is the loop itself.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import trio

from kite import Kite, memory_pipe_pair

DEFAULT_METHODS = ["square", "square_method", "square_blocking", "square_method_blocking"]
CALLS = 2_000


def _loop(method: str, calls: int) -> None:
    from bench._peers.pykite import make_kite

    async def main() -> None:
        server = make_kite()
        client = Kite("pybench", "1.0.0")
        a, b = memory_pipe_pair()
        async with server.accept(a), client.connect_pipe(b) as peer:
            for _ in range(200):  # warm-up, the same in both runs
                await peer.tell(method, 4)
            for _ in range(calls):
                await peer.tell(method, 4)

    trio.run(main)


def _instructions(method: str, calls: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        argv = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            sys.executable, "-m", "bench.instructions", "--loop", method, str(calls),
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
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("methods", nargs="*", default=DEFAULT_METHODS)
    args = parser.parse_args()
    if args.loop:
        _loop(args.loop[0], int(args.loop[1]))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    base = None
    for method in args.methods:
        per_call = (_instructions(method, 2 * args.calls) - _instructions(method, args.calls)) / (
            args.calls
        )
        base = base or per_call
        print(
            f"{method:28} {per_call:12,.0f} instructions/call  {per_call / base:5.2f}x", flush=True
        )


if __name__ == "__main__":
    main()
