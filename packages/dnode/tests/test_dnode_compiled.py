"""Which build of dnode this test run exercises: pure Python, or the mypyc build.

``dev.py test`` runs dnode's suite twice: against ``packages/dnode/src`` and, where a C
compiler is available, against the mypyc build (``tools/mypyc_build.py``) with
``KITE_COMPILED=dnode``. This test proves the second run really loads the compiled modules
(and the first the pure ones), so both builds pass the same tests.
"""

from __future__ import annotations

import importlib.machinery
import os

import dnode._scrub


def _is_extension(path: str | None) -> bool:
    return path is not None and path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_the_build_under_test_is_the_one_asked_for() -> None:
    compiled = "dnode" in os.environ.get("KITE_COMPILED", "").split(",")
    assert _is_extension(dnode._scrub.__file__) == compiled, dnode._scrub.__file__
