"""kontrol: the Kontrol registry and key/token authority for kite, itself a kite.

- `Kontrol`: the `kontrol` kite (`register`, `registerMachine`, `getKites`, `getToken`,
  `getKey`, HTTP `/register` and `/heartbeat`), run with `async with kontrol.running():`;
  tunables in `KontrolOptions`; key pairs managed by `KeyPairs`.
- Storage: registrations with TTL liveness and key pairs, on SQLite or PostgreSQL.
- Queries with go-version constraints; one exception tree under `KontrolError`.
- Tests: `kontrol.testing` (`open_test_kontrol`, pytest fixtures `kontrol_server`, `kite_config`).
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from ._errors import (
    InvalidKeyPairError,
    InvalidKiteError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyPairError,
    KeyPairExistsError,
    KiteIdTakenError,
    KontrolError,
    QueryError,
    StorageError,
    StorageUnavailableError,
    VersionError,
)
from ._http_endpoints import HTTPAnswer, go_json, heartbeat_http, register_http
from ._keypairs import KeyPairs, as_key_pair
from ._kontrol import (
    DEFAULT_PORT,
    KONTROL_VERSION,
    Kontrol,
    KontrolOptions,
    MachineAuthenticate,
)
from ._liveness import HTTPTracker, HTTPTrackers, PingTracker
from ._model import KeyPair, KiteRecord, canonical_uuid, validate_kite
from ._query import QUERY_FIELDS, KontrolQuery, QueryPlan, plan_query
from ._storage import (
    DEFAULT_CLEANUP_INTERVAL,
    DEFAULT_TTL,
    Clock,
    ManualClock,
    SQLiteStorage,
    Storage,
    open_postgres_storage,
    open_sqlite_storage,
    open_storage,
)
from ._version import Constraint, Constraints, Version, parse_constraints, parse_version

if _TYPE_CHECKING:
    from ._storage._postgres import PostgresStorage

__version__ = "0.1.0"  # equal to pyproject.toml's version (tests/test_packaging.py)

__all__ = [
    "DEFAULT_CLEANUP_INTERVAL",
    "DEFAULT_PORT",
    "DEFAULT_TTL",
    "KONTROL_VERSION",
    "QUERY_FIELDS",
    "Clock",
    "Constraint",
    "Constraints",
    "HTTPAnswer",
    "HTTPTracker",
    "HTTPTrackers",
    "InvalidKeyPairError",
    "InvalidKiteError",
    "KeyDeletedError",
    "KeyNotFoundError",
    "KeyPair",
    "KeyPairError",
    "KeyPairExistsError",
    "KeyPairs",
    "KiteIdTakenError",
    "KiteRecord",
    "Kontrol",
    "KontrolError",
    "KontrolOptions",
    "KontrolQuery",
    "MachineAuthenticate",
    "ManualClock",
    "PingTracker",
    "QueryError",
    "QueryPlan",
    "SQLiteStorage",
    "Storage",
    "StorageError",
    "StorageUnavailableError",
    "Version",
    "VersionError",
    "as_key_pair",
    "canonical_uuid",
    "go_json",
    "heartbeat_http",
    "open_postgres_storage",
    "open_sqlite_storage",
    "open_storage",
    "parse_constraints",
    "parse_version",
    "plan_query",
    "register_http",
    "validate_kite",
]


def __getattr__(name: str) -> object:
    # `kontrol.PostgresStorage` imports psycopg, so it is loaded on first use and left out of
    # `__all__` (`from kontrol import *` works without the `postgres` extra).
    if name == "PostgresStorage":
        from ._storage import _postgres_backend

        cls: type[PostgresStorage] = _postgres_backend.postgres_backend().PostgresStorage
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Exceptions print as `kontrol.X`, not with the private module that defines them.
for _value in map(globals().get, __all__):
    if isinstance(_value, type) and issubclass(_value, BaseException):
        _value.__module__ = _value.__module__.split("._")[0]
del _value
