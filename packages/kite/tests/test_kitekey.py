"""The kite.key file: location, Go's integrity check, and Go's way of writing it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from kite_auth_support import (
    ANCHOR_IAT,
    ANCHOR_KEY,
    BADSIG_KEY,
    KEYS,
    KONTROL_PEM,
    NOW,
    ROGUE_KEY,
    TOKEN_OK,
    hs256_with_public_key,
    raw_jwt,
)

from kite import (
    KiteClaims,
    KiteKey,
    KiteKeyError,
    TokenError,
    kite_home,
    kite_key_path,
    load_kite_key,
    read_kite_key,
    sign_claims,
    write_kite_key,
)

TRUSTED_PEM = KiteKey.parse(ANCHOR_KEY, now=NOW).kontrol_key


def test_home_from_kite_home_or_user_home(tmp_path: Path) -> None:
    assert kite_home({"KITE_HOME": str(tmp_path)}) == tmp_path
    assert kite_home({"KITE_HOME": ""}, user_home=tmp_path) == tmp_path / ".kite"
    assert kite_key_path({}, user_home=tmp_path) == tmp_path / ".kite" / "kite.key"


def test_read_go_written_key_and_claims(tmp_path: Path) -> None:
    # Go's `kontrol -initial` wrote the file without trailing newline; readers trim anyway.
    path = tmp_path / "kite.key"
    path.write_text("\n  " + ANCHOR_KEY + "\n\n")
    key = read_kite_key(path, now=ANCHOR_IAT)
    assert key.raw == ANCHOR_KEY
    assert (key.username, key.kontrol_user, key.id, key.kontrol_url) == (
        "anchor",
        "anchor",
        "3ae28132-30cb-4e1a-858f-24423d502a05",
        "http://127.0.0.1:4000/kite",
    )
    assert key.kontrol_key == (KEYS / "kontrol.pub").read_text().strip()


def test_load_from_kite_home(tmp_path: Path) -> None:
    (tmp_path / "kite.key").write_text(ANCHOR_KEY)
    assert load_kite_key({"KITE_HOME": str(tmp_path)}, now=NOW).username == "anchor"


def test_rogue_key_passes_the_integrity_check() -> None:
    # Integrity, not trust: a key signed by the key it carries is self-consistent.
    assert KiteKey.parse(ROGUE_KEY, now=NOW).username == "anchor"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (BADSIG_KEY, "crypto/rsa: verification error"),
        (TOKEN_OK, "Invalid Key: Key must be PEM encoded PKCS1 or PKCS8 private key"),
        ("garbage", "token contains an invalid number of segments"),
        (hs256_with_public_key({"sub": "x", "kontrolKey": TRUSTED_PEM}, TRUSTED_PEM),
         "invalid signing method"),
        (raw_jwt({"alg": "none"}, {"sub": "x", "kontrolKey": TRUSTED_PEM}),
         "invalid signing method"),
        (sign_claims(KiteClaims(sub="x", iat=NOW + 10, kontrol_key=TRUSTED_PEM), KONTROL_PEM),
         "Token used before issued"),
    ],
)  # fmt: skip
def test_invalid_keys_name_file_and_reason(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / "kite.key"
    path.write_text(content)
    with pytest.raises(KiteKeyError) as info:
        read_kite_key(path, now=NOW)
    assert info.value.reason == reason
    assert info.value.path == path
    assert str(info.value) == f"{path}: {reason}"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KiteKeyError) as info:
        load_kite_key({"KITE_HOME": str(tmp_path / "nowhere")}, now=NOW)
    assert info.value.reason == "no such file or directory"
    assert str(tmp_path / "nowhere" / "kite.key") in str(info.value)


def test_parse_raises_token_error() -> None:
    with pytest.raises(TokenError, match="crypto/rsa: verification error"):
        KiteKey.parse(BADSIG_KEY, now=NOW)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_like_go(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        home = tmp_path / "home" / ".kite"
        path = write_kite_key(ANCHOR_KEY, home / "kite.key")
    finally:
        os.umask(old_umask)
    assert path.read_bytes() == ANCHOR_KEY.encode()  # no trailing newline
    assert mode(path) == 0o400
    assert mode(home) == mode(home.parent) == 0o700  # every created directory, like MkdirAll
    assert [p.name for p in home.iterdir()] == ["kite.key"]  # no temporary left behind


def test_write_replaces_read_only_key(tmp_path: Path) -> None:
    path = tmp_path / "kite.key"
    write_kite_key(ROGUE_KEY, path)
    assert mode(path) == 0o400
    write_kite_key(ANCHOR_KEY, path)
    assert read_kite_key(path, now=NOW).raw == ANCHOR_KEY
    assert mode(path) == 0o400


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_write_failure_names_the_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(KiteKeyError) as info:
            write_kite_key(ANCHOR_KEY, locked / "kite.key")
        assert info.value.path == locked / "kite.key"
        assert info.value.reason == "permission denied"
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write_kite_key(ANCHOR_KEY, tmp_path / "kite.key")
    path.chmod(0o000)
    try:
        with pytest.raises(KiteKeyError, match="permission denied"):
            read_kite_key(path, now=NOW)
    finally:
        path.chmod(0o400)


def test_write_failure_when_directory_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("")
    with pytest.raises(KiteKeyError) as info:
        write_kite_key(ANCHOR_KEY, blocker / ".kite" / "kite.key")
    assert info.value.path == blocker / ".kite" / "kite.key"
    assert info.value.reason == "not a directory"
