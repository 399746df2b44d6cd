"""Server options: one frozen dataclass, validated once, read everywhere.

How this works: every knob the SockJS server side has (the HTTP surface in `_http`, the
transports in `_transports`, the payload limit in `_payload`, the timers the runtime arms) is a
field of `Options`. Defaults are the SockJS protocol's (and sockjs-go's `DefaultOptions`); Go kite
overrides two of them (`heartbeat_delay` and `disconnect_delay` are 10 s in kite's config), which
is the kite runtime's business, not this package's. Nothing here reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._origins import normalise_origin

__all__ = ["DEFAULT_SOCKJS_URL", "Options"]

#: The client library the iframe page loads (sockjs-go's default; sockjs-client 0.3.4).
DEFAULT_SOCKJS_URL = "//cdnjs.cloudflare.com/ajax/libs/sockjs-client/0.3.4/sockjs.min.js"


@dataclass(frozen=True, slots=True)
class Options:
    """How a SockJS endpoint behaves.

    Attributes:
        prefix: the URL path the service lives under, e.g. ``/kite`` (Go kite's fixed prefix).
            Empty or starting with ``/``; never ending with ``/``.
        websocket: serve ``/<server>/<session>/websocket`` (and say so in ``/info``).
        raw_websocket: serve the frameless ``<prefix>/websocket`` endpoint (Go kite: off).
        cookie_needed: set ``JSESSIONID`` on session requests (for sticky load balancers) and
            say ``"cookie_needed":true`` in ``/info``. Go kite: off.
        heartbeat_delay: seconds between ``h`` frames while a receiver is attached.
        disconnect_delay: seconds an HTTP session may go without a receiver before it closes.
        response_limit: bytes a streaming response (xhr_streaming, eventsource, htmlfile) may
            carry before the server ends it and the client reconnects.
        sockjs_url: the sockjs-client script the iframe page loads.
        max_payload_size: the largest client payload (an ``xhr_send``/``jsonp_send`` body or a
            WebSocket message) accepted, in bytes; larger ones raise `MessageTooLargeError`.
            Go has no limit; 16 MiB leaves room for the megabyte-sized calls Go clients make.
        hixie76: also accept hixie-76 (draft) WebSocket upgrades on the WebSocket endpoints
            (``Sec-WebSocket-Key1``/``Key2``, no ``Sec-WebSocket-Version``), as sockjs-node
            does. Go (gorilla/websocket) answers them 400, so off by default.
        escape_unicode: escape the characters the SockJS protocol asks servers to escape
            (U+200C-U+200F, U+2028-U+202F, U+2060-U+206F, U+FFF0-U+FFFF) as ``\\uXXXX`` in
            frames, as sockjs-node does. JSON-equivalent, but Go writes them raw, so off by
            default to keep our frames byte-identical to Go's.
        allowed_origins: browser pages from other origins that may use the endpoint
            (``"https://app.example.com"``; ``"*"`` for every origin, which is what sockjs-go
            and Go kite allow). Requests without ``Origin`` (non-browser clients) and pages
            served by this server itself are always allowed; any other page gets 403
            (`sockjs._origins` has the rules). Default: none.
    """

    prefix: str = "/kite"
    websocket: bool = True
    raw_websocket: bool = False
    cookie_needed: bool = False
    heartbeat_delay: float = 25.0
    disconnect_delay: float = 5.0
    response_limit: int = 128 * 1024
    sockjs_url: str = DEFAULT_SOCKJS_URL
    max_payload_size: int = 16 * 1024 * 1024
    hixie76: bool = False
    escape_unicode: bool = False
    allowed_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.prefix and (not self.prefix.startswith("/") or self.prefix.endswith("/")):
            msg = f"prefix must be empty or '/name' without a trailing '/': {self.prefix!r}"
            raise ValueError(msg)
        if "?" in self.prefix or "#" in self.prefix:
            raise ValueError(f"prefix must be a plain path: {self.prefix!r}")
        if self.heartbeat_delay <= 0 or self.disconnect_delay <= 0:
            raise ValueError("heartbeat_delay and disconnect_delay must be positive")
        if self.response_limit < 1:
            raise ValueError("response_limit must be at least 1 byte")
        if self.max_payload_size < 1:
            raise ValueError("max_payload_size must be at least 1 byte")
        if '"' in self.sockjs_url or "<" in self.sockjs_url:
            raise ValueError(f"sockjs_url must not contain '\"' or '<': {self.sockjs_url!r}")
        given: object = self.allowed_origins  # callers without a type checker pass a str
        if isinstance(given, str):
            raise ValueError("allowed_origins must be a sequence of origins, not one string")
        origins = tuple(normalise_origin(origin) for origin in self.allowed_origins)
        object.__setattr__(self, "allowed_origins", origins)
