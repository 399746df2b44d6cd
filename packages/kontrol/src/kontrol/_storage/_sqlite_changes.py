"""SQLite's change triggers: the `kite` table's changes handed to the storage's own process.

How this works (see `_changes`): TEMP triggers on the connection call the SQL function
`kontrol_change(payload)`, which this module registers on the connection, with one JSON change
object per change. The function runs in whichever worker thread runs the statement and only
appends to the storage's pending list; the storage publishes that list on the trio side once
the statements' transaction has committed (`SQLiteStorage._flush`). TEMP triggers belong to
the connection, so only this process's writes are seen.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from ._changes import RegistryChange, change_from_json

__all__ = ["install_change_triggers"]

log = logging.getLogger("kontrol.storage")


def _change_json(action: str, row: str) -> str:
    """The SQL expression of a change object of `row` (`NEW` or `OLD`)."""
    return (
        f"json_object('action', '{action}', 'kite', json_object("
        f"'username', {row}.username, 'environment', {row}.environment,"
        f" 'name', {row}.kitename, 'version', {row}.version, 'region', {row}.region,"
        f" 'hostname', {row}.hostname, 'id', {row}.id),"
        f" 'url', {row}.url, 'key_id', {row}.key_id)"
    )


_IDENTITY = ("username", "environment", "kitename", "version", "region", "hostname")
_IDENTITY_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _IDENTITY)

_TRIGGERS = (
    "CREATE TEMP TRIGGER IF NOT EXISTS kontrol_kite_insert AFTER INSERT ON main.kite BEGIN"
    f" SELECT kontrol_change({_change_json('register', 'NEW')}); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS kontrol_kite_delete AFTER DELETE ON main.kite BEGIN"
    f" SELECT kontrol_change({_change_json('deregister', 'OLD')}); END",
    "CREATE TEMP TRIGGER IF NOT EXISTS kontrol_kite_update AFTER UPDATE ON main.kite"
    f" WHEN {_IDENTITY_CHANGED} OR OLD.url IS NOT NEW.url BEGIN"
    f" SELECT kontrol_change({_change_json('deregister', 'OLD')}) WHERE {_IDENTITY_CHANGED};"
    f" SELECT kontrol_change({_change_json('register', 'NEW')}); END",
)


def install_change_triggers(
    conn: sqlite3.Connection, sink: Callable[[RegistryChange], None]
) -> None:
    """Register `kontrol_change` on `conn` (feeding `sink`) and create the TEMP triggers;
    blocking, once per connection."""

    def kontrol_change(payload: str) -> None:
        try:
            change = change_from_json(payload)
        except ValueError as exc:  # never fail the write that caused the change
            log.warning("storage: unreadable change %r: %s", payload[:200], exc)
            return
        sink(change)

    conn.create_function("kontrol_change", 1, kontrol_change)
    for statement in _TRIGGERS:
        conn.execute(statement)
