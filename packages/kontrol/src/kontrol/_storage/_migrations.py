"""Numbered SQL migrations shipped with the package (`_migrations/<backend>/NNNN_name.sql`).

Each back-end records the highest applied number (SQLite: `PRAGMA user_version`; PostgreSQL: a
`kontrol_migrations` table in the storage's schema) and applies the newer files in order, each in
its own transaction. The files are written to be idempotent (`IF NOT EXISTS`), so a database
created by Go Kontrol's own scripts is adopted as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["Migration", "migrations"]

_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file: its number, name and SQL text."""

    number: int
    name: str
    sql: str


def migrations(backend: str) -> list[Migration]:
    """The migrations of `backend` (`sqlite` or `postgres`), in order."""
    folder = resources.files("kontrol._storage").joinpath("_migrations", backend)
    found: list[Migration] = []
    for entry in folder.iterdir():
        m = _NAME.fullmatch(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda mig: mig.number)
    if [mig.number for mig in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"kontrol: {backend} migrations are not numbered 1..n")
    return found
