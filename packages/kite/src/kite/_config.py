"""`Config`: every setting Go kite's `config.Config` holds, read like `config.Get()` (§7).

How this works: `Config()` is Go's `config.New()` (defaults of docs/protocol.md §7.1).
`Config.from_env(environ)` is Go's `config.Get()`: defaults, then the kite key (`$KITE_HOME/
kite.key`, or one given explicitly) supplies `kite_key`, `username` (`sub`), `kontrol_user`
(`iss`), `id` (`jti`), `kontrol_url` and `kontrol_key`, then the `KITE_*` variables override,
with Go's names and formats: strings taken when non-empty, `KITE_PORT` an integer,
`KITE_TRANSPORT` one of `WebSocket`/`XHRPolling`/`auto`, durations in Go syntax (`30s`, `1h30m`,
`500ms`). An invalid value raises `ConfigError` naming the variable (Go ignores bad durations and
log levels silently; pass `strict=False` for exactly that). The environment is read only when
`from_env` is called, from the mapping it is given.

Durations are float seconds (trio's unit). Callables Go keeps in its config (`VerifyFunc`,
`VerifyAudienceFunc`) live on the authenticators instead (`_auth._authenticators`).
"""

from __future__ import annotations

import dataclasses
import enum
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._auth._kitekey import KiteKey, load_kite_key
from ._auth._token_errors import TokenError
from ._configerrors import ConfigError, KiteKeyError
from ._duration import SECOND, DurationError, parse_duration

__all__ = ["DEFAULT_VERIFY_TTL", "LOG_LEVELS", "Config", "Transport"]

#: Verify-cache TTL used when `Config.verify_ttl` is 0 (Go's 5 minutes).
DEFAULT_VERIFY_TTL = 300.0
#: Accepted `KITE_LOG_LEVEL` values (case-insensitive); Go's default is INFO.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "FATAL")

_ATOI = re.compile(r"[+-]?[0-9]+")


class Transport(enum.Enum):
    """Go's `config.Transport`; the value is the name `KITE_TRANSPORT` uses."""

    WEBSOCKET = "WebSocket"
    XHR_POLLING = "XHRPolling"
    AUTO = "auto"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Config:
    """Settings of one kite, with Go's defaults (`config.New()`).

    Attributes:
        username: kite identity username; the kite key's `sub` (default `unknown`).
        environment: identity environment (default `unknown`).
        region: identity region (default `unknown`).
        id: the kite key's `jti`; like Go, not used as the kite id unless the program does so.
        kite_key: raw kite key JWT for `kiteKey` authentication and registration.
        disable_authentication: methods registered while true need no authentication (§4.7).
        transport: transport a client dials with.
        ip: listen address.
        port: listen port (0 = any free port).
        verify_ttl: verify-cache TTL in seconds; 0 → 300 s, negative → no caching.
        timeout: XHR first-byte timeout and default timeout of Kontrol calls (15 s).
        client_timeout: timeout of the HTTP register/heartbeat client (15 s).
        handshake_timeout: WebSocket dial handshake timeout (15 s).
        sockjs_websocket: the SockJS server offers the WebSocket transport.
        sockjs_heartbeat_delay: SockJS `h` frame interval (10 s).
        sockjs_disconnect_delay: SockJS session close delay (10 s).
        sockjs_response_limit: bytes per XHR streaming response (128 KiB).
        sockjs_allowed_origins: browser pages from other origins that may call this kite
            (`"https://app.example.com"`, or `"*"` for all, as Go kite allows); pages the kite
            serves itself and non-browser clients are always allowed (`sockjs.Options`).
        kontrol_url: Kontrol's URL; the kite key's `kontrolURL`.
        kontrol_key: Kontrol's public key PEM, compared as exact text; `kontrolKey`.
        kontrol_user: Kontrol's username, the trusted token issuer; the kite key's `iss`.
        use_webrtc: register `kite.handleWebRTC`.
        log_level: `KITE_LOG_LEVEL` (one of `LOG_LEVELS`): a `Kite` made with this config
            sets the `kite` and `kontrol` loggers to it (see `kite` README, "Logging");
            `None` (the default) leaves logging as the application configured it.
        log_no_color: `KITE_LOG_NOCOLOR` set.
        proxy_url: `KITE_PROXY_URL`: proxy kite to register to instead of asking Kontrol.
        print_version: `KITE_VERSION` set: `run` prints the version and exits.
    """

    username: str = "unknown"
    environment: str = "unknown"
    region: str = "unknown"
    id: str = ""
    kite_key: str = ""
    disable_authentication: bool = False
    transport: Transport = Transport.AUTO
    ip: str = "0.0.0.0"
    port: int = 0
    verify_ttl: float = 0.0
    timeout: float = 15.0
    client_timeout: float = 15.0
    handshake_timeout: float = 15.0
    sockjs_websocket: bool = True
    sockjs_heartbeat_delay: float = 10.0
    sockjs_disconnect_delay: float = 10.0
    sockjs_response_limit: int = 128 * 1024
    sockjs_allowed_origins: tuple[str, ...] = ()
    kontrol_url: str = ""
    kontrol_key: str = ""
    kontrol_user: str = ""
    use_webrtc: bool = False
    log_level: str | None = None
    log_no_color: bool = False
    proxy_url: str = ""
    print_version: bool = False

    @property
    def effective_verify_ttl(self) -> float | None:
        """The verify-cache TTL in seconds, or None when caching is off (`verify_ttl < 0`)."""
        if self.verify_ttl == 0:
            return DEFAULT_VERIFY_TTL
        return None if self.verify_ttl < 0 else self.verify_ttl

    def with_kite_key(self, key: KiteKey) -> Config:
        """Go's `Config.ReadToken`: take identity and Kontrol settings from a kite key."""
        return dataclasses.replace(
            self,
            kite_key=key.raw,
            username=key.username,
            kontrol_user=key.kontrol_user,
            id=key.id,
            kontrol_url=key.kontrol_url,
            kontrol_key=key.kontrol_key,
        )

    def replace(self, **changes: object) -> Config:
        """A copy with some fields changed (`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        kite_key: KiteKey | str | Literal["required", "optional"] | None = "required",
        base: Config | None = None,
        strict: bool = True,
        now: float | None = None,
        user_home: Path | None = None,
    ) -> Config:
        """Build a config like Go's `config.Get()`: defaults, kite key, `KITE_*` variables.

        Args:
            environ: the environment to read (default `os.environ`, read at call time).
            kite_key: `"required"` (Go's `Get`: read `$KITE_HOME/kite.key`, failing if absent),
                `"optional"` (read it when the file exists), None (no kite key: Go's `New()` +
                `ReadEnvironmentVariables()`), a `KiteKey`, or a raw JWT to check.
            base: start from this config instead of the defaults.
            strict: refuse invalid durations and log levels (Go silently ignores them).
            now: UTC seconds for the kite key's time-claim check (default: current time).
            user_home: home directory used when `KITE_HOME` is unset (default: passwd entry).

        Raises:
            KiteKeyError: the kite key is missing or invalid (names the file).
            ConfigError: a `KITE_*` variable is invalid (names the variable).
        """
        env = os.environ if environ is None else environ
        config = base if base is not None else cls()
        key: KiteKey | None
        if kite_key == "required" or kite_key == "optional":
            try:
                key = load_kite_key(env, now=now, user_home=user_home)
            except KiteKeyError as exc:
                missing = exc.path is not None and not exc.path.exists()
                if kite_key == "optional" and missing:
                    key = None
                else:
                    raise
        elif isinstance(kite_key, str):
            try:
                key = KiteKey.parse(kite_key, now=time.time() if now is None else now)
            except TokenError as exc:
                raise KiteKeyError(None, exc.message) from None
        else:
            key = kite_key
        if key is not None:
            config = config.with_kite_key(key)
        return config.with_environment(env, strict=strict)

    def with_environment(self, environ: Mapping[str, str], *, strict: bool = True) -> Config:
        """Go's `Config.ReadEnvironmentVariables` (plus the log/proxy/version variables).

        Raises:
            ConfigError: naming the variable, for an invalid value.
        """
        changes: dict[str, object] = {}
        for variable, attr in _STRING_VARIABLES:
            value = environ.get(variable, "")
            if value:
                changes[attr] = value
        port = environ.get("KITE_PORT", "")
        if port:
            changes["port"] = _parse_port(port, strict=strict)
        transport = environ.get("KITE_TRANSPORT", "")
        if transport:
            try:
                changes["transport"] = Transport(transport)
            except ValueError:
                go = f"transport '{transport}' doesn't exists"
                raise ConfigError(
                    f"KITE_TRANSPORT: {go} (use WebSocket, XHRPolling or auto)",
                    variable="KITE_TRANSPORT",
                    go_message=go,
                ) from None
        for variable, attrs in _DURATION_VARIABLES:
            value = environ.get(variable, "")
            if not value:
                continue
            try:
                seconds = parse_duration(value) / SECOND
            except DurationError as exc:
                if strict:
                    raise ConfigError(
                        f"{variable}: {exc}", variable=variable, go_message=str(exc)
                    ) from None
                continue
            for attr in attrs:
                changes[attr] = seconds
        level = environ.get("KITE_LOG_LEVEL", "")
        if level:
            if level.upper() in LOG_LEVELS:
                changes["log_level"] = level.upper()
            elif strict:
                raise ConfigError(
                    f"KITE_LOG_LEVEL: unknown log level {level!r} (use one of "
                    f"{', '.join(LOG_LEVELS)})",
                    variable="KITE_LOG_LEVEL",
                )
        if environ.get("KITE_LOG_NOCOLOR", ""):
            changes["log_no_color"] = True
        if environ.get("KITE_VERSION", ""):
            changes["print_version"] = True
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


_STRING_VARIABLES: tuple[tuple[str, str], ...] = (
    ("KITE_USERNAME", "username"),
    ("KITE_ENVIRONMENT", "environment"),
    ("KITE_REGION", "region"),
    ("KITE_IP", "ip"),
    ("KITE_KONTROL_URL", "kontrol_url"),
    ("KITE_PROXY_URL", "proxy_url"),
)
_DURATION_VARIABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("KITE_VERIFY_TTL", ("verify_ttl",)),
    ("KITE_TIMEOUT", ("timeout", "client_timeout")),
    ("KITE_HANDSHAKE_TIMEOUT", ("handshake_timeout",)),
)


def _go_strconv_quote(text: str) -> str:
    """Go's `strconv.Quote` for the common cases (printable text kept, escapes otherwise)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) > 0x7F else f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _parse_port(value: str, *, strict: bool) -> int:
    """`KITE_PORT` as Go's `strconv.Atoi` reads it; strict mode also wants 0..65535."""
    if not _ATOI.fullmatch(value):
        go = f"strconv.Atoi: parsing {_go_strconv_quote(value)}: invalid syntax"
        raise ConfigError(f"KITE_PORT: {go}", variable="KITE_PORT", go_message=go)
    number = int(value)
    if not -(1 << 63) <= number < (1 << 63):
        go = f"strconv.Atoi: parsing {_go_strconv_quote(value)}: value out of range"
        raise ConfigError(f"KITE_PORT: {go}", variable="KITE_PORT", go_message=go)
    if strict and not 0 <= number <= 65535:
        raise ConfigError(f"KITE_PORT: port {number} is outside 0-65535", variable="KITE_PORT")
    return number
