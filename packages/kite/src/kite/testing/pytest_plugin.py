"""kite's pytest plugin (entry point `pytest11`, name `kite`): the `kite_test_keys` fixture.

Installed with `kite-trio`; pytest loads it by itself. The Kontrol fixtures (`kontrol_server`,
`kite_config`) are in `kite-kontrol`'s plugin, `kontrol.testing.pytest_plugin`.
"""

from __future__ import annotations

import pytest

from .._auth._keys import KeyPair
from ._keys import TEST_KEY_PAIR

__all__ = ["kite_test_keys"]


@pytest.fixture(scope="session")
def kite_test_keys() -> KeyPair:
    """A fixed RSA key pair for tests (`kite.testing.TEST_KEY_PAIR`, Go's `testkeys`)."""
    return TEST_KEY_PAIR
