"""Forwarding one HTTP request, or one WebSocket connection, to a backend kite.

How this works: each forwarded request gets its own TCP connection to the backend (no pool: a
kite behind the proxy sees one connection per request, as the SockJS polls it serves are
long anyway).

* **HTTP** (`forward_http`): the request is re-sent with h11 to `target` on the backend, with
  the client's headers minus the hop-by-hop ones and with `X-Forwarded-For` added (what Go's
  `httputil.ReverseProxy` does; `Host` stays the client's). The request body is read whole
  (bounded by the server's `HTTPLimits.max_body_size`; SockJS sends are small); the response
  is relayed piece by piece as it arrives (status and headers first, then each chunk), so XHR
  streaming and long polls pass through unbuffered. A client that goes away ends the relay.
* **WebSocket** (`tunnel_upgrade`): the upgrade request head is re-sent to the backend as is
  (target rewritten, `X-Forwarded-For` added) and from then on bytes are copied both ways
  until either side closes: the backend's 101 (or refusal) and every frame pass through
  untouched, so the proxy never holds more than one read (`CHUNK` bytes) per direction.
"""

from __future__ import annotations

from typing import cast

import h11
import trio

from .._http import HTTPRequest, TransportError
from .._http._errors import map_errors

__all__ = ["CHUNK", "BackendError", "forward_http", "tunnel_upgrade"]

#: Bytes asked of a socket per read while relaying.
CHUNK = 64 * 1024

#: Hop-by-hop headers (RFC 7230 §6.1 and Go's `httputil` list): never forwarded.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class BackendError(Exception):
    """The backend kite cannot be reached or answered something that is not HTTP."""


def _forwarded_for(request: HTTPRequest) -> tuple[str, str]:
    client = request.remote_addr[0] if request.remote_addr else ""
    prior = request.header("x-forwarded-for")
    return ("X-Forwarded-For", f"{prior}, {client}" if prior else client)


def _end_to_end(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP and k.lower() not in named]


async def _connect(host: str, port: int, timeout: float) -> trio.SocketStream:  # noqa: ASYNC109
    try:
        with trio.fail_after(timeout):
            return await trio.open_tcp_stream(host, port)
    except (OSError, trio.TooSlowError) as exc:
        raise BackendError(f"cannot connect to {host}:{port}: {exc}") from None


async def forward_http(
    request: HTTPRequest,
    host: str,
    port: int,
    target: str,
    *,
    connect_timeout: float,
) -> None:
    """Relay `request` to `http://host:port<target>` and its answer back, streaming."""
    body = await request.body()
    headers = _end_to_end(request.headers)
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    if body or request.method in ("POST", "PUT", "PATCH"):
        headers.append(("Content-Length", str(len(body))))
    headers.append(_forwarded_for(request))
    if request.header("host") is None:
        headers.append(("Host", f"{host}:{port}"))
    stream = await _connect(host, port, connect_timeout)
    async with stream, trio.open_nursery() as nursery:
        conn = h11.Connection(h11.CLIENT)
        data = conn.send(h11.Request(method=request.method, target=target, headers=headers))
        data = data or b""
        if body:
            data += conn.send(h11.Data(data=body)) or b""
        data += conn.send(h11.EndOfMessage()) or b""
        try:
            with map_errors():
                await stream.send_all(data)
        except TransportError as exc:
            raise BackendError(f"cannot send to the backend: {exc}") from None

        async def client_gone() -> None:
            await request.wait_disconnected()
            nursery.cancel_scope.cancel()

        nursery.start_soon(client_gone)
        await _relay_response(conn, stream, request)
        nursery.cancel_scope.cancel()


async def _next_event(conn: h11.Connection, stream: trio.abc.Stream) -> h11.Event:
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            with map_errors():
                conn.receive_data(cast(bytes, await stream.receive_some(CHUNK)))
            continue
        return cast(h11.Event, event)


async def _relay_response(
    conn: h11.Connection, stream: trio.abc.Stream, request: HTTPRequest
) -> None:
    try:
        event = await _next_event(conn, stream)
        while isinstance(event, h11.InformationalResponse):
            event = await _next_event(conn, stream)
    except (TransportError, h11.RemoteProtocolError) as exc:
        raise BackendError(f"no answer from the backend: {exc}") from None
    if not isinstance(event, h11.Response):
        raise BackendError("the backend closed without answering")
    raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()]
    await request.start_response(event.status_code, _end_to_end(raw))
    while True:
        try:
            event = await _next_event(conn, stream)
        except (TransportError, h11.RemoteProtocolError):
            return  # the backend broke off mid-body: end what the client got
        if isinstance(event, h11.Data):
            await request.send_body(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            await request.end_response()
            return


def is_upgrade(request: HTTPRequest) -> bool:
    """Go's `isWebsocket`: `Upgrade: websocket` and a `Connection` naming `upgrade`."""
    upgrade = (request.header("upgrade") or "").lower()
    connection = (request.header("connection") or "").lower()
    return upgrade == "websocket" and "upgrade" in connection


async def tunnel_upgrade(
    request: HTTPRequest,
    host: str,
    port: int,
    target: str,
    *,
    connect_timeout: float,
) -> None:
    """Relay a WebSocket upgrade to `host:port<target>`, then copy bytes both ways."""
    backend = await _connect(host, port, connect_timeout)
    async with backend:
        client, early = await request.take_over()
        lines = [f"{request.method} {target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in request.headers]
        lines.append("{}: {}".format(*_forwarded_for(request)))
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        with map_errors():
            await backend.send_all(head + early)
        async with trio.open_nursery() as nursery:

            async def copy(source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
                try:
                    with map_errors():
                        while data := await source.receive_some(CHUNK):
                            await sink.send_all(data)
                except TransportError:
                    pass
                nursery.cancel_scope.cancel()

            nursery.start_soon(copy, client, backend)
            nursery.start_soon(copy, backend, client)
