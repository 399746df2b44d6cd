"""PostgreSQL's change notifications: `LISTEN` on the storage's channel, publish what arrives.

How this works (see `_changes` and migration 0006): one dedicated autocommit connection runs
`LISTEN kontrol_<schema>`; the trio task then waits for its socket to become readable
(`trio.lowlevel.wait_readable`, no thread), lets libpq consume the input and publishes each
notification's change on the storage's `ChangeFeed`. Notifications are sent when the writing
transaction commits, so a watcher never hears of a row that was rolled back.

When the connection breaks (server restart, network), the task reconnects with a back-off
(0.5 s doubling to 10 s) and logs how long it was deaf: changes made meanwhile are not
replayed (NOTIFY keeps no history).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import trio
from psycopg import sql

from ._changes import ChangeFeed, change_from_json

__all__ = ["change_channel", "listen_for_changes"]

log = logging.getLogger("kontrol.storage")

_RETRY_FIRST = 0.5
_RETRY_MAX = 10.0


def change_channel(schema: str) -> str:
    """The NOTIFY channel of a schema's `kite` table (as the trigger names it)."""
    return f"kontrol_{schema}"[:63]


def _connect_and_listen(dsn: str, kwargs: dict[str, Any], channel: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(dsn, **kwargs)
    try:
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        conn.pgconn.nonblocking = 1
    except BaseException:
        conn.close()
        raise
    return conn


async def listen_for_changes(
    dsn: str,
    connect_kwargs: dict[str, Any],
    channel: str,
    feed: ChangeFeed,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Publish the changes notified on `channel` to `feed` until cancelled; reports started
    once the first `LISTEN` is in place (or failed: it keeps retrying in the background)."""
    started = False
    delay = _RETRY_FIRST
    while True:
        try:
            conn = await trio.to_thread.run_sync(_connect_and_listen, dsn, connect_kwargs, channel)
        except psycopg.Error as exc:
            log.warning("storage: cannot listen for changes (retrying in %.1f s): %s", delay, exc)
            if not started:
                started = True
                task_status.started()
            await trio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX)
            continue
        delay = _RETRY_FIRST
        if not started:
            started = True
            task_status.started()
        try:
            await _pump(conn, feed)
        except psycopg.Error as exc:
            log.warning("storage: change notifications lost, reconnecting: %s", exc)
        finally:
            conn.close()


async def _pump(conn: psycopg.Connection[Any], feed: ChangeFeed) -> None:
    pgconn = conn.pgconn
    while True:
        await trio.lowlevel.wait_readable(pgconn.socket)
        pgconn.consume_input()  # raises OperationalError once the connection is gone
        while (note := pgconn.notifies()) is not None:
            payload = note.extra.decode("utf-8", "replace")
            try:
                change = change_from_json(payload)
            except ValueError as exc:
                log.warning("storage: ignoring a change notification: %s", exc)
                continue
            feed.publish(change)
