"""The benchmark harness: discovery, timing, the table and the JSON results.

How this works: each ``bench/*_bench.py`` module has a ``CASES`` list of :class:`Case`. A case
is a zero-argument callable doing ``ops`` operations (e.g. messages) per call, plus an optional
``setup`` run once before timing (to pick a backend, build inputs). The harness calibrates a
loop count so one sample lasts about ``sample_seconds``, takes ``repeat`` samples with the
garbage collector enabled (real programs have one), and reports the median time per operation.
``--smoke`` uses tiny samples so the whole suite runs in seconds: it proves the cases work,
its numbers mean nothing.

Some benchmarks are not a hot loop but a whole scenario: N round trips over a real connection
with a latency per call, a server's memory with 10,000 connections, a registry filled with
10,000 kites. Those are :class:`Scenario` objects (also listed in ``CASES``): ``run(smoke)``
performs the scenario once, sized down when ``smoke`` is true, and returns a
:class:`Measurement` (operations, seconds, optional per-operation latencies and a note). A
scenario whose prerequisites are missing (no ``go``, no PostgreSQL, ...) raises
:class:`SkipError` with the reason; it is listed as skipped, never silently dropped.
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


class SkipError(Exception):
    """Raised by a :class:`Scenario` whose prerequisites are missing; the message says why."""


@dataclasses.dataclass(frozen=True, slots=True)
class Measurement:
    """What one run of a :class:`Scenario` measured.

    Attributes:
        ops: operations done.
        seconds: wall time they took.
        latencies: seconds per operation, when each was timed (gives p50/p99).
        note: a short extra figure for the table (``14.2 KiB/conn``).
        meets_goal: for goals that are not a rate (memory, latency): the verdict.
        extra: more figures for the JSON results.
    """

    ops: int
    seconds: float
    latencies: Sequence[float] = ()
    note: str = ""
    meets_goal: bool | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class Scenario:
    """A benchmark run once as a whole (see the module comment).

    Attributes:
        name: unique, dotted (``rpc.square.seq[py->py ws]``).
        run: ``run(smoke)`` does the scenario (small when ``smoke``) or raises :class:`SkipError`.
        goal: the throughput we aim for, operations per second (only reported).
        unit: what an operation is.
        compare_to: the name of another case to print this one's rate as a ratio of.
    """

    name: str
    run: Callable[[bool], Measurement]
    goal: float | None = None
    unit: str = "op"
    compare_to: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class RelativeGoal:
    """A speed goal measured against another case of the same run (issue #8's goals are all
    relative: they hold or not on whatever machine runs them).

    Met when ``case`` does at least ``ratio`` times the operations per second of
    ``reference`` (strictly more when ``ahead``). A module lists them in ``RELATIVE_GOALS``.
    """

    case: str
    reference: str
    ratio: float
    what: str
    ahead: bool = False

    def check(self, by_name: dict[str, Result]) -> tuple[float, bool] | None:
        """(achieved ratio, met), or None when either case did not run."""
        case, reference = by_name.get(self.case), by_name.get(self.reference)
        if case is None or reference is None or case.median_s <= 0 or reference.median_s <= 0:
            return None
        achieved = case.per_second / reference.per_second
        return achieved, (achieved > self.ratio if self.ahead else achieved >= self.ratio)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values`` by the nearest-rank method."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """The timing of one case: median seconds per operation over ``samples``.

    Scenarios fill ``median_s`` with their mean seconds per operation (one sample) and, when
    they timed each operation, ``p50_s``/``p99_s``/``max_s``; a skipped one has ``skipped``.
    """

    name: str
    unit: str
    median_s: float
    samples: list[float]
    loops: int
    goal: float | None
    p50_s: float | None = None
    p99_s: float | None = None
    max_s: float | None = None
    note: str = ""
    meets_goal: bool | None = None
    skipped: str | None = None
    failed: str | None = None
    compare_to: str | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return 1.0 / self.median_s if self.median_s > 0 else float("inf")


def discover(pattern: str | None = None) -> list[Case | Scenario]:
    """Import every ``bench/*_bench.py`` and collect its ``CASES`` (filtered by substring)."""
    cases: list[Case | Scenario] = []
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


def discover_goals() -> list[RelativeGoal]:
    """Every ``bench/*_bench.py``'s ``RELATIVE_GOALS``."""
    goals: list[RelativeGoal] = []
    for path in sorted(HERE.glob("*_bench.py")):
        module = importlib.import_module(f"bench.{path.stem}")
        goals.extend(getattr(module, "RELATIVE_GOALS", []))
    return goals


def goal_report(results: Sequence[Result], goals: Sequence[RelativeGoal]) -> list[dict[str, Any]]:
    """The relative goals whose two cases ran: what each achieved and whether it is met."""
    by_name = {r.name: r for r in results if r.skipped is None and r.failed is None}
    report = []
    for goal in goals:
        checked = goal.check(by_name)
        if checked is not None:
            achieved, met = checked
            report.append(
                {
                    "what": goal.what,
                    "case": goal.case,
                    "reference": goal.reference,
                    "ratio_goal": goal.ratio,
                    "ahead": goal.ahead,
                    "ratio": achieved,
                    "met": met,
                }
            )
    return report


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


def run_scenario(scenario: Scenario, *, smoke: bool = False) -> Result:
    """Run one scenario (see the module comment); a :class:`SkipError` becomes a skipped result."""
    try:
        m = scenario.run(smoke)
    except SkipError as exc:
        return Result(
            scenario.name,
            scenario.unit,
            0.0,
            [],
            0,
            scenario.goal,
            skipped=str(exc) or "skipped",
            compare_to=scenario.compare_to,
        )
    except Exception as exc:  # reported in the table and the exit status, the run goes on
        more = 0
        while isinstance(exc, BaseExceptionGroup):  # name the first real error
            more += len(exc.exceptions) - 1
            exc = exc.exceptions[0]  # type: ignore[assignment]
        failure = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        if more:
            failure += f" (and {more} more)"
        return Result(
            scenario.name,
            scenario.unit,
            0.0,
            [],
            0,
            scenario.goal,
            failed=failure,
            compare_to=scenario.compare_to,
        )
    per_op = m.seconds / m.ops if m.ops else 0.0
    lat = list(m.latencies)
    meets = m.meets_goal
    if meets is None and scenario.goal is not None and per_op > 0:
        meets = 1.0 / per_op >= scenario.goal
    return Result(
        scenario.name,
        scenario.unit,
        per_op,
        [per_op],
        1,
        scenario.goal,
        p50_s=percentile(lat, 0.5) if lat else None,
        p99_s=percentile(lat, 0.99) if lat else None,
        max_s=max(lat) if lat else None,
        note=m.note,
        meets_goal=meets,
        compare_to=scenario.compare_to,
        extra={"ops": m.ops, "seconds": m.seconds, **m.extra},
    )


def run_any(case: Case | Scenario, *, smoke: bool, sample_seconds: float, repeat: int) -> Result:
    """Time a :class:`Case` or run a :class:`Scenario`."""
    if isinstance(case, Scenario):
        return run_scenario(case, smoke=smoke)
    return run_case(case, sample_seconds=sample_seconds, repeat=repeat)


def _format_rate(x: float) -> str:
    return f"{x:,.0f}"


def _ms(x: float | None) -> str:
    return "" if x is None else f"{x * 1e3:.2f} ms"


def table(results: Sequence[Result]) -> str:
    """The results as a fixed-width text table (ratios to ``compare_to`` cases follow)."""
    rows = [("benchmark", "median", "per second", "p50", "p99", "goal/s", "")]
    for r in results:
        if r.skipped is not None or r.failed is not None:
            why = f"SKIPPED: {r.skipped}" if r.failed is None else f"FAILED: {r.failed}"
            rows.append((r.name, "-", "-", "", "", "", why))
            continue
        ok = r.meets_goal
        if ok is None and r.goal is not None:
            ok = r.per_second >= r.goal
        verdict = "" if ok is None else ("ok" if ok else "BELOW GOAL")
        rows.append(
            (
                r.name,
                f"{r.median_s * 1e6:.2f} us/{r.unit}",
                _format_rate(r.per_second),
                _ms(r.p50_s),
                _ms(r.p99_s),
                "" if r.goal is None else _format_rate(r.goal),
                "  ".join(x for x in (verdict, r.note) if x),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:-1], widths[1:-1], strict=True)
        ]
        cells.append(row[-1])
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    by_name = {r.name: r for r in results if r.median_s > 0}
    ratios = [
        f"  {r.name}: {r.per_second / by_name[r.compare_to].per_second:.2f}x {r.compare_to}"
        for r in results
        if r.median_s > 0 and r.compare_to in by_name
    ]
    if ratios:
        lines += ["", "ratios (calls/s of the case / calls/s of the reference):", *ratios]
    return "\n".join(lines)


def calibrate() -> float:
    """Microseconds this machine takes for ``sum(range(1000))`` (about 8 on a 2023 desktop
    core with CPython 3.11): read the other numbers relative to it."""
    import timeit

    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6


def compiled_modules() -> list[str]:
    """The modules of our packages that load from mypyc-compiled extensions (empty: the
    pure-Python build; ``python3 dev.py build --compiled`` and ``PYTHONPATH`` select the other)."""
    import importlib.util

    names = []
    for package in ("dnode", "sockjs", "kite"):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent
        for path in sorted(root.rglob("*.so")):
            module = path.relative_to(root).with_suffix("").with_suffix("")
            names.append(".".join((package, *module.parts)))
    return names


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
        "compiled": compiled_modules(),
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
    try:
        for case in cases:
            result = run_any(case, smoke=args.smoke, sample_seconds=seconds, repeat=repeat)
            results.append(result)
            if not args.smoke:
                rate = f"{result.per_second:,.0f}/s {result.note}"
                what = result.skipped or (f"FAILED: {result.failed}" if result.failed else rate)
                print(f"  {case.name}: {what}", file=sys.stderr, flush=True)
    finally:
        if "bench._peers" in sys.modules:
            sys.modules["bench._peers"].close_shared()
    speed = calibrate()
    print(table(results))
    goals = goal_report(results, discover_goals())
    if goals:
        print("\ngoals measured in this run (calls/s of the case / of the reference):")
        for g in goals:
            sign = ">" if g["ahead"] else ">="
            verdict = "met" if g["met"] else "NOT MET"
            print(
                f"  {verdict:7s} {g['ratio']:.2f}x (goal {sign} {g['ratio_goal']:g}x)  {g['what']}"
            )
    print(f"machine reference: sum(range(1000)) takes {speed:.1f} us here (~8 us on a fast core)")
    compiled = compiled_modules()
    build = f"compiled with mypyc ({', '.join(compiled)})" if compiled else "pure Python"
    print(f"build: {build}")
    if args.no_save:
        return 1 if any(r.failed for r in results) else 0
    now = dt.datetime.now(dt.UTC)
    out = args.out or RESULTS / f"{now:%Y%m%dT%H%M%SZ}{'-smoke' if args.smoke else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "time": now.isoformat(),
        "smoke": args.smoke,
        "environment": _environment(),
        "reference_sum_range_1000_us": speed,
        "goals": goals,
        "results": [
            {
                "name": r.name,
                "unit": r.unit,
                "median_seconds": r.median_s,
                "per_second": r.per_second,
                "goal_per_second": r.goal,
                "samples": r.samples,
                "loops": r.loops,
                "p50_seconds": r.p50_s,
                "p99_seconds": r.p99_s,
                "max_seconds": r.max_s,
                "note": r.note,
                "meets_goal": r.meets_goal,
                "skipped": r.skipped,
                "failed": r.failed,
                "compare_to": r.compare_to,
                "extra": r.extra,
            }
            for r in results
        ],
    }
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"results written to {out}")
    return 1 if any(r.failed for r in results) else 0
