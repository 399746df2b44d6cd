"""Peers the benchmarks talk to, each in its own process on 127.0.0.1.

How this works: every server program here (``pykite``, ``pyro``, ``rpyc_server``, the Go
``gomath``) binds port 0 and prints one line ``<name> listening on 127.0.0.1:<port>`` once it
accepts connections; :func:`serve_process` starts it, reads that line (with a deadline, so a
broken peer fails the case instead of hanging it) and terminates the process when the block
ends. Benchmark cases are synchronous, so this is plain :mod:`subprocess`.

The Go programs come from ``conformance/go`` (the real koding/kite ``gomath``, built by
``conformance._gopeers``) plus ``gobench`` (``bench/_peers/gobench``, a Go kite client doing
the same bounded call loops as the Python clients), built in a scratch module that reuses
``conformance/go``'s ``go.mod`` pins. Anything missing raises :class:`bench.SkipError` (the reason).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench._harness import SkipError

__all__ = [
    "GOBENCH_SOURCE",
    "Peer",
    "close_shared",
    "go_programs",
    "python_peer",
    "raise_nofile_limit",
    "rss_bytes",
    "run_gobench",
    "serve_process",
    "shared_peer",
]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GOBENCH_SOURCE = HERE / "gobench" / "main.go"
_LISTENING = re.compile(rb"(\w+) listening on ([\d.]+):(\d+)")


@dataclass(frozen=True, slots=True)
class Peer:
    """A running server process."""

    name: str
    pid: int
    host: str
    port: int

    @property
    def kite_url(self) -> str:
        """The kite URL of a kite server (``http://host:port/kite``)."""
        return f"http://{self.host}:{self.port}/kite"


def raise_nofile_limit(wanted: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards ``wanted`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (``VmRSS`` of ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


@contextlib.contextmanager
def serve_process(argv: Sequence[str], *, timeout: float = 30.0) -> Iterator[Peer]:
    """Start a server program and yield it once it printed its ``listening on`` line.

    Its stderr goes to a scratch file (quoted when it fails to start) and its later stdout is
    drained by a thread, so a chatty peer never blocks on a full pipe.
    """
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=ROOT,
        )
        assert proc.stdout is not None
        try:
            seen = b""
            deadline = time.monotonic() + timeout
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)
                while (match := _LISTENING.search(seen)) is None:
                    left = deadline - time.monotonic()
                    if left <= 0 or not sel.select(left):
                        raise RuntimeError(f"{argv[0]} did not start in {timeout} s: {seen!r}")
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    if not chunk:
                        proc.wait(5)
                        errors.seek(0)
                        text = errors.read().decode(errors="replace")[-2000:]
                        raise RuntimeError(f"{argv[0]} exited before listening: {text}")
                    seen += chunk
            threading.Thread(target=_drain, args=(proc.stdout.fileno(),), daemon=True).start()
            yield Peer(match[1].decode(), proc.pid, match[2].decode(), int(match[3]))
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            proc.stdout.close()


def _drain(fd: int) -> None:
    with contextlib.suppress(OSError):
        while os.read(fd, 65536):
            pass


def python_peer(module: str, *args: str) -> list[str]:
    """The argv running ``bench._peers.<module>`` with this interpreter."""
    return [sys.executable, "-m", f"bench._peers.{module}", *args]


# -- Go -------------------------------------------------------------------------------------

_go_cache: dict[bool, dict[str, Path] | SkipError] = {}


def _gobench_binary(go: str, toolchain: str) -> Path:
    """Build ``gobench`` (when its source or the pins changed) with ``conformance/go``'s pins."""
    from conformance._gopeers import BIN_DIR, GO_DIR

    binary = BIN_DIR / "gobench"
    inputs = [GOBENCH_SOURCE, GO_DIR / "go.mod", GO_DIR / "go.sum"]
    if binary.exists() and all(p.stat().st_mtime <= binary.stat().st_mtime for p in inputs):
        return binary
    with tempfile.TemporaryDirectory(prefix="gobench-") as tmp:
        mod = (GO_DIR / "go.mod").read_text()
        mod = re.sub(r"(?m)^module .*$", "module kitepy.test/bench/gobench", mod, count=1)
        Path(tmp, "go.mod").write_text(mod)
        shutil.copy(GO_DIR / "go.sum", Path(tmp, "go.sum"))
        shutil.copy(GOBENCH_SOURCE, Path(tmp, "main.go"))
        env = dict(os.environ, GOTOOLCHAIN=toolchain, GOFLAGS="-mod=mod")
        proc = subprocess.run(
            [go, "build", "-o", str(binary), "."],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if proc.returncode != 0:
        raise SkipError(f"building gobench failed: {proc.stderr.strip()[-500:]}")
    return binary


def go_programs(*, build: bool) -> dict[str, Path]:
    """Paths of ``gomath`` and ``gobench``, building them when ``build`` (else only if built).

    Raises:
        SkipError: no ``go``, no ``conformance/go`` (branch go-peers not merged), or a build failed.
    """
    key = build
    cached = _go_cache.get(key)
    if cached is None:
        cached = _go_cache[key] = _find_go_programs(build)
    if isinstance(cached, SkipError):
        raise cached
    return cached


def _find_go_programs(build: bool) -> dict[str, Path] | SkipError:
    try:
        from conformance import _gopeers
    except ImportError:
        return SkipError("conformance._gopeers is missing (branch go-peers not merged)")
    if _gopeers.find_go() is None:
        return SkipError("the go toolchain is not installed")
    gomath = _gopeers.BIN_DIR / "gomath"
    try:
        if build:
            built = _gopeers.build_go_peers()
            go, toolchain, gomath = built.go, built.toolchain, built.path("gomath")
        else:
            stamp = _gopeers.BIN_DIR / ".toolchain"
            if not gomath.exists() or not (_gopeers.BIN_DIR / "gobench").exists():
                return SkipError("Go peers not built yet (a full run builds them)")
            go = _gopeers.find_go() or "go"
            toolchain = stamp.read_text().strip() if stamp.exists() else "local"
        gobench = _gobench_binary(go, toolchain)
    except _gopeers.GoPeersUnavailableError as exc:
        return SkipError(str(exc).splitlines()[0])
    except SkipError as exc:
        return exc
    return {"gomath": gomath, "gobench": gobench}


def run_gobench(
    gobench: Path,
    url: str,
    *,
    transport: str,
    calls: int,
    concurrency: int,
    method: str = "square",
    payload: int = 0,
    timeout: float = 600.0,
) -> dict[str, object]:
    """Run the Go client loop; returns its JSON report (calls, seconds, latencies_us...)."""
    proc = subprocess.run(
        [
            str(gobench),
            "-url",
            url,
            "-transport",
            transport,
            "-n",
            str(calls),
            "-c",
            str(concurrency),
            "-method",
            method,
            "-payload",
            str(payload),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"gobench failed ({proc.returncode}): {proc.stderr.strip()[-1000:]}")
    report: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


# -- servers shared by the cases of one run ---------------------------------------------------

_shared: dict[str, Peer] = {}
_stack = contextlib.ExitStack()


def shared_peer(name: str, argv: Sequence[str]) -> Peer:
    """A server started on first use and kept until :func:`close_shared` (saves start-ups)."""
    if name not in _shared:
        _shared[name] = _stack.enter_context(serve_process(argv))
    return _shared[name]


def close_shared() -> None:
    """Stop every server :func:`shared_peer` started."""
    _shared.clear()
    _stack.close()
