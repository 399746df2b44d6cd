"""HTTP registration (`register_http`, heartbeats, `registeragain`), the register result and
key adoption. The HTTP Kontrol here answers like Go Kontrol's `/register` and `/heartbeat`
handlers (docs/protocol.md §6.5); request bytes are compared with kontrol-register-http."""

from __future__ import annotations

import functools
import json
import logging
import stat
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from kite_auth_support import KONTROL_PUB, NOW, ROGUE_PEM, ROGUE_PUB, anchor_config
from kontrol_client_helpers import KONTROL_URL, HTTPKontrol, capture_events, local_kite

from kite import (
    Config,
    ExponentialBackoff,
    KiteKey,
    KontrolError,
    RegisterResult,
    resign_kite_key,
)
from kite._kontrol._registration import (
    adopt_register_result,
    check_heartbeat_answer,
    go_json,
    heartbeat_url,
    kontrol_path,
)

HTTP_ID = "c24567f8-b95a-43b9-b601-a8b44476bdd7"
REGISTER_URL = "http://127.0.0.1:13636/kite"


def capture_requests() -> list[dict[str, Any]]:
    return [e for e in capture_events("kontrol-register-http") if e["kind"] == "http-request"]


async def test_register_http_bytes_and_heartbeat_timing_equal_go(
    autojump_clock: trio.testing.MockClock,
) -> None:
    http = HTTPKontrol(interval=2)
    k = local_kite("math", HTTP_ID)
    seen: list[RegisterResult] = []
    k.on_register(seen.append)
    async with k.kontrol_client(url="http://127.0.0.1:14000/kite", http=http):
        result = await k.register_http(REGISTER_URL)
        start = trio.current_time()
        await trio.sleep(7)
    assert result == RegisterResult(url=REGISTER_URL, heartbeat_interval=2)
    assert seen == [result]
    recorded = capture_requests()
    assert len(http.requests) == len(recorded) == 4
    for (_, method, url, headers, body), go in zip(http.requests, recorded, strict=True):
        assert method == go["method"]
        assert (
            urllib.parse.urlsplit(url).path
            + "?" * ("?" in url)
            + (urllib.parse.urlsplit(url).query)
            == go["target"]
        )
        go_headers = [tuple(h) for h in go["headers"] if h[0] != "Host"]
        assert headers == go_headers
        assert body == str(go["body"]).encode()
    beats = [t - start for t, *_ in http.requests[1:]]
    assert beats == pytest.approx([2, 4, 6], abs=0.01)  # one full interval after the answer


async def test_registeragain_reregisters(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    http = HTTPKontrol(interval=10)
    k = local_kite("math", "m")
    registrations: list[float] = []
    k.on_register(lambda r: registrations.append(trio.current_time()))
    caplog.set_level(logging.INFO, logger="kite.kontrol")
    async with k.kontrol_client(url=KONTROL_URL, http=http):
        await k.register_http_forever(REGISTER_URL)
        await trio.sleep(35)
        http.restart()  # Kontrol restarted: it no longer knows us
        await trio.sleep(11)
        assert len(registrations) == 2
        paths = [urllib.parse.urlsplit(url).path for _, _, url, _, _ in http.requests]
        assert paths[:5] == ["/register", "/heartbeat", "/heartbeat", "/heartbeat", "/heartbeat"]
        assert paths[5] == "/register"
        # at once, as Go's backoff.Retry (the 30 s back-off applies to failed attempts)
        assert registrations[1] - http.requests[4][0] < 0.01
        await trio.sleep(20)
        assert [urllib.parse.urlsplit(r[2]).path for r in http.requests[-2:]] == [
            "/heartbeat",
            "/heartbeat",
        ]
    assert "Disconnected from Kontrol, going to register again" in caplog.text


async def test_register_http_forever_waits_for_kontrol(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    http = HTTPKontrol()
    http.up = False
    k = local_kite("math", "m")

    async def bring_up() -> None:
        await trio.sleep(600)
        http.up = True

    async with k.kontrol_client(url=KONTROL_URL, http=http), trio.open_nursery() as nursery:
        nursery.start_soon(bring_up)
        result = await k.register_http_forever(REGISTER_URL)
        assert 600 <= trio.current_time() <= 600 + 300 * 1.5 + 1
    assert result.heartbeat_interval == 2
    assert "Cannot register to Kontrol: POST http://127.0.0.1:14000/register" in caplog.text


async def test_register_http_errors(autojump_clock: trio.testing.MockClock) -> None:
    http = HTTPKontrol()
    k = local_kite("math", "m")
    async with k.kontrol_client(url=KONTROL_URL, http=http):
        with pytest.raises(KontrolError, match=r"^empty URL$"):
            await k.register_http("")
        http.interval = 0
        with pytest.raises(KontrolError, match="heartbeat interval cannot be zero"):
            await k.register_http(REGISTER_URL)
        http.config = Config()  # a Kontrol that does not trust our key issuer
        with pytest.raises(KontrolError, match="kontrol key is not trusted"):
            await k.register_http(REGISTER_URL)


async def test_bad_heartbeat_answers_are_logged_and_beats_go_on(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    http = HTTPKontrol(interval=5)
    k = local_kite("math", "m")
    async with k.kontrol_client(url=KONTROL_URL, http=http):
        await k.register_http(REGISTER_URL)
        http.heartbeat_answer = (500, b"oops")
        await trio.sleep(6)
        http.heartbeat_answer = (200, b"what?")
        await trio.sleep(5)
        http.heartbeat_answer = None
        await trio.sleep(5)
    assert "unexpected status code: 500" in caplog.text
    assert "malformed heartbeat response: what?" in caplog.text
    assert len(http.requests) == 4  # register + three beats, none skipped


def test_register_result_json() -> None:
    value = {"url": "u", "heartbeatInterval": 0}
    assert RegisterResult.from_json(value).to_json() == value
    full = RegisterResult("u", 10, "e", "pub", "kk")
    assert list(full.to_json()) == ["url", "heartbeatInterval", "err", "publicKey", "kiteKey"]
    assert RegisterResult.from_json({"URL": "u", "KiteKey": "kk", "heartbeatinterval": 2.0}) == (
        RegisterResult("u", 2, kite_key="kk")
    )
    assert RegisterResult.from_json({"url": "u", "err": None}).error == ""
    for bad in (
        "x",
        {"url": 5},
        {"url": "u", "heartbeatInterval": "1"},
        {"heartbeatInterval": True},
    ):
        with pytest.raises(KontrolError):
            RegisterResult.from_json(bad)


def test_kontrol_paths_and_heartbeat_answers() -> None:
    assert kontrol_path("http://h:4000/kite", "register") == "http://h:4000/register"
    assert kontrol_path("http://h:4000", "register") == "http://h:4000/register"
    assert kontrol_path("http://h/k/kontrol", "heartbeat") == "http://h/k/kontrol/heartbeat"
    assert heartbeat_url("http://h:4000/kite", "a b") == "http://h:4000/heartbeat?id=a+b"
    check_heartbeat_answer(200, b" pong\n")
    with pytest.raises(KontrolError, match="malformed heartbeat response: pongpongpongpong"):
        check_heartbeat_answer(200, b"pongpongpongpongpong")  # Go reads at most 16 bytes
    assert go_json({"u": "<a&b>"}) == b'{"u":"\\u003ca\\u0026b\\u003e"}'


def test_adopt_register_result_updates_config_and_writes_key(tmp_path: Path) -> None:
    k = local_kite("math", "m")
    claims = KiteKey.parse(anchor_config().kite_key, now=NOW).claims
    new_key = resign_kite_key(claims, private_key=ROGUE_PEM, public_key=ROGUE_PUB)
    path = tmp_path / "home" / "kite.key"
    changed = adopt_register_result(
        k, RegisterResult("u", kite_key=new_key), kite_key_path=path, now=NOW
    )
    assert changed
    assert isinstance(k.config, Config)
    assert (k.config.kite_key, k.config.kontrol_key) == (new_key, ROGUE_PUB.strip())
    assert path.read_text() == new_key
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert not adopt_register_result(k, RegisterResult("u", public_key=KONTROL_PUB.strip()))
    assert k.config.kontrol_key == KONTROL_PUB.strip()
    assert k.config.kite_key == new_key


def test_adopt_register_result_keeps_an_unparsable_kite_key() -> None:
    """Go sets the new kite key before parsing it; a broken one keeps the old Kontrol key."""
    k = local_kite("math", "m")
    adopt_register_result(k, RegisterResult("u", kite_key="garbage"))
    assert (k.config.kite_key, k.config.kontrol_key) == ("garbage", KONTROL_PUB.strip())


@given(
    url=st.text(max_size=30),
    interval=st.integers(min_value=0, max_value=10**6),
    extras=st.tuples(st.text(max_size=10), st.text(max_size=10), st.text(max_size=10)),
)
def test_register_result_round_trips_through_gos_json(
    url: str, interval: int, extras: tuple[str, str, str]
) -> None:
    result = RegisterResult(url, interval, *extras)
    text = go_json(result.to_json())
    assert RegisterResult.from_json(json.loads(text)) == result
    assert not {b"<", b">", b"&"} & {bytes([c]) for c in text}


@given(
    rand=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=40),
    initial=st.floats(min_value=0.01, max_value=100),
    multiplier=st.floats(min_value=1, max_value=3),
)
def test_backoff_stays_within_its_randomised_bounds(
    rand: list[float], initial: float, multiplier: float
) -> None:
    values = iter(rand)
    backoff = ExponentialBackoff(
        initial=initial,
        multiplier=multiplier,
        max_interval=300.0,
        max_elapsed=None,
        clock=lambda: 0.0,
        rand=lambda: next(values),
    )
    interval = initial
    for _ in rand:
        delay = backoff.next_backoff()
        assert delay is not None
        assert interval * 0.5 - 1e-9 <= delay <= interval * 1.5 + 1e-9
        interval = 300.0 if interval >= 300.0 / multiplier else interval * multiplier


async def test_default_http_client_sends_gos_register_and_heartbeat_bytes() -> None:
    """Over a real socket: the request heads (header names, order, values) and bodies the
    default HTTP client sends equal the Go kite's in kontrol-register-http, Host aside."""
    received: list[bytes] = []
    both = trio.Event()
    answers = [
        b'{"url":"http://127.0.0.1:13636/kite","heartbeatInterval":1}\n',
        b"pong",
    ]

    async def handler(stream: trio.SocketStream) -> None:
        buffer = b""
        while answers:
            while b"\r\n\r\n" not in buffer:
                data = await stream.receive_some(65536)
                if not data:
                    return
                buffer += data
            head, _, rest = buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            while len(rest) < length:
                rest += await stream.receive_some(65536)
            received.append(head + b"\r\n\r\n" + rest[:length])
            if len(received) == 2:
                both.set()
            buffer = rest[length:]
            body = answers.pop(0)
            await stream.send_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
                b"Content-Type: text/plain; charset=utf-8\r\n\r\n%s" % (len(body), body)
            )

    k = local_kite("math", HTTP_ID)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, handler, 0, host="127.0.0.1")
        )
        port = listeners[0].socket.getsockname()[1]
        with trio.fail_after(10):
            async with k.kontrol_client(url=f"http://127.0.0.1:{port}/kite"):
                await k.register_http(REGISTER_URL)
                await both.wait()
        nursery.cancel_scope.cancel()
    go = [e for e in capture_events("kontrol-register-http") if e["kind"] == "http-request"]
    for raw, event in zip(received, go[:2], strict=True):
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        assert lines[0] == f"{event['method']} {event['target']} HTTP/1.1"
        headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
        assert headers[0] == ("Host", f"127.0.0.1:{port}")
        assert headers[1:] == [tuple(h) for h in event["headers"][1:]]
        assert body == event["body"].encode()
