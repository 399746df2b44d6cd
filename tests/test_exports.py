"""The public API of all four packages, in the manner of trio's `test_exports`: every name in
`__all__` is importable and public, and every public name a package has is in its `__all__`."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = ("dnode", "sockjs", "kite", "kontrol")


@pytest.mark.parametrize("name", PACKAGES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    assert [n for n in exported if n.startswith("_")] == []
    for attr in exported:
        # `from pkg import name` works, and gives the attribute itself.
        namespace: dict[str, object] = {}
        exec(f"from {name} import {attr}", namespace)
        assert namespace[attr] is getattr(module, attr)
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(exported)


@pytest.mark.parametrize("name", PACKAGES)
def test_star_import_gives_all(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)
    namespace.pop("__builtins__", None)
    assert set(namespace) == set(importlib.import_module(name).__all__)


def test_kite_exports_the_transport_errors() -> None:
    import kite
    from kite import _http

    for attr in _http._errors.__all__:
        assert attr in kite.__all__, attr
        assert getattr(kite, attr) is getattr(_http, attr)
        assert issubclass(getattr(kite, attr), kite.TransportError)
    assert issubclass(kite.ListenError, OSError)
