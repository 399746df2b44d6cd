"""Interop matrix, authentication with kite keys across implementations.

Keys issued by the Python Kontrol (``kontrol init``) are presented by the Go client to a Python
kite and to ``gomath -auth``, both running on a key from the same Kontrol (so trusting its
public key); keys issued by Go Kontrol (``gokontrol -initial``) are presented by the Python
client to ``gomath -auth`` and to a Python kite. A key from another Kontrol is refused with the
same error by both. Token authentication (tokens issued by Kontrol for a registered kite) is
in ``test_interop_kontrol.py``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from conformance._gopeers import GoBuild, go_peers_or_skip, open_go_peer
from conformance._interop import (
    KEYS,
    go_kontrol_initial,
    goclient,
    key_config,
    python_kontrol_init,
    python_math_kite,
)
from kite import AuthenticationError, Kite, issue_token

pytestmark = pytest.mark.go

TRANSPORTS = ["websocket", "xhr"]
KONTROL_URL = "http://127.0.0.1:4099/kite"  # in the keys only; nothing listens there


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


@asynccontextmanager
async def math_kite(go_build: GoBuild, impl: str, key: Path) -> AsyncIterator[str]:
    """``gomath -auth -kitekey KEY`` or the Python twin on KEY; yields its URL."""
    if impl == "go":
        async with open_go_peer(go_build, "gomath", "-quiet", "-auth", "-kitekey", str(key)) as m:
            yield m.url
    else:
        async with python_math_kite(key_config(key)).serve(host="127.0.0.1", port=0) as server:
            yield server.url


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("impl", ["python", "go"])
async def test_go_client_with_python_issued_key(
    go_build: GoBuild, tmp_path: Path, impl: str, transport: str
) -> None:
    anchor = await python_kontrol_init(tmp_path, "anchor", KONTROL_URL)
    alice = await python_kontrol_init(tmp_path, "alice", KONTROL_URL)
    with trio.fail_after(60):
        async with math_kite(go_build, impl, anchor) as url:
            ok = await goclient(go_build, url, transport, "square", "[7]", "-kitekey", str(alice))
            other = "-auth-type", "kiteKey", "-auth-key", f"@{KEYS / 'anchor.kite.key'}"
            foreign = await goclient(go_build, url, transport, "square", "[7]", *other)
            missing = await goclient(go_build, url, transport, "square", "[7]")
    assert (ok.returncode, ok.stdout) == (0, "49\n"), ok.stdout + ok.stderr
    error = json.loads(foreign.stdout)["error"]
    assert (error["type"], error["message"]) == (
        "authenticationError",
        "kiteKey: kontrol key is not trusted",
    )
    error = json.loads(missing.stdout)["error"]
    assert (error["type"], error["message"]) == (
        "authenticationError",
        "No authentication information is provided",
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("impl", ["python", "go"])
async def test_python_client_with_go_issued_key(
    go_build: GoBuild, tmp_path: Path, impl: str, transport: str
) -> None:
    anchor = await go_kontrol_initial(go_build, tmp_path / "anchor.key", "anchor", KONTROL_URL)
    alice = await go_kontrol_initial(go_build, tmp_path / "alice.key", "alice", KONTROL_URL)
    rogue = KEYS / "rogue.kite.key"  # signed by another Kontrol
    client = Kite("pyclient", "1.0.0", key_config(alice))
    stranger = Kite("stranger", "1.0.0", key_config(rogue))
    with trio.fail_after(60):
        async with math_kite(go_build, impl, anchor) as url:
            async with client.dial(url, transport=transport, timeout=10) as remote:  # type: ignore[arg-type]
                assert await remote.tell("square", 7, timeout=10) == 49
                assert await remote.tell("kite.ping", timeout=10) == "pong"
            async with stranger.dial(url, transport=transport, timeout=10) as remote:  # type: ignore[arg-type]
                with pytest.raises(AuthenticationError) as caught:
                    await remote.tell("square", 7, timeout=10)
                assert await remote.tell("kite.ping", timeout=10) == "pong"  # never needs auth
    assert caught.value.message == "kiteKey: kontrol key is not trusted"


AUTH_VARIANTS = [
    pytest.param([], id="none"),
    pytest.param(["-auth-type", "kiteKey", "-auth-key", f"@{KEYS / 'rogue.kite.key'}"], id="rogue"),
    pytest.param(
        ["-auth-type", "kiteKey", "-auth-key", f"@{KEYS / 'badsig.kite.key'}"], id="badsig"
    ),
    pytest.param(["-auth-type", "kiteKey", "-auth-key", "not-a-jwt"], id="garbage-key"),
    # tokens minted at run time (`_minted`): valid now, and expired ten days ago
    pytest.param(["-auth-type", "token", "-auth-key", "{valid-token}"], id="valid-token"),
    pytest.param(["-auth-type", "token", "-auth-key", "{expired-token}"], id="expired-token"),
    pytest.param(
        ["-auth-type", "token", "-auth-key", f"@{KEYS / 'token-auth-token-bad-signature.jwt'}"],
        id="bad-token",
    ),
    pytest.param(["-auth-type", "token", "-auth-key", "x.y.z"], id="garbage-token"),
    pytest.param(["-auth-type", "sessionID", "-auth-key", "abc"], id="unknown-type"),
]


def _minted(tmp_path: Path) -> dict[str, str]:
    """``@file`` arguments of tokens for the anchor's ``math`` minted now by the captures'
    Kontrol key, like Kontrol's (48 h + 10 min): one valid, one expired ten days ago."""
    private_key = (KEYS / "kontrol.pem").read_text()
    out = {}
    for name, now in (("valid-token", time.time()), ("expired-token", time.time() - 10 * 86400)):
        token = issue_token(
            private_key=private_key,
            issuer="anchor",
            subject="anchor",
            audience="/anchor//math",
            now=now,
        )
        (tmp_path / f"{name}.jwt").write_text(token)
        out[f"{{{name}}}"] = f"@{tmp_path / f'{name}.jwt'}"
    return out


def _same_duration(value: object) -> object:
    """`value` with ``expired by <duration>`` read as one: Go's kite and ours judge the
    expired token a moment apart."""
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        message = str(value["error"].get("message", ""))
        value["error"]["message"] = re.sub(r"expired by \S+", "expired by <d>", message)
    return value


@pytest.mark.parametrize("auth", AUTH_VARIANTS)
async def test_refusals_match_go(go_build: GoBuild, auth: list[str], tmp_path: Path) -> None:
    """Credentials from the Go client get the same answer from a Python kite as from
    ``gomath -auth`` on the same key (the captures' anchor key): refusals, and a token minted
    now accepted by both."""
    anchor = KEYS / "anchor.kite.key"
    minted = _minted(tmp_path)
    auth = [minted.get(a, a) for a in auth]
    outcomes: dict[str, tuple[int, object]] = {}
    with trio.fail_after(60):
        for impl in ("go", "python"):
            async with math_kite(go_build, impl, anchor) as url:
                result = await goclient(go_build, url, "websocket", "square", "[7]", *auth)
            value = json.loads(result.stdout)
            if isinstance(value, dict) and "error" in value:
                value["error"].pop("id")  # the random request id
            outcomes[impl] = (result.returncode, _same_duration(value))
    assert outcomes["python"] == outcomes["go"]
    if "valid-token" in str(auth):
        assert outcomes["go"] == (0, 49)
    else:
        rc, value = outcomes["go"]
        assert rc == 1
        assert value["error"]["type"] == "authenticationError"  # type: ignore[index]
