"""`kite proxy` and `kite tunnelproxy`, run as subprocesses (`python -m kite proxy`) against a
Python Kontrol on 127.0.0.1: each registers itself, a Python kite registers through it
(`register_to_proxy`, `register_to_tunnel`, found through Kontrol) and is called at the
proxy's URL; SIGINT ends it with status 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

import kite
from conformance._interop import key_config, open_python_kontrol, python_kontrol_init
from conformance._proxies import Via, proxied_math

KEY_URL = "http://127.0.0.1:4099/kite"


class Lines:
    """The stdout of a process, line by line."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def next(self) -> str:
        while b"\n" not in self.buffer:
            data = await self.stream.receive_some(4096)
            assert data, f"the process ended; output so far: {self.buffer!r}"
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()


@pytest.mark.parametrize("command", ["proxy", "tunnelproxy"])
async def test_kite_proxy_command(tmp_path: Path, command: str) -> None:
    owner = await python_kontrol_init(tmp_path, "anchor", KEY_URL)
    argv = [sys.executable, "-m", "kite", command, "--kite-key", str(owner)]
    argv += ["--ip", "127.0.0.1", "--port", "0", "--register"]
    with trio.fail_after(60):
        async with open_python_kontrol(f"sqlite:///{tmp_path / 'kontrol.db'}", owner) as kontrol:
            process = await trio.lowlevel.open_process(
                [*argv, "--kontrol-url", kontrol.url],
                stdout=subprocess.PIPE,
                env={**os.environ, "KITE_HOME": str(tmp_path)},
            )
            try:
                assert process.stdout is not None
                lines = Lines(process.stdout)
                listening = re.fullmatch(
                    rf"{command} listening on 127\.0\.0\.1:(\d+)", await lines.next()
                )
                assert listening is not None
                base = f"http://127.0.0.1:{listening.group(1)}"
                assert await lines.next() == f"{command} registered {base}/kite"
                config = key_config(owner, kontrol_url=kontrol.url)
                await call_behind(command, config, base)
                process.send_signal(signal.SIGINT)
                assert await process.wait() == 0
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()


async def call_behind(command: str, config: kite.Config, base: str) -> None:
    """A math kite behind the proxy at `base` (found through Kontrol) answers there."""
    via: Via = "proxy" if command == "proxy" else "tunnel"
    async with proxied_math(config, via) as math:
        if via == "proxy":
            assert math.public == f"{base}/proxy/{math.kite_id}"
        else:
            assert math.public == f"{base}/proxy?kiteID={math.kite_id}"
        caller = kite.Kite("caller", "1.0.0", config)
        async with caller.dial(math.public) as remote:
            assert await remote.tell("square", 9) == 81


@pytest.mark.parametrize("command", ["proxy", "tunnelproxy"])
def test_kite_proxy_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    from kite._cli import main

    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: kite {command}")
    for option in ("--public-host", "--public-port", "--tls-cert", "--tls-key", "--register"):
        assert option in out
    if command == "tunnelproxy":
        assert "--max-sessions-per-kite" in out
        assert "--max-opening-per-kite" in out


def test_kite_proxy_needs_both_tls_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kite._cli import main

    pair = kite.generate_key_pair()
    key = tmp_path / "kite.key"
    key.write_text(
        kite.issue_kite_key(
            private_key=pair.private,
            public_key=pair.public,
            issuer="anchor",
            subject="anchor",
            kontrol_url=KEY_URL,
            now=time.time(),
        )
    )
    assert main(["proxy", "--kite-key", str(key), "--tls-cert", "c.pem"]) == 2
    assert capsys.readouterr().err == "kite: --tls-cert and --tls-key go together\n"
