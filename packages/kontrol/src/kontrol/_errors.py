"""The one exception tree of `kontrol`.

    KontrolError                    base; `.message` is the text Go Kontrol puts on the wire
    ├── QueryError                  a query Kontrol refuses (`all query fields are empty`, ...)
    │   └── VersionError            go-version's parse errors (`Malformed constraint: >>1`)
    ├── InvalidKiteError            a registration the storage refuses (`Empty Kite field: id`)
    │   └── KiteIdTakenError        the id belongs to another user's live registration
    ├── KeyPairError                key-pair storage answers
    │   ├── InvalidKeyPairError     `KeyPair ID field is empty`, ...
    │   ├── KeyPairExistsError      the id, public or private key is already stored
    │   ├── KeyNotFoundError        `no key pair found` (Go's ErrNoKeyFound)
    │   └── KeyDeletedError         `key pair is removed` (Go's ErrKeyDeleted)
    └── StorageError                the database failed; the driver's exception is `__cause__`
        └── StorageUnavailableError cannot reach the database now (retry later; it reconnects)

No sqlite3 or psycopg exception leaves a storage call: each back-end translates them at its
boundary. Messages equal Go Kontrol's where Go has one, so the Kontrol kite methods can send
`message` unchanged as a `genericError`.
"""

from __future__ import annotations

__all__ = [
    "InvalidKeyPairError",
    "InvalidKiteError",
    "KeyDeletedError",
    "KeyNotFoundError",
    "KeyPairError",
    "KeyPairExistsError",
    "KiteIdTakenError",
    "KontrolError",
    "QueryError",
    "StorageError",
    "StorageUnavailableError",
    "VersionError",
]


class KontrolError(Exception):
    """Base of every kontrol error; `message` is the human (and wire) text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QueryError(KontrolError):
    """A `KontrolQuery` that cannot be run; nothing was read or written."""


class VersionError(QueryError):
    """A version or version constraint that go-version would not parse."""


class InvalidKiteError(KontrolError):
    """A kite identity, URL or key id the storage refuses to register; nothing was stored."""


class KiteIdTakenError(InvalidKiteError):
    """The kite id is held by another user's live registration; the holder's row is untouched.

    A registration's id belongs to the user who registered it for as long as the registration
    lives (Go Kontrol lets anyone re-register any id, which hands the id's callers to them).
    """

    def __init__(self, message: str = "kite id is registered by another user") -> None:
        super().__init__(message)


class KeyPairError(KontrolError):
    """Base of the key-pair storage answers."""


class InvalidKeyPairError(KeyPairError):
    """A key pair with an empty field (Go's `KeyPair.Validate` texts)."""


class KeyPairExistsError(KeyPairError):
    """Adding a key pair whose id, public or private key is already stored."""


class KeyNotFoundError(KeyPairError):
    """No key pair with that id or public key (Go: `no key pair found`)."""

    def __init__(self, message: str = "no key pair found") -> None:
        super().__init__(message)


class KeyDeletedError(KeyPairError):
    """The key pair exists but was deleted (Go: `key pair is removed`).

    Kontrol still trusts such a key for authentication so that kites can fetch the new one.
    """

    def __init__(self, message: str = "key pair is removed") -> None:
        super().__init__(message)


class StorageError(KontrolError):
    """The database failed; `__cause__` holds the driver's exception."""


class StorageUnavailableError(StorageError):
    """The database cannot be reached right now; later calls reconnect by themselves."""
