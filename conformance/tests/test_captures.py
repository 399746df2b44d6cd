"""The capture loader reads every scenario faithfully.

The strongest check: re-encoding the decoded events of each connection direction (HTTP heads and
bodies, WebSocket frame headers, masks and payloads) gives back exactly the bytes of
``NAME.raw.jsonl``. So the decoded events are a lossless view of the wire, and the iterators built
on them can be trusted by the codec tests that use them.
"""

from __future__ import annotations

import collections
import json

import pytest

from conformance._captures import (
    ClientPayload,
    Event,
    RawChunk,
    RawMarker,
    all_scenarios,
    client_payloads,
    dnode_messages,
    http_exchanges,
    load_scenario,
    scenario_names,
    server_frames,
)
from conformance._replay_wire import ws_frame_bytes

NAMES = scenario_names()


def _encode(ev: Event) -> bytes:
    """The bytes a decoded event stands for (nothing for markers and ``ws-message``)."""
    if ev.kind in ("http-request", "http-response"):
        if ev.kind == "http-request":
            start = f"{ev.method} {ev.target} {ev.version}\r\n"
        else:
            start = f"{ev.version} {ev.status} {ev.reason}\r\n"
        head = start + "".join(f"{k}: {v}\r\n" for k, v in ev.headers) + "\r\n"
        return head.encode() + (ev.body or "").encode()
    if ev.kind == "tcp-data":
        return ev.payload
    if not ev.kind.startswith("ws-") or ev.kind == "ws-message":
        return b""
    frame = ws_frame_bytes(ev)  # the replay's encoder: what it sends is what was recorded
    if ev.kind != "ws-close" or ev.data_b64 is not None:
        assert len(ev.payload) == ev.payload_len
    return frame


def test_there_are_scenarios() -> None:
    assert len(NAMES) >= 30
    assert {"square", "square-xhr", "big-payload", "kontrol-getkites"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_scenario_loads_and_counts_match_meta(name: str) -> None:
    sc = load_scenario(name)
    assert sc.name == name == sc.meta["name"]
    assert sc.events, "no events"
    assert sc.steps
    assert sc.description
    assert [e.index for e in sc.events] == list(range(len(sc.events)))
    assert all(a.t <= b.t for a, b in zip(sc.events, sc.events[1:], strict=False))
    assert dict(collections.Counter(e.kind for e in sc.events)) == sc.meta["event_counts"]
    # Every connection opens once and both of its sides close (at most once where the recording
    # stopped with connections still open, as its meta.json says).
    opens = collections.Counter(e.conn for e in sc.of_kind("tcp-open"))
    closes = collections.Counter((e.conn, e.dir) for e in sc.of_kind("tcp-close"))
    assert set(opens) == set(sc.connections)
    assert all(n == 1 for n in opens.values())
    all_closed = sc.meta.get("all_connections_closed_before_stop", True)
    sides = [closes[(c, d)] for c in sc.connections for d in ("c2s", "s2c")]
    assert all(n == 1 for n in sides) if all_closed else all(n <= 1 for n in sides)


@pytest.mark.parametrize("name", NAMES)
def test_decoded_events_reencode_to_the_raw_bytes(name: str) -> None:
    sc = load_scenario(name)
    raw = sc.raw()
    markers = collections.Counter(r.event for r in raw if isinstance(r, RawMarker))
    assert markers["start"] == markers["stop"] == 1
    assert {r.conn for r in raw if isinstance(r, RawChunk)} <= set(sc.connections)
    for conn in sc.connections:
        for direction in ("c2s", "s2c"):
            rebuilt = b"".join(
                _encode(e) for e in sc.events if e.conn == conn and e.dir == direction
            )
            assert rebuilt == sc.stream(conn, direction), (conn, direction)


def test_fragmented_message_is_the_join_of_its_frames() -> None:
    sc = load_scenario("big-payload")
    (message,) = sc.of_kind("ws-message")
    assert message.frames is not None
    assert message.frames > 1
    parts = [
        e
        for e in sc.events
        if e.conn == message.conn and e.dir == "c2s" and e.is_ws and e is not message
    ]
    first = parts.index(next(e for e in parts if e.kind == "ws-text" and e.fin is False))
    fragments = parts[first : first + message.frames]
    assert b"".join(e.payload for e in fragments) == message.payload
    assert len(message.payload) == message.payload_len


def test_server_frames() -> None:
    frames = list(server_frames())
    kinds = collections.Counter((f.transport, f.frame) for f in frames)
    assert kinds[("websocket", "o")] >= 20
    assert kinds[("websocket", "a")] >= 20
    assert kinds[("xhr", "o")] >= 5
    assert kinds[("xhr", "a")] >= 5
    assert kinds[("websocket", "h")] >= 1
    assert kinds[("xhr", "c")] == 1
    for f in frames:
        body = f.text.removesuffix("\n") if f.transport == "xhr" else f.text
        if f.transport == "xhr":
            assert f.text.endswith("\n")
        assert body[0] == f.frame
        if f.frame in ("o", "h"):
            assert body == f.frame
            assert f.messages == ()
        elif f.frame == "a":
            assert json.loads(body[1:]) == list(f.messages)
        else:
            assert f.close is not None
            assert json.loads(body[1:]) == list(f.close)


def test_client_payloads() -> None:
    payloads = list(client_payloads())
    assert sum(p.transport == "websocket" for p in payloads) >= 30
    assert sum(p.transport == "xhr" for p in payloads) >= 5
    bad: list[ClientPayload] = []
    for p in payloads:
        if p.messages is None:
            bad.append(p)
            assert p.error
        else:
            assert json.loads(p.text) == list(p.messages)
    assert {p.scenario for p in bad} == {
        "invalid-frame",
        "invalid-frame-xhr",
        "ws-text-inside-fragments",  # its fragments are raw bytes, not SockJS, on purpose
    }


def test_dnode_messages() -> None:
    messages = list(dnode_messages())
    assert len(messages) >= 60
    parsed = [m for m in messages if m.value is not None]
    for m in parsed:
        assert json.loads(m.text) == m.value
    calls = collections.Counter(
        m.value["method"] for m in parsed if isinstance(m.value, dict) and "method" in m.value
    )
    assert calls["square"] >= 4
    assert calls[0] >= 20
    both = {m.dir for m in messages if m.scenario == "call-me-back"}
    assert both == {"c2s", "s2c"}


def test_http_exchanges() -> None:
    exchanges = list(http_exchanges())
    assert len(exchanges) >= 60
    for x in exchanges:
        assert x.response is not None
        assert x.response.request == x.request_line
    upgrades = [x for x in exchanges if x.response is not None and x.response.status == 101]
    assert len(upgrades) >= 25
    assert all(x.request.header("upgrade") == "websocket" for x in upgrades)


def test_empty_close_text_frame_is_sockjs_null() -> None:
    sc = load_scenario("square")
    last_text = [e for e in sc.of_kind("ws-text") if e.dir == "s2c"][-1]
    assert last_text.data == ""
    assert last_text.sockjs is None
    assert last_text.sockjs_null


def test_all_scenarios_are_cached() -> None:
    assert next(iter(all_scenarios())) is load_scenario(NAMES[0])
