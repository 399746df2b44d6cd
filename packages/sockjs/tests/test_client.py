"""Client state machines: Go's URLs and ids, reactions to frames and statuses, the captures."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockjs import LocalProtocolError, RemoteProtocolError
from sockjs._client import (
    ClientState,
    choose_server_id,
    choose_session_id,
    encode_client_payload,
)
from sockjs._client_ws import WebSocketClient, websocket_origin, websocket_url
from sockjs._client_xhr import XHRClient
from sockjs._events import ClosedByServer, Heartbeat, MessagesReceived, Opened, SessionNotFound
from sockjs._frames import encode_messages

CAPTURES = Path(__file__).resolve().parents[3] / "conformance" / "captures"


def _load(name: str) -> list[dict[str, Any]]:
    text = (CAPTURES / f"{name}.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


# -- ids and URLs --------------------------------------------------------------------------

URL_CASES = [
    # sockjsclient_test.go TestMakeWebsocketURL
    ("https://koding.com/kloud/kite", "wss://koding.com:443/kloud/kite/server/session/websocket"),
    ("http://127.0.0.1:56789/kite", "ws://127.0.0.1:56789/kite/server/session/websocket"),
    (
        "http://rjeczalik.koding.team/kontrol/kite",
        "ws://rjeczalik.koding.team:80/kontrol/kite/server/session/websocket",
    ),
    # path.Join cleaning, no path, query kept, other schemes → ws
    ("http://h:1/kite/", "ws://h:1/kite/server/session/websocket"),
    ("http://h:1//a//b/../kite", "ws://h:1/a/kite/server/session/websocket"),
    ("http://h:1", "ws://h:1/server/session/websocket"),
    ("http://h:1/kite?x=1", "ws://h:1/kite/server/session/websocket?x=1"),
    ("ws://h/kite", "ws://h:80/kite/server/session/websocket"),
    ("http://[::1]:5/kite", "ws://[::1]:5/kite/server/session/websocket"),
]


@pytest.mark.parametrize(("kite_url", "expected"), URL_CASES)
def test_websocket_url(kite_url: str, expected: str) -> None:
    assert websocket_url(kite_url, "server", "session") == expected


def test_origin_and_ids() -> None:
    assert websocket_origin("http://127.0.0.1:13636/kite") == "http://127.0.0.1:13636"
    assert websocket_origin("https://koding.com/kloud/kite") == "https://koding.com"
    rng = random.Random(7)
    ids = {choose_server_id(rng) for _ in range(2000)}
    assert min(map(int, ids)) == 100
    assert max(map(int, ids)) == 999
    assert choose_session_id(lambda n: bytes(range(n))) == "000102030405060708090a"[:20]
    sid = choose_session_id()
    assert len(sid) == 20
    assert all(c in "0123456789abcdef" for c in sid)
    a, b = WebSocketClient.new("http://h/kite"), WebSocketClient.new("http://h/kite")
    assert a.session_id != b.session_id


@given(st.text())
def test_client_payload_is_json_array_of_one_string(message: str) -> None:
    payload = encode_client_payload(message)
    expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in message)
    assert json.loads(payload) == [expected]


# -- WebSocket client ------------------------------------------------------------------------


def _ws() -> WebSocketClient:
    return WebSocketClient("http://127.0.0.1:3636/kite", server_id="123", session_id="abc")


def test_ws_reactions() -> None:
    c = _ws()
    assert c.url == "ws://127.0.0.1:3636/kite/123/abc/websocket"
    assert c.send("early") == '["early"]'  # Go does not wait for 'o'
    c.receive_message("o")
    c.receive_message("o")  # ignored
    c.receive_message("h")
    c.receive_message('a["1","2"]')
    c.receive_message("a[]")  # Go: "no message" error; we accept it
    c.receive_message('m"3"')
    assert c.events() == [
        Opened(),
        Heartbeat(),
        MessagesReceived(("1", "2")),
        MessagesReceived(("3",)),
    ]
    assert c.state is ClientState.OPEN
    c.receive_message('c[3000,"Go away!"]')
    assert c.events() == [ClosedByServer(3000, "Go away!")]
    assert c.state is ClientState.CLOSED
    with pytest.raises(LocalProtocolError):
        c.send("x")
    with pytest.raises(LocalProtocolError):
        c.receive_message("h")
    c.close()  # idempotent


_FRAMES = st.one_of(
    st.lists(st.text(), max_size=3).map(lambda ms: encode_messages(ms)),
    st.sampled_from(["o", "h", "a[]", 'm"x"', 'c[3000,"Go away!"]', "", "x", "a[1]", "a{", "a"]),
    st.text(max_size=12),
    st.text(max_size=12).map(lambda t: "a" + t),
)


@given(st.sampled_from(["connecting", "open", "closed"]), _FRAMES)
def test_ws_receive_messages_is_receive_message_for_data_frames(state: str, frame: str) -> None:
    """The fast path returns exactly the messages the general path would deliver, only for
    an `a` frame on an open session, and otherwise leaves the session untouched."""
    fast, slow = _ws(), _ws()
    for c in (fast, slow):
        if state != "connecting":
            c.receive_message("o")
            c.events()
        if state == "closed":
            c.close()
    messages = fast.receive_messages(frame)
    if messages is None:
        assert fast.state is slow.state
        assert not fast.events()
        return
    assert state == "open"
    assert frame.startswith("a")
    slow.receive_message(frame)  # must accept it too
    delivered = [m for e in slow.events() if isinstance(e, MessagesReceived) for m in e.messages]
    assert messages == delivered
    assert fast.state is slow.state is ClientState.OPEN
    assert not fast.events()


@pytest.mark.parametrize(
    ("frame", "why"),
    [("", "unexpected empty message"), ("x", "invalid frame type"), ("a[1]", "array")],
)
def test_ws_bad_frames_close_the_session(frame: str, why: str) -> None:
    c = _ws()
    c.receive_message("o")
    with pytest.raises(RemoteProtocolError, match=re.escape(why)):
        c.receive_message(frame)
    assert c.state is ClientState.CLOSED


def test_ws_close_and_connection_lost() -> None:
    c = _ws()
    c.close()
    assert c.state is ClientState.CLOSED
    d = _ws()
    d.connection_lost()
    assert d.state is ClientState.CLOSED
    with pytest.raises(LocalProtocolError):
        d.send("x")


WS_GO_CLIENT_CAPTURES = [
    "square",
    "ping",
    "add",
    "echo-values",
    "big-payload",
    "countdown-callback",
    "call-me-back",
    "idle-heartbeat",
    "fail",
    "boom",
    "method-not-found",
    "auth-kitekey-ok",
    "kontrol-getkites",
]


@pytest.mark.parametrize("name", WS_GO_CLIENT_CAPTURES)
def test_ws_client_replays_go_client_capture(name: str) -> None:
    """Our client dials the same URL shape, sends the same bytes, reads every server frame."""
    events = _load(name)
    clients: dict[int, WebSocketClient] = {}
    for ev in events:
        conn = ev["conn"]
        if ev["kind"] == "http-request" and ev["target"].endswith("/websocket"):
            headers = dict(ev["headers"])
            _, prefix, server_id, session_id, _ = ev["target"].rsplit("/", 4)
            kite_url = f"http://{headers['Host']}/{prefix}"
            client = WebSocketClient(kite_url, server_id=server_id, session_id=session_id)
            assert client.url == f"ws://{headers['Host']}{ev['target']}"
            assert websocket_origin(kite_url) == headers["Origin"]
            assert len(session_id) == 20
            assert 100 <= int(server_id) <= 999
            clients[conn] = client
        elif conn in clients and ev["kind"] in ("ws-text", "ws-message") and ev.get("sockjs"):
            client = clients[conn]
            if ev["dir"] == "c2s":
                [message] = ev["sockjs"]["messages"]
                assert client.send(message).encode() == ev["data"].encode()
            else:
                client.receive_message(ev["data"])
        elif conn in clients and ev["kind"] == "ws-text" and ev["dir"] == "s2c":
            # the stray empty frame after the client's TCP close: Go's client would fail too
            assert ev["data"] == ""
            assert clients[conn].state is not ClientState.CLOSED
            with pytest.raises(RemoteProtocolError, match="unexpected empty message"):
                clients[conn].receive_message(ev["data"])
    assert clients
    for client in clients.values():
        received = [e for e in client.events() if isinstance(e, MessagesReceived)]
        assert received, "every scenario delivers at least one message"


# -- XHR client --------------------------------------------------------------------------------


def _xhr() -> XHRClient:
    return XHRClient("http://127.0.0.1:13636/kite", server_id="491", session_id="eb0c")


def test_xhr_mid_session_open_frame_ends_the_session() -> None:
    """A poll answered `o`: the server lost the session and opened a new one under its id;
    what the old one carried is gone, so the client's session ends (the runtime fails the
    calls in flight) instead of carrying on as Go's client does."""
    c = _xhr()
    c.open_request()
    c.receive_open_response(200, b"o\n")
    c.events()
    c.poll_request()
    c.receive_poll_response(200, b'o\na["late"]\n')
    assert c.events() == [SessionNotFound("eb0c")]
    assert c.state is ClientState.CLOSED
    with pytest.raises(LocalProtocolError):
        c.poll_request()


def test_xhr_requests_and_reactions() -> None:
    c = _xhr()
    req = c.open_request()
    assert (req.method, req.url, req.headers, req.body) == (
        "POST",
        "http://127.0.0.1:13636/kite/491/eb0c/xhr",
        (("Content-Type", "text/plain"),),
        b"",
    )
    with pytest.raises(LocalProtocolError):
        c.poll_request()  # not open yet
    c.receive_open_response(200, b"o\n")
    assert c.events() == [Opened()]
    assert c.poll_request().url.endswith("/491/eb0c/xhr")
    c.receive_poll_response(200, b"h\n")
    c.receive_poll_response(200, b'a["x","y"]\n')
    c.receive_poll_response(200, b'm"z"\n')
    # sockjs-go's c[2010] to a poll racing the previous one: the session lives, poll again
    c.receive_poll_response(200, b'c[2010,"Another connection still open"]\n')
    assert c.state is ClientState.OPEN
    assert c.poll_request().url.endswith("/491/eb0c/xhr")
    send = c.send_request("<&>")
    assert send.url.endswith("/xhr_send")
    assert send.body == b'["\\u003c\\u0026\\u003e"]'
    c.receive_send_response(204)
    c.receive_send_response(200)
    assert c.events() == [
        Heartbeat(),
        MessagesReceived(("x", "y")),
        MessagesReceived(("z",)),
    ]
    c.receive_poll_response(200, b'c[3000,"Go away!"]\n')
    assert c.events() == [ClosedByServer(3000, "Go away!")]
    assert c.state is ClientState.CLOSED
    with pytest.raises(LocalProtocolError):
        c.send_request("x")
    c.receive_poll_response(200, b"")  # a late answer after the end is ignored


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (500, b"", "Starting new session failed. Want: 200 Got: 500"),
        (200, b"h\n", "can't start session, invalid frame: h"),
        (200, b"", "empty response"),
    ],
)
def test_xhr_open_failures(status: int, body: bytes, why: str) -> None:
    c = _xhr()
    c.open_request()
    with pytest.raises(RemoteProtocolError, match=re.escape(why)):
        c.receive_open_response(status, body)
    assert c.state is ClientState.CLOSED


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (500, b"", "Receiving data failed. Want: 200 Got: 500"),
        (200, b"", "empty poll response"),
        (200, b"x\n", "invalid frame type"),
        (200, b'a["x"\n', "broken JSON"),
    ],
)
def test_xhr_poll_failures(status: int, body: bytes, why: str) -> None:
    c = _xhr()
    c.receive_open_response(200, b"o\n")
    c.poll_request()
    with pytest.raises(RemoteProtocolError, match=re.escape(why)):
        c.receive_poll_response(status, body)
    assert c.state is ClientState.CLOSED


def test_xhr_404_and_send_errors() -> None:
    c = _xhr()
    c.receive_open_response(200, b"o\n")
    c.receive_poll_response(404, b"404 page not found\n")
    assert c.events() == [Opened(), SessionNotFound("eb0c")]
    assert c.state is ClientState.CLOSED
    d = _xhr()
    d.receive_open_response(200, b"o\n")
    d.send_request("m")
    d.receive_send_response(404)
    assert d.events()[-1] == SessionNotFound("eb0c")
    e = _xhr()
    e.receive_open_response(200, b"o\n")
    e.send_request("m")
    with pytest.raises(
        RemoteProtocolError, match=re.escape("Sending data failed. Want: 200 Got: 500")
    ):
        e.receive_send_response(500)
    f = _xhr()
    f.receive_open_response(200, b"o\n")
    f.close()
    f.close()
    assert f.state is ClientState.CLOSED
    f.receive_send_response(500)  # after close: ignored
    f.connection_lost()


@given(st.lists(st.lists(st.text(), min_size=1, max_size=3), max_size=5))
def test_xhr_delivers_every_polled_message_in_order(batches: list[list[str]]) -> None:
    c = _xhr()
    c.receive_open_response(200, b"o\n")
    for batch in batches:
        c.poll_request()
        c.receive_poll_response(200, (encode_messages(batch) + "\n").encode())
    got = [m for e in c.events() if isinstance(e, MessagesReceived) for m in e.messages]
    assert got == [
        "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in m)
        for batch in batches
        for m in batch
    ]


@pytest.mark.parametrize(
    "name", ["square-xhr", "ping-xhr", "fail-xhr", "method-not-found-xhr", "auth-kitekey-ok-xhr"]
)
def test_xhr_client_replays_go_client_capture(name: str) -> None:
    """Same requests (path, Content-Type, body bytes) and the same reactions as Go's client."""
    events = _load(name)
    client: XHRClient | None = None
    delivered: list[str] = []
    for ev in events:
        if ev["kind"] == "tcp-close" and ev["dir"] == "c2s" and client is not None:
            client.close()  # Go's Close(): the server sees the connections drop
        if ev["kind"] == "http-request":
            headers = dict(ev["headers"])
            assert headers["Content-Type"] == "text/plain"
            assert "Origin" not in headers
            prefix, server_id, session_id, endpoint = ev["target"].rsplit("/", 3)
            if client is None:
                client = XHRClient(
                    f"http://{headers['Host']}{prefix}", server_id=server_id, session_id=session_id
                )
                req = client.open_request()
            elif endpoint == "xhr":
                req = client.poll_request()
            else:
                [message] = ev["sockjs"]["messages"]
                req = client.send_request(message)
                assert req.body == ev["body"].encode()
            assert req.url == f"http://{headers['Host']}{ev['target']}"
            assert req.method == ev["method"]
        elif ev["kind"] == "http-response" and client is not None:
            body = ev["body"].encode()
            if ev["request"].endswith("/xhr_send"):
                client.receive_send_response(ev["status"])
            elif client.state is ClientState.CONNECTING:
                client.receive_open_response(ev["status"], body)
            else:
                client.receive_poll_response(ev["status"], body)
            for e in client.events():
                if isinstance(e, MessagesReceived):
                    delivered.extend(e.messages)
    assert client is not None
    assert client.state is ClientState.CLOSED
    assert len(delivered) == 1
    assert json.loads(delivered[0])["method"] == 0
