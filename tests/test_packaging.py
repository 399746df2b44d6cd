"""The four packages install as a user installs them: built wheels, a fresh venv, pip.

The fast tests read the sources: versions, licence files, metadata, and that every runtime
dependency is one the package imports (and every import a declared dependency). The slow test
builds the wheels and sdists with `python3 dev.py build`, checks LICENSE and metadata in each,
then installs every package into its own fresh venv with pip (its dependencies from PyPI, ours
from the built wheels via `--find-links`), imports it and checks that nothing but its declared
dependencies came along.
"""

from __future__ import annotations

import ast
import email.parser
import importlib
import json
import os
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# folder -> (distribution, import name)
PACKAGES = {
    "dnode": ("kite-dnode", "dnode"),
    "sockjs": ("kite-sockjs", "sockjs"),
    "kite": ("kite-trio", "kite"),
    "kontrol": ("kite-kontrol", "kontrol"),
}
# the import name each third-party distribution provides
IMPORT_NAMES = {
    "kite-dnode": "dnode",
    "kite-sockjs": "sockjs",
    "kite-trio": "kite",
    "kite-kontrol": "kontrol",
    "trio": "trio",
    "wsproto": "wsproto",
    "h11": "h11",
    "pyjwt": "jwt",
    "cryptography": "cryptography",
    "orjson": "orjson",
    "psycopg": "psycopg",
    "opentelemetry-api": "opentelemetry",
    "pytest": "pytest",
    "pytest-trio": "pytest_trio",
}
TRIO_PACKAGES = {"kite", "kontrol"}


def _project(folder: str) -> dict[str, object]:
    data = tomllib.loads((ROOT / "packages" / folder / "pyproject.toml").read_text())
    project = data["project"]
    assert isinstance(project, dict)
    return project


def _requirement_name(requirement: str) -> str:
    name = requirement
    for stop in "[<>=!~; ":
        name = name.split(stop, 1)[0]
    return name.strip().lower().replace("_", "-")


def _third_party_imports(folder: str, module: str) -> set[str]:
    """Top-level names of every module the package's source imports, outside the stdlib."""
    found: set[str] = set()
    for path in (ROOT / "packages" / folder / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.partition(".")[0])
    return found - set(sys.stdlib_module_names) - {"__future__", module}


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_version_is_the_pyproject_version(folder: str) -> None:
    _, module = PACKAGES[folder]
    version = _project(folder)["version"]
    assert importlib.import_module(module).__version__ == version


def test_every_package_has_the_same_version() -> None:
    # released together: the packages pin each other to it (checked below)
    assert len({_project(folder)["version"] for folder in PACKAGES}) == 1


def test_license_is_mit_at_the_root_and_in_every_package() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text
    for folder in PACKAGES:
        # hatchling takes license files from the package's own folder: a copy, kept identical
        assert (ROOT / "packages" / folder / "LICENSE").read_text() == text, folder


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_metadata_is_complete(folder: str) -> None:
    project = _project(folder)
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert project["description"]
    assert project["authors"]
    classifiers = project["classifiers"]
    assert isinstance(classifiers, list)
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    assert "Programming Language :: Python :: 3 :: Only" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert "Typing :: Typed" in classifiers
    assert ("Framework :: Trio" in classifiers) == (folder in TRIO_PACKAGES)
    assert not [c for c in classifiers if c.startswith("License ::")], "the expression says it"


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_runtime_dependencies_are_exactly_what_the_package_imports(folder: str) -> None:
    dist, module = PACKAGES[folder]
    project = _project(folder)
    required = {_requirement_name(r) for r in project["dependencies"]}  # type: ignore[attr-defined]
    extras = project.get("optional-dependencies", {})
    assert isinstance(extras, dict)
    optional = {_requirement_name(r) for reqs in extras.values() for r in reqs}
    imported = _third_party_imports(folder, module)
    assert {IMPORT_NAMES[name] for name in required} <= imported, "a dependency nobody imports"
    assert imported <= {IMPORT_NAMES[name] for name in required | optional}, "an undeclared import"
    version = project["version"]
    for requirement in project["dependencies"]:  # type: ignore[attr-defined]
        if requirement.startswith("kite-"):
            assert requirement.endswith(f"=={version}"), f"{dist}: pin {requirement} to {version}"


def test_psycopg_is_the_postgres_extra_only() -> None:
    project = _project("kontrol")
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    assert extras["postgres"] == ["psycopg[binary]>=3.1"]
    others = [r for name, reqs in extras.items() if name != "postgres" for r in reqs]
    assert not [r for r in others if "psycopg" in r]
    assert "psycopg" not in str(project["dependencies"])
    code = "import sys, kontrol, kontrol._cli; print('psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- built and installed -------------------------------------------------------------------------


def _pip_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(*cmd: str | Path, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_pip_env(),
        check=False,
    )
    assert done.returncode == 0, f"{cmd}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, ROOT / "dev.py", "build", "--out-dir", out)
    return out


def _wheel(dist: Path, name: str) -> Path:
    (wheel,) = dist.glob(f"{name.replace('-', '_')}-*-py3-none-any.whl")
    return wheel


@pytest.mark.slow
@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_wheel_and_sdist_carry_license_and_metadata(dist: Path, folder: str) -> None:
    name, module = PACKAGES[folder]
    project = _project(folder)
    version = project["version"]
    license_text = (ROOT / "LICENSE").read_text()
    stem = f"{name.replace('-', '_')}-{version}"
    with zipfile.ZipFile(_wheel(dist, name)) as wheel:
        assert wheel.read(f"{stem}.dist-info/licenses/LICENSE").decode() == license_text
        assert f"{module}/py.typed" in wheel.namelist()
        metadata = email.parser.Parser().parsestr(wheel.read(f"{stem}.dist-info/METADATA").decode())
    assert metadata["Name"] == name
    assert metadata["Version"] == version
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License-File"] == "LICENSE"
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata.get_all("Classifier") == sorted(project["classifiers"])  # type: ignore[call-overload]
    readme = (ROOT / "packages" / folder / "README.md").read_text()
    assert metadata.get_payload() == readme, "the README is the long description"
    with tarfile.open(dist / f"{stem}.tar.gz") as sdist:
        member = sdist.extractfile(f"{stem}/LICENSE")
        assert member is not None
        assert member.read().decode() == license_text
        assert f"{stem}/src/{module}/__init__.py" in sdist.getnames()


def _installed(python: Path, *requirements: str) -> tuple[set[str], set[str]]:
    """(every distribution in the venv, the closure of `requirements` over the
    installed distributions' requirements with markers and extras evaluated)."""
    code = """
import importlib.metadata as md, json, sys
from packaging.requirements import Requirement
canon = lambda name: name.lower().replace("_", "-")
installed = {canon(d.metadata["Name"]) for d in md.distributions()}
todo, seen = [Requirement(r) for r in sys.argv[1:]], set()
while todo:
    req = todo.pop()
    key = (canon(req.name), tuple(sorted(req.extras)))
    if key in seen:
        continue
    seen.add(key)
    for text in md.distribution(req.name).requires or []:
        dep = Requirement(text)
        extras = ["", *req.extras]
        if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in extras):
            todo.append(dep)
print(json.dumps([sorted(installed), sorted({name for name, _ in seen})]))
"""
    # pip vendors `packaging`; it is not installed in the venv itself
    code = code.replace("from packaging.", "from pip._vendor.packaging.")
    installed, closure = json.loads(_run(python, "-c", code, *requirements))
    return set(installed), set(closure)


def _assert_ours(python: Path, dist: Path, names: set[str]) -> None:
    """Our distributions in the venv are the wheels we built (their RECORDs are equal)."""
    for name in sorted(n for n in names if n.startswith("kite-")):
        code = (
            f"import importlib.metadata as md; print(md.distribution({name!r}).read_text('RECORD'))"
        )
        with zipfile.ZipFile(_wheel(dist, name)) as wheel:
            (record,) = [n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")]
            built = {line.split(",")[0] for line in wheel.read(record).decode().splitlines()}
        installed = {line.split(",")[0] for line in _run(python, "-c", code).splitlines()}
        assert built <= installed, f"{name} was not installed from our wheel"


@pytest.mark.slow
@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_each_wheel_installs_alone_in_a_fresh_venv(dist: Path, folder: str, tmp_path: Path) -> None:
    name, module = PACKAGES[folder]
    version = _project(folder)["version"]
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    pip = (python, "-m", "pip", "install", "--quiet", "--find-links", dist)
    bare, _ = _installed(python)  # what the venv starts with (pip, and setuptools on 3.11)
    _run(*pip, f"{name}=={version}")
    code = f"import {module}; print({module}.__version__)"
    assert _run(python, "-I", "-c", code).strip() == version
    installed, needed = _installed(python, name)
    installed -= bare
    assert installed == needed, "only its declared dependencies"
    if folder in ("dnode", "sockjs"):
        assert installed == {name}, f"import {module} with nothing else installed"
    _assert_ours(python, dist, installed)
    if folder != "kontrol":
        return
    # SQLite needs nothing more; PostgreSQL says which extra to install, then works with it.
    assert "psycopg" not in installed
    assert "{init,serve,keys}" in _run(tmp_path / "venv" / "bin" / "kontrol", "--help")
    code = """
import trio, kontrol
async def main():
    async with kontrol.open_storage("sqlite::memory:") as storage:
        assert await storage.list_keys() == []
    try:
        async with kontrol.open_storage("postgresql://kite@127.0.0.1:1/kite"):
            pass
    except kontrol.StorageError as exc:
        print(exc)
trio.run(main)
"""
    assert "install kite-kontrol[postgres]" in _run(python, "-I", "-c", code)
    _run(*pip, f"{name}[postgres]=={version}")
    installed, needed = _installed(python, f"{name}[postgres]")
    installed -= bare
    assert {"psycopg", "psycopg-binary"} <= installed
    assert installed == needed
    assert "PostgresStorage" in _run(
        python, "-I", "-c", "import kontrol; print(kontrol.PostgresStorage)"
    )
