"""Kontrol's health route (its storage must answer) and `kontrol.otel`, over real loopback
connections."""

from __future__ import annotations

import json
from pathlib import Path

from kontrol_test_support import (
    ANCHOR_KEY,
    MATH_URL,
    http_exchange,
    make_kontrol,
    math_kite,
    split_response,
    sqlite_storage,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import kontrol.otel
from kite import Auth
from kontrol import Storage


async def _get(port: int, path: str) -> tuple[int, bytes]:
    response = await http_exchange(
        port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    status, _, body = split_response(response)
    return int(status.split(" ")[1]), body


class _FailingStorage:
    """A real SQLite storage whose key listing fails, as a storage that lost its database."""

    def __init__(self, inner: Storage) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def list_keys(self) -> list[object]:
        raise OSError("database is locked")


async def test_kontrol_health_follows_its_storage(tmp_path: Path) -> None:
    async with sqlite_storage(tmp_path / "k.db") as storage:
        k = make_kontrol(storage)
        async with k.running(), k.serve("127.0.0.1", 0) as server:
            status, body = await _get(server.port, "/healthz")
            assert (status, json.loads(body)) == (200, {"status": "ok"})
            k.storage = _FailingStorage(storage)  # type: ignore[assignment]
            status, body = await _get(server.port, "/healthz")
            assert status == 503
            assert json.loads(body)["reason"] == "check failed: OSError: database is locked"


async def test_kontrol_otel_traces_its_methods_and_counts_registrations(tmp_path: Path) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    async with sqlite_storage(tmp_path / "k.db") as storage:
        k = make_kontrol(storage)
        kontrol.otel.instrument(k, tracer_provider=tracer_provider, meter_provider=meter_provider)
        async with k.running(), k.serve("127.0.0.1", 0) as server:
            math = math_kite()
            async with math.dial(server.url, auth=Auth("kiteKey", ANCHOR_KEY)) as remote:
                await remote.tell("register", {"url": MATH_URL}, timeout=5)
                data = reader.get_metrics_data()
                assert data is not None
                gauges = [
                    point.value
                    for resource in data.resource_metrics
                    for scope in resource.scope_metrics
                    for metric in scope.metrics
                    if metric.name == "kontrol.registrations"
                    for point in metric.data.data_points
                ]
                assert gauges == [1]
    served = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [s.name for s in served] == ["register"]
    assert served[0].attributes["rpc.system.name"] == "kite"
    tracer_provider.shutdown()
    meter_provider.shutdown()
