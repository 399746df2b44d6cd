"""`kite.otel`: spans and metrics of real calls between two kites over WebSocket on loopback,
read back from the OpenTelemetry SDK's in-memory exporter and metric reader."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import kite_rpc_helpers as helpers
import pytest
import trio
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import dnode
import kite
import kite.otel


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metrics])

    def instrument(self, k: kite.Kite) -> None:
        kite.otel.instrument(
            k, tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def histogram(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        points = []
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        assert metric.unit == "s"
                        points.extend(metric.data.data_points)
        return points

    def gauge(self, name: str) -> dict[str, int]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        return {
            point.attributes["network.transport"]: point.value
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        }


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    yield t
    t.tracer_provider.shutdown()
    t.meter_provider.shutdown()


def math_kite() -> kite.Kite:
    """The tests' `math` kite plus `relay`, which calls the caller's `double`."""
    k = helpers.math_kite()

    @k.handle("relay", auth=False)
    async def relay(r: kite.Request) -> Any:
        # A call made while serving one: its span is a child of the served call's span.
        return await r.client.tell("double", 21)

    return k


async def test_client_and_server_spans_share_a_trace(telemetry: Telemetry) -> None:
    server_kite = math_kite()
    caller = kite.Kite("caller", "1.0.0")
    telemetry.instrument(server_kite)
    telemetry.instrument(caller)
    async with (
        server_kite.serve(host="127.0.0.1", port=0) as server,
        caller.dial(server.url, transport="websocket") as remote,
    ):
        assert telemetry.gauge("kite.server.sessions") == {"websocket": 1, "http": 0}
        assert await remote.tell("square", 4) == 16
    spans = {(s.kind, s.name): s for s in telemetry.spans.get_finished_spans()}
    client = spans[SpanKind.CLIENT, "square"]
    served = spans[SpanKind.SERVER, "square"]
    assert served.context.trace_id == client.context.trace_id
    assert served.parent is not None
    assert served.parent.span_id == client.context.span_id
    assert served.parent.is_remote
    assert served.attributes["rpc.system.name"] == "kite"
    assert served.attributes["rpc.method"] == "square"
    assert served.attributes["network.peer.address"] == "127.0.0.1"
    assert client.attributes["server.address"] == "127.0.0.1"
    assert client.attributes["server.port"] == server.port
    assert "error.type" not in served.attributes
    (point,) = [
        p
        for p in telemetry.histogram("rpc.server.call.duration")
        if p.attributes["rpc.method"] == "square"
    ]
    assert point.count == 1
    assert "error.type" not in point.attributes
    (point,) = [
        p
        for p in telemetry.histogram("rpc.client.call.duration")
        if p.attributes["rpc.method"] == "square"
    ]
    assert point.count == 1


async def test_a_failing_call_sets_error_type_on_both_sides(telemetry: Telemetry) -> None:
    server_kite = math_kite()
    caller = kite.Kite("caller", "1.0.0")
    telemetry.instrument(server_kite)
    telemetry.instrument(caller)
    async with (
        server_kite.serve(host="127.0.0.1", port=0) as server,
        caller.dial(server.url, transport="websocket") as remote,
    ):
        with pytest.raises(kite.GenericError, match="deliberate panic"):
            await remote.tell("boom")
        with pytest.raises(kite.MethodNotFoundError):
            await remote.tell("nope")
    spans = {(s.kind, s.name): s for s in telemetry.spans.get_finished_spans()}
    served = spans[SpanKind.SERVER, "boom"]
    assert served.attributes["error.type"] == "genericError"
    assert served.status.status_code is StatusCode.ERROR
    assert [e.name for e in served.events] == ["exception"]
    client = spans[SpanKind.CLIENT, "boom"]
    assert client.attributes["error.type"] == "genericError"
    assert spans[SpanKind.CLIENT, "nope"].attributes["error.type"] == "methodNotFound"
    assert (SpanKind.SERVER, "nope") not in spans  # unknown methods are not served
    errors = [
        p.attributes.get("error.type")
        for p in telemetry.histogram("rpc.server.call.duration")
        if p.attributes["rpc.method"] == "boom"
    ]
    assert errors == ["genericError"]


async def test_calls_made_by_a_handler_are_children_of_the_served_span(
    telemetry: Telemetry,
) -> None:
    server_kite = math_kite()
    caller = kite.Kite("caller", "1.0.0")

    @caller.handle("double", auth=False)
    def double(r: kite.Request) -> float:
        return r.args.one().float() * 2

    telemetry.instrument(server_kite)
    telemetry.instrument(caller)
    async with (
        server_kite.serve(host="127.0.0.1", port=0) as server,
        caller.dial(server.url, transport="xhr") as remote,
    ):
        assert await remote.tell("relay") == 42
    spans = telemetry.spans.get_finished_spans()
    by_key = {(s.kind, s.name): s for s in spans}
    root = by_key[SpanKind.CLIENT, "relay"]
    relay = by_key[SpanKind.SERVER, "relay"]
    inner_call = by_key[SpanKind.CLIENT, "double"]
    inner_served = by_key[SpanKind.SERVER, "double"]
    assert len({s.context.trace_id for s in spans}) == 1
    assert relay.parent is not None
    assert relay.parent.span_id == root.context.span_id
    assert inner_call.parent is not None
    assert inner_call.parent.span_id == relay.context.span_id
    assert inner_served.parent is not None
    assert inner_served.parent.span_id == inner_call.context.span_id


async def test_without_a_configured_tracer_no_span_is_made_and_nothing_crosses_the_wire() -> None:
    """`instrument` with OpenTelemetry's defaults (no provider set): calls still measured
    (no-op meters), no trace context sent, results unchanged."""
    caller = kite.Kite("caller", "1.0.0")
    instrumentation = kite.otel.instrument(caller)
    assert not instrumentation.tracing()
    assert not instrumentation.metering()
    ours, theirs = kite.memory_pipe_pair()
    async with caller.connect_pipe(ours) as peer, trio.open_nursery() as nursery:
        nursery.start_soon(peer.tell, "square", 4)
        message = dnode.decode(await theirs.receive())
        nursery.cancel_scope.cancel()
    assert "traceContext" not in message.arguments[0]


@pytest.mark.parametrize("instrumented", [False, True])
async def test_the_envelope_carries_trace_context_only_when_instrumented(
    telemetry: Telemetry, instrumented: bool
) -> None:
    caller = kite.Kite("caller", "1.0.0")
    if instrumented:
        telemetry.instrument(caller)
    ours, theirs = kite.memory_pipe_pair()
    async with caller.connect_pipe(ours) as peer, trio.open_nursery() as nursery:
        nursery.start_soon(peer.tell, "square", 4)
        message = dnode.decode(await theirs.receive())
        nursery.cancel_scope.cancel()
    envelope = message.arguments[0]
    assert list(envelope)[:4] == ["kite", "authentication", "responseCallback", "withArgs"]
    if instrumented:
        (client,) = telemetry.spans.get_finished_spans()
        trace_id = format(client.context.trace_id, "032x")
        assert list(envelope) == [
            "kite",
            "authentication",
            "responseCallback",
            "withArgs",
            "traceContext",
        ]
        assert envelope["traceContext"]["traceparent"].split("-")[1] == trace_id
    else:
        assert "traceContext" not in envelope


def test_global_providers_set_later_are_used() -> None:
    """With OpenTelemetry's defaults nothing is recorded; once the application sets global
    providers, kites instrumented without explicit ones use them. (Global providers can be set
    once per process, hence the child process.)"""
    program = textwrap.dedent(
        """
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        import kite, kite.otel

        before = kite.otel.instrument(kite.Kite("a", "1.0.0"))
        print(before.tracing(), before.metering())
        trace.set_tracer_provider(TracerProvider())
        metrics.set_meter_provider(MeterProvider())
        after = kite.otel.instrument(kite.Kite("b", "1.0.0"))
        print(after.tracing(), after.metering())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["False False", "True True"]
