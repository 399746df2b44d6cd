"""`conformance.matrix` reads pytest's junit report and rewrites only the marked README part."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.matrix import CELLS, END, START, Outcome, read_junit, render, rewrite_readme

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="conformance.tests.test_interop_py_client"
 name="test_results[square-websocket]"/>
<testcase classname="conformance.tests.test_interop_py_client" name="test_errors[fail-websocket]">
<failure message="AssertionError: boom">trace</failure></testcase>
<testcase classname="conformance.tests.test_interop_py_client" name="test_results[square-xhr]"/>
<testcase classname="conformance.tests.test_interop_auth"
 name="test_go_client_with_python_issued_key[websocket-go]">
<skipped type="pytest.xfail" message="bug 1"/></testcase>
<testcase classname="conformance.tests.test_interop_kontrol"
 name="test_python_kite_registers_to_go_kontrol">
<skipped type="pytest.skip" message="KITE_TEST_POSTGRES_DSN is not set"/></testcase>
<testcase classname="conformance.tests.test_interop_proxy"
 name="test_kite_behind_python_proxy[go-tunnel]"/>
<testcase classname="conformance.tests.test_interop_proxy"
 name="test_kite_behind_python_proxy[python-tunnel]"/>
</testsuite></testsuites>"""


def test_read_junit(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    path.write_text(JUNIT)
    outcomes = read_junit(path)
    assert [o.status for o in outcomes] == [
        "passed",
        "failed",
        "passed",
        "xfailed",
        "skipped",
        "passed",
        "passed",
    ]
    assert outcomes[1] == Outcome(
        "test_interop_py_client", "test_errors[fail-websocket]", "failed", "AssertionError: boom"
    )


def test_render_groups_cases_into_cells(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    path.write_text(JUNIT)
    table = render(read_junit(path), "now")
    cells = [line for line in table.splitlines() if line.startswith("| ") and " | " in line]
    rows = {" → ".join(line.split(" | ")[:2]): line for line in cells}
    assert table.startswith(START)
    assert table.endswith(END)
    assert "✗ (1 failed, 1 passed)" in rows["| Python client, WebSocket → Go kite (gomath)"]
    assert "✓ 1" in rows["| Python client, XHR → Go kite (gomath)"]
    assert (
        "xfail (1/1): bug 1"
        in rows["| Go client, kite key from Python Kontrol → Go kite (gomath -auth)"]
    )
    assert (
        "skipped: KITE_TEST_POSTGRES_DSN"
        in rows[
            "| Python kite registering (kite connection, HTTP /register) → Go Kontrol (gokontrol)"
        ]
    )
    assert "not run" in rows["| Go client (goclient), XHR → Python kite"]
    tunnel = "Python tunnel proxy (`TunnelProxy`)"
    assert "✓ 1" in rows[f"| Go kite (gomath -register tunnel) → {tunnel}"]
    assert "✓ 1" in rows[f"| Python kite (`register_to_tunnel`) → {tunnel}"]
    assert (
        "not run"
        in rows["| Go kite (gomath -register proxy) → Python reverse proxy (`ReverseProxy`)"]
    )
    assert len(cells) == len(CELLS) + 1  # and the header


def test_rewrite_keeps_everything_outside_the_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# t\n\nbefore\n{START}\nold\n{END}\nafter\n")
    rewrite_readme(f"{START}\nnew\n{END}", readme)
    assert readme.read_text() == f"# t\n\nbefore\n{START}\nnew\n{END}\nafter\n"
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="no <!-- matrix:start -->"):
        rewrite_readme("x", readme)
