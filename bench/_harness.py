"""The benchmark harness: discovery, timing, the table and the JSON results.

How this works: each ``bench/*_bench.py`` module has a ``CASES`` list of :class:`Case`. A case
is a zero-argument callable doing ``ops`` operations (e.g. messages) per call, plus an optional
``setup`` run once before timing (to pick a backend, build inputs). The harness calibrates a
loop count so one sample lasts about ``sample_seconds``, takes ``repeat`` samples with the
garbage collector enabled (real programs have one), and reports the median time per operation.
``--smoke`` uses tiny samples so the whole suite runs in seconds: it proves the cases work,
its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


@dataclasses.dataclass(frozen=True, slots=True)
class Case:
    """One benchmark.

    Attributes:
        name: unique, dotted (``dnode.decode+unscrub[json]``).
        func: does ``ops`` operations per call.
        ops: operations per call of ``func``.
        setup: run once before timing (e.g. choose a JSON backend).
        goal: the throughput we aim for, operations per second (only reported).
        unit: what an operation is (``msg``, ``call``, ...).
    """

    name: str
    func: Callable[[], object]
    ops: int = 1
    setup: Callable[[], object] | None = None
    goal: float | None = None
    unit: str = "op"


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """The timing of one case: median seconds per operation over ``samples``."""

    name: str
    unit: str
    median_s: float
    samples: list[float]
    loops: int
    goal: float | None

    @property
    def per_second(self) -> float:
        return 1.0 / self.median_s if self.median_s > 0 else float("inf")


def discover(pattern: str | None = None) -> list[Case]:
    """Import every ``bench/*_bench.py`` and collect its ``CASES`` (filtered by substring)."""
    cases: list[Case] = []
    for path in sorted(HERE.glob("*_bench.py")):
        module = importlib.import_module(f"bench.{path.stem}")
        cases.extend(getattr(module, "CASES", []))
    names = [c.name for c in cases]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"duplicate benchmark names: {sorted(duplicates)}")
    if pattern:
        cases = [c for c in cases if pattern in c.name]
    return cases


def run_case(case: Case, *, sample_seconds: float = 0.2, repeat: int = 7) -> Result:
    """Time one case; see the module comment."""
    if case.setup is not None:
        case.setup()
    func = case.func
    func()  # warm up (and fail early)
    loops = 1
    while True:  # calibrate: double the loop count until a sample is long enough
        start = time.perf_counter()
        for _ in range(loops):
            func()
        elapsed = time.perf_counter() - start
        if elapsed >= sample_seconds / 4 or loops >= 1 << 30:
            break
        loops *= 2
    if elapsed > 0:
        loops = max(1, int(loops * sample_seconds / elapsed))
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(loops):
            func()
        samples.append((time.perf_counter() - start) / (loops * case.ops))
    return Result(case.name, case.unit, statistics.median(samples), samples, loops, case.goal)


def _format_rate(x: float) -> str:
    return f"{x:,.0f}"


def table(results: Sequence[Result]) -> str:
    """The results as a fixed-width text table."""
    rows = [("benchmark", "median", "per second", "goal/s", "")]
    for r in results:
        ok = "" if r.goal is None else ("ok" if r.per_second >= r.goal else "BELOW GOAL")
        rows.append(
            (
                r.name,
                f"{r.median_s * 1e6:.2f} us/{r.unit}",
                _format_rate(r.per_second),
                "" if r.goal is None else _format_rate(r.goal),
                ok,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def calibrate() -> float:
    """Microseconds this machine takes for ``sum(range(1000))`` (about 8 on a 2023 desktop
    core with CPython 3.11): read the other numbers relative to it."""
    import timeit

    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6


def _environment() -> dict[str, Any]:
    try:
        import orjson

        orjson_version: str | None = orjson.__version__
    except ImportError:
        orjson_version = None
    return {
        "python": sys.version,
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "orjson": orjson_version,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m bench [--smoke] [-k PATTERN] [--out FILE] [--no-save]``."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny samples: check, don't time")
    parser.add_argument("-k", dest="pattern", help="only cases whose name contains PATTERN")
    parser.add_argument("--repeat", type=int, default=None, help="samples per case (default 7)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per sample")
    parser.add_argument("--out", type=Path, help="write the JSON results here")
    parser.add_argument("--no-save", action="store_true", help="write no JSON results")
    args = parser.parse_args(argv)

    repeat = args.repeat or (1 if args.smoke else 7)
    seconds = args.seconds or (0.002 if args.smoke else 0.2)
    cases = discover(args.pattern)
    if not cases:
        print("no benchmarks match", file=sys.stderr)
        return 1
    results = []
    for case in cases:
        results.append(run_case(case, sample_seconds=seconds, repeat=repeat))
        if not args.smoke:
            print(f"  {case.name}: {results[-1].per_second:,.0f}/s", file=sys.stderr)
    speed = calibrate()
    print(table(results))
    print(f"machine reference: sum(range(1000)) takes {speed:.1f} us here (~8 us on a fast core)")
    if args.no_save:
        return 0
    now = dt.datetime.now(dt.UTC)
    out = args.out or RESULTS / f"{now:%Y%m%dT%H%M%SZ}{'-smoke' if args.smoke else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "time": now.isoformat(),
        "smoke": args.smoke,
        "environment": _environment(),
        "reference_sum_range_1000_us": speed,
        "results": [
            {
                "name": r.name,
                "unit": r.unit,
                "median_seconds": r.median_s,
                "per_second": r.per_second,
                "goal_per_second": r.goal,
                "samples": r.samples,
                "loops": r.loops,
            }
            for r in results
        ],
    }
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"results written to {out}")
    return 0
