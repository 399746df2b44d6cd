"""Kontrol's pytest plugin (entry point `pytest11`, name `kontrol`): `kontrol_server` and
`kite_config`, for trio tests (pytest-trio: `trio_mode = true`, or `@pytest.mark.trio`).

```python
async def test_square(kontrol_server, kite_config):
    math = kite.Kite("math", "1.0.0", kite_config)
    ...
```

Both fixtures are function-scoped (each test runs its own trio loop); `kite_test_keys`, the
key pair Kontrol signs with, is session-scoped and comes from kite's plugin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import kite

from ._test_kontrol import TEST_USERNAME, RunningKontrol, open_test_kontrol

__all__ = ["kite_config", "kontrol_server"]


@pytest.fixture
async def kontrol_server(
    kite_test_keys: kite.KeyPair, tmp_path: Path
) -> AsyncIterator[RunningKontrol]:
    """A Kontrol running for the test (SQLite under `tmp_path`), served on 127.0.0.1 and
    signing with `kite_test_keys`; `.url` is its URL."""
    async with open_test_kontrol(key_pair=kite_test_keys, data_dir=tmp_path / "kontrol") as k:
        yield k


@pytest.fixture
def kite_config(kontrol_server: RunningKontrol) -> kite.Config:
    """A `kite.Config` for user `testuser` with a kite key issued by `kontrol_server` (its
    `kontrol_url` set): `Kite(name, version, kite_config)` can register and query at once."""
    return kontrol_server.config(TEST_USERNAME)
