"""The replay of recorded Go traffic: what it sends, how it compares, and that it catches lies."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from conformance.__main__ import main
from conformance._captures import CAPTURES_DIR, Event, Scenario, load_scenario
from conformance._gomath import gomath_kite
from conformance._normalise import (
    first_difference,
    normalise_headers,
    normalise_json,
    number_spellings,
    numbers_in_place,
)
from conformance._replay import (
    NO_CLIENT,
    NO_CLIENT_NO_SERVER,
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


async def test_client_role_of_raw_scripts_is_not_applicable() -> None:
    raw = await replay_client_role(load_scenario("sockjs-info"))
    assert (raw.status, raw.detail) == ("n/a", NO_CLIENT)
    crash = await replay_client_role(load_scenario("invalid-frame-crash"))
    assert (crash.status, crash.detail) == ("n/a", NO_CLIENT_NO_SERVER)


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
    assert lines[1] == f"n/a   client  invalid-frame-crash: {NO_CLIENT_NO_SERVER}"
    assert lines[2].startswith("pass  server  square  [sockets]")
    assert lines[3] == "pass  client  square  [sockets]"
    assert lines[-1].startswith("replay: 2 passed, 0 failed, 1 skipped, 1 n/a")


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
    assert "replay: 0 passed, 2 failed, 0 skipped, 0 n/a" in out


@pytest.mark.parametrize(
    ("name", "api"),
    [
        ("kontrol-register", "kite.register_forever"),
        ("kontrol-heartbeat", "kite.register_forever"),
        ("kontrol-register-http", "kite.register_http_forever"),
        ("kontrol-getkites", "kite.kontrol_client"),
        ("kontrol-gettoken", "kite.kontrol_client"),
        ("kontrol-getkey", "kite.kontrol_client"),
    ],
)
async def test_our_kontrol_client_sends_what_go_sent(name: str, api: str) -> None:
    """goquery and gomath -register ws|http, replayed with our real Kontrol client; the
    heartbeats (2 s apart) on a mock clock."""
    with trio.fail_after(20):  # real seconds: the 8 s of heartbeats must not take real time
        outcome = await replay_client_role(load_scenario(name))
    assert (outcome.status, outcome.detail) == ("pass", "")
    assert outcome.layer == f"sockets, {api}, mock clock"


def _tampered(name: str, old: str, new: str) -> Scenario:
    sc = load_scenario(name)
    events = tuple(
        dataclasses.replace(e, data=e.data.replace(old, new)) if e.data and old in e.data else e
        for e in sc.events
    )
    return dataclasses.replace(sc, events=events)


async def test_kontrol_client_replay_catches_differences() -> None:
    """A query Go sent that ours would not, another heartbeat interval, another answer: each
    is caught."""
    query = _tampered("kontrol-getkites", '\\"query\\":{', '\\"query\\":{\\"extra\\":\\"x\\",')
    outcome = await replay_client_role(query)
    assert outcome.status == "fail"
    assert "withArgs[0].query: missing key 'extra'" in outcome.detail
    slower = _tampered("kontrol-heartbeat", "[2,", "[3,")  # Kontrol asks for 3 s beats
    outcome = await replay_client_role(slower)
    assert outcome.status == "fail"
    assert "sent 3.00 s after the previous message, Go 2.00 s" in outcome.detail
    answer = _tampered("kontrol-getkites", '\\"result\\":36', '\\"result\\":37')
    outcome = await replay_client_role(answer)
    assert outcome.status == "fail"
    assert outcome.detail.startswith("printed: want")


@pytest.mark.parametrize("name", ["square-xhr", "fail-xhr"])
async def test_our_xhr_client_sends_what_goclient_sent(name: str) -> None:
    outcome = await replay_client_role(load_scenario(name))
    assert (outcome.status, outcome.detail) == ("pass", "")
    assert outcome.layer == "sockets, XHR requests paired by order"


#: What the Go client sent, changed into something our client never sends (a callback path
#: element as a string): the client is driven by the traffic, so only such a change shows.
GO_PATH, OTHER_PATH = '"0":[0,"responseCallback"]', '"0":["0","responseCallback"]'


def test_cli_fails_when_our_xhr_client_would_send_other_things(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _copy(["square-xhr"], tmp_path)
    path = tmp_path / "square-xhr.jsonl"
    text = path.read_text(encoding="utf-8")
    assert _in_jsonl(GO_PATH) in text
    path.write_text(text.replace(_in_jsonl(GO_PATH), _in_jsonl(OTHER_PATH)))
    assert main(["replay", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        "fail  client  square-xhr  [sockets, XHR requests paired by order]: event 5 (c2s "
        "http-request /kite/491/eb0c7f7d6649f3004f6d/xhr_send): payload message 0 (dnode): "
        "callbacks.0[0]: want '0', got 0"
    ) in out


def test_cli_fails_when_our_client_would_send_other_things(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Change what the Go client sent into what ours never sends: it no longer matches."""
    _copy(["square"], tmp_path)
    path = tmp_path / "square.jsonl"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(_in_jsonl(GO_PATH), _in_jsonl(OTHER_PATH)))
    assert main(["replay", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        "fail  client  square  [sockets]: event 4 (c2s ws-text): payload message 0 (dnode): " in out
    )
    assert "callbacks.0[0]: want '0', got 0" in out


def test_cli_refuses_an_empty_folder(tmp_path: Path) -> None:
    assert main(["replay", str(tmp_path)]) == 2


def test_number_spellings_accept_only_equal_numbers() -> None:
    assert number_spellings(
        '[1e300,-0,"a",2.5E+20,1.0]', '[1e+300,0,"a",250000000000000000000,1]'
    ) == [
        ("1e300", "1e+300"),
        ("-0", "0"),
        ("2.5E+20", "250000000000000000000"),
        ("1.0", "1"),
    ]
    assert number_spellings("[1e300]", "[1e301]") is None  # another value
    assert number_spellings("[0.1]", "[0.10000000000000001]") is None  # same float, not decimal
    assert number_spellings('["1e300"]', '["1e+300"]') is None  # strings stay byte-exact
    assert number_spellings("[1]", "[1,2]") is None
    assert numbers_in_place('a["[1e300,\\"x\\"]"]', 'a["[1e+300,\\"x\\"]"]')
    assert not numbers_in_place('a["[1e300,\\"x\\"]"]', 'a["[1e+300,\\"y\\"]"]')


@pytest.mark.parametrize("role", ["server", "client"])
async def test_echo_values_passes_with_numbers_respelled(role: str) -> None:
    """Go's echo forwards number text; ours re-encodes values: tolerated, and named."""
    replay = replay_server_role if role == "server" else replay_client_role
    outcome = await replay(load_scenario("echo-values"))
    assert (outcome.status, outcome.detail) == ("pass", "")
    assert (
        "numbers re-spelled, equal as values: -0 → 0, 1e300 → 1e+300, "
        "2.5E+20 → 250000000000000000000, 1.0 → 1"
    ) in outcome.tolerated


@pytest.mark.parametrize(
    ("old", "new"),
    [("1e300", "1e301"), ("unicode: h\u00e9llo", "unicode: hello")],
)
async def test_echo_values_still_catches_other_values(old: str, new: str) -> None:
    """Another number value or another string in Go's answer is still a failure."""
    sc = load_scenario("echo-values")
    events = tuple(
        dataclasses.replace(e, data=e.data.replace(old, new))
        if e.dir == "s2c" and e.data and old in e.data
        else e
        for e in sc.events
    )
    outcome = await replay_server_role(dataclasses.replace(sc, events=events))
    assert outcome.status == "fail"
