"""Benchmarks of kite for Python: ``python -m bench`` (``--smoke`` for a seconds-long check).

Every module ``bench/<name>_bench.py`` exposes ``CASES``, a list of :class:`bench.Case`; the
harness discovers them, times each one and prints a table of medians. Timing goals live here,
never in pass/fail tests.
"""

from ._harness import (
    Case,
    Measurement,
    RelativeGoal,
    Result,
    Scenario,
    SkipError,
    discover,
    main,
    percentile,
    run_any,
    run_case,
    run_scenario,
)

__all__ = [
    "Case",
    "Measurement",
    "RelativeGoal",
    "Result",
    "Scenario",
    "SkipError",
    "discover",
    "main",
    "percentile",
    "run_any",
    "run_case",
    "run_scenario",
]
