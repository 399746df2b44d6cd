"""Instrumented kites (`kite.otel`) with the Go peers: the envelope's `traceContext` field is
ignored by Go, so a Go client calling an instrumented Python kite, and an instrumented Python
client calling ``gomath``, behave exactly as without instrumentation, callbacks included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import trio
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import kite
import kite.otel
from conformance._gopeers import GoBuild, go_peers_or_skip, open_go_peer
from conformance._interop import goclient, parse_lines, python_math_kite

pytestmark = pytest.mark.go

TRANSPORTS = ["websocket", "xhr"]


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_go_client_calls_an_instrumented_python_kite(
    go_build: GoBuild, transport: str, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    math = python_math_kite()
    kite.otel.instrument(math, tracer_provider=provider)
    with trio.fail_after(60):
        async with math.serve(host="127.0.0.1", port=0) as server:
            square = await goclient(go_build, server.url, transport, "square", "[4]")
            countdown = await goclient(
                go_build, server.url, transport, "countdown", '[{"from":2,"cb":"$callback"}]'
            )
    assert (square.returncode, parse_lines(square)) == (0, [16])
    assert countdown.returncode == 0, countdown.stderr
    assert parse_lines(countdown) == [
        {"args": [2], "callback": "0.cb"},
        {"args": [1], "callback": "0.cb"},
        "done",
    ]
    served = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert sorted(s.name for s in served) == ["countdown", "square"]
    assert all(s.parent is None for s in served)  # Go sends no trace context: new traces


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_instrumented_python_client_calls_gomath(
    go_build: GoBuild, transport: str, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    client = kite.Kite("pyclient", "1.0.0")
    kite.otel.instrument(client, tracer_provider=provider)
    seen: list[Any] = []

    async def callback(n: Any) -> None:
        seen.append(n)

    with trio.fail_after(60):
        async with (
            open_go_peer(go_build, "gomath", "-quiet") as gomath,
            client.dial(gomath.url, transport=transport, timeout=10) as remote,  # type: ignore[arg-type]
        ):
            assert await remote.tell("square", 4, timeout=10) == 16
            assert await remote.tell("countdown", {"from": 3, "cb": callback}, timeout=10) == (
                "done"
            )
            with pytest.raises(kite.MethodNotFoundError):
                await remote.tell("noSuchMethod", timeout=10)
    assert seen == [3, 2, 1]
    made = {s.name: s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT}
    assert set(made) == {"square", "countdown", "noSuchMethod"}
    assert made["noSuchMethod"].attributes["error.type"] == "methodNotFound"
    assert "error.type" not in made["square"].attributes
