"""Kontrol's storage: the `Storage` interface and its SQLite and PostgreSQL back-ends.

`open_storage(url)` picks the back-end from a URL: `sqlite:///abs/path.db`, `sqlite:rel.db`,
`sqlite::memory:`, or a `postgresql://` / `postgres://` URL (libpq DSN). The PostgreSQL back-end
is imported only when one is opened (psycopg is the optional `kite-kontrol[postgres]`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from ._base import (
    DEFAULT_CLEANUP_INTERVAL,
    DEFAULT_TTL,
    Clock,
    ManualClock,
    Storage,
    ThreadedStorage,
)
from ._postgres_backend import postgres_backend
from ._sqlite import SQLiteStorage, open_sqlite_storage

__all__ = [
    "DEFAULT_CLEANUP_INTERVAL",
    "DEFAULT_TTL",
    "Clock",
    "ManualClock",
    "SQLiteStorage",
    "Storage",
    "ThreadedStorage",
    "open_postgres_storage",
    "open_sqlite_storage",
    "open_storage",
]

if TYPE_CHECKING:  # both back-ends implement the interface (checked by mypy)
    from ._postgres import PostgresStorage

    def _conforms(lite: SQLiteStorage, pg: PostgresStorage) -> tuple[Storage, Storage]:
        return lite, pg


def open_postgres_storage(dsn: str, **options: Any) -> AbstractAsyncContextManager[PostgresStorage]:
    """`_postgres.open_postgres_storage(dsn, **options)`: connect, migrate Go Kontrol's schema
    and run the expiry cleaner while in use (schema, ttl, cleanup_interval, clock,
    max_connections, connect_timeout, statement_timeout).

    Raises:
        StorageError: psycopg is not installed (install kite-kontrol[postgres]).
    """
    opened: AbstractAsyncContextManager[PostgresStorage]
    opened = postgres_backend().open_postgres_storage(dsn, **options)
    return opened


def __getattr__(name: str) -> object:
    if name == "PostgresStorage":  # loaded on demand, like the back-end itself
        cls: type[PostgresStorage] = postgres_backend().PostgresStorage
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextlib.asynccontextmanager
async def open_storage(url: str, **options: Any) -> AsyncIterator[Storage]:
    """Open the back-end named by `url`; `options` go to `open_sqlite_storage` or
    `open_postgres_storage` (ttl, cleanup_interval, clock, ...).

    Raises:
        ValueError: an unknown URL scheme.
        StorageError: a PostgreSQL URL while psycopg is not installed.
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
