"""The benchmark suite runs (smoke mode: tiny samples). Never a timing assertion."""

import json
from pathlib import Path

from bench import Result, discover, run_case
from bench._harness import main, table


def test_every_case_runs_and_the_table_lists_it() -> None:
    cases = discover()
    assert any(c.name.startswith("dnode.") for c in cases)
    results = [run_case(c, sample_seconds=0.0005, repeat=1) for c in cases]
    assert all(isinstance(r, Result) and r.median_s > 0 for r in results)
    text = table(results)
    for c in cases:
        assert c.name in text


def test_main_smoke_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["--smoke", "-k", "dnode.encode", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["smoke"] is True
    assert {r["name"] for r in doc["results"]} >= {"dnode.encode[json]"}


def test_the_dnode_request_is_about_one_kilobyte() -> None:
    from bench.dnode_bench import REQUEST_TEXT

    assert 900 <= len(REQUEST_TEXT) <= 1200
