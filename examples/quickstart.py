"""The README's run command (`python3 dev.py up`): a local Kontrol plus a kite registered to it.

First run: creates `.quickstart/` beside this repository's README (or `--data-dir`): Kontrol's
key pair and SQLite registry, and a `kite.key` for user `quickstart` signed by that Kontrol, under
`.quickstart/kite-home`. Later runs reuse them, so the command is idempotent.

Then, in one trio program: Kontrol serves on 127.0.0.1:4000 (`--kontrol-port`), a kite `math`
1.0.0 with a `square` method serves on a free port and registers itself to Kontrol, and a client
finds `math` through Kontrol (`getKites`, with a token) and calls it once, so you see the whole
path work. It then prints how to call the kite yourself and serves until Ctrl-C (SIGINT) or
SIGTERM. While serving it listens for both signals itself, like `kontrol serve`: the blocks then
close in order (registrations removed, connections closed), and `kill -INT` stops it also when a
shell started it as a background job, which it does with SIGINT ignored.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import trio

import kite
from kontrol import Kontrol, open_storage

ROOT = Path(__file__).resolve().parents[1]
USERNAME = "quickstart"


def make_math_kite(config: kite.Config) -> kite.Kite:
    """The example kite: `math` 1.0.0 with `square(n)`, authenticated with Kontrol's tokens."""
    math = kite.Kite("math", "1.0.0", config)

    @math.handle("square")
    def square(request: kite.Request) -> float:
        n = request.args.one().float()
        return n * n

    return math


def ensure_keys(data: Path, kontrol_url: str) -> None:
    """`kontrol init` once: Kontrol's key pair plus the first kite.key (idempotent)."""
    if (data / "kite-home" / "kite.key").exists() and (data / "kontrol.db").exists():
        return
    print(f"==> first run: creating Kontrol's keys and a kite.key in {data}", flush=True)
    env = dict(os.environ, KITE_HOME=str(data / "kite-home"))
    subprocess.run(
        [sys.executable, "-m", "kontrol", "init", "--data-dir", str(data),
         "--username", USERNAME, "--url", kontrol_url],
        env=env,
        check=True,
    )  # fmt: skip


async def main(data: Path, kontrol_port: int) -> None:
    kite_home = data / "kite-home"
    config = kite.Config.from_env(dict(os.environ, KITE_HOME=str(kite_home)))
    async with open_storage(f"sqlite://{data / 'kontrol.db'}") as storage:
        kontrol = Kontrol(config=config, storage=storage)
        async with (
            kontrol.running(),
            kontrol.serve(host="127.0.0.1", port=kontrol_port) as kontrol_server,
        ):
            print(f"==> Kontrol serving on {kontrol_server.url} (SQLite, {data})", flush=True)
            math = make_math_kite(config)
            async with (
                math.serve(host="127.0.0.1", port=0) as math_server,
                math.kontrol_client(),
            ):
                await math.register_forever(math_server.url)
                print(f"==> kite math 1.0.0 serving on {math_server.url}, registered", flush=True)

                caller = kite.Kite("quickstart-client", "1.0.0", config)
                async with caller.kontrol_client():
                    # By id: the kite registered just now, not a registration an earlier
                    # run may have left behind (e.g. a process killed with SIGKILL: its
                    # row stays until the registry's TTL, 90 s).
                    query = {"username": USERNAME, "name": "math", "id": math.id}
                    (found,) = await caller.get_kites(query)
                    async with found as remote:
                        answer = await remote.tell("square", 4, timeout=10)
                print(f"==> found math through Kontrol and called it: square(4) = {answer}")
                # Listening before saying so: a SIGINT right after the message is not lost.
                with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    print(
                        "\nCall it yourself (in another terminal):\n"
                        f"  KITE_HOME={kite_home} .venv/bin/python examples/call_math.py 7\n"
                        "\nPress Ctrl-C to stop.",
                        flush=True,
                    )
                    async for _ in signals:
                        break  # every block above now closes in order


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kontrol-port", type=int, default=4000, help="Kontrol's port (4000)")
    parser.add_argument(
        "--data-dir", type=Path, default=ROOT / ".quickstart", help="keys and registry"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    data = args.data_dir.resolve()
    ensure_keys(data, f"http://127.0.0.1:{args.kontrol_port}/kite")
    try:
        try:
            trio.run(main, data, args.kontrol_port)
        except kite.ListenError as exc:  # e.g. another `dev.py up` holds the port
            raise SystemExit(
                f"==> cannot start: {exc} (is `python3 dev.py up` running already? "
                "`--kontrol-port N` picks another port)"
            ) from None
    except* KeyboardInterrupt:  # Ctrl-C while starting (or a second one while stopping):
        pass  # trio cancelled every task; nested nurseries wrap it in groups
    print("\n==> stopped", flush=True)


if __name__ == "__main__":
    run()
