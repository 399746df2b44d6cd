"""The recorder: its decoder reproduces every capture's decoded events from the raw chunks, its
proxy records real traffic in the captures' format, and a live recording replays.

The decoder tests need no Go: they run on the recorded captures. The live recordings (marker
``go``) run ``goclient`` → proxy → ``gomath`` and then ``python -m conformance replay`` on the
result.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import record
from conformance._captures import CAPTURES_DIR, scenario_names
from conformance._recorder import (
    Link,
    RecordingProxy,
    decode_raw,
    decode_raw_file,
    dump_events,
    parse_raw_lines,
    record_scenario,
    sockjs_client,
    sockjs_server,
)
from conformance._replay import load_scenarios

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------
# the decoder against every capture


@pytest.mark.parametrize("name", scenario_names())
def test_decoder_reproduces_capture(name: str) -> None:
    text = (CAPTURES_DIR / f"{name}.jsonl").read_text(encoding="utf-8")
    want = parse_raw_lines(text)
    got = decode_raw_file(CAPTURES_DIR / f"{name}.raw.jsonl")
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, f"event {i} ({w.get('kind')})"
    assert dump_events(got) == text  # byte for byte, key order and all


def _rechunk(lines: list[dict[str, object]], cuts: list[int]) -> list[dict[str, object]]:
    """The same raw lines with the data of each direction cut at other places, all of it at the
    place (and time) of that direction's first chunk: requests then reach the decoder before
    the answers, WebSocket frames before the ``101`` that allows them."""
    data: dict[tuple[object, object], bytearray] = {}
    for line in lines:
        if "b64" in line:
            key = (line["conn"], line["dir"])
            data.setdefault(key, bytearray()).extend(base64.b64decode(str(line["b64"])))
    out: list[dict[str, object]] = []
    for line in lines:
        key = (line.get("conn"), line.get("dir"))
        if "b64" not in line:
            out.append(line)
        elif key in data:
            whole = bytes(data.pop(key))
            edges = sorted({0, len(whole), *(c % (len(whole) + 1) for c in cuts)})
            for a, b in itertools.pairwise(edges):
                chunk = {"conn": line["conn"], "dir": line["dir"], "t": line["t"]}
                out.append({**chunk, "b64": base64.b64encode(whole[a:b]).decode()})
    return out


def _without_times(events: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in e.items() if k not in ("t", "t_end")} for e in events]


def _by_stream(events: list[dict[str, object]]) -> dict[tuple[object, object], list[object]]:
    streams: dict[tuple[object, object], list[object]] = {}
    for e in _without_times(events):
        streams.setdefault((e["conn"], e["dir"]), []).append(e)
    return streams


@settings(max_examples=15, deadline=None)
@given(
    name=st.sampled_from(["square", "fail-xhr", "invalid-frame-bad-dnode", "sockjs-info"]),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=12),
)
def test_decoder_ignores_chunk_boundaries(name: str, cuts: list[int]) -> None:
    # Cuts anywhere (inside HTTP heads, WebSocket headers, masks, bodies) give the same events
    # on every connection direction; only the times and the interleaving may change.
    lines = parse_raw_lines((CAPTURES_DIR / f"{name}.raw.jsonl").read_text(encoding="utf-8"))
    want = _by_stream(decode_raw(lines))
    assert _by_stream(decode_raw(_rechunk(lines, cuts))) == want


# ---------------------------------------------------------------------------------------------
# the decoder on what the captures do not show


def _frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes | None = None) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    bit = 0x80 if mask is not None else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _raw(*chunks: tuple[str, bytes]) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = [{"conn": 0, "event": "open", "dir": "c2s", "t": 0.0}]
    for i, (direction, data) in enumerate(chunks):
        lines.append({"conn": 0, "dir": direction, "b64": base64.b64encode(data).decode(), "t": i})
    return lines


UPGRADE = (
    b"GET /kite/1/s/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
)


def test_fragments_with_a_ping_between_and_a_64_bit_length() -> None:
    big = b"x" * 70000
    mask = b"\x01\x02\x03\x04"
    events = decode_raw(
        _raw(
            ("c2s", UPGRADE[0]),
            ("s2c", UPGRADE[1]),
            ("c2s", _frame(1, b'["a', fin=False, mask=mask)),
            ("c2s", _frame(9, b"hi", mask=mask)),
            ("c2s", _frame(0, b'b"]', mask=mask)),
            ("s2c", _frame(1, b"a" + json.dumps([big.decode()]).encode())),
            ("s2c", _frame(8, struct.pack("!H", 1001) + b"gone")),
        )
    )
    kinds = [e["kind"] for e in events]
    # the reassembled message sorts by its first frame's time, like the captures' decoder
    assert kinds == [
        "tcp-open",
        "http-request",
        "http-response",
        "ws-text",
        "ws-message",
        "ws-ping",
        "ws-continuation",
        "ws-text",
        "ws-close",
    ]
    first, message, ping, _, text, close = events[3:]
    assert (message["t"], message["t_end"]) == (2, 4)
    assert (first["fin"], first["mask"], "sockjs" in first) == (False, "01020304", False)
    assert ping["data"] == "hi"
    assert message["data"] == '["ab"]'
    assert message["frames"] == 2
    assert message["sockjs"] == {"messages": ["ab"], "dnode": [None]}
    assert text["payload_len"] == len(big) + 5
    assert text["sockjs"]["messages"] == [big.decode()]
    assert (close["code"], close["reason"]) == (1001, "gone")


def test_chunked_streaming_response_and_chunked_request() -> None:
    body = b"4\r\nab\r\n\r\n0\r\n\r\n"
    request = b"POST /kite/1/s/xhr_streaming HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    events = decode_raw(
        _raw(
            ("c2s", request), ("s2c", head + b"2\r\no\n\r\n"), ("s2c", b"4\r\nh\nh\n\r\n0\r\n\r\n")
        )
    )
    assert [e["kind"] for e in events] == [
        "tcp-open",
        "http-request",
        "http-response",
        "http-body-chunk",
        "http-body-chunk",
    ]
    assert events[1]["body"] == "ab\r\n"
    assert events[2]["request"] == "POST /kite/1/s/xhr_streaming"
    assert events[3]["data"] == "o\n"
    assert events[3]["sockjs"] == {"frame": "o"}
    assert events[4]["sockjs"] == {"frames": [{"frame": "h"}, {"frame": "h"}]}


def test_chunked_response_split_across_chunks_is_one_message() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab"
    events = decode_raw(
        _raw(
            ("c2s", b"GET /kite/info HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("s2c", head),
            ("s2c", b"c\r\n0\r\n\r\n"),
            ("c2s", b"GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n"),
        )
    )
    assert [e["kind"] for e in events] == ["tcp-open", "http-request", "http-response", "tcp-data"]
    assert events[2]["body"] == "abc"
    assert (events[2]["t"], events[2]["t_end"]) == (1, 2)


def test_response_to_head_has_no_body_and_garbage_is_kept() -> None:
    events = decode_raw(
        [
            *_raw(
                ("c2s", b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"),
                ("s2c", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
                ("c2s", b"\x00\x01 not http"),
            ),
            {"conn": 0, "event": "close", "dir": "c2s", "t": 9},
        ]
    )
    assert events[2]["body"] == ""
    assert events[2]["request"] == "HEAD /"
    assert events[3]["kind"] == "tcp-data"
    assert base64.b64decode(events[3]["data_b64"]) == b"\x00\x01 not http"


def test_sockjs_readings() -> None:
    assert sockjs_server("o") == {"frame": "o"}
    assert sockjs_server('c[3000,"Go away!"]') == {"frame": "c", "close": [3000, "Go away!"]}
    assert sockjs_server('a["{}"]') == {"frame": "a", "messages": ["{}"], "dnode": [{}]}
    assert sockjs_server("") is None
    assert sockjs_server("x") is None
    assert sockjs_client("[1]") == {"error": "not a sockjs client frame"}
    assert sockjs_client("") == {"error": "not a sockjs client frame"}


# ---------------------------------------------------------------------------------------------
# the proxy, over real sockets


async def _echo_upper(stream: trio.SocketStream) -> None:
    async with stream:
        while data := await stream.receive_some(65536):
            await stream.send_all(data.upper())


async def test_proxy_records_both_directions(tmp_path: Path) -> None:
    path = tmp_path / "t.raw.jsonl"
    with path.open("w", encoding="utf-8") as out:
        async with trio.open_nursery() as nursery:
            (listener,) = await nursery.start(
                functools.partial(trio.serve_tcp, _echo_upper, 0, host="127.0.0.1")
            )
            port = listener.socket.getsockname()[1]
            proxy = RecordingProxy([Link("echo", 0, "127.0.0.1", port)], out)
            await nursery.start(proxy.serve)
            stream = await trio.open_tcp_stream("127.0.0.1", proxy.ports["echo"])
            await stream.send_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            got = b""
            while len(got) < 27:
                got += await stream.receive_some(100)
            await stream.send_eof()
            assert await stream.receive_some(100) == b""
            await stream.aclose()
            with trio.fail_after(5):
                await proxy.wait_idle()
            nursery.cancel_scope.cancel()
    assert got == b"GET / HTTP/1.1\r\nHOST: A\r\n\r\n"
    lines = parse_raw_lines(path.read_text(encoding="utf-8"))
    assert lines[0]["event"] == "start"
    assert lines[-1]["event"] == "stop"
    assert lines[0]["maps"] == [f"echo={proxy.ports['echo']}:127.0.0.1:{port}"]
    opened = lines[1]
    assert (opened["event"], opened["link"], opened["upstream"]) == (
        "open",
        "echo",
        f"127.0.0.1:{port}",
    )
    closes = [line["dir"] for line in lines if line.get("event") == "close"]
    assert sorted(closes) == ["c2s", "s2c"]
    sent = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    for direction, want in (("c2s", sent), ("s2c", got)):
        chunks = [x for x in lines if x.get("dir") == direction and "b64" in x]
        assert b"".join(base64.b64decode(str(x["b64"])) for x in chunks) == want
    events = decode_raw(lines)
    assert sorted(e["kind"] for e in events) == sorted(
        ["tcp-open", "http-request", "tcp-data", "tcp-close", "tcp-close"]
    )  # the upper-cased echo is no HTTP response: kept as bytes


def test_record_refuses_captures_without_into() -> None:
    with pytest.raises(SystemExit) as exc:
        record.main(["x", "--method", "square", "--out", str(CAPTURES_DIR)])
    assert exc.value.code == 2


# ---------------------------------------------------------------------------------------------
# live recordings


def _replay(directory: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "conformance", "replay", str(directory)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.go
@pytest.mark.parametrize("python_server", [False, True], ids=["go-gomath", "python-gomath"])
def test_live_recording_of_square_replays(tmp_path: Path, python_server: bool) -> None:
    from conformance._gopeers import go_peers_or_skip

    go_peers_or_skip()
    before = time.time()
    recording = trio.run(
        lambda: record_scenario(
            "square-live",
            directory=tmp_path,
            method="square",
            args="[4]",
            python_server=python_server,
            expect=r"^16\n$",
        )
    )
    assert recording.returncode == 0
    assert recording.stdout == "16\n"
    (scenario,) = load_scenarios(tmp_path)
    assert scenario.client_outputs[0]["stdout"] == "16\n"
    assert scenario.meta["verified"] is True
    assert scenario.meta["all_connections_closed_before_stop"] is True
    assert before <= scenario.meta["recorded_at"] <= time.time()  # the capture's clock
    results = [
        v
        for e in scenario.events
        if e.dir == "s2c" and e.sockjs and e.sockjs.dnode
        for v in e.sockjs.dnode
    ]
    assert results == [{"method": 0, "arguments": [{"error": None, "result": 16}], "callbacks": {}}]
    steps = [s["cmd"] for s in scenario.steps]
    assert steps[-1].startswith("bin/goclient -url http://127.0.0.1:")
    assert steps[-1].endswith("-transport websocket -method square -args '[4]'")
    # the decoded file is what the decoder makes of the raw one
    assert parse_raw_lines((tmp_path / "square-live.jsonl").read_text(encoding="utf-8")) == (
        decode_raw_file(tmp_path / "square-live.raw.jsonl")
    )
    done = _replay(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replay: 2 passed, 0 failed" in done.stdout
