"""The client side of a SockJS session as Go's `sockjsclient` speaks it, as a `MessagePipe`:
WebSocket and XHR polling.

How this works (docs/protocol.md §2.3, §2.6, §2.8): the sans-IO client machines
`sockjs.WebSocketClient` / `sockjs.XHRClient` pick fresh ids (server id a decimal in [100, 999],
session id 20 lowercase hex characters), build Go's URLs and payloads and judge every answer;
this module does their I/O and presents one session as a `MessagePipe` for the RPC core:

* `WebSocketClientPipe`: `ws(s)://host:port/<path>/<server>/<session>/websocket` with an
  `Origin` of the original scheme and host (and the default port made explicit, as Go does).
  Each message goes out as its own `["<message>"]` text frame; incoming frames are parsed with
  `sockjs.decode_frame` (`o`, `h` skipped; `a[...]`/`m"..."` queued; `c[...]` or anything
  invalid ends the session). Closing drops TCP without a close frame (Go).
* `XHRClientPipe`: `POST <url>/<server>/<session>/xhr` must answer 200 and `o`; then the
  receiving task polls (`POST .../xhr`, one frame per answer; `h` means "poll again",
  `c[...]`, 404 and a mid-session `o` end the session) and every message is its own
  `POST .../xhr_send` with body `["<message>"]` (200/204 accepted, 404 ends the session).
  Polls and sends use separate keep-alive connections. Closing abandons the held poll (the
  server sees its connection drop and closes the session) and sends nothing (Go).

A server holds a poll until it has a frame, at the latest its next heartbeat (`h`, every 10 s
for a kite, 25 s for sockjs-node and sockjs-go), and a server whose client drops a held poll
ends the session. So a poll waits `max(timeout, POLL_TIMEOUT_FLOOR)` for its answer: a short dial
timeout applies to opening and sending, never cuts an idle session's polls (which would end the
session and lose the calls in flight). Unlike Go's client, which leaves a timed-out poll running
and issues another, a poll that gives no answer in that time is abandoned (its connection
closed) before polling again: the server stopped answering. If the server then answers a poll
with `o` (it lost the session and opened a new one) or 404, the session ends at once, so the
calls in flight fail with `DisconnectError` instead of waiting for answers that cannot come.
"""

from __future__ import annotations

import logging
import ssl
from collections import deque

import trio

import sockjs

from .._errors import SendError
from .._http import (
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
from .._rpc._pipe import PipeClosedError

__all__ = ["POLL_TIMEOUT_FLOOR", "WebSocketClientPipe", "XHRClientPipe"]

log = logging.getLogger("kite.client")

#: Shortest wait (seconds) for a poll's answer: longer than the longest usual heartbeat period
#: of a SockJS server (25 s), so an idle session's poll is answered before it is given up.
POLL_TIMEOUT_FLOOR = 30.0


def _close_reason(event: sockjs.ClientEvent) -> str | None:
    if isinstance(event, sockjs.ClosedByServer):
        return f"closed by server: code={event.code}, reason={event.reason!r}"
    if isinstance(event, sockjs.SessionNotFound):
        return f"session does not exist: {event.session_id}"
    return None


class WebSocketClientPipe:
    """A SockJS session over a WebSocket this side dialled; a `MessagePipe`."""

    def __init__(self, ws: WebSocketConnection, machine: sockjs.WebSocketClient) -> None:
        self.machine = machine
        self.session_id = machine.session_id
        self.transport = "websocket"
        #: The server's `(host, port)` (set by the dialler).
        self.remote_address: tuple[str, int] | None = None
        self._ws = ws
        self._pending: deque[str] = deque()
        #: Why the session ended (close frame, protocol error), once it has.
        self.close_reason: str | None = None

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        timeout: float = 15.0,  # noqa: ASYNC109
        limits: HTTPLimits | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> WebSocketClientPipe:
        """Dial the kite at `url` over WebSocket.

        Raises:
            HandshakeError: a non-101 answer (what makes `auto` fall back to XHR).
            ConnectError, TransportTimeoutError, ProtocolError: other dial failures.
        """
        machine = sockjs.WebSocketClient.new(url)
        ws = await connect_websocket(
            machine.url,
            [("Origin", sockjs.websocket_origin(url))],
            timeout=timeout,
            limits=limits,
            ssl_context=ssl_context,
        )
        return cls(ws, machine)

    async def send(self, message: str) -> None:
        try:
            text = self.machine.send(message)
            await self._ws.send(text)
        except (sockjs.LocalProtocolError, ConnectionClosedError):
            raise PipeClosedError() from None

    async def _end(self, reason: str | None) -> PipeClosedError:
        if reason is not None and self.close_reason is None:
            self.close_reason = reason
        await self.aclose()
        return PipeClosedError()

    async def receive(self) -> str:
        pending = self._pending
        machine = self.machine
        while not pending:
            if machine.state is sockjs.ClientState.CLOSED:
                raise PipeClosedError()
            try:
                text = await self._ws.receive_message()
            except ConnectionClosedError as exc:
                machine.connection_lost()
                raise await self._end(str(exc)) from None
            if isinstance(text, bytes):  # binary: read as Go's JSON decoder would
                text = text.decode("utf-8", errors="replace")
            messages = machine.receive_messages(text)  # the common `a[...]` frame
            if messages is not None:
                if len(messages) == 1:
                    return messages[0]
                pending.extend(messages)
                continue
            try:
                machine.receive_message(text)
            except sockjs.ProtocolError as exc:
                raise await self._end(str(exc)) from None
            for event in machine.events():
                if isinstance(event, sockjs.MessagesReceived):
                    pending.extend(event.messages)
                elif (reason := _close_reason(event)) is not None:
                    raise await self._end(reason)
        return pending.popleft()

    async def aclose(self) -> None:
        """Close like Go: mark the session closed and drop TCP (no close frame)."""
        self.machine.close()
        await self._ws.abort()


class XHRClientPipe:
    """A SockJS session over XHR polling this side opened; a `MessagePipe`."""

    def __init__(self, client: HTTPClient, machine: sockjs.XHRClient, timeout: float) -> None:
        self.machine = machine
        self.session_id = machine.session_id
        self.transport = "xhr"
        #: The server's `(host, port)` (set by the dialler).
        self.remote_address: tuple[str, int] | None = None
        self._client = client
        self._timeout = timeout
        self._poll_timeout = max(timeout, POLL_TIMEOUT_FLOOR)
        self._pending: deque[str] = deque()
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
        ssl_context: ssl.SSLContext | None = None,
    ) -> XHRClientPipe:
        """Open a session at the kite `url` (`POST .../xhr` answered `o`).

        Raises:
            HandshakeError: Go's `Starting new session failed. Want: 200 Got: <n>`.
            ProtocolError: e.g. `can't start session, invalid frame: <c>`.
            ConnectError, TransportTimeoutError: the server cannot be reached in time.
        """
        machine = sockjs.XHRClient.new(url)
        client = HTTPClient(limits=limits, ssl_context=ssl_context)
        try:
            request = machine.open_request()
            response = await client.request(
                request.method, request.url, request.headers, request.body, timeout=timeout
            )
            try:
                machine.receive_open_response(response.status, response.body)
            except sockjs.ProtocolError as exc:
                if response.status != 200:
                    raise HandshakeError(
                        str(exc),
                        status=response.status,
                        headers=response.headers,
                        body=response.body,
                    ) from None
                raise ProtocolError(str(exc)) from None
        except BaseException:
            await client.aclose()
            raise
        return cls(client, machine, timeout)

    async def send(self, message: str) -> None:
        machine = self.machine
        try:
            request = machine.send_request(message)
        except sockjs.LocalProtocolError:
            raise PipeClosedError() from None
        try:
            response = await self._client.request(
                request.method, request.url, request.headers, request.body, timeout=self._timeout
            )
        except TransportError as exc:
            raise SendError(f"Sending data failed: {exc}") from exc
        try:
            machine.receive_send_response(response.status)
        except sockjs.ProtocolError as exc:
            raise SendError(str(exc)) from None
        for event in machine.events():
            if (reason := _close_reason(event)) is not None:
                self.close_reason = reason
                raise PipeClosedError()

    async def _poll(self) -> None:
        """One poll; queues what it brings. Raises PipeClosedError when the session ends."""
        machine = self.machine
        try:
            request = machine.poll_request()
        except sockjs.LocalProtocolError:
            raise PipeClosedError() from None
        try:
            response = await self._client.request(
                request.method,
                request.url,
                request.headers,
                request.body,
                timeout=self._poll_timeout,
            )
        except TransportTimeoutError:
            return  # poll again: the server stopped answering (see the module doc)
        except TransportError as exc:
            machine.connection_lost()
            self.close_reason = str(exc)
            raise PipeClosedError() from None
        try:
            machine.receive_poll_response(response.status, response.body)
        except sockjs.ProtocolError as exc:
            self.close_reason = str(exc)
            raise PipeClosedError() from None
        for event in machine.events():
            if isinstance(event, sockjs.MessagesReceived):
                self._pending.extend(event.messages)
            elif (reason := _close_reason(event)) is not None:
                self.close_reason = reason
                raise PipeClosedError()

    async def receive(self) -> str:
        pending = self._pending
        while not pending:
            if self.machine.state is sockjs.ClientState.CLOSED:
                raise PipeClosedError()
            with trio.CancelScope() as scope:
                self._poll_scope = scope
                try:
                    await self._poll()
                except PipeClosedError:
                    await self.aclose()
                    raise
                finally:
                    self._poll_scope = None
        return pending.popleft()

    async def aclose(self) -> None:
        """Close like Go: mark the session closed, abandon the held poll, send nothing."""
        self.machine.close()
        if self._poll_scope is not None:
            self._poll_scope.cancel()
        await self._client.aclose()
