"""The README's run command works: Kontrol + a registered kite, found and called, Ctrl-C stops it.

Runs `examples/quickstart.py` (what `python3 dev.py up` execs) as a real process on 127.0.0.1
with its own data directory and a free Kontrol port, then `examples/call_math.py` against it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for(proc: subprocess.Popen[str], text: str, limit: float) -> list[str]:
    """Read the process's output lines until one contains `text` (bounded in time)."""
    lines: list[str] = []
    deadline = time.monotonic() + limit
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} not printed in {limit}s; output:\n{''.join(lines)}")


SigintDisposition = Callable[[int, Any], Any] | int


@contextlib.contextmanager
def _children_start_with(sigint: SigintDisposition) -> Iterator[None]:
    """Processes started in the block begin with SIGINT ignored (`signal.SIG_IGN`, inherited
    across exec) or at its default (any handler: exec resets a handled signal), whatever this
    process had, e.g. SIGINT ignored because a shell started the test run as a background job."""
    previous = signal.signal(signal.SIGINT, sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start(data: Path, port: int, sigint: SigintDisposition) -> subprocess.Popen[str]:
    with _children_start_with(sigint):
        return subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "quickstart.py"), "--data-dir", str(data),
             "--kontrol-port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip


def test_quickstart_serves_registers_calls_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = _free_port()
    # The second run reuses the keys and registry, and starts as a shell starts a background
    # job, with SIGINT ignored: Ctrl-C (SIGINT) must stop it all the same, as `kontrol serve`.
    runs = (("first", signal.default_int_handler), ("again", signal.SIG_IGN))
    for run, sigint in runs:
        # `with`: the output pipe is closed whatever happens (an unclosed one is a
        # ResourceWarning that fails whichever later test the garbage collector runs in).
        with _start(tmp_path, port, sigint) as proc:
            try:
                lines = _wait_for(proc, "Press Ctrl-C to stop.", 60)
                text = "".join(lines)
                assert "square(4) = 16" in text
                assert ("first run" in text) == (run == "first")
                env = dict(os.environ, KITE_HOME=str(tmp_path / "kite-home"))
                called = subprocess.run(
                    [sys.executable, str(ROOT / "examples" / "call_math.py"), "7"],
                    env=env, capture_output=True, text=True, timeout=60,
                )  # fmt: skip
                assert called.returncode == 0, called.stderr
                assert called.stdout.strip() == "49"
                proc.send_signal(signal.SIGINT)
                out, _ = proc.communicate(timeout=30)
                assert proc.returncode == 0, out
                assert "==> stopped" in out
                assert "Traceback" not in out
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
