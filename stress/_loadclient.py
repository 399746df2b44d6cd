"""One load-generating process: `sessions` clients, each on its own session, each doing `calls`
`square` calls one after the other; prints one JSON line with every call's latency.

``python -m stress._loadclient URL TRANSPORT SESSIONS CALLS [--timeout S]``. The clients start
together (each dials, then all wait for the last dial), so the calls overlap as under real load;
a call that fails or times out is counted as lost, never retried.
"""

from __future__ import annotations

import argparse
import json
import time

import trio

from kite import Config, Kite, KiteError


async def _run(
    url: str,
    transport: str,
    sessions: int,
    calls: int,
    timeout: float,  # noqa: ASYNC109 - each call's own timeout, passed on
) -> dict[str, object]:
    client = Kite("stress", "1.0.0", Config())
    latencies: list[float] = []
    lost: list[str] = []
    ready = trio.Event()
    dialled = 0

    async def one(index: int) -> None:
        nonlocal dialled
        try:
            async with client.dial(url, transport=transport, timeout=timeout) as remote:  # type: ignore[arg-type]
                dialled += 1
                if dialled == sessions:
                    ready.set()
                await ready.wait()
                for n in range(calls):
                    start = time.perf_counter()
                    try:
                        result = await remote.tell("square", n, timeout=timeout)
                    except KiteError as exc:
                        lost.append(f"{index}/{n}: {exc}")
                        continue
                    latencies.append(time.perf_counter() - start)
                    if result != n * n:
                        lost.append(f"{index}/{n}: wrong result {result!r}")
        except Exception as exc:  # noqa: BLE001 - a failed dial loses that session's calls
            dialled += 1
            if dialled == sessions:
                ready.set()
            lost.extend(f"{index}/dial: {exc}" for _ in range(calls))

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for i in range(sessions):
            nursery.start_soon(one, i)
    return {
        "latencies": latencies,
        "lost": lost,
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m stress._loadclient")
    parser.add_argument("url")
    parser.add_argument("transport", choices=["websocket", "xhr"])
    parser.add_argument("sessions", type=int)
    parser.add_argument("calls", type=int)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    out = trio.run(_run, args.url, args.transport, args.sessions, args.calls, args.timeout)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
