"""Compile our hot modules with mypyc into ``build/mypyc/`` (gitignored).

    .venv/bin/python tools/mypyc_build.py      # prints the directory to put first on PYTHONPATH

The compiled build is optional: the pure-Python packages stay the default everywhere, and this
is the same source compiled to C extensions, the way mypy and black ship themselves. Putting the
printed directory first on ``PYTHONPATH`` makes ``import dnode`` / ``import kite`` load the
compiled modules (``dnode/_scrub.cpython-*.so`` ...) instead of ``packages/*/src``; ``dev.py
test`` runs dnode's and sockjs's test suites and kite's WebSocket tests (``COMPILED_TESTS``
in ``dev.py``) a second time that way, so both builds pass the same tests.

What is compiled is :data:`COMPILED`: the modules where measurement says it pays and whose
behaviour mypyc keeps identical. In ``kite`` that is the WebSocket frame path
(``kite._http._websocket``: 6.6 % fewer instructions per WebSocket round trip), in ``sockjs``
its frame and payload codecs (1.8 % more). Kite's RPC core (``_rpc._peer``, ``_rpc._callee``),
mostly awaits into trio, gains about 1.5 % compiled and stays interpreted. A module also stays
interpreted (copied next to the compiled ones) when mypyc cannot compile it as is
(``dnode._json`` subclasses ``list``; ``dnode._partial`` hits a mypyc crash) or when compiling
would change behaviour: compiled code checks argument types at run time, so ``dnode._message``
(whose ``Message`` is built by callers from untyped data and refused by ``encode`` with
``EncodeError``) and ``kite._rpc._envelope`` (which reads envelopes of any shape) stay
interpreted.

The build is cached: it reruns only when a source file of the package, the Python version or
the mypy version changes (a stamp file holds their hash).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "mypyc"

#: Package name -> modules compiled with mypyc (the others of the package stay interpreted).
COMPILED: dict[str, list[str]] = {
    "dnode": ["_errors.py", "_gofields.py", "_scrub.py"],
    "kite": ["_http/_websocket.py"],
    "sockjs": ["_frames.py", "_payload.py"],
}


def _sources(package: str) -> Path:
    return ROOT / "packages" / package / "src" / package


def _stamp() -> str:
    import mypy.version

    h = hashlib.sha256()
    h.update(f"{sys.version}\n{mypy.version.__version__}\n{COMPILED!r}\n".encode())
    for package in sorted(COMPILED):
        for path in sorted(_sources(package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def build() -> Path:
    """Build (or reuse) the compiled packages; return the directory holding them."""
    stamp_file = OUT / "STAMP"
    stamp = _stamp()
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return OUT / "src"
    shutil.rmtree(OUT, ignore_errors=True)
    src = OUT / "src"
    src.mkdir(parents=True)
    groups: list[tuple[list[str], str]] = []
    for package, names in COMPILED.items():
        shutil.copytree(
            _sources(package), src / package, ignore=shutil.ignore_patterns("__pycache__")
        )
        groups.append(([f"{package}/{name}" for name in names], package))
    # One group per package: its shared runtime module is "<package>__mypyc".
    setup = (
        "import sys\n"
        "from setuptools import setup\n"
        "from mypyc.build import mypycify\n"
        "groups = eval(sys.argv[1])\n"
        "paths = [path for paths, _ in groups for path in paths]\n"
        "setup(name='kite-compiled', ext_modules=mypycify(paths, opt_level='3', separate=groups),"
        " script_args=['build_ext', '--inplace', '--build-temp', sys.argv[2]])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", setup, repr(groups), str(OUT / "tmp")],
        cwd=src,
        capture_output=True,
        text=True,
        env={**os.environ, "MYPY_CACHE_DIR": str(OUT / "mypy_cache")},
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"mypyc build failed (exit code {proc.returncode})")
    shutil.rmtree(src / "build", ignore_errors=True)  # mypyc's generated C sources
    stamp_file.write_text(stamp)
    return src


if __name__ == "__main__":
    print(build())
