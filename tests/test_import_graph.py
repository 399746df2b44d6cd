"""The import graph of the four packages, read from their source with `ast`: no package has an
import cycle among its modules, no package imports another package's private names, and each
declares exactly the distributions it imports.

Every import counts: at module level, under `if TYPE_CHECKING:` and inside functions. A module
imported from a package (`from . import _json`) is an edge to that module, not to the
package's `__init__`; any other name imported from a package is an edge to its `__init__`.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    name: ROOT / "packages" / name / "src" / name for name in ("dnode", "sockjs", "kite", "kontrol")
}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    module: str  # dotted name imported from (or imported)
    name: str  # the name imported from `module`, "" for `import module`
    line: int


def module_name(package: str, path: Path) -> str:
    parts = [package, *path.relative_to(PACKAGES[package]).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        module_name(package, path): path
        for package, root in PACKAGES.items()
        for path in sorted(root.rglob("*.py"))
    }


def imports_of(module: str, path: Path) -> Iterator[Import]:
    """Every import statement of `module`, wherever it is (TYPE_CHECKING, functions, ...)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, "", node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                yield Import(module, source, alias.name, node.lineno)


def internal_edges(all_modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports."""
    graph: dict[str, set[str]] = {name: set() for name in all_modules}
    for name, path in all_modules.items():
        top = name.split(".")[0]
        for imp in imports_of(name, path):
            if imp.module.split(".")[0] != top:
                continue
            submodule = f"{imp.module}.{imp.name}"
            target = submodule if submodule in all_modules else imp.module
            if target in all_modules and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycle_inside_a_package(package: str) -> None:
    graph = {
        name: edges
        for name, edges in internal_edges(modules()).items()
        if name.split(".")[0] == package
    }
    assert cycles(graph) == []


def test_no_package_imports_another_packages_private_names() -> None:
    private = []
    for name, path in modules().items():
        top = name.split(".")[0]
        for imp in imports_of(name, path):
            parts = imp.module.split(".")
            if parts[0] == top or parts[0] not in PACKAGES:
                continue
            if any(p.startswith("_") for p in parts[1:]) or imp.name.startswith("_"):
                private.append(f"{name}:{imp.line} imports {imp.module} {imp.name}".strip())
    assert private == []


def test_the_checker_sees_cycles_through_type_checking_and_function_imports(
    tmp_path: Path,
) -> None:
    """The graph includes the imports a cycle hides in: under TYPE_CHECKING, in a function."""
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "_a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ._b import B\n"
    )
    (root / "_b.py").write_text("def f():\n    from ._c import C\n")
    (root / "_c.py").write_text("from . import _a\n")
    (root / "_d.py").write_text("from . import _c\n")
    found = {f"pkg.{path.stem}": path for path in root.glob("*.py") if path.stem != "__init__"}
    graph = {name: set[str]() for name in found}
    for name, path in found.items():
        for imp in imports_of(name, path):
            sub = f"{imp.module}.{imp.name}"
            graph[name].add(sub if sub in found else imp.module)
        graph[name] &= set(found)
    assert cycles(graph) == [["pkg._a", "pkg._b", "pkg._c"]]


#: Distribution of each importable top-level name the packages may use.
DISTRIBUTIONS = {
    "dnode": "kite-dnode",
    "sockjs": "kite-sockjs",
    "kite": "kite-trio",
    "trio": "trio",
    "wsproto": "wsproto",
    "h11": "h11",
    "jwt": "PyJWT",
    "cryptography": "cryptography",
    "psycopg": "psycopg",
    "orjson": "orjson",
    "opentelemetry": "opentelemetry-api",
    "pytest": "pytest",
}
#: Imported only when installed (an optional speed-up, the `otel` extra's modules, the
#: PostgreSQL storage of kontrol's `postgres` extra, the pytest plugins of the `testing`
#: extra, which only pytest itself loads).
OPTIONAL = {"orjson", "opentelemetry-api", "psycopg", "pytest"}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_a_package_declares_exactly_the_distributions_it_imports(package: str) -> None:
    """Every runtime dependency is imported, and every imported distribution is declared
    (`OPTIONAL` ones may be imported without being required)."""
    pyproject = PACKAGES[package].parents[1] / "pyproject.toml"
    declared = {
        re.split(r"[\[<>=!~ ]", str(d), maxsplit=1)[0]
        for d in tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    }
    top_levels = {
        imp.module.split(".")[0]
        for name, path in modules().items()
        if name.split(".")[0] == package
        for imp in imports_of(name, path)
    }
    third_party = top_levels - set(sys.stdlib_module_names) - {package, "__future__", ""}
    assert third_party <= set(DISTRIBUTIONS), third_party - set(DISTRIBUTIONS)
    imported = {DISTRIBUTIONS[name] for name in third_party}
    assert declared - OPTIONAL == imported - OPTIONAL
