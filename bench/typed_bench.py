"""What typed methods and blocking handlers cost: ``square(4)`` four ways, side by side.

The benchmark kite (``bench._peers.pykite``) serves the same ``square`` as a plain ``handle``
handler (``square``), as a typed ``Kite.method`` (``square_method``) and both again with
``blocking=True`` (``square_blocking``, ``square_method_blocking``: a worker thread per
call). Each is called 20,000 times in sequence over the in-memory pipe (the RPC core alone,
where the handler's share of a call is largest) and over a WebSocket to the kite in its own
process (``py->py ws``). Ratios compare each with the plain handler of the same transport.

Wall-clock rates move with the machine's load; ``python -m bench.instructions`` counts the
instructions per call of the in-memory cases with callgrind, which does not.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from bench import Measurement, Scenario
from bench.rpc_bench import SEQ_CALLS, SMOKE_SEQ, _loop, _pykite_url
from kite import Kite, memory_pipe_pair

METHODS = {
    "handle": "square",
    "method": "square_method",
    "handle blocking": "square_blocking",
    "method blocking": "square_method_blocking",
}


def _memory(method: str) -> Callable[[bool], Measurement]:
    def run(smoke: bool) -> Measurement:
        from bench._peers.pykite import make_kite

        async def main() -> Measurement:
            server = make_kite()
            client = Kite("pybench", "1.0.0")
            a, b = memory_pipe_pair()
            async with server.accept(a), client.connect_pipe(b) as peer:
                if await peer.tell(method, 4) != 16:
                    raise RuntimeError(f"{method} answered wrong")
                return await _loop(
                    lambda: peer.tell(method, 4), SMOKE_SEQ if smoke else SEQ_CALLS, 1
                )

        return trio.run(main)

    return run


def _websocket(method: str) -> Callable[[bool], Measurement]:
    def run(smoke: bool) -> Measurement:
        url = _pykite_url()

        async def main() -> Measurement:
            client = Kite("pybench", "1.0.0")
            async with client.dial(url, transport="websocket", auth=None) as remote:
                if await remote.tell(method, 4, timeout=60) != 16:
                    raise RuntimeError(f"{method} answered wrong")
                calls = SMOKE_SEQ if smoke else SEQ_CALLS
                return await _loop(lambda: remote.tell(method, 4, timeout=60), calls, 1)

        return trio.run(main)

    return run


CASES: list[Scenario] = [
    Scenario(
        f"typed.square[{label}][{where}]",
        (_memory if where == "memory pipe" else _websocket)(method),
        unit="call",
        compare_to=None if label == "handle" else f"typed.square[handle][{where}]",
    )
    for where in ("memory pipe", "py->py ws")
    for label, method in METHODS.items()
]
