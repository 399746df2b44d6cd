"""RPC round trips side by side: the Python kite, Go kite, Pyro5 and RPyC doing ``square(4)``.

Every case is a :class:`bench.Scenario`: a bounded call loop, each call timed, so the table
shows calls/s and p50/p99 latency. *Sequential* is one caller doing 20,000 calls one after
the other; *concurrent* is 50 callers sharing one connection (Pyro5/RPyC: one connection per
caller thread, as those libraries require) doing 50,000 calls between them. Servers run in
their own process on 127.0.0.1 (``bench._peers``), clients in this one (Go clients: the
``gobench`` program), so client and server each get a process as in production:

* ``py->py ws`` / ``py->py xhr``: ``kite.dial(url, transport=...)`` to ``kite.serve``;
* ``go->py ws``, ``py->go ws``/``xhr``, ``go->go ws``: the same against/with the real
  koding/kite (``gomath`` from ``conformance/go``, the ``gobench`` client), when ``go`` is
  present (no Go XHR client: it stalls after ~1,000 calls);
* ``pyro5``, ``rpyc``: the same method on a Pyro5 daemon / RPyC ThreadedServer;
* ``rpc-core ws`` (in-process): ``Kite.accept``/``connect_pipe`` over a bare ``kite._http``
  WebSocket on loopback, no SockJS; ``memory pipe``: the RPC core alone over
  ``memory_pipe_pair()`` — the ceiling the network cases approach.

Echo cases send 100 B, 10 KB and 1 MB strings and get them back (``echo`` returns its
argument list, as ``gomath`` does). The XHR sequential case doubles as the stall check: Go's
XHR client stalls after ~1,000 calls; ours must finish 20,000 (the note shows the slowest call).
Ratios compare each case with Go → Go. The goals (``RELATIVE_GOALS``, checked against cases
of the same run): Go client → Python kite at least as fast as Go → Go sequentially and at
least half as fast with 50 callers; Python → Python ahead of RPyC and Pyro5 sequentially
(issue #8); and issue #22's, 1.5x: Go client → Python kite against Go → Go, sequential and
with 50 callers on one connection, and Python → Python against RPyC, sequential.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from bench import Measurement, RelativeGoal, Scenario, SkipError
from bench._peers import go_programs, python_peer, run_gobench, shared_peer
from kite import Kite, PipeClosedError, memory_pipe_pair
from kite._http import ConnectionClosedError, WebSocketConnection, open_http_server, open_ws_client

SEQ_CALLS = 20_000
CONC_CALLS = 50_000
CALLERS = 50
SMOKE_SEQ = 40
SMOKE_CONC = 100
SMOKE_CALLERS = 10
PAYLOADS = {"100B": 100, "10KB": 10_000, "1MB": 1_000_000}
PAYLOAD_CALLS = {"100B": 5_000, "10KB": 2_000, "1MB": 40}
SMOKE_PAYLOAD_CALLS = {"100B": 5, "10KB": 5, "1MB": 2}


def _sizes(smoke: bool, concurrent: bool) -> tuple[int, int]:
    if concurrent:
        return (SMOKE_CONC, SMOKE_CALLERS) if smoke else (CONC_CALLS, CALLERS)
    return (SMOKE_SEQ, 1) if smoke else (SEQ_CALLS, 1)


def _measurement(calls: int, seconds: float, latencies: list[float], **extra: Any) -> Measurement:
    worst = max(latencies) if latencies else 0.0
    return Measurement(
        calls, seconds, latencies, note=f"max {worst * 1e3:.1f} ms", extra={"max_s": worst, **extra}
    )


# -- call loops ------------------------------------------------------------------------------


async def _loop(call: Callable[[], Awaitable[Any]], calls: int, callers: int) -> Measurement:
    """``calls`` awaited calls from ``callers`` tasks, each timed."""
    latencies: list[float] = []
    remaining = calls

    async def caller() -> None:
        nonlocal remaining
        clock = time.perf_counter
        while remaining > 0:
            remaining -= 1
            t0 = clock()
            await call()
            latencies.append(clock() - t0)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(callers):
            nursery.start_soon(caller)
    return _measurement(calls, time.perf_counter() - start, latencies)


def _sync_loop(
    make_call: Callable[[], tuple[Callable[[], Any], Callable[[], object]]],
    calls: int,
    callers: int,
) -> Measurement:
    """The same with threads, each with its own connection (Pyro5/RPyC proxies are per-thread)."""
    import threading

    latencies: list[float] = []
    lock = threading.Lock()
    remaining = [calls]
    ready = threading.Barrier(callers + 1)
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            call, close = make_call()
        except BaseException as exc:
            errors.append(exc)
            ready.abort()
            raise
        mine: list[float] = []
        try:
            ready.wait()
            clock = time.perf_counter
            while True:
                with lock:
                    if remaining[0] <= 0:
                        break
                    remaining[0] -= 1
                t0 = clock()
                call()
                mine.append(clock() - t0)
        finally:
            close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=caller, daemon=True) for _ in range(callers)]
    for t in threads:
        t.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        raise RuntimeError(f"a caller could not connect: {errors[:1]}") from None
    start = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if len(latencies) != calls:
        raise RuntimeError(f"only {len(latencies)} of {calls} calls completed")
    return _measurement(calls, seconds, latencies)


def _arg(payload: int | None) -> tuple[str, Any]:
    return ("square", 4) if payload is None else ("echo", "x" * payload)


def _check(method: str, result: Any, arg: Any) -> None:
    expected = 16 if method == "square" else [arg]
    if (list(result) if isinstance(result, tuple) else result) != expected:  # RPyC: a tuple
        raise RuntimeError(f"{method} answered {str(result)[:80]!r}")


# -- Python kite client ----------------------------------------------------------------------


def _py_client(
    url: str, transport: str, calls: int, callers: int, payload: int | None
) -> Measurement:
    method, arg = _arg(payload)

    async def main() -> Measurement:
        client = Kite("pybench", "1.0.0")
        async with client.dial(url, transport=transport, auth=None) as remote:  # type: ignore[arg-type]
            _check(method, await remote.tell(method, arg, timeout=60), arg)
            return await _loop(lambda: remote.tell(method, arg, timeout=60), calls, callers)

    return trio.run(main)


def _pykite_url() -> str:
    return shared_peer("pykite", python_peer("pykite")).kite_url


def _gomath_url(smoke: bool) -> str:
    gomath = go_programs(build=not smoke)["gomath"]
    return shared_peer("gomath", [str(gomath), "-port", "0", "-quiet"]).kite_url


def _go_client(
    url: str, transport: str, calls: int, callers: int, payload: int | None, smoke: bool
) -> Measurement:
    gobench = go_programs(build=not smoke)["gobench"]
    method, _ = _arg(payload)
    report = run_gobench(
        gobench,
        url,
        transport=transport,
        calls=calls,
        concurrency=callers,
        method=method,
        payload=payload or 0,
    )
    if report.get("errors"):
        raise RuntimeError(f"gobench: {report['errors']} errors, e.g. {report.get('first_error')}")
    latencies = [us / 1e6 for us in report["latencies_us"]]  # type: ignore[attr-defined]
    return _measurement(calls, float(report["seconds"]), latencies)  # type: ignore[arg-type]


# -- in-process RPC core cases ---------------------------------------------------------------


class _WebSocketPipe:
    """A kite `MessagePipe` straight over a `kite._http` WebSocket (no SockJS framing)."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self._ws = ws

    async def send(self, message: str) -> None:
        try:
            await self._ws.send(message)
        except ConnectionClosedError as exc:
            raise PipeClosedError() from exc

    async def receive(self) -> str:
        try:
            return await self._ws.receive()
        except ConnectionClosedError as exc:
            raise PipeClosedError() from exc

    async def aclose(self) -> None:
        await self._ws.aclose()


def _rpc_core_ws(calls: int, callers: int, payload: int | None) -> Measurement:
    from bench._peers.pykite import make_kite

    method, arg = _arg(payload)

    async def main() -> Measurement:
        server_kite = make_kite()

        async def endpoint(request: Any) -> None:
            ws = await request.accept_websocket()
            await server_kite.serve_pipe(_WebSocketPipe(ws))

        async with open_http_server("127.0.0.1", 0) as server:
            server.handle_http("/kite", endpoint)
            url = f"ws://127.0.0.1:{server.port}/kite"
            async with open_ws_client(url) as ws:
                client = Kite("pybench", "1.0.0")
                async with client.connect_pipe(_WebSocketPipe(ws)) as peer:
                    _check(method, await peer.tell(method, arg), arg)
                    m = await _loop(lambda: peer.tell(method, arg), calls, callers)
            return m

    return trio.run(main)


def _memory_pipe(calls: int, callers: int, payload: int | None) -> Measurement:
    from bench._peers.pykite import make_kite

    method, arg = _arg(payload)

    async def main() -> Measurement:
        server_kite = make_kite()
        client = Kite("pybench", "1.0.0")
        a, b = memory_pipe_pair()
        async with server_kite.accept(a), client.connect_pipe(b) as peer:
            _check(method, await peer.tell(method, arg), arg)
            return await _loop(lambda: peer.tell(method, arg), calls, callers)

    return trio.run(main)


# -- Pyro5 and RPyC --------------------------------------------------------------------------


def _pyro(calls: int, callers: int, payload: int | None) -> Measurement:
    try:
        import Pyro5.api  # type: ignore[import-untyped]
    except ImportError:
        raise SkipError("Pyro5 is not installed") from None
    peer = shared_peer("pyro", python_peer("pyro"))
    uri = f"PYRO:math@{peer.host}:{peer.port}"
    method, arg = _arg(payload)

    def make_call() -> tuple[Callable[[], Any], Callable[[], object]]:
        proxy = Pyro5.api.Proxy(uri)
        fn = getattr(proxy, method)
        _check(method, fn(arg), arg)
        return lambda: fn(arg), proxy._pyroRelease

    return _sync_loop(make_call, calls, callers)


def _rpyc(calls: int, callers: int, payload: int | None) -> Measurement:
    try:
        import rpyc  # type: ignore[import-untyped]
    except ImportError:
        raise SkipError("rpyc is not installed") from None
    peer = shared_peer("rpyc", python_peer("rpyc_server"))
    method, arg = _arg(payload)

    def make_call() -> tuple[Callable[[], Any], Callable[[], object]]:
        conn = rpyc.connect(peer.host, peer.port, config={"sync_request_timeout": 60})
        fn = getattr(conn.root, method)
        _check(method, fn(arg), arg)
        return lambda: fn(arg), conn.close

    return _sync_loop(make_call, calls, callers)


# -- the cases -------------------------------------------------------------------------------

Runner = Callable[[bool, int, int, int | None], Measurement]

PAIRS: dict[str, Runner] = {
    "py->py ws": lambda s, n, c, p: _py_client(_pykite_url(), "websocket", n, c, p),
    "py->py xhr": lambda s, n, c, p: _py_client(_pykite_url(), "xhr", n, c, p),
    "go->py ws": lambda s, n, c, p: _go_client(_pykite_url(), "websocket", n, c, p, s),
    "py->go ws": lambda s, n, c, p: _py_client(_gomath_url(s), "websocket", n, c, p),
    "py->go xhr": lambda s, n, c, p: _py_client(_gomath_url(s), "xhr", n, c, p),
    "go->go ws": lambda s, n, c, p: _go_client(_gomath_url(s), "websocket", n, c, p, s),
    "pyro5": lambda s, n, c, p: _pyro(n, c, p),
    "rpyc": lambda s, n, c, p: _rpyc(n, c, p),
    "rpc-core ws": lambda s, n, c, p: _rpc_core_ws(n, c, p),
    "memory pipe": lambda s, n, c, p: _memory_pipe(n, c, p),
}
PAYLOAD_PAIRS = ("py->py ws", "go->py ws", "py->go ws", "go->go ws", "pyro5", "rpyc")


def _square(pair: str, concurrent: bool) -> Callable[[bool], Measurement]:
    def run(smoke: bool) -> Measurement:
        calls, callers = _sizes(smoke, concurrent)
        return PAIRS[pair](smoke, calls, callers, None)

    return run


def _echo(pair: str, size: str) -> Callable[[bool], Measurement]:
    def run(smoke: bool) -> Measurement:
        calls = (SMOKE_PAYLOAD_CALLS if smoke else PAYLOAD_CALLS)[size]
        m = PAIRS[pair](smoke, calls, 1, PAYLOADS[size])
        mb_s = 2 * PAYLOADS[size] * calls / m.seconds / 1e6 if m.seconds > 0 else math.inf
        return Measurement(
            m.ops, m.seconds, m.latencies, note=f"{mb_s:,.1f} MB/s both ways", extra=m.extra
        )

    return run


CASES: list[Scenario] = [
    Scenario(
        f"rpc.square.{label}[{pair}]",
        _square(pair, concurrent),
        unit="call",
        compare_to=None if pair == "go->go ws" else f"rpc.square.{label}[go->go ws]",
    )
    for concurrent, label in ((False, "seq"), (True, "conc50"))
    for pair in PAIRS
]
CASES += [
    Scenario(
        f"rpc.echo{size}[{pair}]",
        _echo(pair, size),
        unit="call",
        compare_to=None if pair == "go->go ws" else f"rpc.echo{size}[go->go ws]",
    )
    for size in PAYLOADS
    for pair in PAYLOAD_PAIRS
]

#: The speed goals, each against a case of the same run (see `RelativeGoal`): issue #8's
#: (parity) and issue #22's (1.5x ahead, on one connection).
RELATIVE_GOALS = [
    RelativeGoal(
        "rpc.square.seq[go->py ws]",
        "rpc.square.seq[go->go ws]",
        1.5,
        "Go client -> Python kite, sequential, 1.5x Go -> Go (#22)",
    ),
    RelativeGoal(
        "rpc.square.conc50[go->py ws]",
        "rpc.square.conc50[go->go ws]",
        1.5,
        "Go client -> Python kite, 50 callers on one connection, 1.5x Go -> Go (#22)",
    ),
    RelativeGoal(
        "rpc.square.seq[py->py ws]",
        "rpc.square.seq[rpyc]",
        1.5,
        "Python -> Python, sequential, 1.5x RPyC (#22)",
    ),
    RelativeGoal(
        "rpc.square.seq[go->py ws]",
        "rpc.square.seq[go->go ws]",
        1.0,
        "Go client -> Python kite, sequential, at least Go -> Go",
    ),
    RelativeGoal(
        "rpc.square.conc50[go->py ws]",
        "rpc.square.conc50[go->go ws]",
        0.5,
        "Go client -> Python kite, 50 callers, at least half of Go -> Go",
    ),
    RelativeGoal(
        "rpc.square.seq[py->py ws]",
        "rpc.square.seq[rpyc]",
        1.0,
        "Python -> Python, sequential, ahead of RPyC",
        ahead=True,
    ),
    RelativeGoal(
        "rpc.square.seq[py->py ws]",
        "rpc.square.seq[pyro5]",
        1.0,
        "Python -> Python, sequential, ahead of Pyro5",
        ahead=True,
    ),
    RelativeGoal(
        "rpc.square.seq[py->py xhr]",
        "rpc.square.seq[py->go xhr]",
        1.0,
        "Python client over XHR: Python kite at least Go kite (issue #22)",
    ),
]
