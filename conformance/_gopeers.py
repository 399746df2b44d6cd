"""Build and run the Go peers of ``conformance/go`` (real koding/kite programs) from tests.

How this works: `build_go_peers` runs ``go build -o conformance/go/bin/ ./cmd/...`` once per
process (and not at all when the binaries are newer than every Go source and were built by the
same toolchain, recorded in ``bin/.toolchain``). It asks for Go 1.19.13 through ``GOTOOLCHAIN``,
the version family that recorded the captures (newer Go escapes ``\\b``/``\\f`` differently in
JSON), and falls back to the local toolchain when that one cannot be fetched; `GoBuild.toolchain`
says which built the binaries. Any failure becomes `GoPeersUnavailableError` with the reason, which
`go_peers_or_skip` turns into a pytest skip.

`open_go_peer` starts a server program (``gomath``, ``gokontrol``) as a trio subprocess on
127.0.0.1 with ``-port 0``; the program prints ``<name> listening on 127.0.0.1:<port>`` once its
listener is up, so there is no port race and no polling. A task in the context manager's nursery
keeps draining stdout; stderr (the kite log) goes to a file kept for error messages. Leaving the
context sends SIGTERM and waits, then kills. `run_go_program` runs a one-shot program
(``goclient``, ``goquery``) with a deadline and returns its exit code and output.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trio

__all__ = [
    "BIN_DIR",
    "GO_DIR",
    "PROGRAMS",
    "TOOLCHAIN",
    "GoBuild",
    "GoPeer",
    "GoPeerError",
    "GoPeersUnavailableError",
    "GoResult",
    "build_go_peers",
    "find_go",
    "go_peers_or_skip",
    "kite_module_dir",
    "open_go_peer",
    "run_go_program",
]

GO_DIR: Path = Path(__file__).resolve().parent / "go"
BIN_DIR: Path = GO_DIR / "bin"
PROGRAMS: tuple[str, ...] = (
    "gomath",
    "goclient",
    "gokontrol",
    "goquery",
    "gorules",
    "goreverseproxy",
    "gotunnelproxy",
)
#: The toolchain asked for first (override with KITE_GO_TOOLCHAIN, e.g. ``local``).
TOOLCHAIN = "go1.19.13"
_STAMP = BIN_DIR / ".toolchain"
_LISTENING = re.compile(rb"^(\w+) listening on ([\d.]+):(\d+)\s*$", re.MULTILINE)


class GoPeersUnavailableError(Exception):
    """The Go peers cannot be built here (no ``go``, no network for modules, compile error)."""


class GoPeerError(Exception):
    """A Go peer did not start, or exited before it was listening."""


@dataclass(frozen=True, slots=True)
class GoBuild:
    """Where the built programs are and which toolchain built them."""

    bin_dir: Path
    toolchain: str
    go: str

    def path(self, program: str) -> Path:
        """The binary of one of `PROGRAMS`."""
        if program not in PROGRAMS:
            raise KeyError(program)
        return self.bin_dir / program


def find_go() -> str | None:
    """The ``go`` command: on PATH, else the usual /usr/local/go install, else None."""
    found = shutil.which("go")
    if found:
        return found
    fallback = Path("/usr/local/go/bin/go")
    return str(fallback) if fallback.exists() else None


def _go_env(toolchain: str) -> dict[str, str]:
    env = dict(os.environ)
    env["GOTOOLCHAIN"] = toolchain
    env.setdefault("GOFLAGS", "-mod=readonly")
    return env


def _up_to_date(toolchain: str) -> bool:
    if not _STAMP.exists() or _STAMP.read_text().strip() != toolchain:
        return False
    bins = [BIN_DIR / p for p in PROGRAMS]
    if not all(b.exists() for b in bins):
        return False
    built = min(b.stat().st_mtime for b in bins)
    sources = [GO_DIR / "go.mod", GO_DIR / "go.sum", *GO_DIR.glob("**/*.go")]
    return all(s.stat().st_mtime <= built for s in sources)


def _build(go: str, toolchain: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [go, "build", "-o", f"{BIN_DIR}{os.sep}", "./cmd/..."],
        cwd=GO_DIR,
        env=_go_env(toolchain),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@functools.cache
def _build_once() -> GoBuild | GoPeersUnavailableError:
    go = find_go()
    if go is None:
        return GoPeersUnavailableError("the go toolchain is not installed (no `go` on PATH)")
    wanted = os.environ.get("KITE_GO_TOOLCHAIN", TOOLCHAIN)
    tried: list[str] = []
    for toolchain in dict.fromkeys([wanted, "local"]):
        if _up_to_date(toolchain):
            return GoBuild(bin_dir=BIN_DIR, toolchain=toolchain, go=go)
        try:
            proc = _build(go, toolchain)
        except (OSError, subprocess.TimeoutExpired) as exc:
            tried.append(f"GOTOOLCHAIN={toolchain}: {exc}")
            continue
        if proc.returncode == 0:
            _STAMP.write_text(toolchain + "\n")
            return GoBuild(bin_dir=BIN_DIR, toolchain=toolchain, go=go)
        tried.append(f"GOTOOLCHAIN={toolchain}: {proc.stderr.strip()[-1500:]}")
    return GoPeersUnavailableError(
        "building the Go peers in conformance/go failed:\n" + "\n".join(tried)
    )


def build_go_peers() -> GoBuild:
    """Build the programs once per process; raise `GoPeersUnavailableError` with the reason."""
    result = _build_once()
    if isinstance(result, GoPeersUnavailableError):
        raise result
    return result


def go_peers_or_skip() -> GoBuild:
    """`build_go_peers`, or skip the calling test with the reason the peers are unavailable."""
    import pytest

    try:
        return build_go_peers()
    except GoPeersUnavailableError as exc:
        pytest.skip(f"Go peers unavailable: {exc}")


@functools.cache
def kite_module_dir() -> Path:
    """The koding/kite module in the Go module cache (holds ``kontrol/*.sql`` for gokontrol)."""
    build = build_go_peers()
    out = subprocess.run(
        [build.go, "list", "-m", "-f", "{{.Dir}}", "github.com/koding/kite"],
        cwd=GO_DIR,
        env=_go_env(build.toolchain),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return Path(out.stdout.strip())


def _peer_env(env: Mapping[str, str] | None, home: Path) -> dict[str, str]:
    merged = dict(os.environ)
    merged["KITE_HOME"] = str(home)  # never read the developer's ~/.kite
    if env:
        merged.update(env)
    return merged


@dataclass(slots=True)
class GoPeer:
    """A running Go server program."""

    name: str
    host: str
    port: int
    process: trio.Process
    stderr_path: Path
    stdout: bytearray = field(default_factory=bytearray)
    _more: trio.Event = field(default_factory=trio.Event)
    _eof: bool = False

    @property
    def url(self) -> str:
        """Its kite URL, ``http://127.0.0.1:<port>/kite``."""
        return f"http://{self.host}:{self.port}/kite"

    def stderr_text(self) -> str:
        """What the program logged so far."""
        return self.stderr_path.read_text(errors="replace")

    async def wait_for_output(self, pattern: str) -> re.Match[str]:
        """Wait until stdout has a line matching ``pattern`` (put a deadline around the call).

        Raises:
            GoPeerError: the program closed its stdout (exited) without printing such a line.
        """
        regex = re.compile(pattern, re.MULTILINE)
        while True:
            if match := regex.search(self.stdout.decode(errors="replace")):
                return match
            if self._eof:
                raise GoPeerError(f"{self.name} exited without printing {pattern!r}")
            await self._more.wait()

    def _fed(self, chunk: bytes | bytearray) -> None:
        """Called by the drain task with each stdout chunk (``b""`` at end of output)."""
        if chunk:
            self.stdout += chunk
        else:
            self._eof = True
        done, self._more = self._more, trio.Event()
        done.set()


@asynccontextmanager
async def open_go_peer(
    build: GoBuild,
    program: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 30.0,
    stop_timeout: float = 5.0,
) -> AsyncIterator[GoPeer]:
    """Start ``program -port 0 ARGS...`` and yield it once it listens; stop it on exit."""
    with tempfile.TemporaryDirectory(prefix=f"{program}-") as tmp:
        home = Path(tmp) / "kitehome"
        home.mkdir()
        stderr_path = Path(tmp) / "stderr.log"
        argv = [str(build.path(program)), "-port", "0", *args]
        with stderr_path.open("wb") as stderr:
            process = await trio.lowlevel.open_process(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=_peer_env(env, home),
            )
        try:
            peer = await _wait_listening(process, program, stderr_path, ready_timeout)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_drain, peer)
                    try:
                        yield peer
                    finally:
                        with trio.CancelScope(shield=True):
                            await _stop(process, stop_timeout)
                        nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                # Hand the caller's own exception back unwrapped (the drain task never fails).
                if len(group.exceptions) == 1:
                    raise group.exceptions[0] from None
                raise
        finally:
            with trio.CancelScope(shield=True):
                await _stop(process, stop_timeout)


async def _wait_listening(
    process: trio.Process, program: str, stderr_path: Path, limit: float
) -> GoPeer:
    assert process.stdout is not None
    buf = bytearray()
    match: re.Match[bytes] | None = None
    with trio.move_on_after(limit):
        while (match := _LISTENING.search(buf)) is None:
            chunk = await process.stdout.receive_some(4096)
            if not chunk:
                await process.wait()
                log = await trio.Path(stderr_path).read_text(errors="replace")
                raise GoPeerError(
                    f"{program} exited with code {process.returncode} before listening:\n"
                    + log[-3000:]
                )
            buf += chunk
    if match is None:
        raise GoPeerError(f"{program} was not listening after {limit} s")
    peer = GoPeer(
        name=program,
        host=match.group(2).decode(),
        port=int(match.group(3)),
        process=process,
        stderr_path=stderr_path,
    )
    peer.stdout += buf
    return peer


async def _drain(peer: GoPeer) -> None:
    stdout = peer.process.stdout
    assert stdout is not None
    while True:
        chunk = await stdout.receive_some(65536)
        peer._fed(chunk)
        if not chunk:
            return


async def _stop(process: trio.Process, grace: float) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    with trio.move_on_after(grace):
        await process.wait()
        return
    process.kill()
    await process.wait()


@dataclass(frozen=True, slots=True)
class GoResult:
    """Exit code and output of a one-shot Go program."""

    returncode: int
    stdout: str
    stderr: str

    def lines(self) -> list[str]:
        """The non-empty stdout lines (each one JSON value for goclient/goquery)."""
        return [line for line in self.stdout.splitlines() if line]


async def run_go_program(
    build: GoBuild,
    program: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    time_limit: float = 30.0,
    stdin: bytes = b"",
) -> GoResult:
    """Run a one-shot program (``goclient``, ``goquery``, ``gokontrol -initial``, ``gorules``)
    to completion, with ``stdin`` as its input.

    Raises:
        trio.TooSlowError: it did not finish within ``time_limit`` seconds (it is killed).
    """
    with tempfile.TemporaryDirectory(prefix=f"{program}-") as home, trio.fail_after(time_limit):
        proc = await trio.run_process(
            [str(build.path(program)), *args],
            stdin=stdin,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env=_peer_env(env, Path(home)),
        )
    return GoResult(
        returncode=proc.returncode,
        stdout=proc.stdout.decode(errors="replace"),
        stderr=proc.stderr.decode(errors="replace"),
    )
