"""The workspace is what users were promised: four publishable, typed, documented packages."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    # folder: (distribution name, import name, workspace packages it must depend on)
    "dnode": ("kite-dnode", "dnode", set()),
    "sockjs": ("kite-sockjs", "sockjs", set()),
    "kite": ("kite-trio", "kite", {"kite-dnode", "kite-sockjs"}),
    "kontrol": ("kite-kontrol", "kontrol", {"kite-dnode", "kite-trio"}),
}


def _project(folder: str) -> dict[str, object]:
    data = tomllib.loads((ROOT / "packages" / folder / "pyproject.toml").read_text())
    project = data["project"]
    assert isinstance(project, dict)
    return project


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_package_layout(folder: str) -> None:
    dist, module, needs = PACKAGES[folder]
    project = _project(folder)
    assert project["name"] == dist
    assert project["requires-python"] == ">=3.11"
    assert isinstance(project["version"], str)
    assert project["version"]
    src = ROOT / "packages" / folder / "src" / module
    assert (src / "__init__.py").is_file()
    assert (src / "py.typed").is_file(), "typed packages ship py.typed"
    readme = ROOT / "packages" / folder / "README.md"
    assert readme.is_file()
    assert readme.read_text().strip()
    deps = {
        str(d).split("[")[0].split(">")[0].split("=")[0].strip() for d in project["dependencies"]
    }  # type: ignore[attr-defined]
    workspace_deps = deps & {d for d, _, _ in PACKAGES.values()}
    assert workspace_deps == needs


def test_dnode_and_sockjs_depend_on_nothing() -> None:
    assert _project("dnode")["dependencies"] == []
    assert _project("sockjs")["dependencies"] == []


def test_readme_quick_start_has_exactly_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip()]
    assert [c.split("#")[0].split() for c in commands] == [
        ["python3", "dev.py", "up"],
        ["python3", "dev.py", "test"],
    ]


def test_ci_runs_the_readme_test_command() -> None:
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text()


def test_readme_example_runs() -> None:
    """The README's "Using it" example serves a kite and calls it over a real socket."""
    import subprocess
    import sys

    text = (ROOT / "README.md").read_text()
    code = text.split("## Using it", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "16"
