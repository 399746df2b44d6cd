"""The replay of recorded Go traffic: what it sends, how it compares, and that it catches lies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from conformance.__main__ import main
from conformance._captures import CAPTURES_DIR, Event, load_scenario
from conformance._gomath import gomath_kite
from conformance._normalise import first_difference, normalise_headers, normalise_json
from conformance._replay import (
    compare_text,
    load_scenarios,
    mask_text,
    replay_client_role,
    replay_server_role,
)
from conformance._replay_wire import ServerReader, request_bytes, ws_frame_bytes
from kite import Request

SOME = ["square", "square-xhr", "sockjs-info", "countdown-callback", "ws-client-close"]


@pytest.mark.parametrize("name", [*SOME, "big-payload", "invalid-frame-binary"])
def test_client_side_is_rebuilt_byte_for_byte(name: str) -> None:
    """What the replay sends on each connection is exactly what the Go client sent."""
    sc = next(s for s in load_scenarios() if s.name == name)
    for conn in sc.connections:
        sent = b"".join(
            request_bytes(e) if e.kind == "http-request" else ws_frame_bytes(e)
            for e in sc.events
            if e.conn == conn
            and e.dir == "c2s"
            and (e.kind == "http-request" or e.is_ws)
            and e.kind != "ws-message"
        )
        assert sent == load_scenario(name).stream(conn, "c2s")


def test_load_scenarios_matches_the_loader() -> None:
    mine = {s.name: s for s in load_scenarios(CAPTURES_DIR)}
    assert mine["echo-values"].events == load_scenario("echo-values").events


def test_normalise_json_masks_only_volatile_values() -> None:
    value = {
        "kite": {"id": "3e02b1ff-d3e6-4d76-b650-0ef6c9a73de6", "hostname": "vm", "name": "x"},
        "error": {"type": "genericError", "message": "m", "id": "0123456789abcdef"},
        "token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln",
        "url": "http://h/kite/3e02b1ff-d3e6-4d76-b650-0ef6c9a73de6",
        "n": [1, 2.5, None, True],
    }
    assert normalise_json(value) == {
        "kite": {"id": "<id>", "hostname": "<hostname>", "name": "x"},
        "error": {"type": "genericError", "message": "m", "id": "<id>"},
        "token": "<jwt>",
        "url": "http://h/kite/<uuid>",
        "n": [1, 2.5, None, True],
    }


def test_first_difference_names_the_path() -> None:
    want = {"arguments": [{"error": None, "result": 16}]}
    assert first_difference(want, {"arguments": [{"error": None, "result": 16.0}]}) is None
    assert (
        first_difference(want, {"arguments": [{"error": None, "result": 17}]})
        == "arguments[0].result: want 16, got 17"
    )
    assert first_difference([True], [1]) == "[0]: want True, got 1"
    assert first_difference({"a": 1}, {}) == "value: missing key 'a'"
    assert first_difference([1], [1, 2]) == "value: want 1 items, got 2"


def test_headers_ignore_order_case_and_dates() -> None:
    go = [("Date", "Mon, 23 Nov 2026 09:22:13 GMT"), ("Content-Type", "text/plain")]
    ours = [("content-type", "text/plain"), ("date", "Tue, 24 Nov 2026 00:00:00 GMT")]
    assert normalise_headers(go) == normalise_headers(ours)


def _frame(message: dict[str, object]) -> str:
    return "a" + json.dumps([json.dumps(message, separators=(",", ":"))])


def test_compare_text_masks_ids_at_any_escaping_depth() -> None:
    go = _frame({"method": 0, "arguments": [{"error": {"id": "0123456789abcdef"}}]})
    ours = _frame({"method": 0, "arguments": [{"error": {"id": "fedcba9876543210"}}]})
    assert mask_text(go) == mask_text(ours)
    assert compare_text(go, ours) is None


def test_compare_text_reports_dnode_path_then_bytes() -> None:
    go = _frame({"method": 0, "arguments": [{"error": None, "result": 16}]})
    wrong = _frame({"method": 0, "arguments": [{"error": None, "result": 17}]})
    assert compare_text(go, wrong) == (
        "frame message 0 (dnode): arguments[0].result: want 16, got 17"
    )
    reordered = "a" + json.dumps(['{"arguments":[{"error":null,"result":16}],"method":0}'])
    assert "same JSON, other bytes" in (compare_text(go, reordered) or "")
    assert compare_text("o", "h") == "frame: at char 0: want 'o', got 'h'"


@given(
    payload=st.binary(max_size=300),
    mask=st.binary(min_size=4, max_size=4),
    cut=st.integers(min_value=0, max_value=300),
)
def test_ws_frames_read_back(payload: bytes, mask: bytes, cut: int) -> None:
    """Masked (possibly fragmented) frames built by `ws_frame_bytes` are read back whole."""
    cut = min(cut, len(payload))
    frames = [
        Event(0, "ws-binary", 0.0, 0, "c2s", fin=False, rsv=0, mask=mask.hex(), data_b64=""),
        Event(0, "ws-continuation", 0.0, 0, "c2s", fin=True, rsv=0, mask=mask.hex(), data_b64=""),
    ]
    import base64

    parts = [payload[:cut], payload[cut:]]
    wire = b"".join(
        ws_frame_bytes(
            Event(
                0,
                f.kind,
                0.0,
                0,
                "c2s",
                fin=f.fin,
                rsv=0,
                mask=f.mask,
                data_b64=base64.b64encode(p).decode(),
            )
        )
        for f, p in zip(frames, parts, strict=True)
    )

    async def read() -> tuple[str, bytes]:
        send, receive = trio.testing.memory_stream_one_way_pair()
        reader = ServerReader(receive)
        reader._websocket = True
        await send.send_all(wire)
        await send.aclose()
        got = await reader.next_event()
        end = await reader.next_event()
        assert end.kind == "tcp-close"
        return got.kind, got.body

    assert trio.run(read) == ("ws-binary", payload)


async def test_replay_catches_a_wrong_answer() -> None:
    """A server that answers square(4) with 17 fails the replay, at the dnode result."""
    sc = load_scenario("square")
    liar = gomath_kite()
    liar.handle_func("square", lambda r: 17)
    outcome = await replay_server_role(sc, server_kite=liar)
    assert outcome.status == "fail"
    assert "arguments[0].result: want 16, got 17" in outcome.detail


async def test_replay_catches_a_missing_callback() -> None:
    sc = load_scenario("countdown-callback")
    lazy = gomath_kite()

    def countdown(r: Request) -> str:
        return "done"

    lazy.handle_func("countdown", countdown)
    outcome = await replay_server_role(sc, server_kite=lazy)
    assert outcome.status == "fail"
    assert "method" in outcome.detail


@pytest.mark.parametrize("name", SOME)
async def test_scenarios_pass_against_our_gomath(name: str) -> None:
    outcome = await replay_server_role(load_scenario(name))
    assert (outcome.status, outcome.detail) == ("pass", "")
    assert outcome.layer == "sockets"


@pytest.mark.parametrize("name", ["square", "countdown-callback", "call-me-back", "fail"])
async def test_our_client_sends_what_goclient_sent(name: str) -> None:
    outcome = await replay_client_role(load_scenario(name))
    assert (outcome.status, outcome.detail, outcome.layer) == ("pass", "", "sockets")


async def test_client_role_skips_what_it_cannot_replay() -> None:
    raw = await replay_client_role(load_scenario("sockjs-info"))
    assert (raw.status, raw.detail) == (
        "skip",
        "the client is a raw Python script (recorder/rawclient.py), not a kite",
    )
    query = await replay_client_role(load_scenario("kontrol-getkey"))
    assert query.detail == "the client is goquery; only goclient's client role is replayed so far"


@pytest.mark.parametrize("name", ["kontrol-getkey", "kontrol-register", "kontrol-getkites"])
async def test_kontrol_scenarios_pass_against_our_kontrol(name: str) -> None:
    """Our Kontrol (captures' key pair, in-memory SQLite) answers as Go's Kontrol did."""
    outcome = await replay_server_role(load_scenario(name))
    assert (outcome.status, outcome.detail, outcome.layer) == ("pass", "", "sockets")


def _in_jsonl(text: str) -> str:
    """How `text` inside a dnode message inside a SockJS payload appears in a NAME.jsonl line."""
    return json.dumps(json.dumps(text)[1:-1])[1:-1]


def _copy(names: list[str], to: Path) -> None:
    for name in names:
        for suffix in (".meta.json", ".jsonl", ".raw.jsonl"):
            shutil.copy(CAPTURES_DIR / f"{name}{suffix}", to / f"{name}{suffix}")
    shutil.copytree(CAPTURES_DIR / "keys", to / "keys")


def test_cli_on_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _copy(["square", "invalid-frame-crash"], tmp_path)
    assert main(["replay", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("skip  server  invalid-frame-crash: the Go server process died")
    assert lines[1].startswith("skip  client  invalid-frame-crash: the client is a raw Python")
    assert lines[2].startswith("pass  server  square  [sockets]")
    assert lines[3] == "pass  client  square  [sockets]"
    assert lines[-1].startswith("replay: 2 passed, 0 failed, 2 skipped")


def test_cli_fails_on_a_tampered_capture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Change Go's answer in a copy of `square`: the replay must exit non-zero and say where."""
    _copy(["square"], tmp_path)
    path = tmp_path / "square.jsonl"
    text = path.read_text(encoding="utf-8")
    assert text.count('\\\\\\"result\\\\\\":16') == 1
    path.write_text(text.replace('\\\\\\"result\\\\\\":16', '\\\\\\"result\\\\\\":61'), "utf-8")
    assert main(["replay", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "fail  server  square  [sockets]: event 5" in out
    assert "arguments[0].result: want 61, got 16" in out
    assert "fail  client  square  [sockets]: call result: want 16, got 61" in out
    assert "replay: 0 passed, 2 failed, 0 skipped" in out


async def test_our_gomath_registers_like_go() -> None:
    """gomath -register ws: register over its kite connection, answering kite.heartbeat."""
    outcome = await replay_client_role(load_scenario("kontrol-register"))
    assert (outcome.status, outcome.detail) == ("pass", "")
    heartbeat = await replay_client_role(load_scenario("kontrol-heartbeat"))
    assert (heartbeat.status, heartbeat.detail) == (
        "skip",
        "real time: 8 s of heartbeats; `replay --slow` runs it",
    )


@pytest.mark.parametrize("name", ["square-xhr", "fail-xhr"])
async def test_our_xhr_client_sends_what_goclient_sent(name: str) -> None:
    outcome = await replay_client_role(load_scenario(name))
    assert (outcome.status, outcome.detail) == ("pass", "")
    assert outcome.layer == "sockets, XHR requests paired by order"


def test_cli_fails_when_our_xhr_client_would_send_other_things(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _copy(["square-xhr"], tmp_path)
    path = tmp_path / "square-xhr.jsonl"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(_in_jsonl('"method":"square'), _in_jsonl('"method":"squaRe')))
    assert main(["replay", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        "fail  client  square-xhr  [sockets, XHR requests paired by order]: event 5 (c2s "
        "http-request /kite/491/eb0c7f7d6649f3004f6d/xhr_send): payload message 0 (dnode): "
        "method: want 'squaRe', got 'square'"
    ) in out


def test_cli_fails_when_our_client_would_send_other_things(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Change what the Go client sent (the method name): our client no longer matches it."""
    _copy(["square"], tmp_path)
    path = tmp_path / "square.jsonl"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(_in_jsonl('"method":"square'), _in_jsonl('"method":"squaRe')))
    assert main(["replay", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        "fail  client  square  [sockets]: event 4 (c2s ws-text): payload message 0 (dnode): " in out
    )
    assert "method: want 'squaRe', got 'square'" in out


def test_cli_refuses_an_empty_folder(tmp_path: Path) -> None:
    assert main(["replay", str(tmp_path)]) == 2
