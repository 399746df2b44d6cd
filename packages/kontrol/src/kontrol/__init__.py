"""kontrol: the Kontrol registry and key/token authority for kite (work in progress).

So far: the storage layer (registry of kites with TTL liveness, key pairs) on SQLite or
PostgreSQL, Kontrol queries with go-version constraints, and the kontrol exception tree.
"""

from ._errors import (
    InvalidKeyPairError,
    InvalidKiteError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyPairError,
    KeyPairExistsError,
    KontrolError,
    QueryError,
    StorageError,
    StorageUnavailableError,
    VersionError,
)
from ._model import KeyPair, KiteRecord, canonical_uuid, validate_kite
from ._query import QUERY_FIELDS, KontrolQuery, QueryPlan, plan_query
from ._storage import (
    DEFAULT_CLEANUP_INTERVAL,
    DEFAULT_TTL,
    PostgresStorage,
    SQLiteStorage,
    Storage,
    open_postgres_storage,
    open_sqlite_storage,
    open_storage,
)
from ._version import Constraint, Constraints, Version, parse_constraints, parse_version

__all__ = [
    "DEFAULT_CLEANUP_INTERVAL",
    "DEFAULT_TTL",
    "QUERY_FIELDS",
    "Constraint",
    "Constraints",
    "InvalidKeyPairError",
    "InvalidKiteError",
    "KeyDeletedError",
    "KeyNotFoundError",
    "KeyPair",
    "KeyPairError",
    "KeyPairExistsError",
    "KiteRecord",
    "KontrolError",
    "KontrolQuery",
    "PostgresStorage",
    "QueryError",
    "QueryPlan",
    "SQLiteStorage",
    "Storage",
    "StorageError",
    "StorageUnavailableError",
    "Version",
    "VersionError",
    "canonical_uuid",
    "open_postgres_storage",
    "open_sqlite_storage",
    "open_storage",
    "parse_constraints",
    "parse_version",
    "plan_query",
    "validate_kite",
]
