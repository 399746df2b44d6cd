"""Kontrol's storage: the `Storage` interface and its SQLite and PostgreSQL back-ends.

`open_storage(url)` picks the back-end from a URL: `sqlite:///abs/path.db`, `sqlite:rel.db`,
`sqlite::memory:`, or a `postgresql://` / `postgres://` URL (libpq DSN).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ._base import (
    DEFAULT_CLEANUP_INTERVAL,
    DEFAULT_TTL,
    Clock,
    ManualClock,
    Storage,
    ThreadedStorage,
)
from ._postgres import PostgresStorage, open_postgres_storage
from ._sqlite import SQLiteStorage, open_sqlite_storage

__all__ = [
    "DEFAULT_CLEANUP_INTERVAL",
    "DEFAULT_TTL",
    "Clock",
    "ManualClock",
    "PostgresStorage",
    "SQLiteStorage",
    "Storage",
    "ThreadedStorage",
    "open_postgres_storage",
    "open_sqlite_storage",
    "open_storage",
]

if TYPE_CHECKING:  # both back-ends implement the interface (checked by mypy)

    def _conforms(lite: SQLiteStorage, pg: PostgresStorage) -> tuple[Storage, Storage]:
        return lite, pg


@contextlib.asynccontextmanager
async def open_storage(url: str, **options: Any) -> AsyncIterator[Storage]:
    """Open the back-end named by `url`; `options` go to `open_sqlite_storage` or
    `open_postgres_storage` (ttl, cleanup_interval, clock, ...).

    Raises:
        ValueError: an unknown URL scheme.
    """
    if url.startswith(("postgresql://", "postgres://")):
        async with open_postgres_storage(url, **options) as pg:
            yield pg
    elif url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:")
        if path.startswith("//"):
            path = path[2:]  # sqlite:///abs/path -> /abs/path
        async with open_sqlite_storage(path or ":memory:", **options) as lite:
            yield lite
    else:
        raise ValueError(f"unknown storage URL {url!r} (want sqlite:... or postgresql://...)")
