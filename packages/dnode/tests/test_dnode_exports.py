"""The public API is exactly what we mean, and importing dnode stays light."""

import subprocess
import sys

import dnode


def test_all_names_exist_and_nothing_private_is_exported() -> None:
    assert sorted(dnode.__all__) == sorted(set(dnode.__all__))
    for name in dnode.__all__:
        assert hasattr(dnode, name), name
        assert not name.startswith("_")
    public = {n for n in vars(dnode) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(dnode, n)).__name__ == "module"}
    assert public - modules == set(dnode.__all__)


def test_exception_tree() -> None:
    assert issubclass(dnode.ScrubError, dnode.EncodeError)
    for exc in (
        dnode.DecodeError,
        dnode.EncodeError,
        dnode.PathError,
        dnode.ArgumentError,
        dnode.CallbackLimitError,
    ):
        assert issubclass(exc, dnode.DnodeError)
    for exc in (dnode.DecodeError, dnode.EncodeError, dnode.PathError, dnode.ArgumentError):
        assert issubclass(exc, ValueError)


def test_import_dnode_imports_nothing_outside_the_stdlib_but_orjson() -> None:
    code = (
        "import sys; before = set(sys.modules); import dnode; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    stdlib = sys.stdlib_module_names
    # dnode__mypyc: the shared runtime of the mypyc build (tools/mypyc_build.py), when tested
    foreign = {m for m in out if m.split(".")[0] not in stdlib} - {
        "dnode",
        "orjson",
        "dnode__mypyc",
    }
    foreign = {m for m in foreign if not m.startswith(("dnode.", "orjson."))}
    assert foreign == set()
    assert "trio" not in out
