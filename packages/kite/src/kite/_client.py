"""SockJS client sessions as Go's `sockjsclient` speaks them: WebSocket and XHR polling.

How this works (PROTOCOL.md §2.3, §2.6, §2.8): a dial picks fresh ids (server id a decimal in
[100, 999], session id 20 lowercase hex characters) and opens one session, which is then a
`MessagePipe` for the RPC core:

* `WebSocketClientSession`: `ws(s)://host:port/<path>/<server>/<session>/websocket` with an
  `Origin` of the original scheme and host (and the default port made explicit, as Go does).
  Each message goes out as its own `["<message>"]` text frame; incoming frames are parsed with
  `sockjs.decode_frame` (`o`, `h` skipped; `a[...]`/`m"..."` queued; `c[...]` or anything
  invalid ends the session). Closing drops TCP without a close frame (Go).
* `XHRClientSession`: `POST <url>/<server>/<session>/xhr` must answer 200 and `o`; then the
  receiving task polls (`POST .../xhr`, one frame per answer; `h` and a stray `o` mean "poll
  again", `c[...]` and 404 end the session) and every message is its own
  `POST .../xhr_send` with body `["<message>"]` (200/204 accepted, 404 ends the session).
  Polls and sends use separate keep-alive connections. Closing abandons the held poll (the
  server sees its connection drop and closes the session) and sends nothing (Go).

Unlike Go's client, which leaves a timed-out poll running and issues another, a poll that
gives no answer within `timeout` is abandoned (its connection closed) before polling again;
sockjs servers heartbeat every 10-25 s, well inside Go's 15 s default, so this only matters
for a server that stopped answering.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections import deque
from urllib.parse import urlsplit, urlunsplit

import trio

import sockjs

from ._errors import SendError
from ._http import (
    ConnectionClosedError,
    HandshakeError,
    HTTPClient,
    HTTPLimits,
    ProtocolError,
    TransportError,
    TransportTimeoutError,
    WebSocketConnection,
    connect_websocket,
)
from ._session import PipeClosedError

__all__ = [
    "WebSocketClientSession",
    "XHRClientSession",
    "new_session_ids",
    "websocket_url",
    "xhr_session_url",
]

log = logging.getLogger("kite.client")

_POLL_HEADERS = [("Content-Type", "text/plain")]


def new_session_ids() -> tuple[str, str]:
    """Fresh `(server_id, session_id)` as Go's client picks them (§2.3)."""
    return str(random.randint(100, 999)), secrets.token_hex(10)


def websocket_url(url: str, server_id: str, session_id: str) -> tuple[str, str]:
    """Go's `DialWebsocket` URL and `Origin` for a kite URL (§2.6).

    >>> websocket_url("https://koding.com/kloud/kite", "123", "abc")
    ('wss://koding.com:443/kloud/kite/123/abc/websocket', 'https://koding.com')
    """
    parts = urlsplit(url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    host = parts.netloc
    if parts.port is None:
        host = f"{host}:{443 if scheme == 'wss' else 80}"
    segments = [s for s in parts.path.split("/") if s and s != "."]
    path = "/" + "/".join([*segments, server_id, session_id, "websocket"])
    origin = f"{parts.scheme}://{parts.netloc}"
    return urlunsplit((scheme, host, path, parts.query, "")), origin


def xhr_session_url(url: str, server_id: str, session_id: str) -> str:
    """Go's `DialXHR` session URL: plain concatenation (a trailing `/` gives `//`, as Go)."""
    return f"{url}/{server_id}/{session_id}"


class WebSocketClientSession:
    """A SockJS session over a WebSocket this side dialled; a `MessagePipe`."""

    def __init__(self, ws: WebSocketConnection, session_id: str) -> None:
        self.session_id = session_id
        self.transport = "websocket"
        self._ws = ws
        self._pending: deque[str] = deque()
        self._closed = False
        #: Why the session ended (`CloseFrame`, protocol error text), once it has.
        self.close_reason: str | None = None

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        timeout: float = 15.0,  # noqa: ASYNC109
        limits: HTTPLimits | None = None,
        ssl_context: object | None = None,
    ) -> WebSocketClientSession:
        """Dial the kite at `url` over WebSocket.

        Raises:
            HandshakeError: a non-101 answer (what makes `auto` fall back to XHR).
            ConnectError, TransportTimeoutError, ProtocolError: other dial failures.
        """
        server_id, session_id = new_session_ids()
        ws_url, origin = websocket_url(url, server_id, session_id)
        ws = await connect_websocket(
            ws_url,
            [("Origin", origin)],
            timeout=timeout,
            limits=limits,
            ssl_context=ssl_context,  # type: ignore[arg-type]
        )
        return cls(ws, session_id)

    async def send(self, message: str) -> None:
        if self._closed:
            raise PipeClosedError()
        try:
            await self._ws.send(sockjs.encode_payload((message,)).decode("utf-8"))
        except ConnectionClosedError:
            self._closed = True
            raise PipeClosedError() from None

    async def receive(self) -> str:
        pending = self._pending
        while not pending:
            if self._closed:
                raise PipeClosedError()
            try:
                text = await self._ws.receive()
                frame = sockjs.decode_frame(text)
            except ConnectionClosedError:
                self._closed = True
                raise PipeClosedError() from None
            except sockjs.ProtocolError as exc:
                self.close_reason = str(exc)
                await self.aclose()
                raise PipeClosedError() from None
            if isinstance(frame, sockjs.MessagesFrame):
                pending.extend(frame.messages)
            elif isinstance(frame, sockjs.CloseFrame):
                self.close_reason = f"closed by server: code={frame.code}, reason={frame.reason!r}"
                await self.aclose()
                raise PipeClosedError()
        return pending.popleft()

    async def aclose(self) -> None:
        self._closed = True
        await self._ws.abort()


class XHRClientSession:
    """A SockJS session over XHR polling this side opened; a `MessagePipe`."""

    def __init__(self, client: HTTPClient, session_url: str, timeout: float) -> None:
        self.session_id = session_url.rsplit("/", 1)[-1]
        self.transport = "xhr"
        self._client = client
        self._url = session_url
        self._timeout = timeout
        self._pending: deque[str] = deque()
        self._closed = False
        self._poll_scope: trio.CancelScope | None = None
        #: Why the session ended, once it has.
        self.close_reason: str | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        timeout: float = 15.0,  # noqa: ASYNC109
        limits: HTTPLimits | None = None,
        ssl_context: object | None = None,
    ) -> XHRClientSession:
        """Open a session at the kite `url` (`POST .../xhr` answered `o`).

        Raises:
            HandshakeError: Go's `Starting new session failed. Want: 200 Got: <n>`.
            ProtocolError: `can't start session, invalid frame: <c>`.
            ConnectError, TransportTimeoutError: the server cannot be reached in time.
        """
        server_id, session_id = new_session_ids()
        client = HTTPClient(limits=limits, ssl_context=ssl_context)  # type: ignore[arg-type]
        session_url = xhr_session_url(url, server_id, session_id)
        try:
            response = await client.request(
                "POST", session_url + "/xhr", _POLL_HEADERS, timeout=timeout
            )
            if response.status != 200:
                raise HandshakeError(
                    f"Starting new session failed. Want: 200 Got: {response.status}",
                    status=response.status,
                    headers=response.headers,
                    body=response.body,
                )
            if not response.body.startswith(b"o"):
                first = response.body[:1].decode("latin-1")
                raise ProtocolError(f"can't start session, invalid frame: {first}")
        except BaseException:
            await client.aclose()
            raise
        return cls(client, session_url, timeout)

    async def send(self, message: str) -> None:
        if self._closed:
            raise PipeClosedError()
        body = sockjs.encode_payload((message,))
        try:
            response = await self._client.request(
                "POST", self._url + "/xhr_send", _POLL_HEADERS, body, timeout=self._timeout
            )
        except TransportError as exc:
            raise SendError(f"Sending data failed: {exc}") from exc
        if response.status == 404:
            self._closed = True
            raise PipeClosedError()
        if response.status not in (200, 204):
            raise SendError(f"Sending data failed. Want: 200 Got: {response.status}")

    async def _poll(self) -> None:
        """One poll; queues what it brings. Raises PipeClosedError when the session ends."""
        try:
            response = await self._client.request(
                "POST", self._url + "/xhr", _POLL_HEADERS, timeout=self._timeout
            )
        except TransportTimeoutError:
            return  # poll again (Go abandons a poll without its first byte in time)
        except TransportError as exc:
            self.close_reason = str(exc)
            raise PipeClosedError() from None
        if response.status == 404:
            self.close_reason = f"session does not exist: {self.session_id}"
            raise PipeClosedError()
        if response.status != 200:
            self.close_reason = f"Receiving data failed. Want: 200 Got: {response.status}"
            raise PipeClosedError()
        decoder = sockjs.FrameStreamDecoder()
        decoder.receive_data(response.body)
        decoder.receive_data(b"")
        while True:
            try:
                frame = decoder.next_event()
            except sockjs.ProtocolError as exc:
                self.close_reason = str(exc)
                raise PipeClosedError() from None
            if frame is None:
                if not response.body:  # the server dropped the session without a frame
                    self.close_reason = "empty poll response"
                    raise PipeClosedError()
                return
            if isinstance(frame, sockjs.MessagesFrame):
                self._pending.extend(frame.messages)
            elif isinstance(frame, sockjs.CloseFrame):
                self.close_reason = f"closed by server: code={frame.code}, reason={frame.reason!r}"
                raise PipeClosedError()

    async def receive(self) -> str:
        pending = self._pending
        while not pending:
            if self._closed:
                raise PipeClosedError()
            with trio.CancelScope() as scope:
                self._poll_scope = scope
                try:
                    await self._poll()
                except PipeClosedError:
                    self._closed = True
                    await self._client.aclose()
                    raise
                finally:
                    self._poll_scope = None
        return pending.popleft()

    async def aclose(self) -> None:
        self._closed = True
        if self._poll_scope is not None:
            self._poll_scope.cancel()
        await self._client.aclose()
