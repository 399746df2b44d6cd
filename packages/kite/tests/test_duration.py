"""Go duration strings: parse like `time.ParseDuration`, format like `Duration.String()`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kite import DurationError, format_duration, parse_duration
from kite._duration import format_seconds

NS, US, MS, S, M, H = 1, 1_000, 1_000_000, 1_000_000_000, 60_000_000_000, 3_600_000_000_000
INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)

# Go's own table (time/time_test.go parseDurationTests), values recomputed by hand.
PARSE_OK = [
    ("0", 0),
    ("5s", 5 * S),
    ("30s", 30 * S),
    ("1478s", 1478 * S),
    ("-5s", -5 * S),
    ("+5s", 5 * S),
    ("-0", 0),
    ("+0", 0),
    ("5.0s", 5 * S),
    ("5.6s", 5 * S + 600 * MS),
    ("5.s", 5 * S),
    (".5s", 500 * MS),
    ("1.0s", 1 * S),
    ("1.00s", 1 * S),
    ("1.004s", 1 * S + 4 * MS),
    ("1.0040s", 1 * S + 4 * MS),
    ("100.00100s", 100 * S + 1 * MS),
    ("10ns", 10 * NS),
    ("11us", 11 * US),
    ("12\u00b5s", 12 * US),
    ("12\u03bcs", 12 * US),
    ("13ms", 13 * MS),
    ("14s", 14 * S),
    ("15m", 15 * M),
    ("16h", 16 * H),
    ("3h30m", 3 * H + 30 * M),
    ("1h30m", 90 * M),
    ("500ms", 500 * MS),
    ("10.5s4m", 4 * M + 10 * S + 500 * MS),
    ("-2m3.4s", -(2 * M + 3 * S + 400 * MS)),
    ("1h2m3s4ms5us6ns", 1 * H + 2 * M + 3 * S + 4 * MS + 5 * US + 6 * NS),
    ("39h9m14.425s", 39 * H + 9 * M + 14 * S + 425 * MS),
    ("52763797000ns", 52763797000 * NS),
    ("0.3333333333333333333h", 20 * M),
    ("9007199254740993ns", (1 << 53) + 1),
    ("9223372036854775807ns", INT64_MAX),
    ("9223372036854775.807us", INT64_MAX),
    ("9223372036s854ms775us807ns", INT64_MAX),
    ("-9223372036854775808ns", INT64_MIN),
    ("-9223372036854775.808us", INT64_MIN),
    ("0.100000000000000000000h", 6 * M),
    ("0.830103483285477580700h", 49 * M + 48 * S + 372539827 * NS),
]

PARSE_ERRORS = [
    ("", 'time: invalid duration ""'),
    ("3", 'time: missing unit in duration "3"'),
    ("-", 'time: invalid duration "-"'),
    ("s", 'time: invalid duration "s"'),
    (".", 'time: invalid duration "."'),
    ("-.", 'time: invalid duration "-."'),
    (".s", 'time: invalid duration ".s"'),
    ("+.s", 'time: invalid duration "+.s"'),
    ("1d", 'time: unknown unit "d" in duration "1d"'),
    ("1h30", 'time: missing unit in duration "1h30"'),
    ("5 s", 'time: unknown unit " s" in duration "5 s"'),
    ("\x85\x85", 'time: invalid duration "\\xc2\\x85\\xc2\\x85"'),
    ("1\u00e9", 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"'),
    ('1"', 'time: unknown unit "\\"" in duration "1\\""'),
    ("9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'),
    ("9223372036854775.808us", 'time: invalid duration "9223372036854775.808us"'),
    ("9223372036854ms775us808ns", 'time: invalid duration "9223372036854ms775us808ns"'),
    ("-9223372036854775809ns", 'time: invalid duration "-9223372036854775809ns"'),
    ("99999999999999999999h", 'time: invalid duration "99999999999999999999h"'),
]

FORMAT = [
    (0, "0s"),
    (1, "1ns"),
    (1100, "1.1\u00b5s"),
    (2200 * US, "2.2ms"),
    (3300 * MS, "3.3s"),
    (4 * M + 5 * S, "4m5s"),
    (4 * M + 5001 * MS, "4m5.001s"),
    (5 * H + 6 * M + 7001 * MS, "5h6m7.001s"),
    (8 * M + 1, "8m0.000000001s"),
    (90 * M, "1h30m0s"),
    (48 * H + 10 * M, "48h10m0s"),
    (-(1 * S), "-1s"),
    (INT64_MAX, "2562047h47m16.854775807s"),
    (INT64_MIN, "-2562047h47m16.854775808s"),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_OK)
def test_parse_matches_go(text: str, expected: int) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(("text", "message"), PARSE_ERRORS)
def test_parse_errors_carry_go_text(text: str, message: str) -> None:
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    assert str(info.value) == message


@pytest.mark.parametrize(("ns", "text"), FORMAT)
def test_format_matches_go(ns: int, text: str) -> None:
    assert format_duration(ns) == text


@given(st.integers(min_value=INT64_MIN, max_value=INT64_MAX))
def test_format_then_parse_round_trips(ns: int) -> None:
    assert parse_duration(format_duration(ns)) == ns


@given(st.text(alphabet="0123456789.hmsnuµ+-", max_size=12))
def test_parse_never_crashes(text: str) -> None:
    outcome: int | str
    try:
        outcome = parse_duration(text)
    except DurationError as exc:
        outcome = str(exc)
    if isinstance(outcome, str):
        assert outcome.startswith("time: ")
    else:
        assert INT64_MIN <= outcome <= INT64_MAX


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (4, "4s"),
        (1.5, "1.5s"),
        (0.1, "100ms"),
        (0.0015, "1.5ms"),
        (0.000001, "1\u00b5s"),
        (0.000000001, "1ns"),
        (60, "1m0s"),
        (90.25, "1m30.25s"),
        (3600, "1h0m0s"),
        (3723, "1h2m3s"),
        (-2, "-2s"),
    ],
)
def test_format_seconds_rounds_to_nanoseconds(seconds: float, text: str) -> None:
    """What the timeout errors print (`No response to "m" method in 4s`)."""
    assert format_seconds(seconds) == text
