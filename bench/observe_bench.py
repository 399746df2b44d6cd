"""What observing calls costs: the RPC core alone (memory pipe, both kites in this process),
20,000 sequential ``square(4)`` calls, with each kind of observation on both ends.

- ``plain``: no observer, logging at its default (the per-call check finds DEBUG off);
- ``otel no-op``: `kite.otel.instrument` with OpenTelemetry's default (no-op) providers;
- ``otel sdk``: `kite.otel.instrument` with the SDK's providers, spans processed by a
  `SimpleSpanProcessor` into an in-memory exporter and histograms aggregated in memory (the
  full per-call cost an application pays, minus its exporter's I/O);
- ``debug log``: no observer, `kite` loggers at DEBUG into a `NullHandler` (one formatted line
  per call on each end).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import trio

from bench._harness import Measurement, Scenario, SkipError
from bench.rpc_bench import _loop, _sizes
from kite import Kite, memory_pipe_pair


def _observed(setup: Callable[[Kite, Kite], Any]) -> Callable[[bool], Measurement]:
    def run(smoke: bool) -> Measurement:
        from bench._peers.pykite import make_kite

        calls, _ = _sizes(smoke, False)

        async def main() -> Measurement:
            server_kite = make_kite()
            client = Kite("pybench", "1.0.0")
            undo = setup(server_kite, client)
            try:
                a, b = memory_pipe_pair()
                async with server_kite.accept(a), client.connect_pipe(b) as peer:
                    assert await peer.tell("square", 4) == 16
                    return await _loop(lambda: peer.tell("square", 4), calls, 1)
            finally:
                if undo is not None:
                    undo()

        return trio.run(main)

    return run


def _plain(server: Kite, client: Kite) -> None:
    return None


def _otel_noop(server: Kite, client: Kite) -> None:
    try:
        import kite.otel
    except ImportError:
        raise SkipError("opentelemetry-api is not installed") from None
    kite.otel.instrument(server)
    kite.otel.instrument(client)


def _otel_sdk(server: Kite, client: Kite) -> Callable[[], None]:
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        import kite.otel
    except ImportError:
        raise SkipError("opentelemetry-sdk is not installed") from None
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    for k in (server, client):
        kite.otel.instrument(k, tracer_provider=tracer_provider, meter_provider=meter_provider)

    def undo() -> None:
        tracer_provider.shutdown()
        meter_provider.shutdown()

    return undo


def _debug_log(server: Kite, client: Kite) -> Callable[[], None]:
    logger = logging.getLogger("kite")
    handler = logging.NullHandler()
    before = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    logger.propagate = False

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(before[0])
        logger.propagate = before[1]

    return undo


_SETUPS: dict[str, Callable[[Kite, Kite], Any]] = {
    "plain": _plain,
    "otel no-op": _otel_noop,
    "otel sdk": _otel_sdk,
    "debug log": _debug_log,
}

CASES: list[Scenario] = [
    Scenario(
        f"observe.square.seq[{name}]",
        _observed(setup),
        unit="call",
        compare_to=None if name == "plain" else "observe.square.seq[plain]",
    )
    for name, setup in _SETUPS.items()
]
