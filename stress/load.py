"""Load: N clients x M calls over WebSocket and XHR, against our kite and Go's, side by side.

Each server runs in its own process (`bench._peers.pykite`, Go's `gomath`); the clients are our
kite's, in `PROCESSES` processes of their own (`stress._loadclient`), the same clients for
both servers. Every session is its own connection (WebSocket) or its own pair of keep-alive
connections (XHR: polls and sends). Bounds: no call lost (failed, timed out, wrong result);
long form only, XHR: our p99 at most `XHR_P99_RATIO` times Go's in the same run.
"""

from __future__ import annotations

import json
import subprocess
import sys

from bench._peers import Peer, python_peer, serve_process
from conformance._gopeers import GoPeersUnavailableError, build_go_peers

from ._report import Outcome, machine_load, percentile

__all__ = ["XHR_P99_RATIO", "run"]

#: Longest our XHR p99 may be, as a multiple of Go kite's in the same run (long form).
XHR_P99_RATIO = 1.5
PROCESSES = {True: 4, False: 1}
SESSIONS_PER_PROCESS = {True: 50, False: 10}
CALLS = {True: 20, False: 5}
CALL_TIMEOUT = 30.0


def _clients(url: str, transport: str, long: bool) -> tuple[list[float], list[str]]:
    """Run the client processes against `url`; every call's latency and every loss."""
    argv = [
        sys.executable,
        "-m",
        "stress._loadclient",
        url,
        transport,
        str(SESSIONS_PER_PROCESS[long]),
        str(CALLS[long]),
        "--timeout",
        str(CALL_TIMEOUT),
    ]
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(PROCESSES[long])
    ]
    latencies: list[float] = []
    lost: list[str] = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            lost.append(f"client process failed: {err.decode(errors='replace')[-300:]}")
            continue
        result = json.loads(out)
        latencies.extend(result["latencies"])
        lost.extend(result["lost"])
    return latencies, lost


def _row(server: str, transport: str, latencies: list[float], lost: list[str]) -> dict[str, object]:
    return {
        "server": server,
        "transport": transport,
        "calls": len(latencies) + len(lost),
        "lost": len(lost),
        "p50 ms": f"{percentile(latencies, 0.50) * 1e3:.1f}",
        "p99 ms": f"{percentile(latencies, 0.99) * 1e3:.1f}",
        "max ms": f"{max(latencies, default=0.0) * 1e3:.1f}",
    }


def run(long: bool) -> Outcome:
    """The load suite (see the module doc)."""
    outcome = Outcome("load")
    sessions = PROCESSES[long] * SESSIONS_PER_PROCESS[long]
    outcome.notes.append(
        f"{sessions} sessions x {CALLS[long]} calls per server and transport,"
        f" {PROCESSES[long]} client processes; {machine_load()} at the start"
    )
    servers: list[tuple[str, list[str]]] = [("python", python_peer("pykite"))]
    try:
        gomath = build_go_peers().path("gomath")
        servers.append(("go", [str(gomath), "-port", "0", "-quiet"]))
    except GoPeersUnavailableError as exc:
        outcome.notes.append(f"Go kite skipped: {exc}")
    p99: dict[tuple[str, str], float] = {}
    for name, argv in servers:
        with serve_process(argv) as peer:
            for transport in ("websocket", "xhr"):
                latencies, lost = _clients(_url(peer), transport, long)
                outcome.rows.append(_row(name, transport, latencies, lost))
                p99[name, transport] = percentile(latencies, 0.99)
                outcome.check(not lost, f"{name} {transport}: {len(lost)} calls lost: {lost[:3]}")
    go_xhr = p99.get(("go", "xhr"))
    if long and go_xhr:
        ratio = p99["python", "xhr"] / go_xhr
        outcome.notes.append(f"XHR p99 ours / Go's: {ratio:.2f} (bound {XHR_P99_RATIO})")
        outcome.check(ratio <= XHR_P99_RATIO, f"XHR p99 is {ratio:.2f}x Go's")
    return outcome


def _url(peer: Peer) -> str:
    return peer.kite_url
