"""OpenTelemetry traces and metrics for kites (`pip install kite-trio[otel]`).

    import kite
    import kite.otel

    math = kite.Kite("math", "1.0.0")
    kite.otel.instrument(math)  # the global tracer and meter providers, or pass your own

Once instrumented, a kite makes one span per call it serves (kind SERVER) and per call it makes
(kind CLIENT), named after the method, with the attributes of OpenTelemetry's RPC semantic
conventions 1.45.0 (`rpc.system.name` = `kite`, `rpc.method`, `server.address`, `server.port`,
`network.peer.address`, `network.peer.port`, and on failure `error.type` and
`rpc.response.status_code`, both the kite error type such as `methodNotFound`). It records the
histograms `rpc.server.call.duration` and `rpc.client.call.duration` (seconds) and observes the
gauge `kite.server.sessions` (SockJS sessions open, by `network.transport`).

The caller's trace context travels in the request envelope, in a `traceContext` field holding
the W3C `traceparent`/`tracestate` (whatever the global propagator injects): Go kites and
kite.js ignore unknown envelope fields, so instrumented and plain kites of any language mix. A
served call's span is the child of the caller's, and the handler runs with it as the current
span, so calls the handler makes are its children.

A kite that is not instrumented pays one attribute check per call; without `opentelemetry-api`
installed nothing here is imported. An instrumented kite whose application configured neither a
tracer nor a meter provider (OpenTelemetry's no-op defaults) skips spans and measurements.
"""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError(
        "kite.otel needs the OpenTelemetry API: pip install 'kite-trio[otel]'"
    ) from exc

from ._errors import KiteError
from ._rpc._observer import NO_TRACE, ObservedPeer, ServedCall, log_called, log_served

if TYPE_CHECKING:
    from ._kite import Kite

__all__ = ["SEMCONV_VERSION", "Instrumentation", "instrument", "uninstrument"]

#: The version of OpenTelemetry's semantic conventions the spans and metrics follow.
SEMCONV_VERSION: Final = "1.45.0"
_SCHEMA_URL: Final = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
_SYSTEM: Final = {"rpc.system.name": "kite"}


def _version() -> str:
    try:
        return importlib.metadata.version("kite-trio")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source checkout
        return "0"


class _ServedSpan:
    __slots__ = ("_instrumentation", "_method", "_peer", "_span", "_start", "_token")

    def __init__(
        self, instrumentation: Instrumentation, peer: ObservedPeer, method: str, trace_field: Any
    ) -> None:
        self._instrumentation = instrumentation
        self._peer = peer
        self._method = method
        parent = propagate.extract(_carrier(trace_field)) if trace_field else None
        attributes: dict[str, Any] = {**_SYSTEM, "rpc.method": method}
        address = peer.remote_address
        if address is not None:
            attributes["network.peer.address"] = address[0]
            attributes["network.peer.port"] = address[1]
        self._span = instrumentation.tracer.start_span(
            method, context=parent, kind=SpanKind.SERVER, attributes=attributes
        )
        self._token = otel_context.attach(trace.set_span_in_context(self._span, parent))
        self._start = time.perf_counter()

    def end(self, error: Mapping[str, str] | None, exc: BaseException | None) -> None:
        elapsed = time.perf_counter() - self._start
        otel_context.detach(self._token)
        span = self._span
        metric_attributes = {**_SYSTEM, "rpc.method": self._method}
        if error is not None:
            kind = error.get("type", "") or "genericError"
            span.set_attribute("error.type", kind)
            span.set_attribute("rpc.response.status_code", kind)
            span.set_status(Status(StatusCode.ERROR, error.get("message", "")))
            if exc is not None:
                span.record_exception(exc)
            metric_attributes["error.type"] = kind
        span.end()
        self._instrumentation.server_duration.record(elapsed, metric_attributes)
        log_served(self._method, self._peer, elapsed, error)


class _Unobserved:
    """A served call while neither a tracer nor a meter is configured."""

    __slots__ = ()

    def end(self, error: Mapping[str, str] | None, exc: BaseException | None) -> None:
        pass


_UNOBSERVED: Final = _Unobserved()


class _MeasuredCall:
    """A served call while no tracer is configured: only its duration is recorded."""

    __slots__ = ("_instrumentation", "_method", "_peer", "_start")

    def __init__(self, instrumentation: Instrumentation, peer: ObservedPeer, method: str) -> None:
        self._instrumentation = instrumentation
        self._peer = peer
        self._method = method
        self._start = time.perf_counter()

    def end(self, error: Mapping[str, str] | None, exc: BaseException | None) -> None:
        attributes = {**_SYSTEM, "rpc.method": self._method}
        if error is not None:
            attributes["error.type"] = error.get("type", "") or "genericError"
        elapsed = time.perf_counter() - self._start
        self._instrumentation.server_duration.record(elapsed, attributes)
        log_served(self._method, self._peer, elapsed, error)


def _records_measurements(provider: metrics.MeterProvider) -> bool:
    """Whether the global meter provider is one an application set. Until one is set the API
    hands out a proxy (unlike `trace.ProxyTracerProvider`, its class is not public, so it is
    recognised by name; `test_global_providers_set_later_are_used` pins that against the
    installed API), and an explicit `NoOpMeterProvider` records nothing either."""
    if isinstance(provider, metrics.NoOpMeterProvider):
        return False
    return type(provider).__name__ != "_ProxyMeterProvider"


def _carrier(value: Any) -> dict[str, str]:
    """The received `traceContext` as a propagator carrier: string entries only."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


class Instrumentation:
    """The `CallObserver` `instrument` installs on a kite: spans, metrics, context transfer.

    Attributes:
        tracer: the tracer spans are made with.
        server_duration: the `rpc.server.call.duration` histogram.
        client_duration: the `rpc.client.call.duration` histogram.
    """

    def __init__(
        self,
        kite: Kite,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self.tracer = trace.get_tracer("kite", _version(), tracer_provider, schema_url=_SCHEMA_URL)
        meter = metrics.get_meter("kite", _version(), meter_provider, schema_url=_SCHEMA_URL)
        self.server_duration = meter.create_histogram(
            "rpc.server.call.duration", unit="s", description="Duration of calls served."
        )
        self.client_duration = meter.create_histogram(
            "rpc.client.call.duration", unit="s", description="Duration of calls made."
        )
        self._kite = kite
        #: Whether spans / durations are made; while not, looked up again at most once a
        #: second (OpenTelemetry's global providers, once set, stay set).
        self._tracing = tracer_provider is not None
        self._metering = meter_provider is not None
        self._next_lookup = 0.0
        meter.create_observable_gauge(
            "kite.server.sessions",
            callbacks=[self._observe_sessions],
            unit="{session}",
            description="SockJS sessions open on the kite's servers.",
        )

    def _observe_sessions(self, options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        counts = self._kite.session_counts()
        return [
            metrics.Observation(count, {**_SYSTEM, "network.transport": transport})
            for transport, count in counts.items()
        ]

    def tracing(self) -> bool:
        """Whether spans are made: a tracer provider was given, or a global one is set (until
        then OpenTelemetry's default is a proxy whose spans record nothing, and the calls
        skip making them and carry no trace context)."""
        if not self._tracing:
            self._look_up_providers()
        return self._tracing

    def metering(self) -> bool:
        """Whether durations are recorded: a meter provider was given, or a global one is set
        (OpenTelemetry's default until then is a proxy whose instruments record nothing)."""
        if not self._metering:
            self._look_up_providers()
        return self._metering

    def _look_up_providers(self) -> None:
        now = time.monotonic()
        if now < self._next_lookup:
            return
        self._next_lookup = now + 1.0
        if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            self._tracing = True
        if _records_measurements(metrics.get_meter_provider()):
            self._metering = True

    def serve(self, peer: ObservedPeer, method: str, trace: Any) -> ServedCall:
        if not self.tracing():
            if not self.metering():
                return _UNOBSERVED
            return _MeasuredCall(self, peer, method)
        return _ServedSpan(self, peer, method, trace)

    async def call(
        self,
        peer: ObservedPeer,
        method: str,
        args: list[Any] | None,
        timeout: float | None,  # noqa: ASYNC109
        free_callbacks: bool,
    ) -> Any:
        start = time.perf_counter()
        failure: BaseException | None = None
        span: trace.Span | None = None
        try:
            if not self.tracing():
                return await peer.call(
                    method,
                    args,
                    timeout=timeout,
                    free_callbacks=free_callbacks,
                    trace_context=NO_TRACE,
                )
            attributes: dict[str, Any] = {**_SYSTEM, "rpc.method": method}
            address = peer.remote_address
            if address is not None:
                attributes["server.address"] = address[0]
                attributes["server.port"] = address[1]
            with self.tracer.start_as_current_span(
                method,
                kind=SpanKind.CLIENT,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
                end_on_exit=False,
            ) as span:
                carrier: dict[str, str] = {}
                propagate.inject(carrier)
                return await peer.call(
                    method,
                    args,
                    timeout=timeout,
                    free_callbacks=free_callbacks,
                    trace_context=carrier or NO_TRACE,
                )
        except BaseException as exc:
            failure = exc
            raise
        finally:
            elapsed = time.perf_counter() - start
            self._called(method, span, elapsed, failure)
            log_called(method, peer, elapsed, failure)

    def _called(
        self, method: str, span: trace.Span | None, seconds: float, exc: BaseException | None
    ) -> None:
        """Close the CLIENT span (if any) and record the duration of one call made."""
        metric_attributes = {**_SYSTEM, "rpc.method": method}
        if exc is not None:
            kind = _error_type(exc)
            metric_attributes["error.type"] = kind
            if span is not None:
                span.set_attribute("error.type", kind)
                if isinstance(exc, KiteError):
                    span.set_attribute("rpc.response.status_code", kind)
                span.set_status(Status(StatusCode.ERROR, str(exc)))
        if span is not None:
            span.end()
        if span is not None or self.metering():
            self.client_duration.record(seconds, metric_attributes)


def _error_type(exc: BaseException) -> str:
    """`error.type`: the kite error type for remote and kite errors, else the class name."""
    if isinstance(exc, KiteError) and exc.type:
        return exc.type
    return type(exc).__qualname__


def instrument(
    kite: Kite,
    *,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> Instrumentation:
    """Trace and measure every call `kite` serves and makes (see the module docstring).

    Without providers the global ones are used (`opentelemetry.trace.set_tracer_provider`);
    while those are OpenTelemetry's no-op defaults, spans are not recorded.
    """
    instrumentation = Instrumentation(kite, tracer_provider, meter_provider)
    kite.observer = instrumentation
    return instrumentation


def uninstrument(kite: Kite) -> None:
    """Stop observing `kite`'s calls."""
    kite.observer = None
