"""Clients: a WebSocket dialler and a keep-alive HTTP/1.1 client, h11/wsproto on trio sockets.

How this works:
* `connect_websocket(url)` opens TCP (+TLS for wss), sends the upgrade request with h11, checks
  the 101 (`Sec-WebSocket-Accept`), and hands the stream plus any bytes that followed the 101 to
  a wsproto frame `Connection`. Anything but a valid 101 raises `HandshakeError` with the
  answer's status, headers and body: Go's `auto` transport falls back to XHR on exactly that.
* `HTTPClient.request()` takes an idle keep-alive connection for the origin from a small pool
  (or opens one), writes the request, reads the whole response, and returns the connection to
  the pool if both sides allow reuse. A request in flight owns its connection, so a held long
  poll and `xhr_send` posts use separate connections, as Go's client does. A reused connection
  the server had closed while idle is retried once on a fresh one (as Go's transport does).
  The pool holds plain objects, no tasks: nothing runs in the background.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import NamedTuple, cast
from urllib.parse import urlsplit

import h11
import trio
from wsproto.utilities import generate_accept_token, generate_nonce

from ._errors import (
    BodyTooLargeError,
    ConnectError,
    ConnectionClosedError,
    HandshakeError,
    ProtocolError,
    TransportError,
    TransportTimeoutError,
    map_errors,
)
from ._http1 import (
    BodyReader,
    MessageError,
    ResponseHead,
    header_line,
    parse_response_head,
    request_head,
)
from ._limits import HTTPLimits, set_keepalive
from ._socket_stream import wrap_socket_stream
from ._websocket import WebSocketConnection

__all__ = ["HTTPClient", "HTTPResponse", "connect_websocket", "open_ws_client"]

Headers = list[tuple[str, str]]

_DEFAULT_PORTS = {"ws": 80, "http": 80, "wss": 443, "https": 443}
_TLS_SCHEMES = frozenset({"wss", "https"})


class _Origin(NamedTuple):
    scheme: str
    host: str
    port: int
    target: str
    host_header: str


@functools.lru_cache(maxsize=256)
def _parse_url(url: str, allowed: tuple[str, ...]) -> _Origin:
    """The origin and target of `url` (cached: an XHR session requests the same few URLs)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in allowed:
        raise ConnectError(f"unsupported URL scheme in {url!r}")
    host = parts.hostname
    if not host:
        raise ConnectError(f"no host in URL {url!r}")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise ConnectError(f"bad port in URL {url!r}") from exc
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    # Go's DialWebsocket always names the port in Host (docs/protocol.md §2.6); so do we.
    shown = f"[{host}]" if ":" in host else host
    return _Origin(scheme, host, port, target, f"{shown}:{port}")


def _encode(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _decode(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


def _first(headers: Headers, name: str) -> str | None:
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


async def _open_stream(
    origin: _Origin, ssl_context: ssl.SSLContext | None, limits: HTTPLimits
) -> trio.abc.Stream:
    with map_errors(connecting=True):
        tcp = await trio.open_tcp_stream(origin.host, origin.port)
        set_keepalive(tcp.socket, limits.tcp_keepalive)
        if origin.scheme not in _TLS_SCHEMES:
            return wrap_socket_stream(tcp)  # plain TCP: the kernel-first fast path
        context = ssl_context if ssl_context is not None else ssl.create_default_context()
        stream = trio.SSLStream(tcp, context, server_hostname=origin.host, https_compatible=True)
        try:
            await stream.do_handshake()
        except BaseException:
            await trio.aclose_forcefully(tcp)
            raise
        return stream


async def _read_event(
    conn: h11.Connection, stream: trio.abc.Stream, size: int
) -> h11.Event | type[h11.PAUSED]:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event  # type: ignore[return-value]
        with map_errors():
            data = cast(bytes, await stream.receive_some(size))
        conn.receive_data(data)


async def _read_body(conn: h11.Connection, stream: trio.abc.Stream, limits: HTTPLimits) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        event = await _read_event(conn, stream, limits.receive_buffer_size)
        if type(event) is h11.Data:
            size += len(event.data)
            if size > limits.max_body_size:
                raise BodyTooLargeError(f"response body exceeds {limits.max_body_size} bytes")
            parts.append(event.data)
        elif type(event) is h11.EndOfMessage:
            return parts[0] if len(parts) == 1 else b"".join(parts)
        else:
            raise ConnectionClosedError("server closed the connection mid-response")


def _split_leading(headers: Headers, origin: _Origin) -> tuple[Headers, Headers]:
    """Go's request layout starts with `Host` then `User-Agent`; split those off."""
    host = [(k, v) for k, v in headers if k.lower() == "host"] or [("Host", origin.host_header)]
    agent = [(k, v) for k, v in headers if k.lower() == "user-agent"]
    rest = [(k, v) for k, v in headers if k.lower() not in ("host", "user-agent")]
    return host + agent, rest


def _go_websocket_headers(origin: _Origin, extra: Headers, key: str) -> Headers:
    """Upgrade request headers in Go's order: `Host`, `User-Agent`, then every other header
    sorted by name (Go writes its header map sorted), as in the `square` capture. The
    handshake's own headers replace any the caller passed."""
    leading, rest = _split_leading(extra, origin)
    own = {"connection", "sec-websocket-key", "sec-websocket-version", "upgrade"}
    rest = [(k, v) for k, v in rest if k.lower() not in own]
    rest += [
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key),
        ("Sec-WebSocket-Version", "13"),
        ("Upgrade", "websocket"),
    ]
    return leading + sorted(rest, key=lambda item: item[0].lower())


async def connect_websocket(
    url: str,
    headers: Iterable[tuple[str, str]] = (),
    *,
    timeout: float = 15.0,  # noqa: ASYNC109 (Go's handshake timeout, part of the dial API)
    ssl_context: ssl.SSLContext | None = None,
    limits: HTTPLimits | None = None,
) -> WebSocketConnection:
    """Dial a WebSocket (`ws://`, `wss://`; `http(s)://` are treated alike) and return it open.

    The caller owns the connection and must `aclose()` or `abort()` it; prefer
    `open_ws_client()`, which does that for you.

    Args:
        url: the full URL, e.g. `ws://127.0.0.1:3636/kite/123/abcdef/websocket`.
        headers: extra request headers (e.g. `Origin`, `User-Agent`). The request is laid out
            like Go's: `Host`, `User-Agent`, then all other headers sorted by name.
        timeout: for connect + TLS + handshake together (Go's default is 15 s).
        ssl_context: client TLS context for wss (default: system trust store).
        limits: `max_message_size`, `max_header_size`, `close_timeout`, ... for this socket.

    Raises:
        ConnectError, TransportTimeoutError, HandshakeError, ProtocolError.
    """
    limits = limits if limits is not None else HTTPLimits()
    origin = _parse_url(url, ("ws", "wss", "http", "https"))
    key = generate_nonce().decode("ascii")
    request_headers = _go_websocket_headers(origin, list(headers), key)
    stream: trio.abc.Stream | None = None
    try:
        with trio.fail_after(timeout):
            stream = await _open_stream(origin, ssl_context, limits)
            conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=limits.max_header_size)
            try:
                request = h11.Request(
                    method="GET", target=origin.target, headers=_encode(request_headers)
                )
            except h11.LocalProtocolError as exc:
                raise ValueError(f"invalid WebSocket request: {exc}") from None
            data = (conn.send(request) or b"") + (conn.send(h11.EndOfMessage()) or b"")
            with map_errors():
                await stream.send_all(data)
            event = await _read_event(conn, stream, limits.receive_buffer_size)
            if isinstance(event, h11.InformationalResponse) and event.status_code == 101:
                response_headers = _decode(event.headers.raw_items())
                accept = _first(response_headers, "sec-websocket-accept")
                upgrade = (_first(response_headers, "upgrade") or "").lower()
                if (
                    accept != generate_accept_token(key.encode("ascii")).decode("ascii")
                    or upgrade != "websocket"
                ):
                    raise HandshakeError(
                        "bad WebSocket handshake: invalid 101 answer",
                        status=101,
                        headers=response_headers,
                    )
                trailing, _closed = conn.trailing_data
                return WebSocketConnection(
                    stream,
                    limits,
                    client=True,
                    trailing_data=bytes(trailing),
                    path=origin.target,
                    request_headers=request_headers,
                    response_headers=response_headers,
                )
            if isinstance(event, h11.Response):
                response_headers = _decode(event.headers.raw_items())
                try:
                    body = await _read_body(conn, stream, limits)
                except TransportError:
                    body = b""
                raise HandshakeError(
                    f"bad WebSocket handshake: HTTP {event.status_code}",
                    status=event.status_code,
                    headers=response_headers,
                    body=body,
                )
            raise ProtocolError(f"unexpected answer to a WebSocket upgrade: {event!r}")
    except trio.TooSlowError:
        if stream is not None:
            await trio.aclose_forcefully(stream)
        raise TransportTimeoutError(f"WebSocket dial to {url} timed out") from None
    except h11.ProtocolError as exc:
        if stream is not None:
            await trio.aclose_forcefully(stream)
        raise ProtocolError(f"bad WebSocket handshake answer: {exc}") from exc
    except BaseException:
        if stream is not None:
            await trio.aclose_forcefully(stream)
        raise


@asynccontextmanager
async def open_ws_client(
    url: str,
    headers: Iterable[tuple[str, str]] = (),
    timeout: float = 15.0,  # noqa: ASYNC109 (Go's handshake timeout, part of the dial API)
    *,
    ssl_context: ssl.SSLContext | None = None,
    limits: HTTPLimits | None = None,
) -> AsyncIterator[WebSocketConnection]:
    """`async with open_ws_client(url) as ws:` dial (see `connect_websocket`), and close with
    a close handshake (bounded by `close_timeout`) when the block exits."""
    ws = await connect_websocket(
        url, headers, timeout=timeout, ssl_context=ssl_context, limits=limits
    )
    try:
        yield ws
    finally:
        await ws.aclose()


class HTTPResponse(NamedTuple):
    """A complete HTTP response: unpacks as `status, headers, body`."""

    status: int
    headers: Headers
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        return _first(self.headers, name.lower())


class _PooledConn:
    __slots__ = ("buffer", "stream")

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.buffer = bytearray()  # received, not yet parsed


class _StaleConnectionError(Exception):
    """A reused connection failed before any byte of the response arrived."""


class HTTPClient:
    """An HTTP/1.1 client with keep-alive connection reuse (for XHR polling and Kontrol's
    `/register`). Use as `async with HTTPClient() as client:` or call `aclose()`.

    Args:
        ssl_context: client TLS context for https (default: system trust store).
        limits: `max_body_size` bounds response bodies; `max_header_size` response heads.
        max_idle_per_origin: idle connections kept per scheme/host/port.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        limits: HTTPLimits | None = None,
        max_idle_per_origin: int = 8,
    ) -> None:
        self._ssl_context = ssl_context
        self._limits = limits if limits is not None else HTTPLimits()
        self._max_idle = max_idle_per_origin
        self._idle: dict[tuple[str, str, int], list[_PooledConn]] = {}
        self._closed = False

    async def __aenter__(self) -> HTTPClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def idle_connections(self) -> int:
        """Pooled idle connections (all origins)."""
        return sum(len(v) for v in self._idle.values())

    async def aclose(self) -> None:
        """Close every idle connection; requests made afterwards fail."""
        self._closed = True
        idle, self._idle = self._idle, {}
        # Shielded: in a cancelled scope the first close's Cancelled would escape the loop
        # and leave the other connections open.
        with trio.CancelScope(shield=True):
            for conns in idle.values():
                for conn in conns:
                    await trio.aclose_forcefully(conn.stream)

    async def request(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        timeout: float | None = 15.0,  # noqa: ASYNC109 (Go's Config.Timeout per request)
    ) -> HTTPResponse:
        """Send one request and read the whole response.

        Headers go out as Go's client writes them: `Host` (added unless given),
        `User-Agent` (if given), `Content-Length` (added for a body or POST/PUT/PATCH; Go sends
        `Content-Length: 0` on empty polls), then the rest in the order given.

        Raises:
            ConnectError, TransportTimeoutError, ProtocolError, BodyTooLargeError,
            ConnectionClosedError (the server closed without answering).
        """
        if self._closed:
            raise ConnectionClosedError("HTTP client is closed", code=1000, local=True)
        origin = _parse_url(url, ("http", "https"))
        if origin.port == _DEFAULT_PORTS[origin.scheme]:
            origin = origin._replace(host_header=origin.host_header.rsplit(":", 1)[0])
        # Go's layout (the `square-xhr` capture): Host, User-Agent, Content-Length, then the
        # other headers in the order given.
        leading, rest = _split_leading(list(headers), origin)
        names = {k.lower() for k, _ in rest}
        length: Headers = []
        if (
            "content-length" not in names
            and "transfer-encoding" not in names
            and (body or method.upper() in ("POST", "PUT", "PATCH"))
        ):
            length = [("Content-Length", str(len(body)))]
        request_headers = leading + length + rest
        chunked = any(k.lower() == "transfer-encoding" and v.lower() == "chunked" for k, v in rest)
        try:
            head = request_head(
                method.upper(), origin.target, [header_line(k, v) for k, v in request_headers]
            )
        except (ValueError, UnicodeEncodeError) as exc:
            raise ValueError(f"invalid request: {exc}") from None
        if chunked:
            body = (b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)) if body else b"0\r\n\r\n"
        request = _Request(head, body, method.upper().encode("ascii"))
        try:
            with trio.fail_after(timeout if timeout is not None else float("inf")):
                conn = self._take(origin)
                if conn is not None:
                    try:
                        return await self._exchange(origin, conn, request, reused=True)
                    except _StaleConnectionError:
                        pass
                conn = _PooledConn(await _open_stream(origin, self._ssl_context, self._limits))
                try:
                    return await self._exchange(origin, conn, request, reused=False)
                except _StaleConnectionError:
                    raise ConnectionClosedError(
                        "server closed the connection without answering"
                    ) from None
        except trio.TooSlowError:
            raise TransportTimeoutError(f"{method} {url} timed out") from None

    def _take(self, origin: _Origin) -> _PooledConn | None:
        conns = self._idle.get((origin.scheme, origin.host, origin.port))
        return conns.pop() if conns else None

    def _give_back(self, origin: _Origin, conn: _PooledConn) -> bool:
        if self._closed:
            return False
        conns = self._idle.setdefault((origin.scheme, origin.host, origin.port), [])
        if len(conns) >= self._max_idle:
            return False
        conns.append(conn)
        return True

    async def _exchange(
        self, origin: _Origin, conn: _PooledConn, request: _Request, *, reused: bool
    ) -> HTTPResponse:
        stream = conn.stream
        buf = conn.buffer
        limits = self._limits
        got_bytes = False
        kept = False
        try:
            try:
                with map_errors():
                    body = request.body
                    if len(body) <= 16 * 1024:
                        await stream.send_all(request.head + body)
                    else:
                        await stream.send_all(request.head)
                        await stream.send_all(body)
                    while True:
                        parsed = parse_response_head(
                            buf, limits.max_header_size, method=request.method
                        )
                        if parsed is not None:
                            head, end = parsed
                            del buf[:end]
                            if 100 <= head.status < 200:
                                continue  # 100 Continue and other interim answers
                            break
                        data = cast(bytes, await stream.receive_some(limits.receive_buffer_size))
                        if not data:
                            if reused and not got_bytes:
                                raise _StaleConnectionError
                            raise ConnectionClosedError(
                                "server closed the connection without answering"
                            )
                        got_bytes = True
                        buf += data
            except ConnectionClosedError as exc:
                if reused and not got_bytes:
                    raise _StaleConnectionError from exc
                raise
            response_body = await self._read_body(conn, head)
            response = HTTPResponse(
                head.status,
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in head.headers],
                response_body,
            )
            if head.keep_alive and not request.close and not buf:
                kept = self._give_back(origin, conn)
            return response
        except MessageError as exc:
            raise ProtocolError(f"HTTP protocol error: {exc}") from exc
        finally:
            if not kept:
                await trio.aclose_forcefully(stream)

    async def _read_body(self, conn: _PooledConn, head: ResponseHead) -> bytes:
        limits = self._limits
        reader = BodyReader(head.length, head.chunked)
        parts: list[bytes] = []
        size = 0
        buf = conn.buffer
        while True:
            data = reader.feed(buf)
            if data:
                size += len(data)
                if size > limits.max_body_size:
                    raise BodyTooLargeError(f"response body exceeds {limits.max_body_size} bytes")
                parts.append(data)
            if reader.done:
                return parts[0] if len(parts) == 1 else b"".join(parts)
            with map_errors():
                received = cast(bytes, await conn.stream.receive_some(limits.receive_buffer_size))
            if not received:
                try:
                    reader.eof()
                except MessageError:
                    raise ConnectionClosedError(
                        "server closed the connection mid-response"
                    ) from None
                return b"".join(parts)
            buf += received


class _Request(NamedTuple):
    head: bytes
    body: bytes  # framed: chunk-encoded if the request is chunked
    method: bytes

    @property
    def close(self) -> bool:
        """The request asked the server to close the connection after answering."""
        return b"\r\nconnection: close\r\n" in self.head.lower()
