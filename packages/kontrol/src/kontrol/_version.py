"""Versions and version constraints exactly as hashicorp/go-version (@23480c0) reads them.

Go Kontrol (docs/protocol.md §6.3) decides what a query's `version` means with this library: a
string that parses as a version is matched as an exact *string*; anything else must parse as a
constraint list (`>= 1.0, < 2.0`, `~> 1.1`, `!= 1.2.0`, `= 1.0`, bare `1.0`) and filters the
candidates. So parsing, comparison and every error text here follow go-version to the letter:

* a version is `v?` + dot-separated numeric segments (padded with zeros to at least three,
  `si` remembers how many were written) + optional pre-release (`-beta.1`, or directly
  `1.7rc2`) + optional `+metadata`; segments are int64 (`Error parsing version: ...` on overflow);
* comparison pads jagged segment lists with zeros, a version with a pre-release is below the same
  segments without one, and pre-releases compare part by part with go-version's `comparePart`
  rules (including its oddities, e.g. numeric parts that differ only in leading zeros);
* constraints are comma-separated `<op> <version>` items, all of which must hold; ordering
  operators and `~>` never match a pre-release version unless the constraint's version is a
  pre-release of the same segments.

The regular expressions use explicit character classes and `fullmatch` so Python's Unicode `\\s`
and `$`-before-newline never widen what Go's RE2 accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ._errors import VersionError

__all__ = ["Constraint", "Constraints", "Version", "parse_constraints", "parse_version"]

_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)

# go-version's VersionRegexpRaw; groups 1 (segments), 4 (pre-release), 7 (metadata) are used.
_VERSION_RAW = (
    r"v?([0-9]+(\.[0-9]+)*?)"
    r"(-?([0-9A-Za-z\-~]+(\.[0-9A-Za-z\-~]+)*))?"
    r"(\+([0-9A-Za-z\-~]+(\.[0-9A-Za-z\-~]+)*))?"
    r"?"
)
_VERSION_RE = re.compile(_VERSION_RAW)
# Go's `\s` (RE2, ASCII): tab, newline, form feed, carriage return, space.
_WS = r"[\t\n\f\r ]*"
_CONSTRAINT_RE = re.compile(_WS + r"(~>|>=|<=|!=|=|>|<|)" + _WS + "(" + _VERSION_RAW + ")" + _WS)
_PRE_NUMERIC_RE = re.compile(r"[+-]?[0-9]+")


def _go_parse_int(s: str) -> int | None:
    """strconv.ParseInt(s, 10, 64): the value, or None where Go reports an error."""
    if not _PRE_NUMERIC_RE.fullmatch(s):
        return None
    value = int(s)
    return value if _INT64_MIN <= value <= _INT64_MAX else None


@dataclass(frozen=True, slots=True)
class Version:
    """A parsed go-version `Version`: segments (padded to >= 3), `si`, pre-release, metadata."""

    segments: tuple[int, ...]
    si: int
    pre: str = ""
    metadata: str = ""

    def __str__(self) -> str:
        """Go's `Version.String()`: normalised segments, then `-pre` and `+metadata`."""
        s = ".".join(str(x) for x in self.segments)
        if self.pre:
            s += "-" + self.pre
        if self.metadata:
            s += "+" + self.metadata
        return s

    def compare(self, other: Version) -> int:
        """-1, 0 or 1 as go-version's `Compare` (metadata is ignored, jagged segments padded)."""
        if str(self) == str(other):
            return 0
        mine, theirs = self.segments, other.segments
        if mine == theirs:
            if not self.pre and not other.pre:
                return 0
            if not self.pre:
                return 1
            if not other.pre:
                return -1
            return _compare_prereleases(self.pre, other.pre)
        for i in range(max(len(mine), len(theirs))):
            if i >= len(mine):
                return -1 if any(theirs[i:]) else 0
            if i >= len(theirs):
                return 1 if any(mine[i:]) else 0
            if mine[i] != theirs[i]:
                return -1 if mine[i] < theirs[i] else 1
        return 0


def parse_version(text: str) -> Version:
    """Go's `version.NewVersion`.

    Raises:
        VersionError: `Malformed version: <text>` or `Error parsing version: ...` (overflow).
    """
    m = _VERSION_RE.fullmatch(text)
    if m is None:
        raise VersionError(f"Malformed version: {text}")
    parts = m.group(1).split(".")
    segments: list[int] = []
    for part in parts:
        value = int(part)
        if value > _INT64_MAX:
            raise VersionError(
                f'Error parsing version: strconv.ParseInt: parsing "{part}": value out of range'
            )
        segments.append(value)
    si = len(segments)
    segments.extend([0] * (3 - len(segments)))
    return Version(tuple(segments), si, m.group(4) or "", m.group(7) or "")


def _compare_part(mine: str, theirs: str) -> int:
    # go-version's comparePart, oddities included (e.g. "01" vs "1" is -1 both ways).
    if mine == theirs:
        return 0
    my_int, their_int = _go_parse_int(mine), _go_parse_int(theirs)
    if mine == "":
        return -1 if their_int is not None else 1
    if theirs == "":
        return 1 if my_int is not None else -1
    if my_int is not None and their_int is None:
        return -1
    if my_int is None and their_int is not None:
        return 1
    if my_int is not None and their_int is not None:
        return 1 if my_int > their_int else -1
    return 1 if mine > theirs else -1


def _compare_prereleases(mine: str, theirs: str) -> int:
    if mine == theirs:
        return 0
    a, b = mine.split("."), theirs.split(".")
    for i in range(max(len(a), len(b))):
        result = _compare_part(a[i] if i < len(a) else "", b[i] if i < len(b) else "")
        if result:
            return result
    return 0


def _prerelease_ok(v: Version, c: Version) -> bool:
    if c.pre and v.pre:
        return c.segments == v.segments
    return not (v.pre and not c.pre)


def _pessimistic(v: Version, c: Version) -> bool:
    if not _prerelease_ok(v, c) or (c.pre and not v.pre):
        return False
    if v.compare(c) < 0:
        return False
    cs = len(c.segments)
    if cs > len(v.segments):
        return False
    if any(v.segments[i] != c.segments[i] for i in range(c.si - 1)):
        return False
    return c.segments[cs - 1] <= v.segments[cs - 1]


_OPERATORS: dict[str, Callable[[Version, Version], bool]] = {
    "": lambda v, c: v.compare(c) == 0,
    "=": lambda v, c: v.compare(c) == 0,
    "!=": lambda v, c: v.compare(c) != 0,
    ">": lambda v, c: _prerelease_ok(v, c) and v.compare(c) == 1,
    "<": lambda v, c: _prerelease_ok(v, c) and v.compare(c) == -1,
    ">=": lambda v, c: _prerelease_ok(v, c) and v.compare(c) >= 0,
    "<=": lambda v, c: _prerelease_ok(v, c) and v.compare(c) <= 0,
    "~>": _pessimistic,
}


@dataclass(frozen=True, slots=True)
class Constraint:
    """One `<operator> <version>` item; `original` is the text as written (Go's `String()`)."""

    operator: str
    version: Version
    original: str

    def check(self, v: Version) -> bool:
        """Does `v` satisfy this constraint?"""
        return _OPERATORS[self.operator](v, self.version)


@dataclass(frozen=True, slots=True)
class Constraints:
    """A comma-separated constraint list; a version must satisfy every item."""

    items: tuple[Constraint, ...]

    def check(self, v: Version) -> bool:
        """Does `v` satisfy all constraints?"""
        return all(c.check(v) for c in self.items)

    def check_text(self, text: str) -> bool:
        """Check a version string; one that does not parse never matches."""
        try:
            v = parse_version(text)
        except VersionError:
            return False
        return self.check(v)

    def __str__(self) -> str:
        return ",".join(c.original for c in self.items)


def parse_constraints(text: str) -> Constraints:
    """Go's `version.NewConstraint`: split on `,`, parse each item.

    Raises:
        VersionError: `Malformed constraint: <item>` (the item as written, spaces kept) or the
            version's own parse error.
    """
    items: list[Constraint] = []
    for single in text.split(","):
        m = _CONSTRAINT_RE.fullmatch(single)
        if m is None:
            raise VersionError(f"Malformed constraint: {single}")
        items.append(Constraint(m.group(1), parse_version(m.group(2)), single))
    return Constraints(tuple(items))
