"""The SockJS server's settings: a Go kite's `sockjs.Options` and the per-session buffers."""

from __future__ import annotations

import sockjs

__all__ = ["ServerLimits", "kite_sockjs_options"]


class ServerLimits:
    """Per-session buffers of the SockJS server (beyond `HTTPLimits` and `sockjs.Options`).

    Attributes:
        outbox: messages (frames) the application may have waiting for an HTTP session's
            client (no receiver attached, or a receiver still writing) before its `send`
            waits (default 1024); the wait ends when they go out or the session closes. A
            WebSocket session writes each message to the socket as it is sent, so there the
            socket's buffer is the outbox.
        inbox: messages delivered by `xhr_send`/`jsonp_send` and not yet read by the
            application before the sender waits (default 64; Go's xhr_send waits too).
        sessions: HTTP (polling and streaming) sessions alive at once (default 10,000); a
            request that would open one more is answered 503 `too many sessions` and nothing
            else changes. WebSocket sessions are bounded by `HTTPLimits.max_connections`.
    """

    __slots__ = ("inbox", "outbox", "sessions")

    def __init__(self, *, outbox: int = 1024, inbox: int = 64, sessions: int = 10_000) -> None:
        if outbox < 1 or inbox < 0 or sessions < 1:
            raise ValueError("outbox and sessions must be at least 1 and inbox not negative")
        self.outbox = outbox
        self.inbox = inbox
        self.sessions = sessions


def kite_sockjs_options(config: object | None = None, **changes: object) -> sockjs.Options:
    """The SockJS options of a Go kite: prefix `/kite`, Go kite's timings from `config`.

    Reads `sockjs_websocket`, `sockjs_heartbeat_delay` (10 s), `sockjs_disconnect_delay` (10 s),
    `sockjs_response_limit` (128 KiB) and `sockjs_allowed_origins` (none: pages from other
    origins are refused) from a `kite.Config`; raw WebSocket off, no cookie.
    """
    values: dict[str, object] = {
        "prefix": "/kite",
        "websocket": bool(getattr(config, "sockjs_websocket", True)),
        "heartbeat_delay": float(getattr(config, "sockjs_heartbeat_delay", 10.0)),
        "disconnect_delay": float(getattr(config, "sockjs_disconnect_delay", 10.0)),
        "response_limit": int(getattr(config, "sockjs_response_limit", 128 * 1024)),
        "allowed_origins": tuple(getattr(config, "sockjs_allowed_origins", ())),
    }
    values.update(changes)
    return sockjs.Options(**values)  # type: ignore[arg-type]
