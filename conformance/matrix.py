"""Regenerate the interop matrix in ``conformance/README.md`` from a real test run.

How this works: ``python -m conformance.matrix`` runs the live interop tests
(``conformance/tests/test_interop_*.py`` plus the Go-only Kontrol test of ``test_go_peers.py``)
under pytest with ``--junitxml``, reads each test case's outcome (passed, failed, error, skipped,
xfailed), groups them into the cells of `CELLS` (a caller, a callee, what is exercised and which
tests prove it) and rewrites the part of the README between ``<!-- matrix:start -->`` and
``<!-- matrix:end -->`` with one table row per cell and the date of the run.
``--junit FILE`` renders an existing report instead of running the tests; ``--print`` writes the
table to stdout and leaves the README alone. A cell shows ``✓ n`` when all its n tests passed,
``✗`` with counts when any failed, ``xfail`` for known (strict) failures and ``skipped: <reason>``
when the run lacked Go or PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CELLS",
    "END",
    "README",
    "START",
    "TEST_FILES",
    "Cell",
    "Outcome",
    "main",
    "read_junit",
    "render",
    "rewrite_readme",
]

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
START = "<!-- matrix:start -->"
END = "<!-- matrix:end -->"
TEST_FILES: tuple[str, ...] = (
    "conformance/tests/test_interop_py_client.py",
    "conformance/tests/test_interop_go_client.py",
    "conformance/tests/test_interop_auth.py",
    "conformance/tests/test_interop_kontrol.py",
    "conformance/tests/test_interop_proxy.py",
    "conformance/tests/test_interop_proxy_failover.py",
    "conformance/tests/test_interop_tunnel.py",
    "conformance/tests/test_go_peers.py::test_go_kontrol_registers_finds_and_authorises",
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One test case of a run: ``module`` (``test_interop_auth``), ``name`` with parameters,
    ``status`` (``passed``, ``failed``, ``error``, ``skipped``, ``xfailed``) and the reason."""

    module: str
    name: str
    status: str
    reason: str = ""


def _select(module: str, function: str, *params: str) -> Callable[[Outcome], bool]:
    """Test cases of ``module::function`` whose parameter id contains every one of ``params``."""

    def pick(o: Outcome) -> bool:
        base, _, ids = o.name.partition("[")
        parts = ids.rstrip("]").split("-") if ids else []
        return o.module == module and base == function and all(p in parts for p in params)

    return pick


@dataclass(frozen=True, slots=True)
class Cell:
    """One row of the matrix: who calls whom, what is exercised, which tests prove it."""

    caller: str
    callee: str
    what: str
    tests: Callable[[Outcome], bool]
    where: str


_PY, _GO = "test_interop_py_client", "test_interop_go_client"
_AUTH, _KON = "test_interop_auth", "test_interop_kontrol"
_PRX, _FAIL = "test_interop_proxy", "test_interop_proxy_failover"
_TUN = "test_interop_tunnel"
_CALLS = "results, callbacks both ways, `client.hello`, every error type, request limit"
_PROXIED = (
    "listed by Python Kontrol under the proxy's URL; called there by the Python client,"
    " goquery, goclient (WebSocket and XHR, callbacks over both) and `kite tell`; dropped"
    " when the kite stops"
)
_MOVED = (
    "its proxy stopped: registers through a second one (reverse; tunnel), Kontrol lists the"
    " new URL, calls work through it"
)


def _any(*picks: Callable[[Outcome], bool]) -> Callable[[Outcome], bool]:
    return lambda o: any(p(o) for p in picks)


def _py_client(transport: str) -> Callable[[Outcome], bool]:
    names = (
        "test_results",
        "test_callbacks_we_pass_are_called",
        "test_go_kite_calls_us_back",
        "test_errors",
        "test_request_limit",
    )
    return _any(*(_select(_PY, n, transport) for n in names))


def _go_client(transport: str) -> Callable[[Outcome], bool]:
    return _any(
        _select(_GO, "test_go_client_calls_python_kite", transport),
        _select(_GO, "test_request_limit_spans_connections", transport),
    )


def _tunnelled(who: str) -> Callable[[Outcome], bool]:
    return _any(
        _select(_PRX, "test_kite_behind_python_proxy", who, "tunnel"),
        _select(_PRX, "test_long_messages_through_python_tunnel_proxy", who),
    )


CELLS: tuple[Cell, ...] = (
    Cell("Python client, WebSocket", "Go kite (gomath)", _CALLS, _py_client("websocket"), _PY),
    Cell("Python client, XHR", "Go kite (gomath)", _CALLS, _py_client("xhr"), _PY),
    Cell("Go client (goclient), WebSocket", "Python kite", _CALLS, _go_client("websocket"), _GO),
    Cell("Go client (goclient), XHR", "Python kite", _CALLS, _go_client("xhr"), _GO),
    Cell(
        "Go client, kite key from Python Kontrol",
        "Python kite",
        "`kiteKey` auth (WebSocket, XHR); foreign and missing keys refused",
        _select(_AUTH, "test_go_client_with_python_issued_key", "python"),
        _AUTH,
    ),
    Cell(
        "Go client, kite key from Python Kontrol",
        "Go kite (gomath -auth)",
        "`kiteKey` auth (WebSocket, XHR); foreign and missing keys refused",
        _select(_AUTH, "test_go_client_with_python_issued_key", "go"),
        _AUTH,
    ),
    Cell(
        "Python client, kite key from Go Kontrol",
        "Go kite (gomath -auth)",
        "`kiteKey` auth (WebSocket, XHR); foreign key refused",
        _select(_AUTH, "test_python_client_with_go_issued_key", "go"),
        _AUTH,
    ),
    Cell(
        "Python client, kite key from Go Kontrol",
        "Python kite",
        "`kiteKey` auth (WebSocket, XHR); foreign key refused",
        _select(_AUTH, "test_python_client_with_go_issued_key", "python"),
        _AUTH,
    ),
    Cell(
        "Go client, bad credentials (8 kinds)",
        "Python kite and Go kite (gomath -auth)",
        "same refusal (type, message, code) from both",
        _select(_AUTH, "test_refusals_match_go"),
        _AUTH,
    ),
    Cell(
        "Go kite registering (gomath -register ws/http)",
        "Python Kontrol",
        "found by Python `get_kites` and goquery, called with Python-issued `token`",
        _select(_KON, "test_go_kite_registers_to_python_kontrol"),
        _KON,
    ),
    Cell(
        "Go kite registering (gomath -register ws)",
        "Go Kontrol (gokontrol)",
        "found by goquery, called with Go-issued `token`",
        _select("test_go_peers", "test_go_kontrol_registers_finds_and_authorises"),
        "test_go_peers",
    ),
    Cell(
        "Python kite registering (kite connection, HTTP /register)",
        "Python Kontrol",
        "found by goquery, called with Python-issued `token`",
        _select(_KON, "test_python_kite_registers_to_python_kontrol"),
        _KON,
    ),
    Cell(
        "Python kite registering (kite connection, HTTP /register)",
        "Go Kontrol (gokontrol)",
        "found by goquery and Python `get_kites`, called with Go-issued `token`",
        _select(_KON, "test_python_kite_registers_to_go_kontrol"),
        _KON,
    ),
    Cell(
        "Python client (`get_kites`)",
        "Go Kontrol (gokontrol)",
        "finds gomath, calls it with Go-issued `token`",
        _select(_KON, "test_python_client_finds_go_kite_on_go_kontrol"),
        _KON,
    ),
    Cell(
        "Go Kontrol registration",
        "Python Kontrol, same PostgreSQL",
        "gomath registered via gokontrol is returned by Python `getKites`, token works",
        _select(_KON, "test_shared_postgres_go_registration_seen_by_python_kontrol"),
        _KON,
    ),
    Cell(
        "Python Kontrol registration",
        "Go Kontrol, same PostgreSQL",
        "Python kite registered via Python Kontrol is returned by gokontrol `getKites`",
        _select(_KON, "test_shared_postgres_python_registration_seen_by_go_kontrol"),
        _KON,
    ),
    Cell(
        "Go kite (gomath -register proxy)",
        "Python reverse proxy (`ReverseProxy`)",
        _PROXIED,
        _select(_PRX, "test_kite_behind_python_proxy", "go", "proxy"),
        _PRX,
    ),
    Cell(
        "Python kite (`register_to_proxy`)",
        "Python reverse proxy (`ReverseProxy`)",
        _PROXIED,
        _select(_PRX, "test_kite_behind_python_proxy", "python", "proxy"),
        _PRX,
    ),
    Cell(
        "Go kite (gomath -register tunnel)",
        "Python tunnel proxy (`TunnelProxy`)",
        _PROXIED + "; 100,000-character messages both ways",
        _tunnelled("go"),
        _PRX,
    ),
    Cell(
        "Python kite (`register_to_tunnel`)",
        "Python tunnel proxy (`TunnelProxy`)",
        _PROXIED + "; 100,000-character messages both ways",
        _tunnelled("python"),
        _PRX,
    ),
    Cell(
        "Python kite (`register_to_proxy`)",
        "Go reverse proxy (goreverseproxy)",
        "listed under the Go proxy's URL; Python client, goclient (WebSocket and XHR,"
        " callbacks over both)",
        _select(_PRX, "test_python_kite_behind_go_proxy"),
        _PRX,
    ),
    Cell(
        "Python kite (`register_to_tunnel`)",
        "Go tunnel proxy (gotunnelproxy)",
        "listed under the Go proxy's URL; Python client, goclient (WebSocket)",
        _select(_TUN, "test_python_kite_behind_go_tunnel_proxy"),
        _TUN,
    ),
    Cell(
        "Go kite (gomath -register proxy, tunnel)",
        "two Python proxies",
        _MOVED,
        _select(_FAIL, "test_kite_moves_to_another_proxy", "go"),
        _FAIL,
    ),
    Cell(
        "Python kite (`register_to_proxy`, `register_to_tunnel`)",
        "two Python proxies",
        _MOVED,
        _select(_FAIL, "test_kite_moves_to_another_proxy", "python"),
        _FAIL,
    ),
)


def read_junit(path: Path) -> list[Outcome]:
    """The test cases of a pytest ``--junitxml`` report."""
    outcomes: list[Outcome] = []
    for case in ET.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").rpartition(".")[2]
        status, reason = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                status, reason = child.tag.replace("failure", "failed"), child.get("message", "")
            elif child.tag == "skipped":
                xfail = child.get("type") == "pytest.xfail"
                status, reason = ("xfailed" if xfail else "skipped"), child.get("message", "")
        outcomes.append(Outcome(module, case.get("name", ""), status, reason))
    return outcomes


def _summary(cases: Sequence[Outcome]) -> str:
    if not cases:
        return "not run"
    counts: dict[str, int] = {}
    for case in cases:
        counts[case.status] = counts.get(case.status, 0) + 1
    if counts.get("failed") or counts.get("error"):
        detail = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        return f"✗ ({detail})"
    if counts.get("xfailed"):
        reason = next(c.reason for c in cases if c.status == "xfailed")
        return f"xfail ({counts['xfailed']}/{len(cases)}): {reason}"
    if counts.get("skipped") == len(cases):
        reason = cases[0].reason.removeprefix("Skipped: ")
        return f"skipped: {reason}"
    if counts.get("skipped"):
        return f"✓ {counts['passed']} ({counts['skipped']} skipped)"
    return f"✓ {len(cases)}"


def render(outcomes: Iterable[Outcome], when: str) -> str:
    """The Markdown table (between the markers) for a run's outcomes."""
    cases = list(outcomes)
    lines = [
        START,
        f"Last run: {when} (`python -m conformance.matrix`).",
        "",
        "| caller | callee | what | result | tests |",
        "|---|---|---|---|---|",
    ]
    for cell in CELLS:
        result = _summary([c for c in cases if cell.tests(c)]).replace("|", "\\|")
        row = f"| {cell.caller} | {cell.callee} | {cell.what} | {result} | `{cell.where}` |"
        lines.append(row)
    lines.append(END)
    return "\n".join(lines)


def rewrite_readme(table: str, readme: Path = README) -> None:
    """Replace the marked section of ``readme`` with ``table``.

    Raises:
        ValueError: the markers are missing or out of order.
    """
    text = readme.read_text()
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{readme} has no {START} ... {END} section")
    readme.write_text(text[:start] + table + text[end + len(END) :])


def _run_tests(junit: Path, extra: Sequence[str]) -> int:
    root = HERE.parent
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs"]
    argv += [f"--junitxml={junit}", *extra, *TEST_FILES]
    return subprocess.run(argv, cwd=root, check=False).returncode


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m conformance.matrix [--junit FILE] [--print] [-- PYTEST ARGS]``."""
    parser = argparse.ArgumentParser(prog="python -m conformance.matrix", description=__doc__)
    parser.add_argument("--junit", type=Path, help="render this junit report, run nothing")
    parser.add_argument("--print", action="store_true", help="print the table only")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rc = 0
    if args.junit is not None:
        outcomes = read_junit(args.junit)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            junit = Path(tmp) / "interop.xml"
            rc = _run_tests(junit, args.pytest_args)
            if not junit.exists():
                print("pytest wrote no report", file=sys.stderr)
                return rc or 1
            outcomes = read_junit(junit)
    table = render(outcomes, when)
    if args.print:
        print(table)
    else:
        rewrite_readme(table)
        print(f"rewrote the matrix in {README}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
