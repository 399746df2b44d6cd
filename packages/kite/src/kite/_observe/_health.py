"""The health endpoint: an HTTP route answering whether a kite is serving.

How this works: `health_handler` makes an HTTP handler for `Kite.handle_http` that answers
`GET` (and `HEAD`) with `200 {"status":"ok"}` while the kite serves and its optional `check`
passes, and `503 {"status":"unavailable","reason":...}` while it shuts down (so load balancers
drain it) or when `check` raises or takes longer than `timeout` seconds; that is the form
Kubernetes liveness/readiness probes and load balancers expect. Other methods get 405.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Final

import trio

from .._http import Handler, HTTPRequest

__all__ = ["HealthCheck", "health_handler"]

#: `async check() -> None`: raises (any exception) when the service cannot serve.
HealthCheck = Callable[[], Awaitable[object]]

_HEADERS: Final = (
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
)


def health_handler(
    serving: Callable[[], bool], check: HealthCheck | None, timeout: float = 2.0
) -> Handler:
    """An HTTP handler reporting health (see the module docstring).

    Args:
        serving: whether the service is up and not shutting down.
        check: an extra check (Kontrol: its storage answers); `None` for none.
        timeout: seconds `check` may take before the answer is 503.
    """

    async def handle(request: HTTPRequest) -> None:
        if request.method not in ("GET", "HEAD"):
            await request.respond(405, (*_HEADERS, ("Allow", "GET, HEAD")), b"")
            return
        reason = await _unhealthy(serving, check, timeout)
        if reason is None:
            status, body = 200, {"status": "ok"}
        else:
            status, body = 503, {"status": "unavailable", "reason": reason}
        data = json.dumps(body).encode() + b"\n"
        await request.respond(status, _HEADERS, b"" if request.method == "HEAD" else data)

    return handle


async def _unhealthy(
    serving: Callable[[], bool],
    check: HealthCheck | None,
    timeout: float,  # noqa: ASYNC109 - the check's own deadline, reported in the answer
) -> str | None:
    """Why the service is unhealthy, or `None` when it is healthy."""
    if not serving():
        return "shutting down"
    if check is None:
        return None
    with trio.move_on_after(timeout) as scope:
        try:
            await check()
        except Exception as exc:  # noqa: BLE001 - any failure of the check is the answer
            return f"check failed: {type(exc).__name__}: {exc}"
    if scope.cancelled_caught:
        return f"check did not answer within {timeout:g} s"
    return None
