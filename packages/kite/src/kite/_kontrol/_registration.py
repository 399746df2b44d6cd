"""Registration with Kontrol: the register result, key adoption, HTTP register + heartbeats.

How this works (docs/protocol.md §5.8, §6.2, §6.4, §6.5):

* `RegisterResult` is Go's `protocol.RegisterResult`, read from both register paths.
* `adopt_register_result` is Go's `Kite.updateAuth`: a returned `kiteKey` replaces the kite's
  key in memory (its `kontrolKey` claim then becomes the trusted Kontrol key); a returned
  `publicKey` replaces the trusted Kontrol key alone. Optionally the new kite key is written
  to disk with `write_kite_key` (Go never writes it; a restarted Go kite re-reads the old key
  and is re-signed again).
* HTTP registration: `POST <kontrol>/register` with `{"url","kite","auth"}` (Go's bytes, same
  header order), then `GET <kontrol>/heartbeat?id=<kite id>` every `heartbeatInterval`
  seconds, the first one a full interval after the answer. `pong` is fine, `registeragain`
  (Kontrol forgot us, e.g. it restarted) re-registers with Go's HTTP back-off (30 s, x1.7,
  at most 5 min, forever); other answers are logged and the beat goes on.
* The back-off parameters Go uses for dialling Kontrol (`DIAL_BACKOFF`) and for HTTP
  re-registration (`HTTP_REGISTER_BACKOFF`), for `_backoff.ExponentialBackoff`.

The HTTP client is any `HTTPRequester`: `await http(method, url, headers, body)` returning
`(status, body)`. `default_http_requester()` adapts `kite._http.HTTPClient` when the transport
layer is installed.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import dnode

from .._auth._kitekey import KiteKey, write_kite_key
from .._auth._token_errors import TokenError
from .._config import Config
from .._errors import KiteError

__all__ = [
    "DIAL_BACKOFF",
    "HTTP_REGISTER_BACKOFF",
    "ConfiguredKite",
    "HTTPRequester",
    "KontrolError",
    "RegisterResult",
    "adopt_register_result",
    "default_http_requester",
    "go_json",
    "kontrol_path",
]

log = logging.getLogger("kite.kontrol")

#: `await http(method, url, headers, body) -> (status, body)`; raises on transport failure.
HTTPRequester = Callable[[str, str, Sequence[tuple[str, str]], bytes], Awaitable[tuple[int, bytes]]]


class KontrolError(KiteError):
    """Talking to Kontrol failed locally (HTTP register error, bad answer, no Kontrol URL).

    These are plain errors in Go (`errors.New`), so `str()` is just the message.
    """

    default_type = "kontrolError"

    def __str__(self) -> str:
        return self.message


# ------------------------------------------------------------------------------------ back-off


#: Go's dial-forever back-off of kite clients (the Kontrol connection); we never give up.
DIAL_BACKOFF: Mapping[str, Any] = {"max_elapsed": None}
#: Go's `RegisterHTTPForever` back-off.
HTTP_REGISTER_BACKOFF: Mapping[str, Any] = {
    "initial": 30.0,
    "multiplier": 1.7,
    "max_interval": 300.0,
    "max_elapsed": None,
}


# ------------------------------------------------------------------------------- the result


_RESULT_FIELDS = dnode.GoFields("url", "heartbeatInterval", "err", "publicKey", "kiteKey")


@dataclass(frozen=True, slots=True)
class RegisterResult:
    """Go's `protocol.RegisterResult`: Kontrol's answer to `register` (both paths).

    Attributes:
        url: the URL registered (echoed).
        heartbeat_interval: seconds between HTTP heartbeats (0 on the WebSocket path).
        error: `err`, set on HTTP failures.
        public_key: a new Kontrol public key to trust (after key rotation).
        kite_key: a re-signed kite key to use from now on (after key rotation).
    """

    url: str
    heartbeat_interval: int = 0
    error: str = ""
    public_key: str = ""
    kite_key: str = ""

    @classmethod
    def from_json(cls, value: Any) -> RegisterResult:
        """Read the result as Go's `encoding/json` does (keys case-insensitive).

        Raises:
            KontrolError: the value is not an object of the expected shape.
        """
        if not isinstance(value, Mapping):
            raise KontrolError(f"invalid register result: {value!r}")
        obj = _RESULT_FIELDS.pick(value)

        def text(key: str) -> str:
            v = obj.get(key)
            if v is None:
                return ""
            if not isinstance(v, str):
                raise KontrolError(f"invalid register result field {key!r}: {v!r}")
            return v

        interval = obj.get("heartbeatInterval", 0)
        if interval is None:
            interval = 0
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise KontrolError(f"invalid register result heartbeatInterval: {interval!r}")
        return cls(
            url=text("url"),
            heartbeat_interval=int(interval),
            error=text("err"),
            public_key=text("publicKey"),
            kite_key=text("kiteKey"),
        )

    def to_json(self) -> dict[str, Any]:
        """Go's JSON: `url`, `heartbeatInterval`, then `err`/`publicKey`/`kiteKey` if set."""
        out: dict[str, Any] = {"url": self.url, "heartbeatInterval": self.heartbeat_interval}
        optional = (("err", self.error), ("publicKey", self.public_key), ("kiteKey", self.kite_key))
        out.update({key: value for key, value in optional if value})
        return out


# ------------------------------------------------------------------------------- adoption


class ConfiguredKite(Protocol):
    """A kite whose `config` registration reads and replaces (a `Kite`)."""

    config: Config


def kite_key_of(kite: ConfiguredKite) -> str:
    """The kite key the kite authenticates to Kontrol with (`Config.kite_key`)."""
    return kite.config.kite_key


def update_config(kite: ConfiguredKite, **changes: str) -> None:
    """Replace string fields of the kite's (frozen) `Config`; the authenticators read the
    current `kite.config` on every request, so the change applies at once."""
    kite.config = kite.config.replace(**changes)


def adopt_register_result(
    kite: ConfiguredKite,
    result: RegisterResult,
    *,
    kite_key_path: Path | None = None,
    now: float | None = None,
) -> bool:
    """Go's `Kite.updateAuth`: take a renewed kite key / Kontrol public key from `result`.

    Returns whether the kite key changed (callers then update `kiteKey` credentials). With
    `kite_key_path`, a new kite key is also written there (`write_kite_key`); a write failure
    is logged, never raised.
    """
    public_key = result.public_key
    changed = False
    if result.kite_key and result.kite_key != kite_key_of(kite):
        update_config(kite, kite_key=result.kite_key)
        changed = True
        log.info("adopted the kite key Kontrol re-signed")
        try:
            parsed = KiteKey.parse(result.kite_key, now=time.time() if now is None else now)
        except TokenError as exc:
            log.error("auth update: unable to extract kontrol key: %s", exc)
        else:
            if parsed.kontrol_key:
                public_key = parsed.kontrol_key
        if kite_key_path is not None:
            try:
                write_kite_key(result.kite_key, kite_key_path)
            except KiteError as exc:
                log.error("could not write the renewed kite key: %s", exc)
    if public_key and public_key != kite.config.kontrol_key:
        update_config(kite, kontrol_key=public_key)
        log.info("adopted a new Kontrol public key")
    return changed


# ------------------------------------------------------------------------------- HTTP


def go_json(value: Any) -> bytes:
    """`value` as Go's `json.Marshal` writes it (`dnode.go_json`), UTF-8 encoded."""
    return dnode.go_json(value).encode("utf-8")


def kontrol_path(kontrol_url: str, path: str) -> str:
    """Go's `getKontrolPath`: `<url>/<path>`, a trailing `/kite` replaced by `/<path>`."""
    if kontrol_url.endswith("/kite"):
        return kontrol_url[: -len("/kite")] + "/" + path
    return kontrol_url + "/" + path


def register_http_request(
    kontrol_url: str, kite_url: str, identity: Mapping[str, str], kite_key: str
) -> tuple[str, list[tuple[str, str]], bytes]:
    """The `POST /register` Go's `RegisterHTTP` sends: (url, headers, body)."""
    body = go_json(
        {"url": kite_url, "kite": dict(identity), "auth": {"type": "kiteKey", "key": kite_key}}
    )
    headers = [
        ("User-Agent", "Go-http-client/1.1"),
        ("Content-Length", str(len(body))),
        ("Content-Type", "application/json"),
        ("Accept-Encoding", "gzip"),
    ]
    return kontrol_path(kontrol_url, "register"), headers, body


def heartbeat_url(kontrol_url: str, kite_id: str) -> str:
    """`<kontrol>/heartbeat?id=<kite id>` (Go's query encoding)."""
    return kontrol_path(kontrol_url, "heartbeat") + "?" + urllib.parse.urlencode({"id": kite_id})


HEARTBEAT_HEADERS: tuple[tuple[str, str], ...] = (
    ("User-Agent", "Go-http-client/1.1"),
    ("Accept-Encoding", "gzip"),
)


def parse_register_http_answer(status: int, body: bytes) -> RegisterResult:
    """Read `/register`'s answer as Go's `RegisterHTTP` does.

    Raises:
        KontrolError: Kontrol's `err` text, `heartbeat interval cannot be zero`, or a
            malformed answer.
    """
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KontrolError(f"invalid register answer (HTTP {status}): {exc}") from None
    result = RegisterResult.from_json(value)
    if result.error:
        raise KontrolError(result.error)
    if status != 200:
        raise KontrolError(f"unexpected status code: {status}")
    if result.heartbeat_interval == 0:
        raise KontrolError("heartbeat interval cannot be zero")
    return result


class RegisterAgainError(Exception):
    """Kontrol answered a heartbeat with `registeragain`."""


def check_heartbeat_answer(status: int, body: bytes) -> None:
    """Go's heartbeat answer rule: at most 16 bytes, trimmed; `pong` ok.

    Raises:
        RegisterAgainError: `registeragain`.
        KontrolError: `unexpected status code: <n>` / `malformed heartbeat response: <body>`.
    """
    if status != 200:
        raise KontrolError(f"unexpected status code: {status}")
    text = body[:16].strip().decode("utf-8", "replace")
    if text == "pong":
        return
    if text == "registeragain":
        raise RegisterAgainError()
    raise KontrolError(f"malformed heartbeat response: {text}")


class _DefaultHTTP:
    """`HTTPRequester` on `kite._http.HTTPClient`; `aclose()` closes its pooled connections."""

    def __init__(self, client: Any, timeout: float) -> None:
        self._client = client
        self._timeout = timeout

    async def __call__(
        self, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> tuple[int, bytes]:
        try:
            response = await self._client.request(
                method, url, list(headers), body, timeout=self._timeout
            )
        except Exception as exc:  # the transport's own tree: report as ours
            raise KontrolError(f"{method} {url}: {exc}") from exc
        return int(response.status), bytes(response.body)

    async def aclose(self) -> None:
        await self._client.aclose()


def default_http_requester(timeout: float = 15.0) -> HTTPRequester:
    """An `HTTPRequester` on `kite._http.HTTPClient` (keep-alive, as Go's `Config.Client`);
    it has an `aclose()` the Kontrol client calls when it closes.

    Raises:
        KontrolError: the transport layer (`kite._http`) is not installed.
    """
    try:
        http_module: Any = importlib.import_module("kite._http")
    except ImportError:
        raise KontrolError(
            "no HTTP client available: pass http=... to the Kontrol client"
        ) from None
    return _DefaultHTTP(http_module.HTTPClient(), timeout)
