"""What a SockJS server session is to the application: a `MessagePipe` with a session id."""

from __future__ import annotations

from .._http import Hixie76Connection, WebSocketConnection

__all__ = ["AnyWebSocket", "SockJSPipe"]

#: An RFC 6455 WebSocket or, with ``Options(hixie76=True)``, a hixie-76 one.
AnyWebSocket = WebSocketConnection | Hixie76Connection


class SockJSPipe:
    """Base of the server-side sessions: a `MessagePipe` plus the session id."""

    session_id: str
    transport: str
    #: The client's `(host, port)` as the connection that opened the session saw it.
    remote_address: tuple[str, int] | None = None
    #: The query string (without `?`) of the request that opened the session.
    query: str = ""

    async def send(self, message: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    async def receive(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    async def aclose(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
