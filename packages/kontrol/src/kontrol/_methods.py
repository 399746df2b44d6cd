"""Kontrol's kite methods: `register`, `registerMachine`, `getKites`, `getToken`, `getKey`,
`cancelWatcher` (watches: `_watch`).

How this works (docs/protocol.md §6.2): each handler takes the `Kontrol` and the `kite.Request`,
checks its arguments with Go's texts, works on the storage and key pairs, and returns Go's
result shape (dict key order = Go's JSON order). Failures raise `KontrolError` (sent as
`genericError` with Go's message) or, for a wrong argument count, `dnode.ArgumentError`
(`argumentError`, Go's panic in `Args.One()`).

`register` follows Go step by step, then starts liveness tracking and calls `kite.heartbeat`
on the caller *before* answering: the call is started in a task that signals readiness just
before sending, so its message takes the connection's FIFO send lock ahead of our response,
and its answer is not awaited (Go's `GoWithTimeout`). Deliberate differences from Go: too long
identity fields or URLs are refused (`KontrolOptions` limits) and a registration the storage
refuses (e.g. a non-UUID id on PostgreSQL, which Go silently loses) gets the storage's error;
nothing is stored in either case; an id held by another user's live registration is refused
with `authenticationError` (Go lets anyone take an id over).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import json
import logging
import re
from typing import TYPE_CHECKING, Any, TypeVar

import trio

import dnode
import kite
from kite import Request
from kite.protocol import STRING_ORDER, KiteIdentity

from ._errors import InvalidKiteError, KiteIdTakenError, KontrolError
from ._model import KeyPair, validate_kite
from ._query import KontrolQuery
from ._watch import TokenFor, watch_callback

if TYPE_CHECKING:
    from ._service import KontrolService

__all__ = [
    "check_register_url",
    "check_registration",
    "register_methods",
    "resolve_key_pair",
]

log = logging.getLogger("kontrol")

T = TypeVar("T")

NO_VALID_KEY = "no valid authentication key found"

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})(.{0,2})", re.DOTALL)


@dataclasses.dataclass(slots=True)
class RegisterArgs:
    """`register` arguments: only `url` is read (Go's anonymous struct)."""

    url: str = ""


@dataclasses.dataclass(slots=True)
class GetKitesArgs:
    """Go's `protocol.GetKitesArgs`; `who` is ignored, a watch function is read by `_watch`."""

    query: dict[str, Any] | None = None


@dataclasses.dataclass(slots=True)
class GetTokenArgs:
    """Go's `protocol.GetTokenArgs`: the query keys plus `force`."""

    username: str = ""
    environment: str = ""
    name: str = ""
    version: str = ""
    region: str = ""
    hostname: str = ""
    id: str = ""
    force: bool = False


@dataclasses.dataclass(slots=True)
class MachineArgs:
    """`registerMachine` arguments (Go's `struct { AuthType string }`)."""

    auth_type: str = dataclasses.field(default="", metadata={"dnode": "AuthType"})


def _decode(args: dnode.Partial, cls: type[T], go_name: str, prefix: str = "") -> T:
    """`r.Args.One().Unmarshal(&v)`: a wrong count is Go's panic (`argumentError`), a value
    of the wrong shape the handler's error (`genericError`), named with Go's type name."""
    one = args.one()
    try:
        return one.unmarshal(cls)
    except dnode.ArgumentError as exc:
        text = str(exc).replace(f"type {cls.__name__}", f"type {go_name}")
        raise KontrolError(prefix + text) from None


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def check_register_url(url: str, *, max_length: int) -> None:
    """Go's `url.Parse` refusals that matter (control characters, bad escapes), plus our
    length limit.

    Raises:
        KontrolError: `empty url`, `invalid register URL: ...`.
    """
    if not url:
        raise KontrolError("empty url")
    if len(url) > max_length:
        raise KontrolError(
            f"invalid register URL: too long ({len(url)} characters, limit {max_length})"
        )
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise KontrolError(
            f"invalid register URL: parse {_go_quote(url)}: net/url: invalid control character"
            " in URL"
        )
    bad = _BAD_ESCAPE.search(url.partition("#")[0])
    if bad is not None:
        raise KontrolError(
            f"invalid register URL: parse {_go_quote(url)}: invalid URL escape "
            f"{_go_quote('%' + bad.group(1))}"
        )


def check_registration(identity: KiteIdentity, *, max_field_length: int) -> None:
    """Go's `validateKiteKey` (`Empty Kite field: <f>`, `Field "<f>" must not contain '/'`)
    plus our length limit (`Field "<f>" is too long (<n> characters, limit <m>)`).

    Raises:
        InvalidKiteError: the identity cannot be registered.
    """
    validate_kite(identity)
    for field in STRING_ORDER:
        value: str = getattr(identity, field)
        if len(value) > max_field_length:
            raise InvalidKiteError(
                f'Field "{field}" is too long ({len(value)} characters, limit {max_field_length})'
            )


async def resolve_key_pair(
    kontrol: KontrolService, raw_key: str, claims: kite.KiteClaims
) -> tuple[KeyPair, str]:
    """Go's `getOrUpdateKeyPub`: the pair a kite key was signed with, and a re-signed kite
    key (or "") when that pair was deleted.

    Raises:
        KontrolError: `no valid authentication key found` (unknown key, Go's default picker).
    """
    pair, deleted = await kontrol.keys.by_public(claims.kontrol_key)
    if pair is not None:
        return pair, ""
    if not deleted:
        raise KontrolError(NO_VALID_KEY)
    current = await kontrol.current_key_pair()
    resigned = kite.resign_kite_key(claims, private_key=current.private, public_key=current.public)
    return current, resigned


async def pair_for_registration(kontrol: KontrolService, key_id: str) -> KeyPair:
    """Go's `getOrUpdateKeyID`: the pair a registration names, the current one if deleted."""
    pair, deleted = await kontrol.keys.by_id(key_id)
    if pair is not None:
        return pair
    if deleted:
        return await kontrol.current_key_pair()
    raise KontrolError(NO_VALID_KEY)


def _parse_kite_key(kontrol: KontrolService, raw: str) -> kite.KiteClaims:
    try:
        return kite.KiteKey.parse(raw, now=kontrol.clock()).claims
    except kite.TokenError as exc:
        raise KontrolError(exc.message) from None


def _require_kite_key(request: Request) -> str:
    auth = request.auth
    if auth is None or auth.type != "kiteKey":
        raise KontrolError(f"Unexpected authentication type: {auth.type if auth else ''}")
    return auth.key


async def handle_register(kontrol: KontrolService, request: Request) -> dict[str, Any]:
    """`register`: register the calling kite at `url` (docs/protocol.md §6.2)."""
    nursery = kontrol.require_running()
    raw_key = _require_kite_key(request)
    args = _decode(request.args, RegisterArgs, 'struct { URL string "json:\\"url\\"" }')
    url = args.url
    check_register_url(url, max_length=kontrol.options.max_url_length)
    claims = _parse_kite_key(kontrol, raw_key)
    pair, kite_key = await resolve_key_pair(kontrol, raw_key, claims)
    result: dict[str, Any] = {"url": url, "heartbeatInterval": 0}
    if claims.kontrol_key != pair.public:
        result["publicKey"] = pair.public
    if kite_key:
        result["kiteKey"] = kite_key
    peer = request.client
    identity = peer.kite
    check_registration(identity, max_field_length=kontrol.options.max_field_length)
    try:
        tracker = await kontrol.registrations.register_connection(peer, identity, url, pair.id)
    except KiteIdTakenError as exc:
        log.warning("kontrol: %s refused: %s", identity, exc.message)
        raise kite.AuthenticationError(exc.message) from None
    except InvalidKiteError:
        raise
    except KontrolError as exc:
        log.error("kontrol: storage add %s error: %s", identity, exc.message)
        raise KontrolError("internal error - register") from None
    if tracker is None:  # the connection ended: no answer can be sent, nothing is stored
        raise KontrolError("internal error - register")
    ping = kontrol.registrations.heartbeat_callback(peer, tracker, identity, url, pair.id)
    await nursery.start(_request_heartbeats, kontrol, peer, ping)
    log.info("kontrol: kite registered: %s", identity)
    return result


async def _request_heartbeats(
    kontrol: KontrolService,
    peer: kite.Peer,
    ping: Any,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Call `kite.heartbeat [seconds, ping]` on a registering kite; see module doc."""
    task_status.started()
    try:
        await peer.tell(
            "kite.heartbeat",
            int(kontrol.options.heartbeat_interval),
            ping,
            timeout=kontrol.options.heartbeat_call_timeout,
        )
    except kite.KiteError as exc:
        log.warning("kontrol: failed requesting heartbeats from %s: %s", peer.kite, exc)


async def handle_register_machine(kontrol: KontrolService, request: Request) -> str:
    """`registerMachine`: a kite key for the caller's self-declared user (no authentication),
    only when `machine_authenticate` is set."""
    args = _decode(request.args, MachineArgs, "struct { AuthType string }")
    check = kontrol.machine_authenticate
    if check is None:
        raise KontrolError(NO_VALID_KEY)
    try:
        outcome = check(args.auth_type, request)
        if inspect.isawaitable(outcome):
            await outcome
    except Exception as exc:  # noqa: BLE001 - any refusal is reported with Go's prefix
        text = exc.message if isinstance(exc, KontrolError | kite.KiteError) else str(exc)
        raise KontrolError(f"cannot authenticate user: {text}") from None
    return await kontrol.issue_kite_key(request.username)


def _token_for(kontrol: KontrolService, request: Request, query: KontrolQuery) -> TokenFor:
    """`token_for(key_id)`: the caller's token for kites registered with that key pair."""
    audience = query.audience()
    pairs: dict[str, KeyPair] = {}

    async def token_for(key_id: str) -> str:
        pair = pairs.get(key_id)
        if pair is None:
            pair = pairs[key_id] = await pair_for_registration(kontrol, key_id)
        return kontrol.generate_token(audience, request.username, pair, force=False)

    return token_for


async def handle_get_kites(kontrol: KontrolService, request: Request) -> dict[str, Any]:
    """`getKites`: live kites matching the query, each with a token for the caller; with a
    watch function, also a `watcherID` and the changes to come (`_watch`)."""
    args = _decode(request.args, GetKitesArgs, "protocol.GetKitesArgs")
    query = KontrolQuery.from_json(args.query)
    callback = watch_callback(request)
    token_for = _token_for(kontrol, request, query)
    with contextlib.ExitStack() as stack:
        if callback is not None:
            changes = stack.enter_context(kontrol.watchers.subscribe())
        records = await kontrol.storage.get(query)
        kites = []
        for record in records:
            entry = record.to_json()
            entry["token"] = await token_for(record.key_id)
            kites.append(entry)
        if callback is None:
            return {"kites": kites}
        watcher_id = kontrol.watchers.start(
            request, query, token_for, callback, changes, stack.pop_all()
        )
        return {"kites": kites, "watcherID": watcher_id}
    raise AssertionError("unreachable")  # pragma: no cover


async def handle_get_token(kontrol: KontrolService, request: Request) -> str:
    """`getToken`: a token for exactly one kite (`force` signs a fresh one)."""
    args = _decode(request.args, GetTokenArgs, "protocol.GetTokenArgs", prefix="invalid query: ")
    query = KontrolQuery(
        args.username,
        args.environment,
        args.name,
        args.version,
        args.region,
        args.hostname,
        args.id,
    )
    records = await kontrol.storage.get(query)
    if len(records) > 1:
        raise KontrolError("query matches more than one kite")
    if not records:
        raise KontrolError("no kites found")
    pair = await pair_for_registration(kontrol, records[0].key_id)
    return kontrol.generate_token(query.audience(), request.username, pair, force=args.force)


async def handle_get_key(kontrol: KontrolService, request: Request) -> str:
    """`getKey`: the Kontrol public key the caller should trust."""
    raw_key = _require_kite_key(request)
    claims = _parse_kite_key(kontrol, raw_key)
    if not claims.kontrol_key:
        raise KontrolError("public key is not passed")
    pair, deleted = await kontrol.keys.by_public(claims.kontrol_key)
    if pair is not None:
        return claims.kontrol_key
    if deleted:
        return (await kontrol.current_key_pair()).public
    raise KontrolError(NO_VALID_KEY)


async def handle_cancel_watcher(kontrol: KontrolService, request: Request) -> None:
    """`cancelWatcher [watcherID]`: end a watch (`_watch`); `Watcher not found` if none."""
    kontrol.watchers.cancel(request.args.one().string())


def register_methods(kontrol: KontrolService) -> None:
    """Register Kontrol's methods on it (Go's `kontrol.New`)."""
    kontrol.handle_func("register", functools.partial(handle_register, kontrol), auth=True)
    kontrol.handle_func(
        "registerMachine", functools.partial(handle_register_machine, kontrol), auth=False
    )
    kontrol.handle_func("getKites", functools.partial(handle_get_kites, kontrol), auth=True)
    kontrol.handle_func("getToken", functools.partial(handle_get_token, kontrol), auth=True)
    kontrol.handle_func("getKey", functools.partial(handle_get_key, kontrol), auth=True)
    kontrol.handle_func(
        "cancelWatcher", functools.partial(handle_cancel_watcher, kontrol), auth=True
    )
