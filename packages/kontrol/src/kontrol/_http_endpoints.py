"""Kontrol's HTTP endpoints `/register` and `/heartbeat` as request → response functions.

How this works (docs/protocol.md §6.5): `register_http(kontrol, body)` and
`heartbeat_http(kontrol, query)` take what the HTTP server read and return an `HTTPAnswer`
(status, headers, body) with Go's exact bytes: the success body is JSON plus `\\n` with
`Content-Type: text/plain; charset=utf-8` (Go's sniffed type), errors are Go's `http.Error`
(`{"err":"<message>"}\\n`, plus `X-Content-Type-Options: nosniff`). Like Go, neither looks at
the HTTP method. `Kontrol` mounts them with `Kite.handle_http` (exact paths); any HTTP server
can: read the body / query string, call, write the answer.

Deliberate differences from Go: a body without `auth` is answered `400 unexpected
authentication type: ` and one without `kite` fails validation (`Empty Kite field: username`)
where Go's handler dereferences nil and drops the connection; JSON syntax errors name Python's
parser position instead of Go's `invalid character ...` text; an id held by another user's live
registration is refused with `401 kite id is registered by another user` (Go lets it through).
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dnode
import kite
from dnode import go_json
from kite.protocol import Auth, KiteIdentity, go_json_kind

from ._errors import InvalidKiteError, KiteIdTakenError, KontrolError
from ._methods import check_registration, resolve_key_pair

if TYPE_CHECKING:
    from ._service import KontrolService

__all__ = ["HTTPAnswer", "go_json", "heartbeat_http", "register_http"]

log = logging.getLogger("kontrol")

TEXT_PLAIN = ("Content-Type", "text/plain; charset=utf-8")
NOSNIFF = ("X-Content-Type-Options", "nosniff")

_REGISTER_ARGS = dnode.GoFields("url", "kite", "auth")  # Go's `protocol.RegisterArgs`


@dataclass(frozen=True, slots=True)
class HTTPAnswer:
    """An HTTP response: status, headers (in order) and body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def _http_error(status: int, message: str) -> HTTPAnswer:
    """Go's `http.Error(rw, jsonError(err), status)`."""
    body = go_json({"err": message}) + "\n"
    return HTTPAnswer(status, (TEXT_PLAIN, NOSNIFF), body.encode("utf-8"))


def _decode_register_body(body: bytes) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
    """Go's `json.NewDecoder(body).Decode(&protocol.RegisterArgs)`: (url, kite, auth).

    Raises:
        ValueError: the Go-like decode error text.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("invalid UTF-8 in request body") from None
    text = text.lstrip(" \t\r\n")
    if not text:
        raise ValueError("EOF")
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} at offset {exc.pos}") from None
    if value is None:
        return "", None, None
    if not isinstance(value, dict):
        raise ValueError(
            f"json: cannot unmarshal {go_json_kind(value)}"
            " into Go value of type protocol.RegisterArgs"
        )
    fields: dict[str, Any] = {}
    for key, item in value.items():
        name = _REGISTER_ARGS.match(key)
        if name is not None:
            fields[name] = item
    url = fields.get("url")
    if url is not None and not isinstance(url, str):
        raise ValueError(
            f"json: cannot unmarshal {go_json_kind(url)} into Go struct field RegisterArgs.url"
            " of type string"
        )
    for name, go_type in (("kite", "protocol.Kite"), ("auth", "protocol.Auth")):
        item = fields.get(name)
        if item is not None and not isinstance(item, dict):
            raise ValueError(
                f"json: cannot unmarshal {go_json_kind(item)} into Go struct field "
                f"RegisterArgs.{name} of type {go_type}"
            )
    return url or "", fields.get("kite"), fields.get("auth")


def _string_fields(obj: dict[str, Any], names: tuple[str, ...], go_type: str) -> dict[str, str]:
    out: dict[str, str] = {}
    fields = dnode.GoFields(*names)
    for key, value in obj.items():
        name = fields.match(key)
        if name is None or value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(
                f"json: cannot unmarshal {go_json_kind(value)} into Go struct field "
                f"{go_type}.{key} of type string"
            )
        out[name] = value
    return out


async def register_http(kontrol: KontrolService, body: bytes) -> HTTPAnswer:
    """`/register`: register a kite over HTTP (Go's `HandleRegisterHTTP`)."""
    try:
        kontrol.require_running()
    except KontrolError as exc:
        return _http_error(503, exc.message)
    try:
        url, kite_obj, auth_obj = _decode_register_body(body)
        auth_fields = _string_fields(auth_obj or {}, ("type", "key"), "protocol.Auth")
        kite_fields = _string_fields(
            kite_obj or {},
            ("name", "username", "id", "environment", "region", "version", "hostname"),
            "protocol.Kite",
        )
    except ValueError as exc:
        return _http_error(400, f"wrong register input: '{exc}'")
    auth_type = auth_fields.get("type", "")
    if auth_type != "kiteKey":
        return _http_error(400, f"unexpected authentication type: {auth_type}")
    if not url:
        return _http_error(400, "empty URL")
    raw_key = auth_fields.get("key", "")
    try:
        username = await kontrol.authenticators.authenticate(
            Auth("kiteKey", raw_key),
            local=kontrol.identity,
            config=kontrol.config,
            now=kontrol.clock(),
        )
    except kite.AuthenticationError as exc:
        return _http_error(401, exc.message.removeprefix("kiteKey: "))
    identity = KiteIdentity(**{**kite_fields, "username": username})
    try:
        claims = kite.KiteKey.parse(raw_key, now=kontrol.clock()).claims
    except kite.TokenError as exc:
        return _http_error(400, exc.message)
    try:
        pair, kite_key = await resolve_key_pair(kontrol, raw_key, claims)
    except KontrolError as exc:
        return _http_error(400, exc.message)
    result: dict[str, Any] = {
        "url": url,
        "heartbeatInterval": int(kontrol.options.heartbeat_interval),
    }
    if claims.kontrol_key != pair.public:
        result["publicKey"] = pair.public
    if kite_key:
        result["kiteKey"] = kite_key
    if len(url) > kontrol.options.max_url_length:
        return _http_error(400, f"invalid register URL: too long ({len(url)} characters)")
    try:
        check_registration(identity, max_field_length=kontrol.options.max_field_length)
    except InvalidKiteError as exc:
        return _http_error(400, exc.message)
    try:
        await kontrol.registrations.register_http_kite(identity, url, pair.id)
    except KiteIdTakenError as exc:
        log.warning("kontrol: %s refused (via HTTP): %s", identity, exc.message)
        return _http_error(401, exc.message)
    except InvalidKiteError as exc:
        return _http_error(400, exc.message)
    except KontrolError as exc:
        log.error("kontrol: storage add %s error: %s", identity, exc.message)
        return _http_error(500, "internal error - register")
    log.info("kontrol: kite registered (via HTTP): %s", identity)
    return HTTPAnswer(200, (TEXT_PLAIN,), (go_json(result) + "\n").encode("utf-8"))


def heartbeat_http(kontrol: KontrolService, query: str) -> HTTPAnswer:
    """`/heartbeat?id=<kite id>`: `pong` when tracked, `registeragain` when not."""
    values = urllib.parse.parse_qs(query, keep_blank_values=True).get("id", [""])
    kite_id = values[0]
    if not kite_id:
        return HTTPAnswer(400, (TEXT_PLAIN, NOSNIFF), b"query id is empty\n")
    if kontrol.registrations.http_heartbeat(kite_id):
        return HTTPAnswer(200, (TEXT_PLAIN,), b"pong")
    return HTTPAnswer(200, (TEXT_PLAIN,), b"registeragain")
