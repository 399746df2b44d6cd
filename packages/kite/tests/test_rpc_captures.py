"""Byte-for-byte conformance with recorded Go traffic (conformance/captures/*.jsonl).

Each scenario is replayed between two Python kites configured like the Go programs of the
recording (`goclient` calling `math`): every dnode message each side sends must equal what the
Go side sent, after replacing random request ids in error objects.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import trio
from kite_auth_support import NOW, anchor_config
from kite_rpc_helpers import client_kite, connected, math_kite

from kite import Auth, Kite, KiteError, Request, memory_pipe_pair

CAPTURES = Path(__file__).resolve().parents[3] / "conformance" / "captures"
_ERROR_ID = re.compile(r'"id":"[0-9a-f]{16}"')


def messages(name: str, conn: int | None = None) -> dict[str, list[str]]:
    """The dnode messages of a capture by direction (`c2s`, `s2c`), in order."""
    out: dict[str, list[str]] = {"c2s": [], "s2c": []}
    with (CAPTURES / f"{name}.jsonl").open(encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            sockjs = event.get("sockjs")
            if not sockjs or (conn is not None and event.get("conn") != conn):
                continue
            out[event["dir"]].extend(sockjs.get("messages") or ())
    return out


def normalise(texts: list[str]) -> list[str]:
    return [_ERROR_ID.sub('"id":"<request id>"', t) for t in texts]


def identity_of(envelope_message: str) -> dict[str, str]:
    kite: dict[str, str] = json.loads(envelope_message)["arguments"][0]["kite"]
    return kite


def like(k: Kite, identity: dict[str, str]) -> Kite:
    for field, value in identity.items():
        setattr(k, field, value)
    return k


async def _tick(n: int) -> None:
    pass


SCENARIOS: list[tuple[str, str, list[Any] | None, Any]] = [
    ("ping", "kite.ping", [], "pong"),
    ("ping-xhr", "kite.ping", [], "pong"),
    ("square", "square", [4], 16),
    ("square-xhr", "square", [4], 16),
    ("add", "add", [2, 3.5], 5.5),
    ("fail", "fail", ["something went wrong"], KiteError),
    ("fail-xhr", "fail", ["something went wrong"], KiteError),
    ("boom", "boom", [], KiteError),
    ("method-not-found", "noSuchMethod", [1], KiteError),
    ("method-not-found-xhr", "noSuchMethod", [1], KiteError),
    ("countdown-callback", "countdown", [{"cb": _tick, "from": 3}], "done"),
    ("call-me-back", "callMeBack", [], "hello from go client"),
    ("auth-missing", "square", [5], KiteError),
    ("auth-unknown-type", "square", [5], KiteError),
    ("auth-kitekey-ok", "square", [5], 25),
    ("auth-token-ok", "square", [7], 49),
    ("auth-untrusted-key", "square", [5], KiteError),
    ("auth-bad-signature", "square", [5], KiteError),
]


def _with_real_authenticators(server: Kite) -> Kite:
    """gomath -auth -kitekey keys/anchor.kite.key: trust the captures' Kontrol (key and user
    `anchor`) and judge every credential with the real authenticators, at a moment when the
    captured keys and tokens are valid (the recording clock)."""
    server.config = anchor_config().replace(
        disable_authentication=server.config.disable_authentication
    )
    server.username = server.config.username

    async def authenticate(r: Request) -> str:
        return await server.authenticators.authenticate(
            r.auth, local=server.identity, config=server.config, now=NOW
        )

    server.authenticate = authenticate
    return server


@pytest.mark.parametrize(("name", "method", "args", "expected"), SCENARIOS)
async def test_replay_matches_go_bytes(
    name: str, method: str, args: list[Any] | None, expected: Any
) -> None:
    captured = messages(name)
    request = json.loads(captured["c2s"][0])["arguments"][0]
    auth = request["authentication"]
    client = like(client_kite(), identity_of(captured["c2s"][0]))
    server = math_kite(auth=name.startswith("auth-"))
    _with_real_authenticators(server)
    if any('"method":"client.hello"' in m for m in captured["s2c"]):
        like(server, identity_of(next(m for m in captured["s2c"] if "client.hello" in m)))
    connect = {"auth": Auth(auth["type"], auth["key"])} if auth else {}
    async with connected(server, client, **connect) as (peer, _, cpipe, spipe):
        if isinstance(expected, type):
            with pytest.raises(expected):
                await peer.call(method, args)
        else:
            assert await peer.call(method, args) == expected
    assert cpipe.sent == captured["c2s"]
    assert normalise(spipe.sent) == normalise(captured["s2c"])


async def test_go_heartbeat_request_answered_like_go(autojump_clock: Any) -> None:
    """Kontrol's `kite.heartbeat` on a connection the kite dialled (kontrol-heartbeat)."""
    captured = messages("kontrol-heartbeat", conn=0)
    heartbeat = next(m for m in captured["s2c"] if '"kite.heartbeat"' in m)
    go_replies = [m for m in captured["c2s"] if not m.startswith('{"method":"register"')]
    k = Kite("math", "1.0.0")
    kontrol_end, kite_end = memory_pipe_pair()
    async with k.connect_pipe(kite_end):
        await kontrol_end.send(heartbeat)
        got = [await kontrol_end.receive() for _ in range(2)]
        start = trio.current_time()
        got += [await kontrol_end.receive() for _ in range(3)]
        assert trio.current_time() - start == pytest.approx(6)
    assert got == go_replies[:5]
