"""`KontrolQuery` and how Kontrol matches it against registered kites (docs/protocol.md §6.3).

A query has the seven identity fields; an empty field is a wildcard. We follow Go Kontrol's
PostgreSQL back-end (the one that works for every query shape; etcd needs a username and
contiguous fields and cannot do id-only queries):

1. `version` that go-version parses as a version (`1.0.0`, `1.2`, `v1.0.0-beta`) is matched as
   an exact **string** (`1.0` does not match `1.0.0`).
2. Any other non-empty `version` must parse as a constraint list (`>= 1.0, < 2.0`, `~> 1.1`,
   `!= 1.2.0`); its parse error is the query's error (`Malformed constraint: >>1`). Candidates
   are then selected by the other fields and filtered by the constraint; a kite whose version
   does not parse never satisfies a constraint. With a constraint, at least one of username,
   environment, name must be set (Go builds its candidate query from those three).
3. Every other non-empty field must be equal; all fields empty → `all query fields are empty`.

`plan_query` does the checking once and returns a `QueryPlan`: the equality part (done by the
database, with indexes) and the constraint (checked in Python on the candidates).

Deliberate differences from Go, all of which made Go return kites the query excluded: Go skips
the constraint when exactly one candidate matches the name, and with a constraint it compares
region/hostname/id as a string *prefix* (`us` matched `us-east`, and a hostname without a region
matched nothing). Here every non-empty field is always an exact match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dnode
from kite import audience_for_query, protocol
from kite.protocol import STRING_ORDER, KiteIdentity

from ._errors import QueryError, VersionError
from ._version import Constraints, parse_constraints, parse_version

__all__ = ["QUERY_FIELDS", "KontrolQuery", "QueryPlan", "plan_query"]

#: Field order of Go's `protocol.KontrolQuery` on the wire (general to specific).
QUERY_FIELDS: tuple[str, ...] = STRING_ORDER
_QUERY_NAMES = dnode.GoFields(*QUERY_FIELDS)

EMPTY_QUERY = "all query fields are empty"


@dataclass(frozen=True, slots=True)
class KontrolQuery(protocol.KontrolQuery):
    """Go's `protocol.KontrolQuery` (`kite.KontrolQuery`) as Kontrol reads it: strictly, and
    with the token audience it stands for."""

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | None) -> KontrolQuery:
        """Read a query object as Go's `encoding/json` would.

        Keys match fields as Go matches them (`dnode.GoFields`), unknown keys are ignored,
        `null` leaves a field as it was.

        Raises:
            QueryError: a field holds something other than a string or null.
        """
        if obj is None:
            return cls()
        if not isinstance(obj, Mapping):
            raise QueryError(f"invalid query: expected an object, got {type(obj).__name__}")
        values: dict[str, str] = {}
        for key, value in obj.items():
            field = _QUERY_NAMES.match(key)
            if field is None or value is None:
                continue
            if not isinstance(value, str):
                raise QueryError(f"invalid query: field {field!r} must be a string")
            values[field] = value
        return cls(**values)

    def audience(self) -> str:
        """Go Kontrol's token audience for this query: `/user[/env[/name]]` (protocol §5.6)."""
        return audience_for_query(self.username, self.environment, self.name)


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """A checked query: `equal` (field, value) pairs for the database, then `constraint`."""

    equal: tuple[tuple[str, str], ...]
    constraint: Constraints | None = None

    def matches(self, kite: KiteIdentity) -> bool:
        """The whole predicate, in Python (what the database part plus `accepts` decide)."""
        return all(getattr(kite, f) == v for f, v in self.equal) and self.accepts(kite)

    def accepts(self, kite: KiteIdentity) -> bool:
        """The part the database does not check: the version constraint, if any."""
        return self.constraint is None or self.constraint.check_text(kite.version)


def plan_query(query: KontrolQuery) -> QueryPlan:
    """Check a query and split it into database equality and a Python-side constraint.

    Raises:
        QueryError: `all query fields are empty`.
        VersionError: the version is neither a version nor a valid constraint list.
    """
    constraint: Constraints | None = None
    if query.version:
        try:
            parse_version(query.version)
        except VersionError:
            constraint = parse_constraints(query.version)
    if constraint is not None:
        if not (query.username or query.environment or query.name):
            raise QueryError(EMPTY_QUERY)
        fields = tuple(f for f in QUERY_FIELDS if f != "version")
    else:
        fields = QUERY_FIELDS
    equal = tuple((f, v) for f in fields if (v := getattr(query, f)))
    if not equal:
        raise QueryError(EMPTY_QUERY)
    return QueryPlan(equal, constraint)
