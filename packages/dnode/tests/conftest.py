"""Fixtures of the dnode tests: every codec test runs once per available JSON backend."""

from collections.abc import Iterator

import pytest

import dnode


@pytest.fixture(params=dnode.BACKENDS, autouse=True)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with each JSON backend (orjson when installed, and the stdlib)."""
    before = dnode.get_backend()
    dnode.set_backend(request.param)
    yield request.param
    dnode.set_backend(before)
