"""HTTP responses of a SockJS endpoint, as data: status, ordered headers, body bytes.

How this works: every endpoint runs a chain of header helpers before its own handler, exactly as
in sockjs-go's mapping table:

    welcome, websocket         (none)
    info                       CORS, no-cache
    info OPTIONS, *_OPTIONS    cookie, CORS, cache-for
    iframe                     cache-for
    session endpoints          cookie, CORS, no-cache

and headers go on the wire the way Go's ``net/http`` writes them: the handler's headers sorted by
name, then ``Date``, then ``Content-Length`` when the body is complete (never on 204/304). The
caller passes ``now`` (an aware `datetime`; naive means UTC): nothing here reads a clock.

Where the SockJS protocol suite (``sockjs-protocol.py``, the one sockjs-node passes) and
sockjs-go disagree on something no Go client looks at, the suite wins; these are listed in the
package README (no ``Access-Control-Allow-Credentials`` without an ``Origin``, ``no-transform``
in ``Cache-Control``, ``text/event-stream`` without charset, the current iframe page, a quoted
``ETag``, ``Expires`` in ``GMT``). Bodies, statuses and the headers a Go client sees are Go's.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass
from http import HTTPStatus

from ._endpoints import EndpointKind, Request
from ._options import Options

__all__ = [
    "FORBIDDEN_ORIGIN_BODY",
    "NOT_FOUND_BODY",
    "WELCOME_BODY",
    "Response",
    "chain_headers",
    "error_response",
    "forbidden_origin_response",
    "iframe_page",
    "iframe_response",
    "info_response",
    "jsonp_send_ok_response",
    "method_not_allowed_response",
    "not_found_response",
    "preflight_response",
    "too_large_response",
    "transport_head",
    "websocket_bad_request_response",
    "welcome_response",
    "xhr_send_ok_response",
]

WELCOME_BODY = b"Welcome to SockJS!\n"
NOT_FOUND_BODY = b"404 page not found\n"
WEBSOCKET_BAD_REQUEST_BODY = b'Can "Upgrade" only to "WebSocket".\n'
FORBIDDEN_ORIGIN_BODY = b"Origin not allowed\n"

ONE_YEAR = 365 * 24 * 60 * 60
NO_CACHE = "no-store, no-cache, no-transform, must-revalidate, max-age=0"
JAVASCRIPT = "application/javascript; charset=UTF-8"
TEXT_PLAIN = "text/plain; charset=UTF-8"
GO_ERROR_TEXT = "text/plain; charset=utf-8"  # Go's http.Error / http.NotFound spelling
HTML = "text/html; charset=UTF-8"

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP response (or, for receiving transports, its head: no ``Content-Length``).

    Attributes:
        status: the status code.
        headers: ``(name, value)`` pairs in wire order.
        body: the complete body (empty for heads, 204, 304 and 405).
    """

    status: int
    headers: Headers
    body: bytes = b""

    @property
    def reason(self) -> str:
        """The standard reason phrase (``"No Content"`` for 204, ...)."""
        return HTTPStatus(self.status).phrase

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def with_body(self, body: bytes) -> Response:
        """Complete a head with its body, adding ``Content-Length`` (a finished xhr poll)."""
        return Response(self.status, (*self.headers, ("Content-Length", str(len(body)))), body)


def _utc(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        return now.replace(tzinfo=dt.UTC)
    return now.astimezone(dt.UTC)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(now: dt.datetime) -> str:
    """``Mon, 23 Nov 2026 09:23:19 GMT`` (RFC 9110 IMF-fixdate, what Go's ``http.TimeFormat``
    writes); formatted by hand because ``email.utils.format_datetime`` is slow, and once per
    second (the cache is keyed by the time without its microseconds)."""
    return _http_date(now.replace(microsecond=0) if now.microsecond else now)


@functools.lru_cache(maxsize=8)
def _http_date(now: dt.datetime) -> str:
    u = _utc(now)
    return (
        f"{_DAYS[u.weekday()]}, {u.day:02d} {_MONTHS[u.month - 1]} {u.year:04d} "
        f"{u.hour:02d}:{u.minute:02d}:{u.second:02d} GMT"
    )


def _one_year_later(now: dt.datetime) -> dt.datetime:
    # Go's AddDate(1, 0, 0): 29 February rolls over to 1 March.
    now = _utc(now)
    try:
        return now.replace(year=now.year + 1)
    except ValueError:
        return now.replace(year=now.year + 1, month=3, day=1)


def _finish(
    status: int,
    headers: dict[str, str],
    now: dt.datetime,
    body: bytes | None,
) -> Response:
    """Sort like Go, then ``Date``, then ``Content-Length`` if the body is complete."""
    items = [(name, headers[name]) for name in sorted(headers)]
    items.append(("Date", http_date(now)))
    if body is not None and status not in (204, 304) and status >= 200:
        items.append(("Content-Length", str(len(body))))
    return Response(status, tuple(items), body or b"")


def _cookie_value(request: Request) -> str:
    for name, value in request.headers:
        if name.lower() != "cookie":
            continue
        for part in value.split(";"):
            key, sep, val = part.strip().partition("=")
            if sep and key == "JSESSIONID":
                val = val.strip('"')
                if val and all(0x21 <= ord(c) <= 0x7E and c not in '",;\\' for c in val):
                    return val
    return "dummy"


def _cors(request: Request, headers: dict[str, str]) -> None:
    origin = request.header("Origin")
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Allow-Credentials"] = "true"
    else:
        headers["Access-Control-Allow-Origin"] = "*"
    wanted = request.header("Access-Control-Request-Headers")
    if wanted and wanted != "null":
        headers["Access-Control-Allow-Headers"] = wanted


def _cache_for(now: dt.datetime, headers: dict[str, str]) -> None:
    headers["Cache-Control"] = f"public, max-age={ONE_YEAR}"
    headers["Expires"] = http_date(_one_year_later(now))
    headers["Access-Control-Max-Age"] = str(ONE_YEAR)


_COOKIE_CORS_NO_CACHE = frozenset(
    {
        EndpointKind.XHR,
        EndpointKind.XHR_SEND,
        EndpointKind.XHR_STREAMING,
        EndpointKind.EVENTSOURCE,
        EndpointKind.HTMLFILE,
        EndpointKind.JSONP,
        EndpointKind.JSONP_SEND,
    }
)


def chain_headers(
    kind: EndpointKind, request: Request, options: Options, *, now: dt.datetime
) -> dict[str, str]:
    """The headers sockjs-go's handler chain sets for ``kind`` before the handler runs."""
    headers: dict[str, str] = {}
    if kind in _COOKIE_CORS_NO_CACHE or kind.is_options:
        if options.cookie_needed:
            headers["Set-Cookie"] = f"JSESSIONID={_cookie_value(request)}; path=/"
        _cors(request, headers)
        if kind.is_options:
            _cache_for(now, headers)
        else:
            headers["Cache-Control"] = NO_CACHE
    elif kind is EndpointKind.INFO:
        _cors(request, headers)
        headers["Cache-Control"] = NO_CACHE
    elif kind is EndpointKind.IFRAME:
        _cache_for(now, headers)
    return headers


def welcome_response(*, now: dt.datetime) -> Response:
    """``GET <prefix>`` and ``<prefix>/``: the greeting (no CORS, no cache headers)."""
    return _finish(200, {"Content-Type": "text/plain;charset=UTF-8"}, now, WELCOME_BODY)


def info_response(
    request: Request, options: Options, *, entropy: int, now: dt.datetime
) -> Response:
    """``GET <prefix>/info``: capabilities plus a random number the caller drew.

    Args:
        entropy: an unpredictable integer in ``[0, 2**32)`` (sockjs-go draws an int31).
    """
    if not 0 <= entropy < 2**32:
        raise ValueError(f"entropy must be in [0, 2**32): {entropy}")
    headers = chain_headers(EndpointKind.INFO, request, options, now=now)
    headers["Content-Type"] = "application/json; charset=UTF-8"
    body = json.dumps(
        {
            "websocket": options.websocket,
            "cookie_needed": options.cookie_needed,
            "origins": ["*:*"],
            "entropy": entropy,
        },
        separators=(",", ":"),
    )
    return _finish(200, headers, now, f"{body}\n".encode())


def preflight_response(
    kind: EndpointKind, request: Request, options: Options, *, now: dt.datetime
) -> Response:
    """204 answer to a CORS pre-flight (``OPTIONS``) on info or a transport URL."""
    if not kind.is_options:
        raise ValueError(f"{kind} is not an OPTIONS endpoint")
    headers = chain_headers(kind, request, options, now=now)
    methods = "OPTIONS, GET" if kind is EndpointKind.INFO_OPTIONS else "OPTIONS, POST"
    headers["Access-Control-Allow-Methods"] = methods
    return _finish(204, headers, now, None)


_IFRAME_TEMPLATE = """<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="{url}"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>"""


def iframe_page(options: Options) -> tuple[bytes, str]:
    """The iframe page for ``options.sockjs_url`` and its (quoted) ``ETag``."""
    body = _IFRAME_TEMPLATE.format(url=options.sockjs_url).encode()
    return body, f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    bare = etag.strip('"')
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        if tag == bare:
            return True
    return False


def iframe_response(request: Request, options: Options, *, now: dt.datetime) -> Response:
    """``GET <prefix>/iframe*.html``: the page (200) or 304 if ``If-None-Match`` matches."""
    body, etag = iframe_page(options)
    headers = chain_headers(EndpointKind.IFRAME, request, options, now=now)
    if _etag_matches(request.header("If-None-Match"), etag):
        return _finish(304, headers, now, None)
    headers["Content-Type"] = HTML
    headers["ETag"] = etag
    return _finish(200, headers, now, body)


def not_found_response(
    *,
    now: dt.datetime,
    kind: EndpointKind | None = None,
    request: Request | None = None,
    options: Options | None = None,
) -> Response:
    """Go's ``404 page not found``; with ``kind`` (an unknown session on ``xhr_send`` or
    ``jsonp_send``) it also carries that endpoint's chain headers, as in sockjs-go."""
    headers: dict[str, str] = {}
    if kind is not None and request is not None and options is not None:
        headers = chain_headers(kind, request, options, now=now)
    headers["Content-Type"] = GO_ERROR_TEXT
    headers["X-Content-Type-Options"] = "nosniff"
    return _finish(404, headers, now, NOT_FOUND_BODY)


def method_not_allowed_response(allow: tuple[str, ...], *, now: dt.datetime) -> Response:
    """405 with ``Allow``, an empty ``Content-Type`` and no body (sockjs-go's bytes)."""
    return _finish(405, {"Allow": ", ".join(allow), "Content-Type": ""}, now, b"")


def websocket_bad_request_response(*, now: dt.datetime) -> Response:
    """400 for a ``GET .../websocket`` that is not a valid WebSocket upgrade."""
    headers = {"Content-Type": GO_ERROR_TEXT, "X-Content-Type-Options": "nosniff"}
    return _finish(400, headers, now, WEBSOCKET_BAD_REQUEST_BODY)


def forbidden_origin_response(*, now: dt.datetime) -> Response:
    """403 for a page whose origin is not allowed (`Options.allowed_origins`): no CORS
    headers, so the browser does not let the page read it either."""
    headers = {"Content-Type": GO_ERROR_TEXT, "X-Content-Type-Options": "nosniff"}
    return _finish(403, headers, now, FORBIDDEN_ORIGIN_BODY)


def error_response(
    kind: EndpointKind,
    request: Request,
    options: Options,
    *,
    status: int,
    text: str,
    now: dt.datetime,
) -> Response:
    """A protocol error answer (``Payload expected.``, a missing callback, ...).

    ``xhr_send`` errors are written without a trailing newline and without ``nosniff``
    (sockjs-go's own helper); the others as Go's ``http.Error`` writes them.
    """
    headers = chain_headers(kind, request, options, now=now)
    headers["Content-Type"] = GO_ERROR_TEXT
    if kind is EndpointKind.XHR_SEND:
        return _finish(status, headers, now, text.encode())
    headers["X-Content-Type-Options"] = "nosniff"
    return _finish(status, headers, now, f"{text}\n".encode())


def too_large_response(
    kind: EndpointKind, request: Request, options: Options, *, now: dt.datetime
) -> Response:
    """413 for a payload over ``Options.max_payload_size`` (Go has no limit)."""
    return error_response(kind, request, options, status=413, text="Payload too large.", now=now)


def xhr_send_ok_response(request: Request, options: Options, *, now: dt.datetime) -> Response:
    """204 for an accepted ``xhr_send`` (with a ``text/plain`` type, as the protocol asks)."""
    headers = chain_headers(EndpointKind.XHR_SEND, request, options, now=now)
    headers["Content-Type"] = TEXT_PLAIN
    return _finish(204, headers, now, None)


def jsonp_send_ok_response(request: Request, options: Options, *, now: dt.datetime) -> Response:
    """200 ``ok`` for an accepted ``jsonp_send``."""
    headers = chain_headers(EndpointKind.JSONP_SEND, request, options, now=now)
    headers["Content-Type"] = TEXT_PLAIN
    return _finish(200, headers, now, b"ok")


_CONTENT_TYPES = {
    EndpointKind.XHR: JAVASCRIPT,
    EndpointKind.XHR_STREAMING: JAVASCRIPT,
    EndpointKind.EVENTSOURCE: "text/event-stream",
    EndpointKind.HTMLFILE: HTML,
    EndpointKind.JSONP: JAVASCRIPT,
}


def transport_head(
    kind: EndpointKind, request: Request, options: Options, *, now: dt.datetime
) -> Response:
    """The 200 head of a receiving request (xhr, xhr_streaming, eventsource, htmlfile, jsonp).

    It has no ``Content-Length``: a poll is completed with `Response.with_body` once its frame
    is known; a streaming response is sent chunked (HTTP/1.1) or until close (HTTP/1.0).
    """
    content_type = _CONTENT_TYPES.get(kind)
    if content_type is None:
        raise ValueError(f"{kind} is not a receiving transport")
    headers = chain_headers(kind, request, options, now=now)
    headers["Content-Type"] = content_type
    return _finish(200, headers, now, None)
