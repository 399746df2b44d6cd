"""Test support.

- `TEST_KEY_PAIR`: a fixed RSA key pair for tests (Go kite's `testkeys`); the pytest plugin
  (`kite.testing.pytest_plugin`, registered through the `pytest11` entry point) offers it as the
  session fixture `kite_test_keys`. A running Kontrol trusting it, and kite configurations it
  issued, come with `kite-kontrol`: `kontrol.testing`.
- The SockJS protocol test application (`python -m kite.testing.sockjs_app`).
"""

from ._keys import TEST_KEY_PAIR
from .sockjs_app import SERVICES, echo, open_sockjs_app

__all__ = ["SERVICES", "TEST_KEY_PAIR", "echo", "open_sockjs_app"]
