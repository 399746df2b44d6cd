"""Which build of kite's WebSocket connection this test run exercises: pure Python or mypyc.

``dev.py test`` runs kite's WebSocket tests twice: against ``packages/kite/src`` and, where a
C compiler is available, against the mypyc build (``tools/mypyc_build.py`` compiles
``kite._http._websocket``) with ``KITE_COMPILED=dnode,kite``. This test proves the second run
really loads the compiled module (and the first the pure one).
"""

from __future__ import annotations

import importlib.machinery
import os

import kite._http._websocket as websocket


def test_the_websocket_module_under_test_is_the_build_asked_for() -> None:
    compiled = "kite" in os.environ.get("KITE_COMPILED", "").split(",")
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    assert websocket.__file__.endswith(suffixes) == compiled, websocket.__file__
