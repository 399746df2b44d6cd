"""Callee-side authentication: the `kiteKey` and `token` authenticators and their registry.

How this works (docs/protocol.md §4.4, §5.5, §5.6). The runtime hands `Authenticators.authenticate`
the request's `authentication` (an `Auth` or None), the local kite's identity, the current
`Config` and the time. It answers the authenticated username or raises `kite.AuthenticationError`
with exactly the message Go puts on the wire:

* no credentials → `No authentication information is provided`;
* a type nobody registered → `Unknown authentication type: <type>`;
* an authenticator refusal → `<type>: <reason>`, the reason being Go's text.

An authenticator is any callable `(AuthContext) -> str` (or an awaitable of it, for checks that
need I/O) that raises `AuthenticationError(reason)` to refuse; any other exception escapes, as a
panic does in Go (the runtime reports it as `genericError`). Built in:

`KiteKeyAuthenticator` (type `kiteKey`): the presented kite key must carry a `kontrolKey`
(`no kontrol key found`) that parses; the trust verdict for that exact PEM text comes from the
`TrustCache` (cached refusal → `invalid kontrol key found`) or from the verify function (default:
equal to `Config.kontrol_key`, else `kontrol key is not trusted`, the only refusal cached); then
time claims and signature as jwt-go (`crypto/rsa: verification error` -- any algorithm, Go does
not check it here), then a non-empty `sub` (`token has no username`). Issuer and audience are
not checked (Go quirk).

`TokenAuthenticator` (type `token`): the kite must know a Kontrol key (else Go panics: we raise
`GenericError("kontrol key is not set in config")`); RS256/384/512 only (`invalid signing
method`); `iss` must equal `Config.kontrol_user` (`issuer is not trusted: <iss>`); any signature
failure is reported as `token is expired` (deliberately, so Go clients renew after a key
rotation), other failures verbatim (`token is expired by 1h0m0s`, `Token used before issued`,
...); then `aud` (`token has no audience`), `sub` (`token has no username`) and the audience
check: `/` admits everything, otherwise username must equal and environment/name must equal
unless empty in the audience.

A key longer than `Authenticators.max_key_size` (16 KiB by default; Go kite keys are ~1.2 KB) is
refused before any parsing with `<type>: key is too large (<n> bytes, limit <m>)`.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import rsa

from .._config import Config
from .._errors import AuthenticationError, GenericError, KiteError
from ..protocol import Auth, InvalidKiteStringError, KiteIdentity
from ._keys import KeyFormatError, parse_public_key
from ._token_errors import TokenError, ValidationFlag
from ._tokens import (
    RSA_ALGORITHMS,
    ParsedToken,
    check_parsed,
    parse_unverified,
)
from ._trust_cache import TrustCache

__all__ = [
    "DEFAULT_MAX_KEY_SIZE",
    "AuthContext",
    "Authenticator",
    "Authenticators",
    "KeyNotTrustedError",
    "KiteKeyAuthenticator",
    "TokenAuthenticator",
    "is_token_expiry",
    "verify_audience",
]

#: Default limit on the length of a presented key (characters).
DEFAULT_MAX_KEY_SIZE = 16 * 1024


@dataclass(frozen=True, slots=True)
class AuthContext:
    """What an authenticator gets: the credentials and the local kite's view of the world.

    Attributes:
        auth_type: `authentication.type` of the request.
        key: `authentication.key` of the request.
        local: the local kite's identity (audience checks compare against it).
        config: the local kite's current configuration (trusted Kontrol key and user).
        now: current time, UTC seconds.
    """

    auth_type: str
    key: str
    local: KiteIdentity
    config: Config
    now: float


class Authenticator(Protocol):
    """Checks credentials of one type; returns the username or raises `AuthenticationError`."""

    def __call__(self, ctx: AuthContext, /) -> str | Awaitable[str]: ...


class KeyNotTrustedError(AuthenticationError):
    """Go's `ErrKeyNotTrusted`: raise it from a verify function to get a *cached* refusal."""

    def __init__(self, message: str = "kontrol key is not trusted") -> None:
        super().__init__(message)


#: A trust decision for a presented Kontrol public key (its PEM text): return to trust, raise
#: `KeyNotTrustedError` (cached) or another `AuthenticationError` (not cached) to refuse.
VerifyFunc = Callable[[str, AuthContext], Awaitable[None] | None]


def _refuse(reason: str) -> AuthenticationError:
    return AuthenticationError(reason)


def _default_verify(pem: str, ctx: AuthContext) -> None:
    """Go's `selfVerify`: trust only the exact text of the configured Kontrol key."""
    if pem != ctx.config.kontrol_key:
        raise KeyNotTrustedError()


class KiteKeyAuthenticator:
    """The `kiteKey` authenticator (Go's `AuthenticateFromKiteKey` with `Kite.verify`)."""

    def __init__(
        self, *, verify: VerifyFunc | None = None, cache: TrustCache | None = None
    ) -> None:
        """Args:
        verify: trust decision for unknown keys (default: equality with `kontrol_key`).
        cache: verdict cache (default: a fresh bounded `TrustCache`).
        """
        self.verify: VerifyFunc = verify if verify is not None else _default_verify
        self.cache = cache if cache is not None else TrustCache()

    def __call__(self, ctx: AuthContext, /) -> str | Awaitable[str]:
        """Authenticate a kite key; awaitable only if the verify function is asynchronous."""
        try:
            token = parse_unverified(ctx.key)
        except TokenError as exc:
            raise _refuse(exc.message) from None
        pem = token.claims.kontrol_key
        if not pem:
            raise _refuse("no kontrol key found")
        try:
            key = parse_public_key(pem)
        except KeyFormatError as exc:
            raise _refuse(str(exc)) from None
        ttl = ctx.config.effective_verify_ttl
        if ttl is not None:
            verdict = self.cache.get(pem, ctx.now)
            if verdict is False:
                raise _refuse("invalid kontrol key found")
            if verdict is True:
                return self._finish(token, key, ctx)
        try:
            outcome = self.verify(pem, ctx)
        except KeyNotTrustedError:
            self._remember(pem, False, ctx, ttl)
            raise
        if inspect.isawaitable(outcome):
            return self._finish_after(outcome, token, key, ctx, ttl)
        self._remember(pem, True, ctx, ttl)
        return self._finish(token, key, ctx)

    async def _finish_after(
        self,
        outcome: Awaitable[None],
        token: ParsedToken,
        key: rsa.RSAPublicKey,
        ctx: AuthContext,
        ttl: float | None,
    ) -> str:
        pem = token.claims.kontrol_key
        try:
            await outcome
        except KeyNotTrustedError:
            self._remember(pem, False, ctx, ttl)
            raise
        self._remember(pem, True, ctx, ttl)
        return self._finish(token, key, ctx)

    def _remember(self, pem: str, trusted: bool, ctx: AuthContext, ttl: float | None) -> None:
        if ttl is not None:
            self.cache.set(pem, trusted, ctx.now, ttl)

    @staticmethod
    def _finish(token: ParsedToken, key: rsa.RSAPublicKey, ctx: AuthContext) -> str:
        try:
            claims = check_parsed(token, key, now=ctx.now)
        except TokenError as exc:
            raise _refuse(exc.message) from None
        if not claims.sub:
            raise _refuse("token has no username")
        return claims.sub


def verify_audience(local: KiteIdentity, audience: str) -> None:
    """Go's default audience check of a token against the local kite (docs/protocol.md §5.6).

    Raises:
        AuthenticationError: with Go's reason, quoting the *audience's* field.
    """
    if audience == "/":
        return  # the root audience is the superuser
    if audience == "":
        raise _refuse("invalid empty audience")
    try:
        aud = KiteIdentity.from_string(audience)
    except InvalidKiteStringError as exc:
        raise _refuse(f"invalid audience: {exc} ({audience})") from None
    if local.username != aud.username:
        raise _refuse(f"audience: username {_go_q(aud.username)} not allowed ({audience})")
    if aud.environment and local.environment != aud.environment:
        raise _refuse(f"audience: environment {_go_q(aud.environment)} not allowed ({audience})")
    if aud.name and local.name != aud.name:
        raise _refuse(f"audience: kite {_go_q(aud.name)} not allowed ({audience})")


def _go_q(text: str) -> str:
    """Go's `%q` for ordinary text (printable characters kept, `"` and `\\` escaped)."""
    escaped = []
    for ch in text:
        if ch in '"\\':
            escaped.append("\\" + ch)
        elif ch.isprintable():
            escaped.append(ch)
        elif ord(ch) < 0x80:
            escaped.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            escaped.append(f"\\u{ord(ch):04x}")
        else:
            escaped.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(escaped) + '"'


class TokenAuthenticator:
    """The `token` authenticator (Go's `AuthenticateFromToken` with `Kite.RSAKey`)."""

    def __init__(
        self, *, verify_audience: Callable[[KiteIdentity, str], None] | None = None
    ) -> None:
        """Args:
        verify_audience: replaces the default audience check (Go's `VerifyAudienceFunc`);
            raise `AuthenticationError(reason)` to refuse.
        """
        self.verify_audience = verify_audience if verify_audience is not None else _default_aud

    def __call__(self, ctx: AuthContext, /) -> str:
        """Authenticate a Kontrol-issued token."""
        try:
            token = parse_unverified(ctx.key)
        except TokenError as exc:
            raise _refuse(exc.message) from None
        try:
            key = parse_public_key(ctx.config.kontrol_key)
        except KeyFormatError:
            # Go panics here; the request's recovery turns it into a genericError.
            raise GenericError("kontrol key is not set in config") from None
        if token.alg not in RSA_ALGORITHMS:
            raise _refuse("invalid signing method")
        if token.claims.iss != ctx.config.kontrol_user:
            raise _refuse(f"issuer is not trusted: {token.claims.iss}")
        try:
            claims = check_parsed(token, key, now=ctx.now)
        except TokenError as exc:
            if exc.flags & ValidationFlag.SIGNATURE_INVALID:
                raise _refuse("token is expired") from None
            raise _refuse(exc.message) from None
        if not claims.aud:
            raise _refuse("token has no audience")
        if not claims.sub:
            raise _refuse("token has no username")
        self.verify_audience(ctx.local, claims.aud)
        return claims.sub


_default_aud = verify_audience


class Authenticators:
    """The authenticators of one kite, keyed by `authentication.type` (Go's
    `Kite.Authenticators`), with `kiteKey` and `token` registered by default."""

    def __init__(
        self,
        *,
        kite_key: Authenticator | None = None,
        token: Authenticator | None = None,
        max_key_size: int = DEFAULT_MAX_KEY_SIZE,
    ) -> None:
        """Args:
        kite_key: the `kiteKey` authenticator (default `KiteKeyAuthenticator()`).
        token: the `token` authenticator (default `TokenAuthenticator()`).
        max_key_size: longest key accepted, in characters.
        """
        self.max_key_size = max_key_size
        self._by_type: dict[str, Authenticator] = {
            "kiteKey": kite_key if kite_key is not None else KiteKeyAuthenticator(),
            "token": token if token is not None else TokenAuthenticator(),
        }

    def register(self, auth_type: str, authenticator: Authenticator) -> None:
        """Add or replace the authenticator for `auth_type` (e.g. `sessionID`)."""
        self._by_type[auth_type] = authenticator

    def unregister(self, auth_type: str) -> None:
        """Remove the authenticator for `auth_type`; requests using it then fail as unknown."""
        self._by_type.pop(auth_type, None)

    def get(self, auth_type: str) -> Authenticator | None:
        """The authenticator registered for `auth_type`, if any."""
        return self._by_type.get(auth_type)

    def __contains__(self, auth_type: object) -> bool:
        return auth_type in self._by_type

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_type)

    def _start(
        self, auth: Auth | None, local: KiteIdentity, config: Config, now: float | None
    ) -> tuple[str, str | Awaitable[str]]:
        if auth is None:
            raise AuthenticationError("No authentication information is provided")
        authenticator = self._by_type.get(auth.type)
        if authenticator is None:
            raise AuthenticationError(f"Unknown authentication type: {auth.type}")
        if len(auth.key) > self.max_key_size:
            raise AuthenticationError(
                f"{auth.type}: key is too large ({len(auth.key)} bytes, limit {self.max_key_size})"
            )
        ctx = AuthContext(
            auth_type=auth.type,
            key=auth.key,
            local=local,
            config=config,
            now=time.time() if now is None else now,
        )
        try:
            return auth.type, authenticator(ctx)
        except AuthenticationError as exc:
            raise _wrapped(auth.type, exc) from None

    def authenticate_sync(
        self,
        auth: Auth | None,
        *,
        local: KiteIdentity,
        config: Config,
        now: float | None = None,
    ) -> str:
        """Authenticate with synchronous authenticators only; see `authenticate`.

        Raises:
            AuthenticationError: Go's wire message (`<type>: <reason>` etc.).
            TypeError: an authenticator needed to await something.
        """
        _, result = self._start(auth, local, config, now)
        if not isinstance(result, str):
            if inspect.iscoroutine(result):
                result.close()
            raise TypeError("an authenticator is asynchronous: use `await authenticate(...)`")
        return result

    async def authenticate(
        self,
        auth: Auth | None,
        *,
        local: KiteIdentity,
        config: Config,
        now: float | None = None,
    ) -> str:
        """Authenticate a request's credentials; returns the username (JWT `sub`).

        Args:
            auth: the request's `authentication` (None when it was `null`).
            local: the local kite's identity.
            config: the local kite's current configuration.
            now: UTC seconds (default: the current time).

        Raises:
            AuthenticationError: with exactly Go's wire message.
        """
        auth_type, result = self._start(auth, local, config, now)
        if isinstance(result, str):
            return result
        try:
            return await result
        except AuthenticationError as exc:
            raise _wrapped(auth_type, exc) from None


def _wrapped(auth_type: str, exc: AuthenticationError) -> AuthenticationError:
    """Go's failure wrapping: `<type>: <authenticator error>`."""
    return AuthenticationError(f"{auth_type}: {exc.message}", code=exc.code)


def is_token_expiry(error: KiteError) -> bool:
    """Go's client rule for `OnTokenExpire`: an `authenticationError` whose message contains
    `token is expired` (the token renewer then fetches a new token at once)."""
    return error.type == "authenticationError" and "token is expired" in error.message
