"""OpenTelemetry for Kontrol (`pip install kite-kontrol[otel]`).

`instrument(kontrol)` does what `kite.otel.instrument` does for any kite (Kontrol's methods are
kite methods: a span and a duration measurement per call) and adds the gauge
`kontrol.registrations` (kites registered through this Kontrol whose connection or HTTP
heartbeats live).
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import metrics, trace

import kite.otel

from ._kontrol import Kontrol

__all__ = ["instrument"]


def instrument(
    kontrol: Kontrol,
    *,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> kite.otel.Instrumentation:
    """Trace and measure `kontrol`'s calls and observe its registrations."""
    instrumentation = kite.otel.instrument(
        kontrol, tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    meter = metrics.get_meter("kontrol", meter_provider=meter_provider)

    def observe(options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        return [metrics.Observation(kontrol.live_registrations)]

    meter.create_observable_gauge(
        "kontrol.registrations",
        callbacks=[observe],
        unit="{kite}",
        description="Kites registered through this Kontrol whose connection or heartbeats live.",
    )
    return instrumentation
