"""The SockJS client over XHR polling, as Go's ``sockjsclient.DialXHR`` behaves, sans-IO.

How this works
--------------
Go's XHR client (docs/protocol.md §2.8) talks to ``<kite URL>/<server_id>/<session_id>``
(plain concatenation: a trailing slash in the kite URL gives ``//``, as in Go):

1. open: ``POST …/xhr`` with an empty body; the answer must be 200 and start with ``o``;
2. poll: ``POST …/xhr`` again and again; each answer is one frame: ``h`` → poll again,
   ``a``/``m`` → messages, ``c`` → closed by the server, 404 → the server forgot the session,
   any other status → error. A mid-session ``o`` means the server did not know the session
   any more and opened a new one under its id: whatever the old one carried (calls in
   flight, callbacks) is gone, so the session ends as after a 404 (Go ignores the ``o`` and
   carries on, and its calls in flight wait forever). A close frame ends the session,
   **except** ``c[2010,"Another connection still open"]``: sockjs-go answers a poll with it
   when the previous poll is not yet detached (a race at high call rates, docs/protocol.md §2.7)
   while the session stays open. Go's client takes it as the end of the session and its next
   call hangs; we poll again (a deliberate difference, documented);
3. send: ``POST …/xhr_send`` with ``["<message>"]``, one message per request; 200 or 204 is
   success, 404 → session gone, anything else → error;
4. close: nothing is sent; the runtime aborts the pending poll.

:class:`XHRClient` builds the requests (:class:`HTTPRequest` values) and digests the answers
(``receive_*_response(status, body)``), producing events; the runtime does the HTTP. The
first-byte timeout (Go: ``Config.Timeout``, 15 s) is the runtime's: on timeout Go abandons the
poll and issues a new one. Error messages are Go's, so logs read the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ._client import (
    ClientInput,
    ClientSession,
    ClientState,
    encode_client_payload,
    frame_events,
)
from ._errors import LocalProtocolError, RemoteProtocolError
from ._events import Opened, SessionNotFound
from ._frames import CloseFrame, FrameStreamDecoder

__all__ = ["XHR_HEADERS", "XHR_TRANSITIONS", "HTTPRequest", "XHRClient"]

#: The one header Go sets on every XHR request (Host, User-Agent, Content-Length and
#: Accept-Encoding come from the HTTP client).
XHR_HEADERS: Final = (("Content-Type", "text/plain"),)

#: sockjs-go's close code for a poll that found another receiver attached (the session lives).
ANOTHER_CONNECTION_CODE: Final = 2010

_C = ClientState
_In = ClientInput

#: (state, input) -> state for the XHR client.
XHR_TRANSITIONS: Final[dict[tuple[ClientState, ClientInput], ClientState]] = {
    (_C.CONNECTING, _In.OPEN_FRAME): _C.OPEN,
    (_C.CONNECTING, _In.ERROR): _C.CLOSED,
    (_C.CONNECTING, _In.CLOSE): _C.CLOSED,
    (_C.OPEN, _In.POLL): _C.OPEN,
    (_C.OPEN, _In.SEND): _C.OPEN,
    (_C.OPEN, _In.OPEN_FRAME): _C.CLOSED,  # mid-session 'o': the server lost the session
    (_C.OPEN, _In.DATA_FRAME): _C.OPEN,
    (_C.OPEN, _In.CLOSE_FRAME): _C.CLOSED,
    (_C.OPEN, _In.ERROR): _C.CLOSED,
    (_C.OPEN, _In.CLOSE): _C.CLOSED,
    (_C.CLOSED, _In.CLOSE): _C.CLOSED,  # idempotent
}


@dataclass(frozen=True, slots=True)
class HTTPRequest:
    """An HTTP request for the runtime to make."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class XHRClient(ClientSession):
    """One client SockJS session over XHR polling (sans-IO)."""

    __slots__ = ("session_url",)

    TRANSITIONS = XHR_TRANSITIONS
    TRANSPORT = "XHRPolling"

    def __init__(self, kite_url: str, *, server_id: str, session_id: str) -> None:
        """Prepare a session for ``kite_url``; :meth:`new` picks the ids as Go does."""
        super().__init__(kite_url, server_id=server_id, session_id=session_id)
        self.session_url = kite_url + "/" + server_id + "/" + session_id

    def _fail(self, message: str) -> RemoteProtocolError:
        if self._state is not _C.CLOSED:
            self._process(_In.ERROR)
        return RemoteProtocolError(message)

    # -- open ----------------------------------------------------------------------------

    def open_request(self) -> HTTPRequest:
        """The request that creates the session (``POST …/xhr``, empty body)."""
        if self._state is not _C.CONNECTING:
            raise LocalProtocolError("the XHR session was already opened")
        return HTTPRequest("POST", self.session_url + "/xhr", XHR_HEADERS, b"")

    def receive_open_response(self, status: int, body: bytes) -> None:
        """Digest the open answer: 200 and a body starting with ``o``.

        Raises:
            RemoteProtocolError: with Go's message; the session is closed.
        """
        if self._state is not _C.CONNECTING:
            raise LocalProtocolError("open response outside of the opening handshake")
        if status != 200:
            raise self._fail(f"Starting new session failed. Want: 200 Got: {status}")
        if not body:
            raise self._fail("can't start session: empty response")
        if body[:1] != b"o":
            shown = body[:1].decode("latin-1")
            raise self._fail(f"can't start session, invalid frame: {shown}")
        self._process(_In.OPEN_FRAME)
        self._events.append(Opened())

    # -- poll ----------------------------------------------------------------------------

    def poll_request(self) -> HTTPRequest:
        """The next poll (``POST …/xhr``, empty body)."""
        self._process(_In.POLL)
        return HTTPRequest("POST", self.session_url + "/xhr", XHR_HEADERS, b"")

    def receive_poll_response(self, status: int, body: bytes) -> None:
        """Digest a poll answer (one frame per answer from sockjs-go; more are accepted).

        After ``h``/``a``/``m`` the runtime polls again while the state is ``OPEN``; an ``o``
        ends the session with `SessionNotFound` (the server lost it, see the module doc).
        An answer arriving after :meth:`close` is ignored (Go aborted that poll).

        Raises:
            RemoteProtocolError: a status other than 200/404 (Go: ``Receiving data failed.
                Want: 200 Got: <n>``), an empty body, or a bad frame; the session is closed.
        """
        if self._state is _C.CLOSED:
            return
        if self._state is _C.CONNECTING:
            raise LocalProtocolError("poll response before the session was opened")
        if status == 404:
            self._process(_In.CLOSE_FRAME)
            self._events.append(SessionNotFound(self.session_id))
            return
        if status != 200:
            raise self._fail(f"Receiving data failed. Want: 200 Got: {status}")
        if not body:
            raise self._fail("Receiving data failed: empty poll response")
        decoder = FrameStreamDecoder()
        decoder.receive_data(body)
        decoder.receive_data(b"")
        while self._state is _C.OPEN:
            try:
                frame = decoder.next_event()
            except RemoteProtocolError as exc:
                raise self._fail(str(exc)) from None
            if frame is None:
                break
            if isinstance(frame, CloseFrame) and frame.code == ANOTHER_CONNECTION_CODE:
                continue  # the session lives on; the runtime polls again (see module doc)
            event_input, event = frame_events(frame)
            self._process(event_input)
            if isinstance(event, Opened):
                event = SessionNotFound(self.session_id)
            if event is not None:
                self._events.append(event)

    # -- send ----------------------------------------------------------------------------

    def send_request(self, message: str) -> HTTPRequest:
        """The request sending ``message`` (``POST …/xhr_send``, body ``["<message>"]``).

        Raises:
            LocalProtocolError: the session is not open.
        """
        self._process(_In.SEND)
        body = encode_client_payload(message).encode("utf-8")
        return HTTPRequest("POST", self.session_url + "/xhr_send", XHR_HEADERS, body)

    def receive_send_response(self, status: int) -> None:
        """Digest an ``xhr_send`` answer: 200/204 fine, 404 session gone, else an error.

        Raises:
            RemoteProtocolError: Go's ``Sending data failed. Want: 200 Got: <n>``.
        """
        if self._state is _C.CLOSED or status in (200, 204):
            return
        if status == 404:
            self._process(_In.CLOSE_FRAME)
            self._events.append(SessionNotFound(self.session_id))
            return
        raise self._fail(f"Sending data failed. Want: 200 Got: {status}")

    def connection_lost(self) -> None:
        """An HTTP request failed at the transport level: the session is over."""
        if self._state is not _C.CLOSED:
            self._process(_In.ERROR)

    def close(self) -> None:
        """Close locally; nothing is sent (Go: mark closed, abort the pending poll)."""
        self._process(_In.CLOSE)
