"""go-version @23480c0 semantics: its own test tables, its error texts, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kontrol import VersionError, parse_constraints, parse_version

# -- parsing (go-version TestNewVersion) ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("1.2.3", True),
        ("1.0", True),
        ("1", True),
        ("1.2.beta", False),
        ("foo", False),
        ("1.2-5", True),
        ("1.2-beta.5", True),
        ("\n1.2", False),
        ("1.2\n", False),  # Python's `$` would allow this; Go's does not
        ("1.2.0-x.Y.0+metadata", True),
        ("1.2.0-x.Y.0+metadata-width-hypen", True),
        ("1.2.3-rc1-with-hypen", True),
        ("1.2.3.4", True),
        ("1.2.0.4-x.Y.0+metadata", True),
        ("1.2.0-X-1.2.0+metadata~dist", True),
        ("1.2.3.4-rc1-with-hypen", True),
        ("v1.2.3", True),
        ("foo1.2.3", False),
        ("1.7rc2", True),
        ("v1.7rc2", True),
        ("", False),
        (" 1.0", False),
        ("1.٣", False),  # non-ASCII digits are not digits to RE2
    ],
)
def test_new_version(text: str, ok: bool) -> None:
    if ok:
        parse_version(text)
    else:
        with pytest.raises(VersionError, match=r"^Malformed version: "):
            parse_version(text)


@pytest.mark.parametrize(
    ("text", "segments", "pre", "metadata", "string"),
    [
        ("1.2.3", (1, 2, 3), "", "", "1.2.3"),
        ("1.2-beta", (1, 2, 0), "beta", "", "1.2.0-beta"),
        ("1-x.Y.0", (1, 0, 0), "x.Y.0", "", "1.0.0-x.Y.0"),
        ("1.2.0-x.Y.0+metadata", (1, 2, 0), "x.Y.0", "metadata", "1.2.0-x.Y.0+metadata"),
        (
            "1.2.0-metadata-1.2.0+metadata~dist",
            (1, 2, 0),
            "metadata-1.2.0",
            "metadata~dist",
            "1.2.0-metadata-1.2.0+metadata~dist",
        ),
        ("1.4.9223372036854775807", (1, 4, 2**63 - 1), "", "", "1.4.9223372036854775807"),
        ("v01.002", (1, 2, 0), "", "", "1.2.0"),
    ],
)
def test_version_parts(text: str, segments: tuple, pre: str, metadata: str, string: str) -> None:
    v = parse_version(text)
    assert (v.segments, v.pre, v.metadata, str(v)) == (segments, pre, metadata, string)


def test_segment_overflow_has_go_error_text() -> None:
    with pytest.raises(VersionError) as info:
        parse_version("1.9223372036854775808")
    assert str(info.value) == (
        'Error parsing version: strconv.ParseInt: parsing "9223372036854775808": value out of range'
    )


# -- comparison (go-version TestVersionCompare, TestComparePreReleases) ---------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.2.3", "1.4.5", -1),
        ("1.2-beta", "1.2-beta", 0),
        ("1.2", "1.1.4", 1),
        ("1.2", "1.2-beta", 1),
        ("1.2+foo", "1.2+beta", 0),
        ("v1.2", "v1.2-beta", 1),
        ("v1.2+foo", "v1.2+beta", 0),
        ("v1.2.3.4", "v1.2.3.4", 0),
        ("v1.2.0.0", "v1.2", 0),
        ("v1.2.0.0.1", "v1.2", 1),
        ("v1.2", "v1.2.0.0", 0),
        ("v1.2", "v1.2.0.0.1", -1),
        ("v1.2.0.0", "v1.2.0.0.1", -1),
        ("v1.2.3.0", "v1.2.3.4", -1),
        ("1.7rc2", "1.7rc1", 1),
        ("1.7rc2", "1.7", -1),
        ("1.2.0", "1.2.0-X-1.2.0+metadata~dist", 1),
        ("1.2-beta.2", "1.2-beta.2", 0),
        ("1.2-beta.1", "1.2-beta.2", -1),
        ("1.2-beta.2", "1.2-beta.11", -1),
        ("3.2-alpha.1", "3.2-alpha", 1),
        ("1.2-beta.2", "1.2-beta.1", 1),
        ("1.2-beta.11", "1.2-beta.2", 1),
        ("1.2-beta", "1.2-beta.3", -1),
        ("1.2-alpha", "1.2-beta.3", -1),
        ("1.2-beta", "1.2-alpha.3", 1),
        ("3.0-alpha.3", "3.0-rc.1", -1),
        ("3.0-alpha3", "3.0-rc1", -1),
        ("3.0-alpha.1", "3.0-alpha.beta", -1),
        ("5.4-alpha", "5.4-alpha.beta", 1),
        ("v3.2-rc.1-1-g123", "v3.2-rc.2", 1),
        # go-version's comparePart quirk: numerically equal parts that differ as text
        ("1.0-01", "1.0-1", -1),
        ("1.0-1", "1.0-01", -1),
    ],
)
def test_compare(a: str, b: str, expected: int) -> None:
    assert parse_version(a).compare(parse_version(b)) == expected


# -- constraints (go-version TestNewConstraint, TestConstraintCheck) ------------------------


@pytest.mark.parametrize(
    ("text", "count"), [(">= 1.2", 1), ("1.0", 1), (">= 1.2, < 1.0", 2), (" ~>1.0 ,!=1.0.1", 2)]
)
def test_new_constraint(text: str, count: int) -> None:
    c = parse_constraints(text)
    assert len(c.items) == count
    assert str(c) == text  # Go's String(): the items as written, joined by ","


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (">= 1.x", "Malformed constraint: >= 1.x"),
        (">>1", "Malformed constraint: >>1"),
        ("", "Malformed constraint: "),
        (">= 1.0,", "Malformed constraint: "),
        ("=> 1.0", "Malformed constraint: => 1.0"),
        ("\v1.0", "Malformed constraint: \v1.0"),  # \v is not whitespace to Go
        (
            "11387778780781445675529500000000000000000",
            'Error parsing version: strconv.ParseInt: parsing "11387778780781445675529500000000000000000": value out of range',  # noqa: E501
        ),
    ],
)
def test_malformed_constraints(text: str, message: str) -> None:
    with pytest.raises(VersionError) as info:
        parse_constraints(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("constraint", "version", "ok"),
    [
        (">= 1.0, < 1.2", "1.1.5", True),
        ("< 1.0, < 1.2", "1.1.5", False),
        ("= 1.0", "1.1.5", False),
        ("= 1.0", "1.0.0", True),
        ("1.0", "1.0.0", True),
        ("~> 1.0", "2.0", False),
        ("~> 1.0", "1.1", True),
        ("~> 1.0", "1.2.3", True),
        ("~> 1.0.0", "1.2.3", False),
        ("~> 1.0.0", "1.0.7", True),
        ("~> 1.0.0", "1.1.0", False),
        ("~> 1.0.7", "1.0.4", False),
        ("~> 1.0.7", "1.0.7", True),
        ("~> 1.0.7", "1.0.8", True),
        ("~> 1.0.7", "1.0.7.5", True),
        ("~> 1.0.7", "1.0.6.99", False),
        ("~> 1.0.7", "1.0.8.0", True),
        ("~> 1.0.9.5", "1.0.9.5", True),
        ("~> 1.0.9.5", "1.0.9.4", False),
        ("~> 1.0.9.5", "1.0.9.6", True),
        ("~> 1.0.9.5", "1.0.9.5.0", True),
        ("~> 1.0.9.5", "1.0.9.5.1", True),
        ("~> 2.0", "2.1.0-beta", False),
        ("~> 2.1.0-a", "2.2.0", False),
        ("~> 2.1.0-a", "2.1.0", False),
        ("~> 2.1.0-a", "2.1.0-beta", True),
        ("~> 2.1.0-a", "2.2.0-alpha", False),
        ("> 2.0", "2.1.0-beta", False),
        (">= 2.1.0-a", "2.1.0-beta", True),
        (">= 2.1.0-a", "2.1.1-beta", False),
        (">= 2.0.0", "2.1.0-beta", False),
        (">= 2.1.0-a", "2.1.1", True),
        (">= 2.1.0-a", "2.1.0", True),
        ("<= 2.1.0-a", "2.0.0", True),
        ("!= 1.2.0", "1.2", False),
        ("!= 1.2.0", "1.2.0-beta", True),
        ("= 1.0.0", "1.0.0+build7", True),
    ],
)
def test_constraint_check(constraint: str, version: str, ok: bool) -> None:
    assert parse_constraints(constraint).check(parse_version(version)) is ok


def test_unparsable_versions_never_satisfy() -> None:
    c = parse_constraints("!= 1.0")
    assert c.check_text("1.1") is True
    assert c.check_text("latest") is False


# -- properties -----------------------------------------------------------------------------

versions = st.builds(
    lambda segs, pre, meta: (
        ".".join(map(str, segs)) + (f"-{pre}" if pre else "") + (f"+{meta}" if meta else "")
    ),
    st.lists(st.integers(0, 30), min_size=1, max_size=5),
    st.sampled_from(["", "alpha", "beta.2", "rc.1", "1", "x.Y.0"]),
    st.sampled_from(["", "build5", "meta~dist"]),
)


@given(versions)
def test_string_form_reparses_to_itself(text: str) -> None:
    v = parse_version(text)
    assert str(parse_version(str(v))) == str(v)
    assert v.compare(v) == 0


@given(versions, versions)
def test_compare_is_antisymmetric(a: str, b: str) -> None:
    x, y = parse_version(a), parse_version(b)
    assert x.compare(y) == -y.compare(x)


@given(versions, versions)
def test_operators_agree_with_compare(a: str, b: str) -> None:
    v, c = parse_version(a), parse_version(b)
    eq = parse_constraints(f"= {b}").check(v)
    ne = parse_constraints(f"!= {b}").check(v)
    assert eq is (v.compare(c) == 0)
    assert ne is not eq
