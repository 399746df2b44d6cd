"""Server session state machine: scripted scenarios from the captures, then a random walk."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from sockjs import LocalProtocolError, decode_frame
from sockjs._events import (
    CloseCause,
    MessagesReceived,
    ReceiverDone,
    SendFrame,
    SessionClosed,
    SessionEvent,
    SessionFinished,
)
from sockjs._frames import MessagesFrame
from sockjs._session import TRANSITIONS, ServerSession, SessionInput, SessionState

POLL = {"response_limit": 1}


def test_xhr_polling_exchange_like_square_xhr() -> None:
    """Appendix A: open poll gets o, a held poll gets the reply, one frame per poll."""
    s = ServerSession("eb0c7f7d6649f3004f6d", 0.0)
    r1 = s.attach(0.0, **POLL)
    assert s.events() == [SendFrame(r1, "o"), ReceiverDone(r1)]
    assert s.state is SessionState.IDLE
    r2 = s.attach(0.01, **POLL)  # the held poll
    assert s.events() == []
    s.receive_messages(['{"method":"square"}'])
    assert s.events() == [MessagesReceived(('{"method":"square"}',))]
    s.send('{"method":0,"arguments":[{"error":null,"result":16}],"callbacks":{}}', 0.02)
    assert s.events() == [
        SendFrame(
            r2,
            'a["{\\"method\\":0,\\"arguments\\":[{\\"error\\":null,\\"result\\":16}],'
            '\\"callbacks\\":{}}"]',
        ),
        ReceiverDone(r2),
    ]
    assert s.next_deadline() == pytest.approx(10.02)


def test_second_poll_is_refused_like_xhr_double_poll() -> None:
    s = ServerSession("x", 0.0)
    s.attach(0.0, **POLL)
    s.events()
    first = s.attach(1.0, **POLL)
    second = s.attach(1.5, **POLL)
    assert s.events() == [
        SendFrame(second, 'c[2010,"Another connection still open"]'),
        ReceiverDone(second),
    ]
    assert s.receiver == first
    s.send("pong", 2.0)  # the first poll continues and later receives the reply
    assert s.events() == [SendFrame(first, 'a["pong"]'), ReceiverDone(first)]


def test_websocket_heartbeat_every_delay_regardless_of_traffic() -> None:
    """idle-heartbeat: first h 10.0 s after o, then every 10 s; data does not reset it."""
    s = ServerSession("ws", 100.0)
    ws = s.attach(100.0)
    assert s.events() == [SendFrame(ws, "o")]
    assert s.next_deadline() == 110.0
    s.send("m", 105.0)
    assert s.next_deadline() == 110.0
    s.tick(109.9)
    assert s.events() == [SendFrame(ws, 'a["m"]')]
    s.tick(110.0)
    assert s.events() == [SendFrame(ws, "h")]
    assert s.next_deadline() == 120.0


def test_poll_gets_heartbeat_after_delay_then_session_expires() -> None:
    s = ServerSession("x", 0.0)
    s.attach(0.0, **POLL)
    poll = s.attach(0.1, **POLL)
    s.events()
    s.tick(10.1)
    assert s.events() == [SendFrame(poll, "h"), ReceiverDone(poll)]
    assert s.next_deadline() == pytest.approx(20.1)
    s.tick(20.1)
    assert s.events() == [SessionClosed(CloseCause.EXPIRED), SessionFinished()]
    assert s.state is SessionState.CLOSED
    assert s.next_deadline() is None
    with pytest.raises(LocalProtocolError):
        s.attach(21.0, **POLL)


def test_messages_sent_without_receiver_are_queued_in_order() -> None:
    s = ServerSession("x", 0.0)
    s.send("1", 0.0)  # before the first poll (sockjs-go would drop these: we keep them)
    r = s.attach(0.0, **POLL)
    assert s.events() == [SendFrame(r, "o"), ReceiverDone(r)]
    s.send_many(["2", "3<"], 0.5)
    assert s.queued == ("1", "2", "3<")
    r = s.attach(1.0, **POLL)
    assert s.events() == [SendFrame(r, 'a["1","2","3\\u003c"]'), ReceiverDone(r)]
    assert s.queued == ()


def test_websocket_gets_open_then_queue() -> None:
    s = ServerSession("x", 0.0)
    s.send("early", 0.0)
    ws = s.attach(0.0)
    assert s.events() == [SendFrame(ws, "o"), SendFrame(ws, 'a["early"]')]


def test_application_close_then_every_poll_gets_close_frame_until_expiry() -> None:
    s = ServerSession("x", 0.0)
    s.attach(0.0, **POLL)
    poll = s.attach(0.0, **POLL)
    s.events()
    s.close(1.0)
    assert s.events() == [
        SendFrame(poll, 'c[3000,"Go away!"]'),
        ReceiverDone(poll),
        SessionClosed(CloseCause.APPLICATION, 3000, "Go away!"),
    ]
    for t in (2.0, 5.0, 14.0):
        r = s.attach(t, **POLL)
        assert s.events() == [SendFrame(r, 'c[3000,"Go away!"]'), ReceiverDone(r)]
    s.receive_messages(["late"])  # dropped
    assert s.events() == []
    with pytest.raises(LocalProtocolError):
        s.send("x", 15.0)
    with pytest.raises(LocalProtocolError):
        s.close(15.0)
    assert s.next_deadline() == 24.0
    s.tick(24.0)
    assert s.events() == [SessionFinished()]


def test_interrupted_poll_closes_session_without_frame() -> None:
    """ping-xhr: the client drops its held poll; the session ends, no c frame."""
    s = ServerSession("x", 0.0)
    s.attach(0.0, **POLL)
    poll = s.attach(0.0, **POLL)
    s.events()
    s.interrupt(poll + 1, 1.0)  # unknown / finished receivers are ignored
    assert s.events() == []
    s.interrupt(poll, 1.0)
    assert s.events() == [
        ReceiverDone(poll),
        SessionClosed(CloseCause.INTERRUPTED),
        SessionFinished(),
    ]


def test_websocket_read_failure_writes_empty_frame() -> None:
    """square/invalid-frame: the server writes an empty text frame, then drops TCP."""
    s = ServerSession("x", 0.0)
    ws = s.attach(0.0)
    s.events()
    s.fail(1.0)
    assert s.events() == [
        SendFrame(ws, ""),
        ReceiverDone(ws),
        SessionClosed(CloseCause.TRANSPORT_ERROR),
        SessionFinished(),
    ]
    s.fail(2.0)  # idempotent
    assert s.events() == []


def test_streaming_receiver_is_finished_at_response_limit() -> None:
    s = ServerSession("x", 0.0, heartbeat_delay=0)
    stream = s.attach(0.0, response_limit=20)
    assert s.next_deadline() is None  # heartbeats disabled
    s.send("0123456789", 0.0)  # 'o\n' + 'a["0123456789"]\n' = 2 + 17 = 19 bytes
    assert s.receiver == stream
    s.send("é", 0.0)  # 'a["é"]' is 7 bytes in UTF-8 (+1): 27 >= 20
    assert s.events()[-1] == ReceiverDone(stream)
    assert s.receiver is None
    s.send("next", 1.0)
    again = s.attach(1.0, response_limit=20)
    assert s.events() == [SendFrame(again, 'a["next"]')]


def test_detach_and_misuse() -> None:
    s = ServerSession("x", 0.0)
    ws = s.attach(0.0)
    s.detach(ws, 3.0)
    assert s.state is SessionState.IDLE
    assert s.next_deadline() == 13.0
    s.detach(ws, 4.0)  # already gone: ignored
    s.receive_messages([])
    assert s.events() == [SendFrame(ws, "o"), ReceiverDone(ws)]
    s.close(5.0)
    with pytest.raises(LocalProtocolError, match="send in state closing"):
        s.send("x", 5.0)


def test_table_covers_only_legal_pairs() -> None:
    assert (SessionState.CLOSED, SessionInput.SEND) not in TRANSITIONS
    assert (SessionState.CLOSING, SessionInput.CLOSE) not in TRANSITIONS
    assert TRANSITIONS[SessionState.ATTACHED, SessionInput.RECEIVER_FULL] is SessionState.IDLE


# -- random walk ---------------------------------------------------------------------------

MESSAGES = st.text(max_size=8)


class SessionMachine(RuleBasedStateMachine):
    """Random attach/detach/send/receive/tick/close on one session, checked against a model."""

    @initialize(hb=st.sampled_from([0.0, 5.0, 10.0]), dd=st.sampled_from([5.0, 10.0]))
    def setup(self, hb: float, dd: float) -> None:
        self.now = 0.0
        self._start(ServerSession("s", 0.0, heartbeat_delay=hb, disconnect_delay=dd))

    @precondition(lambda self: self.session.state is SessionState.CLOSED)
    @rule()
    def new_session(self) -> None:
        """What the runtime does when a poll names a finished session: start over."""
        old = self.session
        self._start(
            ServerSession(
                "s",
                self.now,
                heartbeat_delay=old.heartbeat_delay,
                disconnect_delay=old.disconnect_delay,
            )
        )

    def _start(self, session: ServerSession) -> None:
        self.session = session
        self.sent: list[str] = []  # application → peer
        self.delivered: list[str] = []
        self.opened = False
        self.received_in: list[str] = []  # peer → application
        self.received_out: list[str] = []
        self.open_receivers: set[int] = set()
        self.closed_event = False
        self.finished = False
        self.app_closed = False

    def _drain(self) -> list[SessionEvent]:
        events = self.session.events()
        for ev in events:
            assert not self.finished, "events after SessionFinished"
            if isinstance(ev, SendFrame):
                assert ev.receiver in self.open_receivers or ev.frame.startswith("c[")
                if ev.frame == "o":
                    assert not self.opened, "o sent twice"
                    self.opened = True
                elif ev.frame.startswith("a"):
                    parsed = decode_frame(ev.frame)
                    assert isinstance(parsed, MessagesFrame)
                    self.delivered.extend(parsed.messages)
            elif isinstance(ev, ReceiverDone):
                self.open_receivers.discard(ev.receiver)
            elif isinstance(ev, MessagesReceived):
                self.received_out.extend(ev.messages)
            elif isinstance(ev, SessionClosed):
                assert not self.closed_event
                self.closed_event = True
            elif isinstance(ev, SessionFinished):
                self.finished = True
        return events

    @rule(dt=st.floats(0, 6))
    def advance(self, dt: float) -> None:
        self.now += dt
        deadline = self.session.next_deadline()
        self.session.tick(self.now)
        self._drain()
        new = self.session.next_deadline()
        assert new is None or new > self.now or deadline is None or deadline > self.now

    @precondition(lambda self: self.session.state is not SessionState.CLOSED)
    @rule(kind=st.sampled_from(["poll", "stream", "ws"]))
    def attach(self, kind: str) -> None:
        limit = {"poll": 1, "stream": 40, "ws": None}[kind]
        was_attached = self.session.receiver is not None
        rid = self.session.attach(self.now, response_limit=limit)
        self.open_receivers.add(rid)
        events = self._drain()
        if was_attached:
            assert events == [
                SendFrame(rid, 'c[2010,"Another connection still open"]'),
                ReceiverDone(rid),
            ]
        if self.app_closed:
            assert events == [SendFrame(rid, 'c[3000,"Go away!"]'), ReceiverDone(rid)]

    @precondition(lambda self: self.session.receiver is not None)
    @rule(interrupt=st.booleans())
    def drop_receiver(self, interrupt: bool) -> None:
        rid = self.session.receiver
        assert rid is not None
        if interrupt:
            self.session.interrupt(rid, self.now)
        else:
            self.session.detach(rid, self.now)
        self._drain()
        assert rid not in self.open_receivers

    @rule(messages=st.lists(MESSAGES, max_size=3), many=st.booleans())
    def send(self, messages: list[str], many: bool) -> None:
        if self.session.state not in (SessionState.NEW, SessionState.IDLE, SessionState.ATTACHED):
            with pytest.raises(LocalProtocolError):
                self.session.send("x", self.now)
            return
        if many:
            self.session.send_many(messages, self.now)
        else:
            for m in messages:
                self.session.send(m, self.now)
        self.sent.extend(messages)
        self._drain()

    @rule(messages=st.lists(MESSAGES, max_size=3))
    def receive(self, messages: list[str]) -> None:
        is_open = self.session.state in (SessionState.NEW, SessionState.IDLE, SessionState.ATTACHED)
        self.session.receive_messages(messages)
        if is_open:
            self.received_in.extend(messages)
        self._drain()

    @rule(roll=st.integers(0, 3))
    def close(self, roll: int) -> None:
        if roll != 3:  # make the end of a session rarer than its other inputs
            return
        if self.session.state in (SessionState.CLOSING, SessionState.CLOSED):
            with pytest.raises(LocalProtocolError):
                self.session.close(self.now)
            return
        self.session.close(self.now)
        self.app_closed = True
        self._drain()
        assert self.session.receiver is None

    @rule(roll=st.integers(0, 3))
    def fail(self, roll: int) -> None:
        if roll != 3:
            return
        self.session.fail(self.now)
        self._drain()
        assert self.session.state is SessionState.CLOSED

    @invariant()
    def no_message_lost_duplicated_or_reordered(self) -> None:
        if self.closed_event:
            # after the end, what was delivered is still a prefix of what was sent
            assert self.sent[: len(self.delivered)] == self.delivered
            return
        assert self.delivered + list(self.session.queued) == self.sent

    @invariant()
    def peer_messages_in_order(self) -> None:
        assert self.received_out == self.received_in

    @invariant()
    def at_most_one_receiver(self) -> None:
        assert len(self.open_receivers) <= 1
        if self.open_receivers:
            assert self.session.receiver in self.open_receivers
        else:
            assert self.session.receiver is None

    @invariant()
    def state_agrees_with_events(self) -> None:
        state = self.session.state
        assert (state is SessionState.CLOSED) == self.finished
        if state in (SessionState.CLOSING, SessionState.CLOSED):
            assert self.closed_event
        if state is SessionState.ATTACHED:
            assert not self.session.queued
        if state is not SessionState.CLOSED:
            assert self.session.next_deadline() is not None or (
                state is SessionState.ATTACHED and self.session.heartbeat_delay == 0
            )


SessionMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40)
test_session_machine = SessionMachine.TestCase
