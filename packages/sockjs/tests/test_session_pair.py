"""Our XHR and WebSocket clients against our server session, bytes passed by hand (h11 style).

The transport wrapping is the minimal one of each transport (XHR: frame + newline; WebSocket:
one text message per frame) and the client payload is read with ``json.loads``: the real
wrappers and payload decoder live in the wire modules and have their own tests.
"""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from sockjs._client import ClientState
from sockjs._client_ws import WebSocketClient
from sockjs._client_xhr import XHRClient
from sockjs._events import (
    ClosedByServer,
    MessagesReceived,
    ReceiverDone,
    SendFrame,
)
from sockjs._session import ServerSession, SessionState

TEXT = st.text(max_size=20)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("server_send"), st.lists(TEXT, min_size=1, max_size=3)),
        st.tuples(st.just("client_send"), TEXT),
        st.tuples(st.just("poll"), st.none()),
        st.tuples(st.just("wait"), st.floats(0, 4)),
    ),
    max_size=25,
)


def _clean(text: str) -> str:
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)


def _poll_body(server: ServerSession, rid: int) -> bytes | None:
    """The finished poll's body, or None while it is still held."""
    body = b""
    for ev in server.events():
        if isinstance(ev, SendFrame) and ev.receiver == rid:
            body += (ev.frame + "\n").encode()
        elif isinstance(ev, ReceiverDone) and ev.receiver == rid:
            return body
        elif isinstance(ev, MessagesReceived):
            raise AssertionError("no client message expected here")
    return None


@settings(max_examples=60)
@given(STEPS)
def test_xhr_client_and_server_session_agree(steps: list[tuple[str, object]]) -> None:
    now = 0.0
    client = XHRClient("http://h/kite", server_id="123", session_id="s")
    server = ServerSession("s", now)
    client.open_request()
    rid = server.attach(now, response_limit=1)
    body = _poll_body(server, rid)
    assert body == b"o\n"
    client.receive_open_response(200, body)
    sent_by_server: list[str] = []
    sent_by_client: list[str] = []
    got_by_client: list[str] = []
    got_by_server: list[str] = []
    held: int | None = None
    for action, arg in steps:
        if action == "server_send":
            assert isinstance(arg, list)
            server.send_many(arg, now)
            sent_by_server.extend(arg)
        elif action == "client_send":
            assert isinstance(arg, str)
            request = client.send_request(arg)
            server.receive_messages(json.loads(request.body))
            for ev in server.events():
                if isinstance(ev, MessagesReceived):
                    got_by_server.extend(ev.messages)
                elif isinstance(ev, SendFrame | ReceiverDone):
                    raise AssertionError("xhr_send must not touch the held poll")
            client.receive_send_response(204)
            sent_by_client.append(arg)
        elif action == "poll" and held is None:
            client.poll_request()
            held = server.attach(now, response_limit=1)
        elif action == "wait":
            assert isinstance(arg, float)
            now += arg
            server.tick(now)
        if held is not None:
            body = _poll_body(server, held)
            if body is not None:
                held = None
                client.receive_poll_response(200, body)
                for ev in client.events():
                    if isinstance(ev, MessagesReceived):
                        got_by_client.extend(ev.messages)
        if server.state is SessionState.CLOSED:
            break  # expired: a real client's next poll would start over
    assert got_by_server == sent_by_client
    assert got_by_client == [_clean(m) for m in sent_by_server[: len(got_by_client)]]
    if server.state is not SessionState.CLOSED:
        assert got_by_client + [_clean(m) for m in server.queued] == [
            _clean(m) for m in sent_by_server
        ]


def test_websocket_client_and_server_session() -> None:
    client = WebSocketClient("http://h/kite", server_id="123", session_id="s")
    server = ServerSession("s", 0.0)
    first = client.send("before o")  # Go's client does not wait for 'o'
    ws = server.attach(0.0)
    server.receive_messages(json.loads(first))
    server.send("hi <there>", 1.0)
    server.tick(10.0)
    server.close(11.0)
    to_client = []
    delivered = []
    for ev in server.events():
        if isinstance(ev, SendFrame):
            assert ev.receiver == ws
            to_client.append(ev.frame)
        elif isinstance(ev, MessagesReceived):
            delivered.extend(ev.messages)
    assert delivered == ["before o"]
    assert to_client == ["o", 'a["hi \\u003cthere\\u003e"]', "h", 'c[3000,"Go away!"]']
    for frame in to_client:
        client.receive_message(frame)
    events = client.events()
    assert MessagesReceived(("hi <there>",)) in events
    assert events[-1] == ClosedByServer(3000, "Go away!")
    assert client.state is ClientState.CLOSED
