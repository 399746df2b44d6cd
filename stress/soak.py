"""Soak: a million calls against one kite process, its resident memory sampled as they go.

Our kite (`bench._peers.pykite`) serves `square`; `CALLERS` tasks of one client share one
WebSocket session and call until `CALLS` calls are done, and the server's RSS is read every
`SAMPLE_EVERY` calls. Bounds: no call lost; memory flat (long form): the last sample at most
`GROWTH` times the first sample taken after the warm-up (the first tenth of the calls).
"""

from __future__ import annotations

import time

import trio

from bench._peers import python_peer, rss_bytes, serve_process
from kite import Config, Kite, KiteError

from ._report import Outcome, machine_load

__all__ = ["run"]

CALLS = {True: 1_000_000, False: 5_000}
CALLERS = 50
SAMPLES = 20
#: Largest growth of the server's RSS from the first to the last sample after the warm-up.
GROWTH = 1.10


def run(long: bool) -> Outcome:
    """The soak suite (see the module doc)."""
    outcome = Outcome("soak")
    calls = CALLS[long]
    every = calls // SAMPLES
    outcome.notes.append(f"{calls:,} calls, {CALLERS} callers on one session; {machine_load()}")
    with serve_process(python_peer("pykite")) as peer:
        samples: list[tuple[int, int]] = [(0, rss_bytes(peer.pid))]
        lost: list[str] = []
        started = time.perf_counter()

        async def soak() -> None:
            done = 0
            client = Kite("stress", "1.0.0", Config())
            async with client.dial(peer.kite_url, transport="websocket", timeout=30) as remote:

                async def caller() -> None:
                    nonlocal done
                    while done < calls:
                        done += 1
                        n = done
                        try:
                            if await remote.tell("square", 3, timeout=30) != 9:
                                lost.append(f"call {n}: wrong result")
                        except KiteError as exc:
                            lost.append(f"call {n}: {exc}")
                        if n % every == 0:
                            samples.append((n, rss_bytes(peer.pid)))

                async with trio.open_nursery() as nursery:
                    for _ in range(CALLERS):
                        nursery.start_soon(caller)

        trio.run(soak)
        seconds = time.perf_counter() - started
    warm = [kb for n, kb in samples if n >= calls // 10]
    first, last = warm[0], warm[-1]
    shown = samples[:: max(1, len(samples) // 10)]
    if shown[-1] != samples[-1]:
        shown.append(samples[-1])
    for n, rss in shown:
        outcome.rows.append({"calls": f"{n:,}", "server RSS kB": rss // 1024})
    outcome.notes.append(
        f"{calls / seconds:,.0f} calls/s; RSS after warm-up {first // 1024:,} kB ->"
        f" {last // 1024:,} kB ({last / first:.3f}x, bound {GROWTH}x)"
    )
    outcome.check(not lost, f"{len(lost)} calls lost: {lost[:3]}")
    if long:  # a few thousand calls are too few to tell growth from warm-up
        outcome.check(last <= first * GROWTH, f"server RSS grew {last / first:.3f}x after warm-up")
    return outcome
