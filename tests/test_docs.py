"""The documentation works: every python block of every README and docs page runs, and the
`docs/` site builds with MkDocs in strict mode (a broken link or a page missing from the
navigation fails). How blocks are marked: `tests/docs_examples.py`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from docs_examples import ROOT, Block, markdown_files, read_blocks

BLOCK_TIMEOUT = 120.0
READY_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KITE_", "KONTROL_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(ROOT)  # conformance/ and bench/ READMEs use the repository's helpers
    return env


async def _run(
    argv: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[bytes]:
    with trio.fail_after(BLOCK_TIMEOUT):
        return await trio.run_process(
            argv, env=env, cwd=cwd, capture_stdout=True, capture_stderr=True, check=False
        )


async def _stop(process: trio.Process) -> None:
    """Ctrl-C (SIGINT), as a user stops a server; killed if still there after 10 s."""
    with trio.CancelScope(shield=True):
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            with trio.move_on_after(10):
                await process.wait()
        if process.poll() is None:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def _background(
    argv: list[str], env: dict[str, str], cwd: Path, where: str
) -> AsyncIterator[None]:
    """Start a process, wait for its first line of output, stop it (SIGINT) after the block."""
    process = await trio.lowlevel.open_process(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert process.stdout is not None
    output = bytearray()
    try:
        async with trio.open_nursery() as nursery:
            with trio.move_on_after(READY_TIMEOUT):
                while b"\n" not in output:
                    chunk = await process.stdout.receive_some()
                    if not chunk:
                        break
                    output += chunk
            if b"\n" not in output or process.poll():
                raise AssertionError(f"{where}: not ready in {READY_TIMEOUT}s:\n{output.decode()}")
            nursery.start_soon(_drain, process.stdout)
            try:
                yield
            finally:
                await _stop(process)
    finally:
        await _stop(process)


async def _drain(stream: trio.abc.ReceiveStream) -> None:
    while await stream.receive_some():
        pass


async def _wait_listening(port: int, process: trio.Process, log: Path) -> None:
    with trio.fail_after(READY_TIMEOUT):
        while True:
            if process.poll() is not None:
                raise AssertionError(f"kontrol serve exited:\n{await trio.Path(log).read_text()}")
            try:
                stream = await trio.open_tcp_stream("127.0.0.1", port)
            except OSError:
                await trio.sleep(0.1)
                continue
            await stream.aclose()
            return


@contextlib.asynccontextmanager
async def _kontrol(tmp: Path, env: dict[str, str]) -> AsyncIterator[dict[str, str]]:
    """`kontrol init` and `kontrol serve` on 127.0.0.1, as docs/tutorial/kontrol.md says."""
    port = _free_port()
    data, home = tmp / "kontrol-data", tmp / "kite-home"
    env = dict(env, KITE_HOME=str(home))
    url = f"http://127.0.0.1:{port}/kite"
    kontrol = [sys.executable, "-m", "kontrol"]
    init = await _run(
        [*kontrol, "init", "--data-dir", str(data), "--username", "docs", "--url", url], env, tmp
    )
    assert init.returncode == 0, init.stderr.decode()
    log = tmp / "kontrol.log"
    serve = [*kontrol, "serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = await trio.lowlevel.open_process(
            serve, env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        await _wait_listening(port, process, log)
        yield {"KITE_HOME": str(home)}
    finally:
        await _stop(process)


async def _run_page(path: Path, tmp: Path) -> int:
    blocks = [b for b in read_blocks(path) if b.lang == "python"]
    needs = set().union(*(b.needs for b in blocks))
    env = _base_env()
    if "postgres" in needs:
        dsn = os.environ.get("KITE_TEST_POSTGRES_DSN")
        if not dsn:
            pytest.skip("KITE_TEST_POSTGRES_DSN is not set (.ci/install-peers.sh starts a server)")
        env["KONTROL_POSTGRES_DSN"] = dsn
    async with contextlib.AsyncExitStack() as stack:
        if "kontrol" in needs:
            env.update(await stack.enter_async_context(_kontrol(tmp, env)))
        if "gomath" in needs:
            from conformance._gopeers import go_peers_or_skip, open_go_peer

            peer = await stack.enter_async_context(open_go_peer(go_peers_or_skip(), "gomath"))
            env["GOMATH_URL"] = peer.url
        for block in blocks:
            await _run_block(block, env, tmp, stack)
    return len(blocks)


async def _run_block(
    block: Block, env: dict[str, str], tmp: Path, stack: contextlib.AsyncExitStack
) -> None:
    argv = [sys.executable, "-c", block.code]
    if "background" in block.needs:
        await stack.enter_async_context(_background(argv, env, tmp, block.where))
        return
    done = await _run(argv, env, tmp)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, f"{block.where} failed:\n{block.code}\n{out}\n{err}"
    if block.expected_output is not None:
        assert out == block.expected_output, f"{block.where} printed:\n{out}"


PAGES = markdown_files()


@pytest.mark.slow
@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
async def test_every_python_block_runs(path: Path, tmp_path: Path) -> None:
    await _run_page(path, tmp_path)


def test_every_block_says_what_it_holds() -> None:
    pages = {p: read_blocks(p) for p in PAGES}  # raises on an unlabelled or unknown block
    python = sum(1 for blocks in pages.values() for b in blocks if b.lang == "python")
    assert python >= 20, "the docs teach with runnable examples"
    for readme in ROOT.glob("packages/*/README.md"):
        assert any(b.lang == "python" for b in pages[readme]), f"{readme}: a first example"


def test_package_readmes_open_with_purpose_install_and_example() -> None:
    for readme in sorted(ROOT.glob("packages/*/README.md")):
        text = readme.read_text()
        name = readme.parent.name
        headings = [line for line in text.splitlines() if line.startswith("## ")]
        assert headings[:2] == ["## Install", "## First example"], (name, headings[:3])
        assert "pip install" in text.split("## First example")[0], name
        assert "._" not in text.split("## First example")[1].split("\n## ")[0], (
            f"{name}: the first example uses public names only"
        )


@pytest.mark.slow
def test_the_docs_build_in_strict_mode(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "tutorial" / "first-kite" / "index.html").is_file()
