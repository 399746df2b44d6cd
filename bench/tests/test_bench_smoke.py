"""The benchmark suite runs (smoke mode: tiny samples). Never a timing assertion."""

import json
from pathlib import Path

import pytest

from bench import (
    Case,
    Measurement,
    RelativeGoal,
    Result,
    Scenario,
    SkipError,
    discover,
    percentile,
    run_any,
)
from bench._harness import discover_goals, goal_report, main, run_scenario, table


def test_every_case_runs_and_the_table_lists_it() -> None:
    cases = discover()
    assert any(c.name.startswith("dnode.") for c in cases)
    try:
        results = [run_any(c, smoke=True, sample_seconds=0.0005, repeat=1) for c in cases]
    finally:
        from bench._peers import close_shared

        close_shared()
    for r in results:
        assert isinstance(r, Result)
        # Known bug (bench/README.md, "XHR"): our XHR client takes sockjs-go's
        # c[2010,"Another connection still open"] poll answer for the session's end, which a
        # fast Go server gives now and then. Remove this allowance once the client re-polls.
        if "[py->go xhr]" in r.name and r.failed is not None:
            assert "disconnect" in r.failed.lower(), r.failed
            continue
        assert r.failed is None, f"{r.name}: {r.failed}"
        assert r.skipped is not None or r.median_s > 0, r.name
    text = table(results)
    for c in cases:
        assert c.name in text
    for r in results:
        if r.skipped is not None:
            assert f"SKIPPED: {r.skipped}" in text


def test_main_smoke_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["--smoke", "-k", "dnode.encode", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["smoke"] is True
    assert {r["name"] for r in doc["results"]} >= {"dnode.encode[json]"}


def test_the_dnode_request_is_about_one_kilobyte() -> None:
    from bench.dnode_bench import REQUEST_TEXT

    assert 900 <= len(REQUEST_TEXT) <= 1200


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)


def _missing(smoke: bool) -> Measurement:
    raise SkipError("no frobnicator here")


def _ten_calls(smoke: bool) -> Measurement:
    return Measurement(10, 0.5, [0.01] * 9 + [0.2], note="n", extra={"k": 1})


def test_a_scenario_reports_rate_latencies_and_ratio() -> None:
    fast = run_scenario(Scenario("x.fast", _ten_calls, goal=10.0, unit="call", compare_to="x.ref"))
    ref = run_scenario(Scenario("x.ref", lambda smoke: Measurement(10, 1.0), unit="call"))
    assert fast.per_second == pytest.approx(20.0)
    assert fast.p50_s == pytest.approx(0.01)
    assert fast.p99_s == pytest.approx(0.2)
    assert fast.meets_goal is True
    assert fast.extra == {"ops": 10, "seconds": 0.5, "k": 1}
    text = table([fast, ref])
    assert "x.fast: 2.00x x.ref" in text
    assert "10.00 ms" in text


def test_a_skipped_scenario_is_listed_with_its_reason(tmp_path: Path) -> None:
    result = run_scenario(Scenario("x.missing", _missing))
    assert result.skipped == "no frobnicator here"
    assert "SKIPPED: no frobnicator here" in table([result])


def test_a_case_below_its_goal_is_flagged() -> None:
    slow = run_any(
        Case("x.slow", lambda: sum(range(100_000)), goal=1e12),
        smoke=True,
        sample_seconds=0.0005,
        repeat=1,
    )
    assert "BELOW GOAL" in table([slow])


def _broken(smoke: bool) -> Measurement:
    raise RuntimeError("peer went away")


def test_a_failing_scenario_is_reported_and_the_run_goes_on() -> None:
    result = run_scenario(Scenario("x.broken", _broken))
    assert result.failed == "RuntimeError: peer went away"
    assert "FAILED: RuntimeError: peer went away" in table([result])


def _broken_in_a_nursery(smoke: bool) -> Measurement:
    raise ExceptionGroup("nursery", [RuntimeError("closed by server")])


def test_a_failure_inside_one_task_group_names_the_real_error() -> None:
    result = run_scenario(Scenario("x.group", _broken_in_a_nursery))
    assert result.failed == "RuntimeError: closed by server"


def _broken_twice(smoke: bool) -> Measurement:
    raise ExceptionGroup("nursery", [RuntimeError("first"), ValueError("second")])


def test_a_failure_in_several_tasks_names_the_first_and_counts_the_rest() -> None:
    result = run_scenario(Scenario("x.groups", _broken_twice))
    assert result.failed == "RuntimeError: first (and 1 more)"


def _result(name: str, per_second: float) -> Result:
    return Result(name, "call", 1 / per_second, [1 / per_second], 1, None)


def test_relative_goals_compare_cases_of_the_same_run() -> None:
    goals = [
        RelativeGoal("a", "ref", 1.0, "a at least ref"),
        RelativeGoal("a", "ref", 1.0, "a ahead of ref", ahead=True),
        RelativeGoal("b", "ref", 0.5, "b at least half of ref"),
        RelativeGoal("missing", "ref", 1.0, "not run: not reported"),
    ]
    results = [_result("a", 100.0), _result("b", 40.0), _result("ref", 100.0)]
    report = goal_report(results, goals)
    assert [(g["what"], g["met"]) for g in report] == [
        ("a at least ref", True),
        ("a ahead of ref", False),
        ("b at least half of ref", False),
    ]
    assert report[2]["ratio"] == pytest.approx(0.4)


def test_the_rpc_goals_name_real_cases() -> None:
    names = {c.name for c in discover("rpc.")}
    for goal in discover_goals():
        assert {goal.case, goal.reference} <= names


def test_the_kontrol_kite_case_registers_and_queries_on_sqlite() -> None:
    """The Python SQLite Kontrol needs nothing outside this repository: never skipped."""
    from bench import kontrol_bench

    cases = {c.name: c for c in kontrol_bench.CASES if isinstance(c, Scenario)}
    register = run_scenario(cases["kontrol.kite.register[python sqlite]"], smoke=True)
    assert register.skipped is None, register.skipped
    assert register.failed is None, register.failed
    assert register.extra["ops"] == kontrol_bench.SMOKE_KITE_KITES
    assert register.p99_s is not None
    assert register.p99_s > 0
    by_id = run_scenario(cases["kontrol.kite.getKites[id][python sqlite]"], smoke=True)
    assert by_id.failed is None, by_id.failed
    assert by_id.extra["ops"] == kontrol_bench.SMOKE_KITE_QUERIES
    for kontrol in ("python postgres", "go postgres"):
        assert f"kontrol.kite.register[{kontrol}]" in cases
