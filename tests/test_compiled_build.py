"""Which build this test run exercises: pure Python, or the mypyc build of our hot modules.

``dev.py test`` runs the compiled modules' tests twice: against ``packages/*/src`` and, where a
C compiler is available, against the mypyc build (``tools/mypyc_build.py``) with
``KITE_COMPILED`` naming the compiled packages. This test proves each run loads the build it
claims: every module of ``COMPILED`` is a C extension exactly when its package is named.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from mypyc_build import COMPILED  # noqa: E402

MODULES = [
    (package, f"{package}.{name.removesuffix('.py').replace('/', '.')}")
    for package, names in COMPILED.items()
    for name in names
]


@pytest.mark.parametrize(("package", "module"), MODULES)
def test_each_compiled_module_is_the_build_asked_for(package: str, module: str) -> None:
    compiled = package in os.environ.get("KITE_COMPILED", "").split(",")
    path = importlib.import_module(module).__file__ or ""
    assert path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)) == compiled, path
