"""An RPyC ``ThreadedServer`` exposing ``square`` and ``echo`` on 127.0.0.1 (benchmark peer).

``python -m bench._peers.rpyc_server`` prints ``rpyc listening on 127.0.0.1:<port>`` and
serves until SIGTERM, one thread per connection.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

import rpyc  # type: ignore[import-untyped]
from rpyc.utils.server import ThreadedServer  # type: ignore[import-untyped]


class MathService(rpyc.Service):  # type: ignore[misc]
    """The benchmark service."""

    def exposed_square(self, n: float) -> float:
        return n * n

    def exposed_echo(self, value: Any) -> Any:
        return (value,)  # a tuple travels by value (a list would be a netref)


def main() -> None:
    server = ThreadedServer(MathService, hostname="127.0.0.1", port=0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # ThreadedServer only binds in __init__; `start()` calls `listen()`. Listen first (the
    # call is idempotent), so nobody who read the line below is refused (seen under load).
    server._listen()
    print(f"rpyc listening on 127.0.0.1:{server.port}", flush=True)
    server.start()


if __name__ == "__main__":
    main()
