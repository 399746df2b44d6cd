"""Replay the credentials of every recorded auth-* scenario through our authenticators and
compare with what the Go kite (gomath, `-auth -kitekey keys/anchor.kite.key`) answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kite_auth_support import KEYS, MATH, anchor_config

from kite import Auth, AuthenticationError, Authenticators
from kite._auth._tokens import parse_unverified

CAPTURES = KEYS.parent
SCENARIOS = sorted(
    p.name.removesuffix(".jsonl")
    for p in CAPTURES.glob("auth-*.jsonl")
    if not p.name.endswith(".raw.jsonl")
)


def dnode_messages(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """(direction, dnode message) pairs of a decoded capture, in order."""
    found: list[tuple[str, dict[str, Any]]] = []
    for line in path.read_text().splitlines():
        event = json.loads(line)
        sockjs = event.get("sockjs") or {}
        found.extend((event["dir"], message) for message in sockjs.get("dnode") or [])
    return found


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_go_answer_reproduced(scenario: str) -> None:
    messages = dnode_messages(CAPTURES / f"{scenario}.jsonl")
    request = next(m for d, m in messages if d == "c2s" and isinstance(m.get("method"), str))
    response = next(m for d, m in messages if d == "s2c" and isinstance(m.get("method"), int))
    envelope = request["arguments"][0]
    answer = response["arguments"][0]
    credentials = envelope["authentication"]
    auth = None if credentials is None else Auth(credentials["type"], credentials["key"])
    # Check at the credentials' own issue time (the recording clock was in Nov 2026).
    now = 1795425467.0
    if auth is not None and auth.key.count(".") == 2:
        now = parse_unverified(auth.key).claims.iat + 1.0
    registry = Authenticators()
    if answer["error"] is None:
        username = registry.authenticate_sync(auth, local=MATH, config=anchor_config(), now=now)
        assert username == "anchor"
        return
    assert answer["error"]["type"] == "authenticationError"
    with pytest.raises(AuthenticationError) as info:
        registry.authenticate_sync(auth, local=MATH, config=anchor_config(), now=now)
    assert info.value.message == answer["error"]["message"]


def test_all_auth_scenarios_present() -> None:
    assert len(SCENARIOS) >= 7
