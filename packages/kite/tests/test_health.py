"""`Kite.enable_health`: the health route answered over real HTTP on loopback."""

from __future__ import annotations

import json

import trio

import kite


async def http(port: int, method: str, path: str) -> tuple[int, bytes]:
    """One HTTP/1.1 exchange on a fresh connection: (status, body)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(
            f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        chunks = []
        with trio.fail_after(10):
            while chunk := await stream.receive_some(65536):
                chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


async def test_health_is_off_unless_enabled() -> None:
    k = kite.Kite("math", "1.0.0")
    async with k.serve(host="127.0.0.1", port=0) as server:
        status, _ = await http(server.port, "GET", "/healthz")
    assert status == 404


async def test_healthy_kite_answers_200_and_head_has_no_body() -> None:
    k = kite.Kite("math", "1.0.0")
    k.enable_health()
    async with k.serve(host="127.0.0.1", port=0) as server:
        status, body = await http(server.port, "GET", "/healthz")
        head_status, head_body = await http(server.port, "HEAD", "/healthz")
        post_status, _ = await http(server.port, "POST", "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert (head_status, head_body) == (200, b"")
    assert post_status == 405


async def test_a_failing_or_hanging_check_answers_503_with_the_reason() -> None:
    k = kite.Kite("math", "1.0.0")

    async def broken() -> None:
        raise ConnectionError("database is gone")

    k.enable_health("/broken", check=broken)
    k.enable_health("/hanging", check=trio.sleep_forever, timeout=0.05)
    async with k.serve(host="127.0.0.1", port=0) as server:
        broken_status, broken_body = await http(server.port, "GET", "/broken")
        hanging_status, hanging_body = await http(server.port, "GET", "/hanging")
    assert broken_status == 503
    assert json.loads(broken_body) == {
        "status": "unavailable",
        "reason": "check failed: ConnectionError: database is gone",
    }
    assert hanging_status == 503
    assert json.loads(hanging_body)["reason"] == "check did not answer within 0.05 s"
