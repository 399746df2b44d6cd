#!/usr/bin/env python3
"""The project's two entry points, each doing all of its own set-up.

    python3 dev.py test   # lint, type-check and test every package (what CI runs)
    python3 dev.py up     # a local Kontrol plus an example kite registered to it
    python3 dev.py build  # the four packages' wheels and sdists, into dist/
    python3 dev.py build --compiled   # the optional mypyc build of dnode, into build/mypyc/

Needs only Python 3.11+. On first use it installs a pinned `uv` into `.tools/` and lets uv create
`.venv/` from `uv.lock`, so every machine runs the same versions. Re-running is cheap: uv only
checks that the environment still matches the lock file. Optional peers (node packages from the
npm registry, Go modules) are installed when their toolchain is on the machine; tests that need
one skip with a reason where it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
UV_VERSION = "0.13.9"
PACKAGES = ["dnode", "sockjs", "kite", "kontrol"]
NODE_DIR = ROOT / "conformance" / "node"


def say(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def run(*cmd: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> None:
    """Run a command, echoing it; stop with its exit code if it fails."""
    shown = " ".join(str(c) for c in cmd)
    print(f"$ {shown}", flush=True)
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env)
    if proc.returncode != 0:
        print(f"dev.py: '{shown}' failed with exit code {proc.returncode}", file=sys.stderr)
        raise SystemExit(proc.returncode)


def uv() -> Path:
    """Path to a uv binary of the pinned version, installing it into .tools/ if needed."""
    exe = TOOLS / "bin" / "uv"
    if exe.exists():
        out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
        if UV_VERSION in out:
            return exe
    say(f"installing uv {UV_VERSION} into {TOOLS.relative_to(ROOT)}/")
    if not (TOOLS / "bin" / "python").exists():
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        except Exception as exc:  # a Python without ensurepip (Debian's python3 without -venv)
            raise SystemExit(
                f"dev.py: cannot create a virtual environment in {TOOLS}: {exc}\n"
                "Install your distribution's venv support (e.g. apt-get install python3-venv)."
            ) from exc
    run(
        TOOLS / "bin" / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        f"uv=={UV_VERSION}",
    )
    return exe


def sync() -> Path:
    """Create or update .venv from uv.lock (never re-resolving) and return its python."""
    say("syncing .venv with uv.lock")
    run(uv(), "sync", "--frozen", "--all-packages", "--quiet")
    return ROOT / ".venv" / "bin" / "python"


def node_peers() -> None:
    """Install the npm peers (sockjs-client, kite.js, dnode-protocol) when node is here."""
    if not (NODE_DIR / "package.json").exists():
        return
    if shutil.which("node") is None or shutil.which("npm") is None:
        say("node/npm not found: tests that need npm peers will be skipped")
        return
    if (NODE_DIR / "node_modules" / ".package-lock.json").exists():
        lock = (NODE_DIR / "package-lock.json").stat().st_mtime
        if (NODE_DIR / "node_modules" / ".package-lock.json").stat().st_mtime >= lock:
            return
    say("installing npm peers (conformance/node)")
    run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", cwd=NODE_DIR)


#: Packages with a mypyc-compiled build (tools/mypyc_build.py); their tests run against both.
COMPILED_PACKAGES = ["dnode", "sockjs", "kite"]
#: The tests run again against the mypyc build: dnode's and sockjs's suites, and kite's tests of
#: its one compiled module (the WebSocket connection, the servers and clients over it, the frame
#: properties), not kite's whole suite, which would double its time for code that is interpreted.
COMPILED_TESTS = [
    "tests/test_compiled_build.py",
    "packages/dnode/tests",
    "packages/sockjs/tests",
    "packages/kite/tests/test_ws.py",
    "packages/kite/tests/test_ws_gorilla.py",
    "packages/kite/tests/test_http_properties.py",
    "packages/kite/tests/test_serve.py",
    "packages/kite/tests/test_dial.py",
]


def compiled_build(py: Path) -> Path | str:
    """Build (or reuse) the mypyc build; its directory, or why it cannot be built here."""
    import sysconfig

    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        return f"no C compiler ({cc}) on this machine"
    out = subprocess.run(
        [str(py), str(ROOT / "tools" / "mypyc_build.py")], capture_output=True, text=True
    )
    if out.returncode != 0:
        print(out.stdout + out.stderr, file=sys.stderr)
        raise SystemExit(f"dev.py: the mypyc build failed with exit code {out.returncode}")
    return Path(out.stdout.strip())


def test_compiled(py: Path, env: dict[str, str], extra: list[str]) -> None:
    """Run the compiled modules' tests (`COMPILED_TESTS`) and the capture replay again,
    against the mypyc build."""
    say("mypyc build of " + ", ".join(COMPILED_PACKAGES))
    where = compiled_build(py)
    if isinstance(where, str):
        say(f"SKIPPED the compiled build's tests: {where}")
        return
    say("pytest against the mypyc build")
    env = {**env, "PYTHONPATH": str(where), "KITE_COMPILED": ",".join(COMPILED_PACKAGES)}
    run(py, "-m", "pytest", *extra, *COMPILED_TESTS, env=env)
    if (ROOT / "conformance" / "__main__.py").exists():
        say("conformance replay of recorded Go traffic, against the mypyc build")
        run(py, "-m", "conformance", "replay", env=env)


def build_compiled() -> None:
    where = compiled_build(sync())
    if isinstance(where, str):
        raise SystemExit(f"dev.py: cannot build the compiled packages: {where}")
    print(where)


def test(extra: list[str]) -> None:
    py = sync()
    node_peers()
    env = dict(os.environ)
    env.setdefault("HYPOTHESIS_PROFILE", "ci" if env.get("CI") else "dev")
    say("ruff")
    run(py, "-m", "ruff", "check", ".")
    run(py, "-m", "ruff", "format", "--check", ".")
    say("mypy --strict, package by package")
    for name in PACKAGES:
        run(py, "-m", "mypy", "--strict", f"packages/{name}/src")
    say("pytest")
    run(py, "-m", "pytest", *extra, env=env)
    if not any(arg.startswith(("packages/", "tests", "conformance/", "bench/")) for arg in extra):
        test_compiled(py, env, extra)
    if (ROOT / "conformance" / "__main__.py").exists():
        say("conformance replay of recorded Go traffic")
        run(py, "-m", "conformance", "replay", env=env)


def build(extra: list[str]) -> None:
    """Build every package's wheel and sdist into dist/ (or `--out-dir DIR`) with uv; or, with
    `--compiled`, the mypyc build of the pure packages into build/mypyc/ (tools/mypyc_build.py)."""
    out = ROOT / "dist"
    if extra == ["--compiled"]:
        build_compiled()
        return
    if extra[:1] == ["--out-dir"] and len(extra) == 2:
        out = Path(extra[1]).resolve()
    elif extra:
        raise SystemExit("usage: python3 dev.py build [--out-dir DIR | --compiled]")
    say(f"building the wheels and sdists into {out}")
    run(uv(), "build", "--all-packages", "--out-dir", out, "--quiet")
    for path in sorted(out.glob("kite_*")):
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def up(extra: list[str]) -> None:
    py = sync()
    main = ROOT / "examples" / "quickstart.py"
    if not main.exists():
        raise SystemExit(
            "dev.py up: the local Kontrol + kite quick start is not there yet "
            "(it arrives with the Kontrol issue)."
        )
    os.execv(py, [str(py), str(main), *extra])


def main() -> None:
    if sys.version_info < (3, 11):
        raise SystemExit("dev.py: Python 3.11 or newer is needed")
    if len(sys.argv) < 2 or sys.argv[1] not in {"test", "up", "build"}:
        raise SystemExit(__doc__)
    cmd, extra = sys.argv[1], sys.argv[2:]
    {"test": test, "up": up, "build": build}[cmd](extra)


if __name__ == "__main__":
    main()
