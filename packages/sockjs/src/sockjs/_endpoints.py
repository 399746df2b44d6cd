"""Which SockJS endpoint an HTTP request is for: routing as a pure function.

How this works: `resolve` strips `Options.prefix` from the (percent-decoded) path and looks the
rest up in a table shaped like sockjs-go's mapping list:

    ""  "/"                          GET                 welcome
    "/info"                          OPTIONS, GET        info
    "/iframe[0-9a-z_.-]*.html"       GET                 iframe page
    "/websocket"                     GET                 raw WebSocket (if enabled)
    "/<server>/<session>/<suffix>"   per suffix          xhr, xhr_send, xhr_streaming,
                                                         eventsource, htmlfile, jsonp,
                                                         jsonp_send, websocket (if enabled)

``<server>`` and ``<session>`` are single segments of 1 to `MAX_ID_LENGTH` (128) characters from
``A-Z a-z 0-9 _ - ~`` and space, after percent-decoding (every client we know uses letters and
digits; the SockJS protocol tests use ``_``, ``-`` and ``%20``). sockjs-node and sockjs-go take
any non-empty segment without ``.``, so ``a%00b``, ``<script>`` or an id of megabytes would name
sessions there; here such a path is `NotFound`, like any other unknown URL. A path that matches
with another method gives `MethodNotAllowed` carrying sockjs-go's ``Allow`` list (methods in
registration order); anything else is `NotFound`.

Unlike sockjs-go, whose regular expressions are not anchored at the start (so ``/kite/x/kite``
is the welcome page and ``/kite/a/b/c/xhr`` a session ``c``), the whole path must match; and the
iframe pattern's dot is literal.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

from ._options import Options
from ._transports import Transport

__all__ = [
    "MAX_ID_LENGTH",
    "Endpoint",
    "EndpointKind",
    "MethodNotAllowed",
    "NotFound",
    "Request",
    "resolve",
]


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request as the routing and response code needs it.

    Attributes:
        method: the request method, e.g. ``"POST"`` (case-sensitive, as HTTP says).
        path: the path as sent on the wire (still percent-encoded), without the query.
        query: the raw query string (after ``?``), possibly empty.
        headers: ``(name, value)`` pairs in any case (bytes from h11: decode as latin-1).
        body: the request body (``xhr_send``/``jsonp_send``).
    """

    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @classmethod
    def from_target(
        cls,
        method: str,
        target: str,
        headers: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> Request:
        """Build a request from a request-target such as ``/kite/info?t=1``."""
        path, _, query = target.partition("?")
        path = path.partition("#")[0]
        return cls(method, path, query, tuple(headers), body)

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def query_param(self, name: str) -> str | None:
        """The first value of query parameter ``name``, percent-decoded, or ``None``."""
        for key, value in parse_qsl(self.query, keep_blank_values=True):
            if key == name:
                return value
        return None


class EndpointKind(enum.Enum):
    """Every SockJS endpoint (``*_OPTIONS`` are the CORS pre-flight answers)."""

    WELCOME = "welcome"
    INFO = "info"
    INFO_OPTIONS = "info_options"
    IFRAME = "iframe"
    RAW_WEBSOCKET = "raw_websocket"
    WEBSOCKET = "websocket"
    XHR = "xhr"
    XHR_OPTIONS = "xhr_options"
    XHR_SEND = "xhr_send"
    XHR_SEND_OPTIONS = "xhr_send_options"
    XHR_STREAMING = "xhr_streaming"
    XHR_STREAMING_OPTIONS = "xhr_streaming_options"
    EVENTSOURCE = "eventsource"
    HTMLFILE = "htmlfile"
    JSONP = "jsonp"
    JSONP_OPTIONS = "jsonp_options"
    JSONP_SEND = "jsonp_send"

    @property
    def transport(self) -> Transport | None:
        """The receiving transport this endpoint opens, if it is one."""
        return _TRANSPORTS.get(self)

    @property
    def is_options(self) -> bool:
        """Whether this is a CORS pre-flight endpoint."""
        return self.value.endswith("_options")

    @property
    def session_bound(self) -> bool:
        """Whether the path names a server and session id."""
        return self not in _SESSIONLESS


_TRANSPORTS = {
    EndpointKind.WEBSOCKET: Transport.WEBSOCKET,
    EndpointKind.XHR: Transport.XHR,
    EndpointKind.XHR_STREAMING: Transport.XHR_STREAMING,
    EndpointKind.EVENTSOURCE: Transport.EVENTSOURCE,
    EndpointKind.HTMLFILE: Transport.HTMLFILE,
    EndpointKind.JSONP: Transport.JSONP,
}
_SESSIONLESS = frozenset(
    {
        EndpointKind.WELCOME,
        EndpointKind.INFO,
        EndpointKind.INFO_OPTIONS,
        EndpointKind.IFRAME,
        EndpointKind.RAW_WEBSOCKET,
    }
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A request that matched an endpoint.

    Attributes:
        kind: which endpoint.
        server_id: the ``<server>`` segment (ignored by the protocol; for load balancers).
        session_id: the ``<session>`` segment, which alone identifies a session.
    """

    kind: EndpointKind
    server_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class NotFound:
    """No endpoint has this path: answer 404."""


@dataclass(frozen=True, slots=True)
class MethodNotAllowed:
    """The path exists but not with this method: answer 405 with ``Allow: <allow>``."""

    allow: tuple[str, ...]


# suffix -> ((method, kind), ...) in sockjs-go's registration order (which is the Allow order).
_SESSION_ROUTES: dict[str, tuple[tuple[str, EndpointKind], ...]] = {
    "xhr_send": (("POST", EndpointKind.XHR_SEND), ("OPTIONS", EndpointKind.XHR_SEND_OPTIONS)),
    "xhr": (("POST", EndpointKind.XHR), ("OPTIONS", EndpointKind.XHR_OPTIONS)),
    "xhr_streaming": (
        ("POST", EndpointKind.XHR_STREAMING),
        ("OPTIONS", EndpointKind.XHR_STREAMING_OPTIONS),
    ),
    "eventsource": (("GET", EndpointKind.EVENTSOURCE),),
    "htmlfile": (("GET", EndpointKind.HTMLFILE),),
    "jsonp": (("GET", EndpointKind.JSONP), ("OPTIONS", EndpointKind.JSONP_OPTIONS)),
    "jsonp_send": (("POST", EndpointKind.JSONP_SEND),),
    "websocket": (("GET", EndpointKind.WEBSOCKET),),
}
_INFO_ROUTES = (("OPTIONS", EndpointKind.INFO_OPTIONS), ("GET", EndpointKind.INFO))
_IFRAME = re.compile(r"/iframe[0-9a-z_.\-]*\.html\Z")
_NOT_FOUND = NotFound()


def _pick(
    routes: tuple[tuple[str, EndpointKind], ...],
    method: str,
    server_id: str | None = None,
    session_id: str | None = None,
) -> Endpoint | MethodNotAllowed:
    for route_method, kind in routes:
        if route_method == method:
            return Endpoint(kind, server_id, session_id)
    return MethodNotAllowed(tuple(m for m, _ in routes))


#: Longest server or session id accepted in a session URL (characters).
MAX_ID_LENGTH = 128
_ID = re.compile(rf"[A-Za-z0-9_~ -]{{1,{MAX_ID_LENGTH}}}")


def _segment_ok(segment: str) -> bool:
    return _ID.fullmatch(segment) is not None


def resolve(request: Request, options: Options) -> Endpoint | NotFound | MethodNotAllowed:
    """Say which endpoint ``request`` is for (pure: no session lookup, no I/O).

    Returns:
        `Endpoint` (with server and session id for session URLs), `NotFound` (404) or
        `MethodNotAllowed` (405 with the ``Allow`` methods).
    """
    path = unquote(request.path) if "%" in request.path else request.path
    prefix = options.prefix
    if not path.startswith(prefix):
        return _NOT_FOUND
    rest = path[len(prefix) :]
    method = request.method
    if rest == "" or rest == "/":
        return _pick((("GET", EndpointKind.WELCOME),), method)
    if not rest.startswith("/"):
        return _NOT_FOUND
    if rest == "/info":
        return _pick(_INFO_ROUTES, method)
    if rest.startswith("/iframe") and _IFRAME.match(rest):
        return _pick((("GET", EndpointKind.IFRAME),), method)
    if rest == "/websocket":
        if options.raw_websocket:
            return _pick((("GET", EndpointKind.RAW_WEBSOCKET),), method)
        return _NOT_FOUND
    parts = rest.split("/")
    if len(parts) != 4:
        return _NOT_FOUND
    _, server_id, session_id, suffix = parts
    routes = _SESSION_ROUTES.get(suffix)
    if routes is None or not (_segment_ok(server_id) and _segment_ok(session_id)):
        return _NOT_FOUND
    if suffix == "websocket" and not options.websocket:
        return _NOT_FOUND
    return _pick(routes, method, server_id, session_id)
