"""A kite process that stays registered with a Kontrol (the faults suite kills and stops it).

``python -m stress._registrant KONTROL_URL`` serves kite `victim` on 127.0.0.1 (any port) with
the kite key of `$KITE_HOME/kite.key`, registers over its Kontrol connection with
`register_forever` (again after every reconnection), prints ``registered <id> <url>`` once
and runs until killed.
"""

from __future__ import annotations

import sys

import trio

from kite import Config, Kite


async def _main(kontrol_url: str) -> None:
    config = Config.from_env(kite_key="required", strict=False)
    k = Kite("victim", "1.0.0", config)
    async with k.serve("127.0.0.1", 0) as served, k.kontrol_client(url=kontrol_url):
        await k.register_forever(served.url)
        print(f"registered {k.id} {served.url}", flush=True)
        await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(_main, sys.argv[1])
