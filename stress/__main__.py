"""`python -m stress [--short] [SUITE ...]`: run the reliability suites and print the figures.

Exit status 1 when any bound did not hold (every problem is printed), 0 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import time

from . import SUITES
from ._report import render


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m stress", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the short forms (seconds)")
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=f"any of {', '.join(SUITES)}")
    args = parser.parse_args()
    unknown = set(args.suites) - set(SUITES)
    if unknown:
        parser.error(f"unknown suites: {', '.join(sorted(unknown))}")
    logging.basicConfig(level=logging.ERROR)  # the attacks make the servers log by design
    failed = 0
    for name in args.suites or SUITES:
        module = importlib.import_module(f"stress.{name}")
        started = time.monotonic()
        outcome = module.run(long=not args.short)
        print(render(outcome))
        print(f"({name}: {time.monotonic() - started:.1f} s)\n", flush=True)
        failed += bool(outcome.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
