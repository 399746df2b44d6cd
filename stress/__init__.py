"""The standing reliability suite: load, soak, hostile input, exhaustion, faults, security.

`python -m stress` runs every suite in its long form and prints the figures (the README keeps
them); `python -m stress --short` runs the short forms, which the test command also runs
(`stress/tests`). Everything is bounded in time and count and stays on 127.0.0.1.
"""

from ._report import Outcome, percentile, render

__all__ = ["SUITES", "Outcome", "percentile", "render"]

#: The suites, in the order `python -m stress` runs them (modules `stress.<name>`).
SUITES = ("load", "soak", "hostile", "exhaustion", "faults", "security")
