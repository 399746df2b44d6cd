"""The SockJS client over WebSocket, as Go's ``sockjsclient.DialWebsocket`` behaves, sans-IO.

How this works
--------------
:func:`websocket_url` builds the URL Go dials (docs/protocol.md §2.6): scheme ``https`` → ``wss``,
anything else → ``ws``; a host without port gets ``:443``/``:80`` (so the ``Host`` header
names the port, a Go quirk kept for byte compatibility); the path is
``path.Join(<path>, server_id, session_id, "websocket")``; query and fragment are kept.
:func:`websocket_origin` is the ``Origin`` header Go sends (original scheme and host).

:class:`WebSocketClient` is the session on top of an established WebSocket: every text message
from the server is one frame, fed to :meth:`~WebSocketClient.receive_message`; events come
out of :meth:`~WebSocketClient.next_event`; :meth:`~WebSocketClient.send` returns the text
message to write (``["<message>"]``). Like Go it does not wait for ``o`` before sending.
The table :data:`WS_TRANSITIONS` is the whole lifecycle; a miss raises
:class:`~sockjs.LocalProtocolError`. A frame Go would reject (empty, unknown type, broken
JSON) closes the session and raises :class:`~sockjs.RemoteProtocolError`.
"""

from __future__ import annotations

import posixpath
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from ._client import (
    ClientInput,
    ClientSession,
    ClientState,
    encode_client_payload,
    frame_events,
)
from ._errors import LocalProtocolError, RemoteProtocolError
from ._frames import _array_messages, decode_frame

__all__ = ["WS_TRANSITIONS", "WebSocketClient", "websocket_origin", "websocket_url"]

_C = ClientState
_In = ClientInput

#: (state, input) -> state for the WebSocket client.
WS_TRANSITIONS: Final[dict[tuple[ClientState, ClientInput], ClientState]] = {
    (_C.CONNECTING, _In.OPEN_FRAME): _C.OPEN,
    (_C.CONNECTING, _In.DATA_FRAME): _C.CONNECTING,  # Go does not insist on 'o' first
    (_C.CONNECTING, _In.CLOSE_FRAME): _C.CLOSED,
    (_C.CONNECTING, _In.ERROR): _C.CLOSED,
    (_C.CONNECTING, _In.SEND): _C.CONNECTING,  # Go sends before it has read 'o'
    (_C.CONNECTING, _In.CLOSE): _C.CLOSED,
    (_C.OPEN, _In.OPEN_FRAME): _C.OPEN,  # ignored, as Go does
    (_C.OPEN, _In.DATA_FRAME): _C.OPEN,
    (_C.OPEN, _In.CLOSE_FRAME): _C.CLOSED,
    (_C.OPEN, _In.ERROR): _C.CLOSED,
    (_C.OPEN, _In.SEND): _C.OPEN,
    (_C.OPEN, _In.CLOSE): _C.CLOSED,
    (_C.CLOSED, _In.ERROR): _C.CLOSED,
    (_C.CLOSED, _In.CLOSE): _C.CLOSED,  # idempotent
}


def _go_path_join(*parts: str) -> str:
    """Go's ``path.Join``: join the non-empty parts with ``/`` and clean the result."""
    joined = "/".join(p for p in parts if p)
    if not joined:
        return ""
    cleaned = posixpath.normpath(joined)
    if cleaned.startswith("//"):  # POSIX keeps a leading '//', Go's Clean does not
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def websocket_url(kite_url: str, server_id: str, session_id: str) -> str:
    """The URL Go's client dials for a SockJS WebSocket session.

    >>> websocket_url("https://koding.com/kloud/kite", "123", "abc")
    'wss://koding.com:443/kloud/kite/123/abc/websocket'
    """
    parts = urlsplit(kite_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    netloc = parts.netloc
    if parts.port is None:
        netloc += ":443" if scheme == "wss" else ":80"
    path = _go_path_join(parts.path, server_id, session_id, "websocket")
    if not path.startswith("/"):
        path = "/" + path  # Go's URL.String adds it when there is a host
    return urlunsplit((scheme, netloc, path, parts.query, parts.fragment))


def websocket_origin(kite_url: str) -> str:
    """The ``Origin`` header Go's client sends: the kite URL's scheme and host, unchanged."""
    parts = urlsplit(kite_url)
    return f"{parts.scheme}://{parts.netloc}"


class WebSocketClient(ClientSession):
    """One client SockJS session over an established WebSocket (sans-IO)."""

    __slots__ = ("url",)

    TRANSITIONS = WS_TRANSITIONS
    TRANSPORT = "WebSocket"

    def __init__(self, kite_url: str, *, server_id: str, session_id: str) -> None:
        """Prepare a session for ``kite_url`` (e.g. ``http://127.0.0.1:3636/kite``).

        Use :meth:`new` to pick the ids as Go does.
        """
        super().__init__(kite_url, server_id=server_id, session_id=session_id)
        self.url = websocket_url(kite_url, server_id, session_id)

    def receive_message(self, text: str) -> None:
        """Feed one text message received from the server (one SockJS frame).

        Raises:
            RemoteProtocolError: the frame is not one Go accepts; the session is closed.
            LocalProtocolError: the session is already closed.
        """
        if self._state is _C.CLOSED:
            raise LocalProtocolError("frame received on a closed session (WebSocket)")
        try:
            frame = decode_frame(text)
        except RemoteProtocolError:
            self._process(_In.ERROR)
            raise
        event_input, event = frame_events(frame)
        previous = self._state
        self._process(event_input)
        if event is not None and not (event_input is _In.OPEN_FRAME and previous is _C.OPEN):
            self._events.append(event)

    def receive_messages(self, text: str) -> list[str] | None:
        """The fast path of :meth:`receive_message` for the common frame.

        An ``a[...]`` frame on an open session changes no state and yields only its
        messages: they are returned directly instead of as a `MessagesReceived` event
        (``[]`` for ``a[]``, which yields no event). ``None`` for any other frame or state,
        with nothing consumed: feed the same text to :meth:`receive_message` then.
        """
        if self._state is not _C.OPEN or text[:1] != "a":
            return None
        try:
            return _array_messages(text)
        except RemoteProtocolError:
            return None  # receive_message raises it and closes the session

    def connection_lost(self) -> None:
        """The WebSocket ended (TCP closed, close frame, read error): the session is over."""
        self._process(_In.ERROR)

    def send(self, message: str) -> str:
        """The text message to write for ``message`` (Go: ``["<message>"]``, one per message).

        Raises:
            LocalProtocolError: the session is closed (Go: ``ErrSessionClosed``).
        """
        if self._state is not _C.OPEN:  # (OPEN, SEND) -> OPEN: the common case
            self._process(_In.SEND)
        return encode_client_payload(message)

    def close(self) -> None:
        """Close locally. Like Go, nothing is sent: the runtime just closes the connection."""
        self._process(_In.CLOSE)
