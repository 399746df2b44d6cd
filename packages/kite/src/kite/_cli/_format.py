"""The `kite` command's output: JSON values, JSON lines and plain tables, on stdout.

Every line is flushed as soon as it is written, so a program reading the command's output
through a pipe (`kite watch --json | ...`) sees each change when it happens.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ..protocol import KiteIdentity

__all__ = ["KITE_COLUMNS", "kite_row", "print_json", "print_line", "print_table"]

#: The columns (and `--json` keys, in this order) describing one registered kite.
KITE_COLUMNS = ("name", "version", "username", "environment", "region", "hostname", "id", "url")


def kite_row(kite: KiteIdentity, url: str) -> dict[str, str]:
    """A kite as a row of `KITE_COLUMNS`."""
    return {
        "name": kite.name,
        "version": kite.version,
        "username": kite.username,
        "environment": kite.environment,
        "region": kite.region,
        "hostname": kite.hostname,
        "id": kite.id,
        "url": url,
    }


def print_line(text: str) -> None:
    """Write one line and flush it."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def print_json(value: Any, *, indent: int | None = None) -> None:
    """Write `value` as JSON (one line unless `indent`)."""
    print_line(json.dumps(value, ensure_ascii=False, indent=indent, default=repr))


def print_table(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """Write rows as a plain table under upper-case headers, columns padded to fit."""
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    for line in ([c.upper() for c in columns], *cells):
        print_line("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
