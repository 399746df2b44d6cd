"""Find the quick start's `math` kite through Kontrol and call `square(N)` on it.

    KITE_HOME=.quickstart/kite-home .venv/bin/python examples/call_math.py 7

The kite.key under `$KITE_HOME` says where Kontrol is and proves who we are; Kontrol answers
`getKites` with the kite's URL and a token for it, and the client dials the kite with that token.
"""

from __future__ import annotations

import sys

import trio

import kite


async def main(n: float) -> None:
    caller = kite.Kite("call-math", "1.0.0", kite.Config.from_env())
    async with caller.kontrol_client():
        found = await caller.get_kites({"username": caller.config.username, "name": "math"})
        async with found[0] as remote:
            print(await remote.tell("square", n, timeout=10))


if __name__ == "__main__":
    trio.run(main, float(sys.argv[1]) if len(sys.argv) > 1 else 4.0)
