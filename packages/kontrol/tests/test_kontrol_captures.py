"""Replay the Go clients' messages of the kontrol-* captures, byte for byte, into our Kontrol
over a raw pipe, and compare what it answers with what Go Kontrol answered (ids, hostnames and
signatures blanked; tokens compared by their claims)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
from kontrol_test_support import CAPTURES, running_kontrol

import kite
from kite import memory_pipe_pair
from kontrol import Kontrol, KontrolOptions

NONDETERMINISTIC = {"id", "hostname", "keyId"}


def _messages(name: str) -> list[tuple[str, str]]:
    """(direction, raw dnode message text) of the Kontrol connection (the capture's first),
    in capture order."""
    out = []
    for line in (CAPTURES / f"{name}.jsonl").read_text().splitlines():
        event = json.loads(line)
        sockjs = event.get("sockjs") or {}
        if event.get("conn") == 0:
            out.extend((event["dir"], m) for m in sockjs.get("messages") or [])
    return out


def _blank(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "*" if k in NONDETERMINISTIC and isinstance(v, str) else _blank(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_blank(v) for v in value]
    if isinstance(value, str) and value.startswith("eyJ"):
        claims = kite.parse_unverified(value).claims
        return {
            "aud": claims.aud,
            "iss": claims.iss,
            "sub": claims.sub,
            "lifetime": claims.exp - claims.iat,
            "nbf=iat": claims.nbf == claims.iat,
        }
    return value


async def _replay(kontrol: Kontrol, name: str, *, register_first: bool = False) -> None:
    """Send the capture's client messages; after each, compare the messages Kontrol sends
    before the next client message with Go's (as many as Go sent)."""
    messages = _messages(name)
    a, b = memory_pipe_pair()
    async with kontrol.accept(a):
        if register_first:
            for direction, text in _messages("kontrol-register"):
                if direction == "c2s" and '"register"' in text:
                    await b.send(text)
                    for _ in range(2):
                        await b.receive()
        i = 0
        while i < len(messages):
            direction, text = messages[i]
            i += 1
            if direction != "c2s":
                continue
            await b.send(text)
            expected = []
            while i < len(messages) and messages[i][0] == "s2c":
                expected.append(json.loads(messages[i][1]))
                i += 1
            for want in expected:
                with trio.fail_after(5):
                    got = json.loads(await b.receive())
                assert list(got) == list(want)
                assert json.dumps(_blank(got)) == json.dumps(_blank(want))
        await b.aclose()


@pytest.mark.parametrize(
    ("name", "register_first", "interval"),
    [
        ("kontrol-register", False, 10),
        ("kontrol-heartbeat", False, 2),  # recorded with -heartbeat-interval 2s
        ("kontrol-getkites", True, 10),
        ("kontrol-gettoken", True, 10),
        ("kontrol-getkey", False, 10),
    ],
)
async def test_replay_go_clients(
    tmp_path: Path, name: str, register_first: bool, interval: int
) -> None:
    options = KontrolOptions(heartbeat_interval=interval)
    async with running_kontrol(tmp_path / "k.db", options=options) as kontrol:
        await _replay(kontrol, name, register_first=register_first)
