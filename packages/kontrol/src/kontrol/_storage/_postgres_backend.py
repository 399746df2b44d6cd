"""The PostgreSQL back-end, loaded on first use: psycopg is an optional dependency.

`pip install kite-kontrol` is enough for SQLite; PostgreSQL needs the `postgres` extra
(`pip install 'kite-kontrol[postgres]'`, which brings psycopg). Nothing imports psycopg until a
PostgreSQL storage is opened, and a missing psycopg is then a one-line `StorageError` that says
what to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .._errors import StorageError

MISSING_PSYCOPG = (
    "PostgreSQL storage needs psycopg, which is not installed: "
    "install kite-kontrol[postgres] (pip install 'kite-kontrol[postgres]')"
)


def postgres_backend() -> ModuleType:
    """The `_postgres` module, imported now.

    Raises:
        StorageError: psycopg is not installed (the message names the extra to install).
    """
    try:
        return importlib.import_module("kontrol._storage._postgres")
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "psycopg":
            raise
        raise StorageError(MISSING_PSYCOPG) from None
