"""``python -m conformance replay [DIR]``: replay recorded Go traffic against our code.

Prints one line per scenario and role (``pass``, ``fail`` with the first difference, ``skip``
with the reason, ``n/a`` when there is nothing of ours to test in that role), then a summary
line; exits 1 when any replay failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import trio

from ._captures import CAPTURES_DIR
from ._replay import Outcome, replay_all


def _summary(outcomes: list[Outcome]) -> str:
    counts = {
        status: sum(o.status == status for o in outcomes)
        for status in ("pass", "fail", "skip", "n/a")
    }
    tolerated = sum(bool(o.tolerated) for o in outcomes)
    return (
        f"replay: {counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped,"
        f" {counts['n/a']} n/a ({tolerated} with tolerated divergences)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m conformance")
    commands = parser.add_subparsers(dest="command", required=True)
    replay = commands.add_parser("replay", help="replay recorded Go traffic (conformance/captures)")
    replay.add_argument("directory", nargs="?", type=Path, default=CAPTURES_DIR)
    replay.add_argument(
        "--log",
        action="store_true",
        help="show the kites' own log lines (handlers that fail on purpose log at ERROR)",
    )
    args = parser.parse_args(argv)
    if not args.log:  # the scenarios' deliberate failures are results here, not news
        logging.getLogger("kite").setLevel(logging.CRITICAL)
        logging.getLogger("kontrol").setLevel(logging.CRITICAL)
    directory: Path = args.directory
    if not any(directory.glob("*.meta.json")):
        print(f"replay: no scenarios (*.meta.json) in {directory}", file=sys.stderr)
        return 2
    try:
        outcomes = trio.run(replay_all, directory)
    except Exception as exc:  # noqa: BLE001 -- the run broke, not a scenario: one line
        print(f"replay: could not run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    for outcome in outcomes:
        print(outcome.line())
    print(_summary(outcomes))
    return 1 if any(o.status == "fail" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
