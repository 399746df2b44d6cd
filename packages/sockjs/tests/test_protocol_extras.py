"""What the SockJS protocol suite asks beyond Go's behaviour, both opt-in: the server-side
escaping of some unicode ranges (``Options.escape_unicode``) and hixie-76 upgrades
(``Options.hixie76``). Off by default, every frame stays byte-identical to Go's."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sockjs
from sockjs import (
    EndpointKind,
    Options,
    Reply,
    Request,
    SendFrame,
    ServerSession,
    Upgrade,
    encode_close,
    encode_messages,
    escape_unicode,
    is_hixie76_upgrade,
    plan_request,
    quote,
)

# sockjs-protocol.py's ``escapable_by_server`` and the string test_xhr_server_encodes expects.
ESCAPABLE = re.compile("[\x00-\x1f\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]")
KILLER = "".join(chr(i) for i in range(255, 65536) if ESCAPABLE.match(chr(i)))
KILLER_ESCAPED = '"' + "".join(f"\\u{ord(c):04x}" for c in KILLER) + '"'


def test_escape_matches_the_protocol_suite() -> None:
    assert escape_unicode(quote(KILLER)) == KILLER_ESCAPED
    assert encode_messages([KILLER], escape=True) == "a[" + KILLER_ESCAPED + "]"


def test_default_frames_keep_gos_raw_spelling() -> None:
    # Go writes U+200D (emoji sequences, captured in echo-values) raw; so do we by default.
    family = "\U0001f468\u200d\U0001f469"
    assert encode_messages([family]) == f'a["{family}"]'
    assert encode_messages([family], escape=True) == 'a["\U0001f468\\u200d\U0001f469"]'


@pytest.mark.parametrize("text", ["", "plain ascii <&>", "héllo wörld", "日本語", "\U0001f600"])
def test_text_outside_the_ranges_is_unchanged(text: str) -> None:
    assert escape_unicode(quote(text)) == quote(text)
    assert encode_messages([text, text], escape=True) == encode_messages([text, text])


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_escaping_is_json_equivalent(messages: list[str]) -> None:
    plain = encode_messages(messages)
    escaped = encode_messages(messages, escape=True)
    assert json.loads(escaped[1:]) == json.loads(plain[1:])
    assert not _SERVER_RANGES.search(escaped)


_SERVER_RANGES = re.compile("[\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]")


def test_session_escapes_message_and_close_frames() -> None:
    session = ServerSession("s", 0.0, escape_unicode=True)
    rid = session.attach(0.0)
    session.send("a\u2060b", 0.0)
    session.close(0.0, 3000, "bye\ufff0")
    frames = [e.frame for e in session.events() if isinstance(e, SendFrame) and e.receiver == rid]
    assert frames == ["o", 'a["a\\u2060b"]', 'c[3000,"bye\\ufff0"]']


def test_session_default_is_gos_spelling() -> None:
    session = ServerSession("s", 0.0)
    session.attach(0.0)
    session.send("a\u2060b", 0.0)
    session.close(0.0, 3000, "bye\ufff0")
    frames = [e.frame for e in session.events() if isinstance(e, SendFrame)]
    assert frames == ["o", 'a["a\u2060b"]', encode_close(3000, "bye\ufff0")]


# --- hixie-76 upgrades -------------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 23, 9, 23, 19, tzinfo=dt.UTC)
HIXIE = [
    ("Connection", "Upgrade"),
    ("Upgrade", "WebSocket"),
    ("Origin", "http://127.0.0.1:8081"),
    ("Sec-WebSocket-Key1", "4 @1  46546xW%0l 1 5"),
    ("Sec-WebSocket-Key2", "12998 5 Y3 1  .P00"),
]
TARGET = "/echo/000/abc/websocket"


def _plan(headers: list[tuple[str, str]], options: Options, target: str = TARGET) -> object:
    return plan_request(Request.from_target("GET", target, headers), options, now=NOW, entropy=1)


def test_hixie76_is_an_upgrade_only_when_enabled() -> None:
    assert is_hixie76_upgrade(Request.from_target("GET", TARGET, HIXIE))
    on = Options(prefix="/echo", hixie76=True, raw_websocket=True, allowed_origins=("*",))
    result = _plan(HIXIE, on)
    assert isinstance(result, Upgrade)
    assert result.endpoint.kind is EndpointKind.WEBSOCKET
    raw = _plan(HIXIE, on, "/echo/websocket")
    assert isinstance(raw, Upgrade)
    assert raw.endpoint.kind is EndpointKind.RAW_WEBSOCKET
    off = _plan(HIXIE, Options(prefix="/echo", allowed_origins=("*",)))  # Go (gorilla) answers 400
    assert isinstance(off, Reply)
    assert off.response.status == 400


@pytest.mark.parametrize(
    "change",
    [
        {"Sec-WebSocket-Version": "13"},  # a version header means RFC 6455 rules
        {"Sec-WebSocket-Key2": ""},
        {"Upgrade": "h2c"},
        {"Connection": "keep-alive"},
    ],
)
def test_not_hixie76(change: dict[str, str]) -> None:
    headers = [(k, v) for k, v in HIXIE if k not in change] + list(change.items())
    assert not sockjs.is_hixie76_upgrade(Request.from_target("GET", TARGET, headers))
    result = _plan(headers, Options(prefix="/echo", hixie76=True, allowed_origins=("*",)))
    assert isinstance(result, Reply)
    assert result.response.status == 400


def test_hixie76_needs_get() -> None:
    assert not is_hixie76_upgrade(Request.from_target("POST", TARGET, HIXIE))
