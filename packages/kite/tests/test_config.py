"""`Config`: Go's defaults, the kite key's values, and every `KITE_*` variable."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from kite_auth_support import ANCHOR_KEY, BADSIG_KEY, KEYS, NOW

from kite import Config, ConfigError, KiteKey, KiteKeyError, Transport


def test_defaults_are_go_config_new() -> None:
    config = Config()
    assert (config.username, config.environment, config.region) == ("unknown",) * 3
    assert (config.ip, config.port, config.transport) == ("0.0.0.0", 0, Transport.AUTO)
    assert (config.timeout, config.client_timeout, config.handshake_timeout) == (15.0,) * 3
    assert config.verify_ttl == 0.0
    assert config.effective_verify_ttl == 300.0
    assert (config.sockjs_heartbeat_delay, config.sockjs_disconnect_delay) == (10.0, 10.0)
    assert config.sockjs_response_limit == 128 * 1024
    assert not config.disable_authentication
    assert config.kite_key == config.kontrol_key == config.kontrol_user == config.kontrol_url == ""
    assert config.log_level is None


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().port = 1  # type: ignore[misc]
    assert Config().replace(port=4000).port == 4000


def home_with_key(tmp_path: Path, content: str = ANCHOR_KEY) -> dict[str, str]:
    (tmp_path / "kite.key").write_text(content)
    return {"KITE_HOME": str(tmp_path)}


def test_from_env_takes_values_from_the_kite_key(tmp_path: Path) -> None:
    config = Config.from_env(home_with_key(tmp_path), now=NOW)
    assert config.kite_key == ANCHOR_KEY
    assert config.username == "anchor"  # sub
    assert config.kontrol_user == "anchor"  # iss
    assert config.id == "3ae28132-30cb-4e1a-858f-24423d502a05"  # jti
    assert config.kontrol_url == "http://127.0.0.1:4000/kite"
    assert config.kontrol_key == (KEYS / "kontrol.pub").read_text().strip()
    assert config.environment == "unknown"


def test_variables_override_the_kite_key(tmp_path: Path) -> None:
    env = home_with_key(tmp_path) | {
        "KITE_USERNAME": "bob",
        "KITE_KONTROL_URL": "http://kontrol:4000/kite",
    }
    config = Config.from_env(env, now=NOW)
    assert (config.username, config.kontrol_url) == ("bob", "http://kontrol:4000/kite")
    assert config.kontrol_user == "anchor"


def test_required_key_missing_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(KiteKeyError) as info:
        Config.from_env({"KITE_HOME": str(tmp_path)}, now=NOW)
    assert info.value.path == tmp_path / "kite.key"
    assert info.value.reason == "no such file or directory"


def test_optional_key(tmp_path: Path) -> None:
    assert Config.from_env({"KITE_HOME": str(tmp_path)}, kite_key="optional") == Config()
    config = Config.from_env(home_with_key(tmp_path), kite_key="optional", now=NOW)
    assert config.username == "anchor"
    # An existing but invalid key is an error even when optional.
    with pytest.raises(KiteKeyError, match="crypto/rsa: verification error"):
        Config.from_env(home_with_key(tmp_path, BADSIG_KEY), kite_key="optional", now=NOW)


def test_explicit_key_or_none() -> None:
    assert Config.from_env({}, kite_key=ANCHOR_KEY, now=NOW).username == "anchor"
    parsed = KiteKey.parse(ANCHOR_KEY, now=NOW)
    assert Config.from_env({}, kite_key=parsed).kite_key == ANCHOR_KEY
    assert Config.from_env({"KITE_REGION": "eu"}, kite_key=None).region == "eu"
    with pytest.raises(KiteKeyError, match="crypto/rsa: verification error"):
        Config.from_env({}, kite_key=BADSIG_KEY, now=NOW)


VALID = [
    ("KITE_USERNAME", "bob", "username", "bob"),
    ("KITE_ENVIRONMENT", "production", "environment", "production"),
    ("KITE_REGION", "eu-west", "region", "eu-west"),
    ("KITE_IP", "127.0.0.1", "ip", "127.0.0.1"),
    ("KITE_PORT", "3636", "port", 3636),
    ("KITE_PORT", "+80", "port", 80),
    ("KITE_KONTROL_URL", "http://k:4000/kite", "kontrol_url", "http://k:4000/kite"),
    ("KITE_TRANSPORT", "WebSocket", "transport", Transport.WEBSOCKET),
    ("KITE_TRANSPORT", "XHRPolling", "transport", Transport.XHR_POLLING),
    ("KITE_TRANSPORT", "auto", "transport", Transport.AUTO),
    ("KITE_VERIFY_TTL", "30s", "verify_ttl", 30.0),
    ("KITE_VERIFY_TTL", "-1s", "verify_ttl", -1.0),
    ("KITE_TIMEOUT", "1h30m", "timeout", 5400.0),
    ("KITE_TIMEOUT", "500ms", "client_timeout", 0.5),
    ("KITE_HANDSHAKE_TIMEOUT", "2.5s", "handshake_timeout", 2.5),
    ("KITE_LOG_LEVEL", "debug", "log_level", "DEBUG"),
    ("KITE_LOG_LEVEL", "Warning", "log_level", "WARNING"),
    ("KITE_LOG_NOCOLOR", "1", "log_no_color", True),
    ("KITE_PROXY_URL", "http://proxy/kite", "proxy_url", "http://proxy/kite"),
    ("KITE_VERSION", "1", "print_version", True),
]


@pytest.mark.parametrize(("variable", "value", "attr", "expected"), VALID)
def test_each_variable(variable: str, value: str, attr: str, expected: object) -> None:
    config = Config.from_env({variable: value}, kite_key=None)
    assert getattr(config, attr) == expected
    # Empty means unset, as with Go's os.Getenv checks.
    assert getattr(Config.from_env({variable: ""}, kite_key=None), attr) == getattr(Config(), attr)


INVALID = [
    ("KITE_PORT", "abc", 'strconv.Atoi: parsing "abc": invalid syntax'),
    ("KITE_PORT", " 80", 'strconv.Atoi: parsing " 80": invalid syntax'),
    ("KITE_PORT", "1_000", 'strconv.Atoi: parsing "1_000": invalid syntax'),
    ("KITE_PORT", "99999999999999999999", 'strconv.Atoi: parsing "99999999999999999999": '
     "value out of range"),
    ("KITE_TRANSPORT", "websocket", "transport 'websocket' doesn't exists"),
    ("KITE_TRANSPORT", "xhr", "transport 'xhr' doesn't exists"),
]  # fmt: skip


@pytest.mark.parametrize(("variable", "value", "go_message"), INVALID)
def test_invalid_values_like_go(variable: str, value: str, go_message: str) -> None:
    for strict in (True, False):  # Go refuses these too
        with pytest.raises(ConfigError) as info:
            Config.from_env({variable: value}, kite_key=None, strict=strict)
        assert info.value.variable == variable
        assert info.value.go_message == go_message
        assert str(info.value).startswith(f"{variable}: {go_message}")


STRICT_ONLY = [
    ("KITE_VERIFY_TTL", "5", 'time: missing unit in duration "5"', "verify_ttl"),
    ("KITE_TIMEOUT", "1d", 'time: unknown unit "d" in duration "1d"', "timeout"),
    ("KITE_HANDSHAKE_TIMEOUT", "soon", 'time: invalid duration "soon"', "handshake_timeout"),
    ("KITE_LOG_LEVEL", "verbose", "", "log_level"),
    ("KITE_PORT", "70000", "", "port"),
    ("KITE_PORT", "-1", "", "port"),
]


@pytest.mark.parametrize(("variable", "value", "go_message", "attr"), STRICT_ONLY)
def test_values_go_ignores_are_errors_when_strict(
    variable: str, value: str, go_message: str, attr: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_env({variable: value}, kite_key=None)
    assert info.value.variable == variable
    assert variable in str(info.value)
    if go_message:
        assert str(info.value) == f"{variable}: {go_message}"
    lenient = Config.from_env({variable: value}, kite_key=None, strict=False)
    if variable == "KITE_PORT":
        assert lenient.port == int(value)  # Go's Atoi accepts it; listening fails later
    else:
        assert getattr(lenient, attr) == getattr(Config(), attr)  # silently ignored, like Go


def test_verify_ttl_semantics() -> None:
    assert Config(verify_ttl=30).effective_verify_ttl == 30
    assert Config(verify_ttl=-1).effective_verify_ttl is None


def test_from_env_reads_os_environ_only_when_called(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITE_REGION", "mars")
    assert Config.from_env(kite_key=None).region == "mars"


def test_base_config_kept() -> None:
    base = Config(disable_authentication=True, port=1)
    config = Config.from_env({"KITE_PORT": "2"}, kite_key=None, base=base)
    assert (config.disable_authentication, config.port) == (True, 2)
