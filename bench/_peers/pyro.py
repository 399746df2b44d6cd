"""A Pyro5 daemon exposing ``square`` and ``echo`` on 127.0.0.1 (benchmark peer).

``python -m bench._peers.pyro`` prints ``pyro listening on 127.0.0.1:<port>`` (object id
``math``) and serves until SIGTERM, one thread per connection (Pyro5's default server).
"""

from __future__ import annotations

import signal
import sys
from typing import Any

import Pyro5.api  # type: ignore[import-untyped]


@Pyro5.api.expose
class Math:
    """The benchmark object."""

    def square(self, n: float) -> float:
        return n * n

    def echo(self, value: Any) -> Any:
        return [value]


def main() -> None:
    daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
    daemon.register(Math, "math")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"pyro listening on 127.0.0.1:{daemon.locationStr.rsplit(':', 1)[1]}", flush=True)
    with daemon:
        daemon.requestLoop()


if __name__ == "__main__":
    main()
