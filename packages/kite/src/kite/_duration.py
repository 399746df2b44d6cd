"""Go `time.Duration` strings: `parse_duration` and `format_duration` (docs/protocol.md §7.2).

How this works: a duration is an integer count of nanoseconds in the int64 range, like Go's.
`parse_duration` walks the text the way Go's `time.ParseDuration` does (optional sign, then one or
more `<digits>[.<digits>]<unit>` groups, units `ns us µs μs ms s m h`, `"0"` alone allowed) and
raises `DurationError` carrying Go's exact message (`time: invalid duration "x"`, `time: missing
unit in duration "1"`, `time: unknown unit "d" in duration "1d"`). Fractions use the same float64
arithmetic as Go so results are identical to the nanosecond. `format_duration` is Go's
`Duration.String()` (`1h30m0s`, `500ms`, `1.5µs`, `0s`), used in error texts such as `token is
expired by 5m0s`.
"""

from __future__ import annotations

__all__ = [
    "NANOSECOND",
    "SECOND",
    "DurationError",
    "format_duration",
    "format_seconds",
    "parse_duration",
]

NANOSECOND = 1
MICROSECOND = 1000 * NANOSECOND
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_INT64_LIMIT = 1 << 63  # |min int64|; max int64 is one less

_UNITS: dict[str, int] = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,  # micro sign
    "\u03bcs": MICROSECOND,  # Greek mu
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}


class DurationError(ValueError):
    """A string Go's `time.ParseDuration` refuses; `str()` is Go's error text."""


def _go_quote(text: str) -> str:
    """Go's `time.quote`: double quotes, `\\"`/`\\\\` escaped, bytes outside printable ASCII
    written as `\\xNN` (one per UTF-8 byte)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if code < 0x20 or code >= 0x80:
            raw = ch.encode("utf-8", "surrogateescape")
            out.extend(f"\\x{b:02x}" for b in raw)
        else:
            if ch in '"\\':
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


def _is_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def parse_duration(text: str) -> int:
    """Parse a Go duration string (`"1h30m"`, `"-1.5s"`, `"500ms"`) into nanoseconds.

    Raises:
        DurationError: with Go's exact message when Go would refuse the string.
    """
    orig = text
    s = text
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise DurationError("time: invalid duration " + _go_quote(orig))
    total = 0
    while s:
        if not (s[0] == "." or _is_digit(s[0])):
            raise DurationError("time: invalid duration " + _go_quote(orig))
        # Leading integer, refusing overflow past 2**63 as Go does.
        i = 0
        whole = 0
        while i < len(s) and _is_digit(s[i]):
            if whole > _INT64_LIMIT // 10:
                raise DurationError("time: invalid duration " + _go_quote(orig))
            whole = whole * 10 + (ord(s[i]) - 48)
            if whole > _INT64_LIMIT:
                raise DurationError("time: invalid duration " + _go_quote(orig))
            i += 1
        pre = i > 0
        s = s[i:]
        frac = 0
        scale = 1.0
        post = False
        if s and s[0] == ".":
            s = s[1:]
            i = 0
            overflow = False
            while i < len(s) and _is_digit(s[i]):
                if not overflow:
                    if frac > (_INT64_LIMIT - 1) // 10:
                        overflow = True
                    else:
                        candidate = frac * 10 + (ord(s[i]) - 48)
                        if candidate > _INT64_LIMIT:
                            overflow = True
                        else:
                            frac = candidate
                            scale *= 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise DurationError("time: invalid duration " + _go_quote(orig))
        i = 0
        while i < len(s) and not (s[i] == "." or _is_digit(s[i])):
            i += 1
        if i == 0:
            raise DurationError("time: missing unit in duration " + _go_quote(orig))
        unit_text, s = s[:i], s[i:]
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise DurationError(
                "time: unknown unit " + _go_quote(unit_text) + " in duration " + _go_quote(orig)
            )
        if whole > _INT64_LIMIT // unit:
            raise DurationError("time: invalid duration " + _go_quote(orig))
        value = whole * unit
        if frac > 0:
            # Same float64 computation as Go: exact to the nanosecond for fractions of hours.
            value += int(float(frac) * (float(unit) / scale))
            if value > _INT64_LIMIT:
                raise DurationError("time: invalid duration " + _go_quote(orig))
        total += value
        if total > _INT64_LIMIT:
            raise DurationError("time: invalid duration " + _go_quote(orig))
    if neg:
        return -total
    if total > _INT64_LIMIT - 1:
        raise DurationError("time: invalid duration " + _go_quote(orig))
    return total


def _frac(value: int, precision: int) -> tuple[str, int]:
    """Go's `fmtFrac`: the fractional digits of `value / 10**precision` without trailing
    zeros (and without the dot when all are zero), plus the integer part."""
    digits: list[str] = []
    printed = False
    for _ in range(precision):
        digit = value % 10
        printed = printed or digit != 0
        if printed:
            digits.append(str(digit))
        value //= 10
    text = "." + "".join(reversed(digits)) if printed else ""
    return text, value


def format_duration(ns: int) -> str:
    """Go's `Duration.String()` for a nanosecond count: `72h3m0.5s`, `1.5µs`, `0s`."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < SECOND:
        if u < MICROSECOND:
            body = f"{u}ns"
        elif u < MILLISECOND:
            frac, whole = _frac(u, 3)
            body = f"{whole}{frac}\u00b5s"
        else:
            frac, whole = _frac(u, 6)
            body = f"{whole}{frac}ms"
    else:
        frac, u = _frac(u, 9)
        body = f"{u % 60}{frac}s"
        u //= 60
        if u > 0:
            body = f"{u % 60}m{body}"
            u //= 60
            if u > 0:
                body = f"{u}h{body}"
    return "-" + body if neg else body


def format_seconds(seconds: float) -> str:
    """`format_duration` of a number of seconds (rounded to whole nanoseconds)."""
    return format_duration(seconds_to_ns(seconds))


def seconds_to_ns(seconds: float) -> int:
    """Round a float number of seconds to whole nanoseconds."""
    return round(seconds * SECOND)
