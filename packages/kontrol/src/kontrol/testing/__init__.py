"""Test support for kites and Kontrol, with or without pytest.

- `open_test_kontrol()`: `async with open_test_kontrol() as test_kontrol:` runs a Kontrol on
  SQLite in a temporary directory, served on 127.0.0.1, signing with the fixed test key pair
  (`kite.testing.TEST_KEY_PAIR`); `test_kontrol.url`, and `test_kontrol.config("alice")` gives a
  `kite.Config` with a kite key it issued for `alice`.
- The pytest plugin (`kontrol.testing.pytest_plugin`, entry point `pytest11`), with
  pytest-trio: fixtures `kontrol_server` (a `RunningKontrol`) and `kite_config` (the config of
  user `testuser`); `kite_test_keys` comes from kite's plugin.
"""

from ._test_kontrol import TEST_USERNAME, RunningKontrol, open_test_kontrol

__all__ = ["TEST_USERNAME", "RunningKontrol", "open_test_kontrol"]
