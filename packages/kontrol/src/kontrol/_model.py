"""What Kontrol stores: registered kites and key pairs (docs/protocol.md §6.3, §6.6).

A `KiteRecord` is one row of Go's `kite.kite` table (Go's `KiteWithToken` without the token): the
kite's identity, the URL it registered and the id of the key pair its kite key was signed with.
A `KeyPair` is one row of `kite.key`. The validation helpers here return Go's error texts so the
Kontrol methods can send them unchanged.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from kite.protocol import STRING_ORDER, KiteIdentity

from ._errors import InvalidKeyPairError, InvalidKiteError

__all__ = ["KeyPair", "KiteRecord", "canonical_uuid", "validate_kite"]

_UUID_RE = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


@dataclass(frozen=True, slots=True)
class KiteRecord:
    """A registered kite: identity, URL, key-pair id and last refresh (Unix seconds)."""

    kite: KiteIdentity
    url: str
    key_id: str
    updated_at: float

    def to_json(self) -> dict[str, object]:
        """Go's `KiteWithToken` without `token`: keys `kite`, `url`, `keyId` (omitted if empty)."""
        out: dict[str, object] = {"kite": self.kite.to_json(), "url": self.url}
        if self.key_id:
            out["keyId"] = self.key_id
        return out


@dataclass(frozen=True, slots=True, repr=False)
class KeyPair:
    """A Kontrol signing key pair: id, public PEM, private PEM (Go's `KeyPair`)."""

    id: str
    public: str
    private: str

    def __repr__(self) -> str:
        # Never put a private key into logs or tracebacks.
        return f"KeyPair(id={self.id!r}, public={self.public[:40]!r}..., private=<hidden>)"

    def validate(self) -> None:
        """Go's `KeyPair.Validate`.

        Raises:
            InvalidKeyPairError: `KeyPair <ID|Public|Private> field is empty`.
        """
        for label, value in (("ID", self.id), ("Public", self.public), ("Private", self.private)):
            if not value:
                raise InvalidKeyPairError(f"KeyPair {label} field is empty")


def validate_kite(kite: KiteIdentity) -> None:
    """Go's `validateKiteKey` as used by `register`: every field set, none containing `/`.

    Fields are checked in the query order (username, environment, name, version, region,
    hostname, id); Go walks a map, so which bad field it names is random.

    Raises:
        InvalidKiteError: `Empty Kite field: <field>` or `Field "<field>" must not contain '/'`.
    """
    for field in STRING_ORDER:
        value: str = getattr(kite, field)
        if not value:
            raise InvalidKiteError(f"Empty Kite field: {field}")
        if "/" in value:
            raise InvalidKiteError(f"Field \"{field}\" must not contain '/'")


def canonical_uuid(text: str) -> str | None:
    """PostgreSQL's canonical text of a UUID (lower case, hyphenated), or None if not a UUID.

    Accepts the spellings PostgreSQL's `uuid` input does that matter in practice: any case,
    with or without hyphens, optionally in braces.
    """
    s = text[1:-1] if text.startswith("{") and text.endswith("}") else text
    if not _UUID_RE.fullmatch(s):
        return None
    return str(uuid.UUID(hex=s.replace("-", "")))
