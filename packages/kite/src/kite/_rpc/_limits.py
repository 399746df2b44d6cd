"""The resource limits of one kite connection."""

from __future__ import annotations

from dataclasses import dataclass

import dnode

__all__ = ["PeerLimits"]


@dataclass(frozen=True, slots=True)
class PeerLimits:
    """Resource limits of one connection.

    Attributes:
        max_concurrent_requests: incoming method calls served at once (default 100). Go has
            no limit.
        request_backlog: requests read and waiting for a free slot (default 100); when full,
            the connection is not read until a request finishes.
        callback_queue: received callback invocations queued for the callback task before
            the reader waits (default 64).
        max_callbacks: live local callbacks (functions we sent and may still be called) per
            connection (default `dnode.DEFAULT_CALLBACK_LIMIT`); beyond it a call fails with
            `SendError`. Response callbacks are freed when answered or abandoned; functions
            passed as arguments live as long as the connection (as in Go).
    """

    max_concurrent_requests: int = 100
    request_backlog: int = 100
    callback_queue: int = 64
    max_callbacks: int = dnode.DEFAULT_CALLBACK_LIMIT

    def __post_init__(self) -> None:
        for name in ("max_concurrent_requests", "request_backlog", "max_callbacks"):
            if getattr(self, name) < 1:
                raise ValueError(f"PeerLimits.{name} must be at least 1")
        if self.callback_queue < 0:
            raise ValueError("PeerLimits.callback_queue must not be negative")
