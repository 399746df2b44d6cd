"""KontrolQuery wire form and query planning (Go Kontrol's PostgreSQL rules, protocol §6.3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kite.protocol import KiteIdentity
from kontrol import (
    QUERY_FIELDS,
    KontrolQuery,
    QueryError,
    VersionError,
    plan_query,
)

CAPTURES = Path(__file__).resolve().parents[3] / "conformance" / "captures"


def _sent_queries() -> list[dict[str, object]]:
    """The `query` objects a Go client sent in the getKites capture."""
    found = []
    for line in (CAPTURES / "kontrol-getkites.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event.get("kind") != "ws-text" or event.get("dir") != "c2s":
            continue
        for frame in json.loads(event["data"]):
            msg = json.loads(frame)
            if msg.get("method") == "getKites":
                found.append(msg["arguments"][0]["withArgs"][0]["query"])
    return found


def test_wire_form_matches_the_go_capture() -> None:
    [sent] = _sent_queries()
    q = KontrolQuery.from_json(sent)
    assert q == KontrolQuery(username="anchor", name="math")
    # same keys, same order, same bytes as Go's encoder
    assert json.dumps(q.to_json(), separators=(",", ":")) == json.dumps(sent, separators=(",", ":"))
    assert q.audience() == "/anchor//math"  # the token `aud` in that capture


def test_from_json_is_lenient_like_go() -> None:
    q = KontrolQuery.from_json({"Name": "math", "USERNAME": "a", "extra": 5, "version": None})
    assert q == KontrolQuery(username="a", name="math")
    assert KontrolQuery.from_json(None) == KontrolQuery()
    with pytest.raises(QueryError):
        KontrolQuery.from_json({"name": 5})
    with pytest.raises(QueryError):
        KontrolQuery.from_json([1])  # type: ignore[arg-type]


def test_audience() -> None:
    assert KontrolQuery(username="u").audience() == "/u"
    assert KontrolQuery(username="u", environment="e").audience() == "/u/e"
    assert KontrolQuery(username="u", name="n", id="x").audience() == "/u//n"


@pytest.mark.parametrize(
    ("query", "equal", "has_constraint"),
    [
        (KontrolQuery(name="math"), (("name", "math"),), False),
        (KontrolQuery(id="x"), (("id", "x"),), False),  # id-only queries work
        (KontrolQuery(hostname="h", username="u"), (("username", "u"), ("hostname", "h")), False),
        (KontrolQuery(name="m", version="1.0.0"), (("name", "m"), ("version", "1.0.0")), False),
        (
            KontrolQuery(name="m", version="v1.0-beta"),
            (("name", "m"), ("version", "v1.0-beta")),
            False,
        ),
        (KontrolQuery(name="m", version=">= 1.0"), (("name", "m"),), True),
        (KontrolQuery(name="m", version=" 1.0"), (("name", "m"),), True),  # not a version: "= 1.0"
        (
            KontrolQuery(username="u", version="~> 1", region="r", id="i"),
            (("username", "u"), ("region", "r"), ("id", "i")),
            True,
        ),
    ],
)
def test_plan(query: KontrolQuery, equal: tuple, has_constraint: bool) -> None:
    plan = plan_query(query)
    assert plan.equal == equal
    assert (plan.constraint is not None) is has_constraint


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (KontrolQuery(), "all query fields are empty"),
        (KontrolQuery(version="> 1"), "all query fields are empty"),
        (
            KontrolQuery(version="> 1", region="r", hostname="h", id="i"),
            "all query fields are empty",
        ),
        (KontrolQuery(name="m", version=">>1"), "Malformed constraint: >>1"),
        (KontrolQuery(name="m", version="latest"), "Malformed constraint: latest"),
    ],
)
def test_plan_errors(query: KontrolQuery, message: str) -> None:
    with pytest.raises(QueryError) as info:
        plan_query(query)
    assert info.value.message == message
    assert isinstance(info.value, VersionError) is message.startswith("Malformed")


def test_constraint_is_checked_and_other_fields_are_exact() -> None:
    plan = plan_query(KontrolQuery(username="u", version=">= 1.0, < 2.0", region="us"))
    kite = KiteIdentity(username="u", version="1.5", region="us", name="n", id="i")
    assert plan.matches(kite)
    assert not plan.matches(KiteIdentity(username="u", version="2.0", region="us"))
    assert not plan.matches(KiteIdentity(username="u", version="1.5", region="us-east"))
    assert not plan.matches(KiteIdentity(username="u", version="latest", region="us"))


fields = st.sampled_from(["", "a", "b"])
identities = st.builds(
    KiteIdentity, **{f: st.sampled_from(["a", "b"]) for f in QUERY_FIELDS if f != "version"}
)


@given(identities, st.fixed_dictionaries({f: fields for f in QUERY_FIELDS if f != "version"}))
def test_match_is_equality_on_non_empty_fields(kite: KiteIdentity, q: dict[str, str]) -> None:
    query = KontrolQuery(**q)
    try:
        plan = plan_query(query)
    except QueryError:
        assert not any(q.values())
        return
    expected = all(getattr(kite, f) == v for f, v in q.items() if v)
    assert plan.matches(kite) is expected


@given(identities)
def test_a_kite_matches_its_own_query(kite: KiteIdentity) -> None:
    assert plan_query(KontrolQuery.from_kite(kite)).matches(kite)
