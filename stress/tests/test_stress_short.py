"""The reliability suite's short forms (`python -m stress --short`) as part of the test command:
each suite runs with small sizes and short timeouts and must report no broken bound."""

from __future__ import annotations

import importlib

import pytest

from stress import SUITES, render


@pytest.mark.slow
@pytest.mark.parametrize("name", SUITES)
def test_short_form_holds_every_bound(name: str) -> None:
    outcome = importlib.import_module(f"stress.{name}").run(long=False)
    assert outcome.rows, render(outcome)
    assert outcome.problems == [], render(outcome)
