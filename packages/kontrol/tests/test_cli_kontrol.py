"""The `kontrol` command: `init` writes a kite.key that kite accepts and that verifies against
the generated key, `keys` manages pairs, and `serve` fails with clear messages."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import kite
from kontrol.__main__ import main

URL = "http://127.0.0.1:4000/kite"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("KITE_HOME", str(path))
    return path


def _init(data: Path, username: str = "anchor") -> int:
    return main(["init", "--data-dir", str(data), "--username", username, "--url", URL])


def test_init_writes_a_kite_key_signed_by_the_new_pair(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert _init(data) == 0
    out = capsys.readouterr().out
    path = home / "kite.key"
    assert f"kite.key is written to {path}" in out
    key = kite.read_kite_key(path)
    assert (key.username, key.kontrol_user, key.kontrol_url) == ("anchor", "anchor", URL)
    public = (data / "kontrol.pub").read_text().strip()
    assert key.kontrol_key == public
    claims = kite.parse_token(key.raw, lambda _t: kite.parse_public_key(public), now=9e9)
    assert claims.aud == ""
    assert claims.exp == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o400
    assert not path.read_bytes().endswith(b"\n")
    assert stat.S_IMODE((data / "kontrol.db").stat().st_mode) == 0o600
    # Again: the pair is kept, a new kite key is written.
    assert _init(data) == 0
    again = kite.read_kite_key(path)
    assert again.kontrol_key == public
    assert again.id != key.id
    capsys.readouterr()
    assert main(["keys", "--data-dir", str(data), "list"]) == 0
    assert len(capsys.readouterr().out.split()) == 1


def test_keys_rotate_and_delete(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert _init(data) == 0
    old_public = (data / "kontrol.pub").read_text()
    capsys.readouterr()
    assert main(["keys", "--data-dir", str(data), "list"]) == 0
    (first,) = capsys.readouterr().out.split()
    assert main(["keys", "--data-dir", str(data), "rotate"]) == 0
    capsys.readouterr()
    assert (data / "kontrol.pub").read_text() != old_public
    assert main(["keys", "--data-dir", str(data), "list"]) == 0
    ids = capsys.readouterr().out.split()
    assert ids[0] == first
    assert len(ids) == 2
    assert main(["keys", "--data-dir", str(data), "delete", first]) == 0
    assert main(["keys", "--data-dir", str(data), "delete", ids[1]]) == 1
    assert "cannot delete the last key pair" in capsys.readouterr().err


def test_serve_errors(tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert main(["serve", "--data-dir", str(data)]) == 1
    assert "Cannot read kite.key" in capsys.readouterr().err
    assert _init(tmp_path / "other") == 0
    assert main(["serve", "--data-dir", str(data)]) == 1
    assert "does not exist: run `kontrol init`" in capsys.readouterr().err
    assert _init(data) == 0  # a new pair in `data`, kite.key now signed by it
    assert main(["keys", "--data-dir", str(tmp_path / "other"), "list"]) == 0
    capsys.readouterr()
    assert main(["serve", "--data-dir", str(tmp_path / "other")]) == 1
    assert "the key pair that signed kite.key is not in the storage" in capsys.readouterr().err
    bad_origin = ["serve", "--data-dir", str(data), "--allow-origin", "app.example"]
    assert main(bad_origin) == 1
    assert "kontrol: --allow-origin: not an origin (scheme://host[:port]): 'app.example'" in (
        capsys.readouterr().err
    )


def test_unreachable_postgres(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn = "postgresql://127.0.0.1:1/kontrol?connect_timeout=2"
    args = ["keys", "--data-dir", str(tmp_path), "--postgres", dsn, "list"]
    assert main(args) == 1
    assert "kontrol: database unreachable:" in capsys.readouterr().err


def test_usage_errors() -> None:
    with pytest.raises(SystemExit) as info:
        main(["init", "--data-dir", "x"])
    assert info.value.code == 2


def test_serve_reads_the_kite_key_given(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`serve --kite-key` reads that file, not `$KITE_HOME/kite.key` (here missing): it gets as
    far as listening (a busy port, so the test ends there)."""
    import socket

    data = tmp_path / "data"
    assert _init(data) == 0
    key = tmp_path / "kontrol.key"
    (home / "kite.key").rename(key)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        serve = ["serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", port]
        assert main(serve) == 1
        assert "Cannot read kite.key" in capsys.readouterr().err
        assert main([*serve, "--kite-key", str(key)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert main([*serve, "--kite-key", str(tmp_path / "nothing")]) == 1
    assert "Cannot read kite.key" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("kite-kontrol ")
