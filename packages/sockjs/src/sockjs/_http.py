"""The HTTP surface of a SockJS server in one call: request in, a plan out.

How this works: `plan_request` resolves the endpoint (`_endpoints`), decodes what the request
carries (`_payload`, the callback name) and returns one of four plans. It never looks at
sessions: the runtime owns the session table and acts on the plan.

* `Reply`: answer with this response and forget the request (welcome, info, pre-flights, the
  iframe page, 404, 405, 400, 413 and the protocol's 500s).
* `Receive`: a receiving transport. Send ``head`` (plus ``writer.prelude``), find or create the
  session ``endpoint.session_id``, attach the request as its receiver and write each frame with
  ``writer.wrap``; a poll is one frame (``head.with_body(writer.wrap(frame))``).
* `Deliver`: ``xhr_send``/``jsonp_send`` with decoded ``messages``. If the session exists, hand
  it the messages and answer ``ok``; otherwise answer ``not_found``. As in sockjs-go, the payload
  is checked before the session, so a bad body to an unknown session still gets the 500.
* A request from a browser page whose origin the server does not allow (`_origins`) gets a
  `Reply` with 403, on every endpoint but the greeting and the iframe page.
* `Upgrade`: a valid WebSocket upgrade (SockJS or raw); the runtime completes the handshake and
  runs a fresh session (WebSocket sessions are never registered: ids may repeat). With
  ``Options(hixie76=True)`` a hixie-76 (draft) upgrade is an `Upgrade` too; the runtime tells
  the two apart with `is_hixie76_upgrade`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ._endpoints import Endpoint, EndpointKind, MethodNotAllowed, Request, resolve
from ._errors import MessageTooLargeError, ProtocolError
from ._options import Options
from ._origins import origin_allowed
from ._payload import decode_jsonp_send, decode_payload
from ._responses import (
    Response,
    error_response,
    forbidden_origin_response,
    iframe_response,
    info_response,
    jsonp_send_ok_response,
    method_not_allowed_response,
    not_found_response,
    preflight_response,
    too_large_response,
    transport_head,
    websocket_bad_request_response,
    welcome_response,
    xhr_send_ok_response,
)
from ._transports import FrameWriter

__all__ = [
    "Deliver",
    "Plan",
    "Receive",
    "Reply",
    "Upgrade",
    "is_hixie76_upgrade",
    "is_websocket_upgrade",
    "plan_request",
]


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer with ``response``; nothing else to do."""

    response: Response
    endpoint: Endpoint | None = None


@dataclass(frozen=True, slots=True)
class Receive:
    """Attach a receiving transport to session ``endpoint.session_id``."""

    endpoint: Endpoint
    head: Response
    writer: FrameWriter


@dataclass(frozen=True, slots=True)
class Deliver:
    """Hand ``messages`` to session ``endpoint.session_id`` if it exists: answer ``ok``, or
    ``not_found`` if there is no such session (built when asked for: it rarely is)."""

    endpoint: Endpoint
    messages: tuple[str, ...]
    ok: Response
    request: Request = field(repr=False)
    options: Options = field(repr=False)
    now: dt.datetime = field(repr=False)

    @property
    def not_found(self) -> Response:
        """The 404 for an unknown session, with the endpoint's chain headers (sockjs-go)."""
        return not_found_response(
            now=self.now, kind=self.endpoint.kind, request=self.request, options=self.options
        )


@dataclass(frozen=True, slots=True)
class Upgrade:
    """Complete the WebSocket handshake and run a new session over it."""

    endpoint: Endpoint


Plan = Reply | Receive | Deliver | Upgrade


def _tokens(value: str | None) -> set[str]:
    return {t.strip().lower() for t in (value or "").split(",")}


def is_websocket_upgrade(request: Request) -> bool:
    """Whether ``request`` is a well-formed RFC 6455 upgrade (GET, ``Upgrade: websocket``,
    ``Connection: upgrade``, a key, version 13)."""
    return (
        request.method == "GET"
        and "websocket" in _tokens(request.header("Upgrade"))
        and "upgrade" in _tokens(request.header("Connection"))
        and bool(request.header("Sec-WebSocket-Key"))
        and (request.header("Sec-WebSocket-Version") or "").strip() == "13"
    )


def is_hixie76_upgrade(request: Request) -> bool:
    """Whether ``request`` is a hixie-76 (draft) upgrade: GET, ``Upgrade: WebSocket``,
    ``Connection: upgrade``, ``Sec-WebSocket-Key1`` and ``Key2``, no ``Sec-WebSocket-Version``."""
    return (
        request.method == "GET"
        and "websocket" in _tokens(request.header("Upgrade"))
        and "upgrade" in _tokens(request.header("Connection"))
        and bool(request.header("Sec-WebSocket-Key1"))
        and bool(request.header("Sec-WebSocket-Key2"))
        and request.header("Sec-WebSocket-Version") is None
    )


def plan_request(request: Request, options: Options, *, now: dt.datetime, entropy: int) -> Plan:
    """Decide what to do with one HTTP request to the SockJS endpoint.

    Args:
        request: the request (body included for ``xhr_send``/``jsonp_send``).
        options: the server's options.
        now: the current time (``Date``, ``Expires``).
        entropy: a fresh random integer in ``[0, 2**32)``, used only by ``/info``.
    """
    found = resolve(request, options)
    if isinstance(found, MethodNotAllowed):
        return Reply(method_not_allowed_response(found.allow, now=now))
    if not isinstance(found, Endpoint):
        return Reply(not_found_response(now=now))
    kind = found.kind
    transport = kind.transport
    if kind is not EndpointKind.WELCOME and kind is not EndpointKind.IFRAME:
        origin, host = request.header("Origin"), request.header("Host")
        if not origin_allowed(origin, host, options.allowed_origins):
            return Reply(forbidden_origin_response(now=now), found)
    if kind is EndpointKind.WEBSOCKET or kind is EndpointKind.RAW_WEBSOCKET:
        if is_websocket_upgrade(request) or (options.hixie76 and is_hixie76_upgrade(request)):
            return Upgrade(found)
        return Reply(websocket_bad_request_response(now=now), found)
    if transport is not None:
        callback = request.query_param("c") if transport.needs_callback else None
        try:
            writer = FrameWriter(transport, callback)
        except ProtocolError as exc:
            return Reply(_protocol_error(kind, request, options, exc, now), found)
        return Receive(found, transport_head(kind, request, options, now=now), writer)
    if kind is EndpointKind.XHR_SEND or kind is EndpointKind.JSONP_SEND:
        return _deliver(found, request, options, now)
    if kind.is_options:
        return Reply(preflight_response(kind, request, options, now=now), found)
    if kind is EndpointKind.INFO:
        return Reply(info_response(request, options, entropy=entropy, now=now), found)
    if kind is EndpointKind.IFRAME:
        return Reply(iframe_response(request, options, now=now), found)
    return Reply(welcome_response(now=now), found)


def _protocol_error(
    kind: EndpointKind, request: Request, options: Options, exc: ProtocolError, now: dt.datetime
) -> Response:
    return error_response(
        kind, request, options, status=exc.status or 500, text=exc.body or str(exc), now=now
    )


def _deliver(found: Endpoint, request: Request, options: Options, now: dt.datetime) -> Plan:
    kind = found.kind
    limit = options.max_payload_size
    try:
        if kind is EndpointKind.XHR_SEND:
            messages = decode_payload(request.body, max_size=limit)
        else:
            content_type = request.header("Content-Type")
            messages = decode_jsonp_send(request.body, content_type, max_size=limit)
    except MessageTooLargeError:
        return Reply(too_large_response(kind, request, options, now=now), found)
    except ProtocolError as exc:
        return Reply(_protocol_error(kind, request, options, exc, now), found)
    if kind is EndpointKind.XHR_SEND:
        ok = xhr_send_ok_response(request, options, now=now)
    else:
        ok = jsonp_send_ok_response(request, options, now=now)
    return Deliver(found, tuple(messages), ok, request, options, now)
