"""Kontrol's tunables and the `registerMachine` check, as given to `Kontrol`."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

from kite import Request

__all__ = ["KontrolOptions", "MachineAuthenticate"]


class MachineAuthenticate(Protocol):
    """The `registerMachine` check: `fn(auth_type, request)`, plain or async; raise to refuse."""

    def __call__(self, auth_type: str, request: Request, /) -> Awaitable[None] | None: ...


@dataclass(frozen=True, slots=True)
class KontrolOptions:
    """Kontrol's tunables (Go's package variables), in seconds.

    Attributes:
        token_ttl: token lifetime (Go `TokenTTL`, 48 h).
        token_leeway: clock-skew allowance, added to `exp`, subtracted for `iat`/`nbf` (5 min).
        token_no_nbf: omit `nbf` from tokens (Go `TokenNoNBF`).
        heartbeat_interval: interval kites are told to ping (10 s).
        heartbeat_delay: grace added to the interval before a kite counts as gone (20 s).
        update_interval: max rate of storage refreshes per kite (60 s).
        heartbeat_call_timeout: timeout of the `kite.heartbeat` call on a registering kite (4 s).
        register_url: URL Kontrol registers for itself (default `config.kontrol_url`; with
            neither, Kontrol does not register itself).
        shared_storage: other Kontrols write to the same storage. Off (the default), a
            starting Kontrol removes the registrations written before it started that are not
            renewed within `heartbeat_timeout` (their kites died while it was down; live ones
            register again at once), and its own entries left by an earlier run at the same
            URL. On, it leaves both to the storage TTL: another Kontrol's kites are refreshed
            only every `update_interval`.
        max_field_length: longest identity field accepted by `register` (characters).
        max_url_length: longest registered URL accepted.
        token_cache_size: most cached tokens kept (least recently used dropped first).
    """

    token_ttl: float = 48 * 3600.0
    token_leeway: float = 5 * 60.0
    token_no_nbf: bool = False
    heartbeat_interval: float = 10.0
    heartbeat_delay: float = 20.0
    update_interval: float = 60.0
    heartbeat_call_timeout: float = 4.0
    register_url: str = ""
    shared_storage: bool = False
    max_field_length: int = 256
    max_url_length: int = 2048
    token_cache_size: int = 10_000

    def __post_init__(self) -> None:
        for name in ("token_ttl", "heartbeat_interval", "update_interval"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.heartbeat_interval < 1:
            raise ValueError("heartbeat_interval must be at least 1 s (kites get whole seconds)")
        if self.token_leeway < 0 or self.heartbeat_delay < 0:
            raise ValueError("token_leeway and heartbeat_delay must not be negative")

    @property
    def heartbeat_timeout(self) -> float:
        """Seconds without a heartbeat after which a kite is gone (interval + delay)."""
        return self.heartbeat_interval + self.heartbeat_delay
