"""What every stress suite returns, and how the command prints it.

A suite is a function `run(long: bool) -> Outcome`: the short form (`long=False`) is sized to
run in seconds inside the test command, the long form produces the figures of the README. An
`Outcome` carries a table (rows of named values, printed as they are) and the `problems`: each
a sentence naming a bound that did not hold (a lost call, a server that went down, an answer
that is not Go's or the RFC's). A suite never asserts; the test and the command judge
`problems`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Outcome", "machine_load", "percentile", "render"]


@dataclass(slots=True)
class Outcome:
    """A suite's figures (`rows`, one dict per line of its table) and broken bounds."""

    suite: str
    rows: list[dict[str, object]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, ok: bool, problem: str) -> None:
        """Record `problem` unless `ok`."""
        if not ok:
            self.problems.append(problem)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` percentile of `values` (nearest rank); 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def machine_load() -> str:
    """The 1-minute load average and the CPU count, for the figures (a shared machine)."""
    one, _, _ = os.getloadavg()
    return f"load {one:.2f} on {os.cpu_count()} CPUs"


def render(outcome: Outcome) -> str:
    """The outcome as a plain-text table plus its notes and problems."""
    lines = [f"== {outcome.suite}"]
    if outcome.rows:
        columns: list[str] = []
        for row in outcome.rows:
            columns.extend(c for c in row if c not in columns)
        cells = [[str(row.get(c, "")) for c in columns] for row in outcome.rows]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        lines.append("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
        lines.extend(
            "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells
        )
    lines.extend(f"note: {n}" for n in outcome.notes)
    lines.extend(f"PROBLEM: {p}" for p in outcome.problems)
    return "\n".join(lines)
