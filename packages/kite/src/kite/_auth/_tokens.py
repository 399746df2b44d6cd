"""JWTs exactly as Go kite reads them: dgrijalva/jwt-go v3.2.0 semantics.

How this works. Reading (`parse_token`) follows jwt-go's `ParseWithClaims` step by step, because
Go kite's error texts -- which go on the wire after `<type>: ` -- depend on which step fails first:

1. `parse_unverified`: split into exactly three segments (`token contains an invalid number of
   segments`); base64url-decode the header the way Go's decoder does (padding added, `\\r`/`\\n`
   skipped, `illegal base64 data at input byte N`); JSON-decode it; base64url-decode and
   JSON-decode the claims into `KiteClaims` with Go's `encoding/json` rules (keys matched
   case-insensitively, `aud` must be a string -- an array gives `json: cannot unmarshal array
   into Go struct field KiteClaims.aud of type string` -- times must be integers); look up `alg`
   among the methods jwt-go registers (`signing method (alg) is unavailable.` /
   `... is unspecified.`).
2. The caller's *key function* picks the verification key; its error ends parsing (flag
   `UNVERIFIABLE`). The authenticators in `_authenticators.py` put their policy here (trusted
   Kontrol key, issuer, RSA-only), as Go does.
3. Time claims are validated at the injected `now` (UTC seconds, no leeway): `token is expired by
   <Go duration>`, `Token used before issued`, `token is not valid yet` (the last failing check
   names the error; missing claims pass).
4. The signature is verified with the method named by `alg` (RS*, PS*, HS*, ES*, none); a
   failure *replaces* the message and adds flag `SIGNATURE_INVALID`: `crypto/rsa: verification
   error`, `key is of invalid type` (HMAC/ECDSA with an RSA key), `'none' signature type is not
   allowed`.

`TokenError` carries the combined flags and Go's text. Go's JSON syntax-error texts are
approximated (`invalid character 'x' looking for beginning of value`, `unexpected EOF`...).

Writing is `_issue`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from .._duration import SECOND, format_duration
from ._base64url import b64url_decode
from ._claims import KiteClaims
from ._go_json import JSONNumber, JSONObject, decode_json, json_kind
from ._token_errors import TokenError, ValidationFlag

__all__ = [
    "DEFAULT_TOKEN_LEEWAY",
    "DEFAULT_TOKEN_TTL",
    "KNOWN_ALGORITHMS",
    "PYJWT_RSA",
    "RENEW_BEFORE",
    "RENEW_RETRY_INTERVAL",
    "RSA_ALGORITHMS",
    "KeyFunc",
    "ParsedToken",
    "check_parsed",
    "parse_token",
    "parse_unverified",
    "renewal_time",
]

#: Kontrol's `TokenTTL` (48 h) and `TokenLeeway` (5 min), in seconds (docs/protocol.md §6.1).
DEFAULT_TOKEN_TTL = 48 * 3600.0
DEFAULT_TOKEN_LEEWAY = 5 * 60.0
#: Go's token renewer asks for a new token this many seconds before `exp` (§5.8).
RENEW_BEFORE = 30.0
#: ... and retries a failed renewal after this many seconds (plus a 1 s pause).
RENEW_RETRY_INTERVAL = 10.0

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


# --------------------------------------------------------------------------- parsing

_RSA_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "RS256": hashes.SHA256,
    "RS384": hashes.SHA384,
    "RS512": hashes.SHA512,
}
_PSS_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "PS256": hashes.SHA256,
    "PS384": hashes.SHA384,
    "PS512": hashes.SHA512,
}
#: PyJWT's RSASSA-PKCS1-v1_5 signers and verifiers by `alg`.
PYJWT_RSA = {
    "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
    "RS384": RSAAlgorithm(RSAAlgorithm.SHA384),
    "RS512": RSAAlgorithm(RSAAlgorithm.SHA512),
}
#: Every method jwt-go v3.2.0 registers; any other `alg` is "unavailable".
KNOWN_ALGORITHMS = frozenset(
    {*_RSA_HASHES, *_PSS_HASHES, "HS256", "HS384", "HS512", "ES256", "ES384", "ES512", "none"}
)
RSA_ALGORITHMS = frozenset(_RSA_HASHES)


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """A JWT split and decoded but not yet verified (jwt-go's `ParseUnverified` result)."""

    raw: str
    header: dict[str, Any] | None
    alg: str
    claims: KiteClaims
    signing_input: str = field(repr=False)
    signature: str = field(repr=False)


def parse_unverified(raw: str) -> ParsedToken:
    """Split and decode a JWT without checking it (jwt-go's `ParseUnverified`).

    Raises:
        TokenError: `MALFORMED` or `UNVERIFIABLE`, with jwt-go's text.
    """
    parts = raw.split(".")
    if len(parts) != 3:
        raise TokenError("token contains an invalid number of segments", ValidationFlag.MALFORMED)
    try:
        header_bytes = b64url_decode(parts[0])
    except TokenError as exc:
        if raw.lower().startswith("bearer "):
            raise TokenError(
                "tokenstring should not contain 'bearer '", ValidationFlag.MALFORMED
            ) from None
        raise TokenError(exc.message, ValidationFlag.MALFORMED) from None
    header_value = decode_json(header_bytes.decode("utf-8", "replace"), stream=False)
    if header_value is not None and not isinstance(header_value, JSONObject):
        raise TokenError(
            f"json: cannot unmarshal {json_kind(header_value)} into Go value of type "
            "map[string]interface {}",
            ValidationFlag.MALFORMED,
        )
    header = dict(header_value) if header_value is not None else None
    try:
        claim_bytes = b64url_decode(parts[1])
    except TokenError as exc:
        raise TokenError(exc.message, ValidationFlag.MALFORMED) from None
    claims = KiteClaims.from_json_text(claim_bytes.decode("utf-8", "replace"))
    alg = header.get("alg") if header else None
    if not isinstance(alg, str) or isinstance(alg, JSONNumber):
        raise TokenError("signing method (alg) is unspecified.", ValidationFlag.UNVERIFIABLE)
    if alg not in KNOWN_ALGORITHMS:
        raise TokenError("signing method (alg) is unavailable.", ValidationFlag.UNVERIFIABLE)
    return ParsedToken(
        raw=raw,
        header=header,
        alg=alg,
        claims=claims,
        signing_input=parts[0] + "." + parts[1],
        signature=parts[2],
    )


def _time_claims_error(claims: KiteClaims, now: int) -> TokenError | None:
    """jwt-go's `StandardClaims.Valid` at `now` (UTC seconds); the last failure names it."""
    flags = ValidationFlag.NONE
    message = ""
    if claims.exp != 0 and now > claims.exp:
        late = min((now - claims.exp) * SECOND, _INT64_MAX)
        message = "token is expired by " + format_duration(late)
        flags |= ValidationFlag.EXPIRED
    if claims.iat != 0 and now < claims.iat:
        message = "Token used before issued"
        flags |= ValidationFlag.ISSUED_AT
    if claims.nbf != 0 and now < claims.nbf:
        message = "token is not valid yet"
        flags |= ValidationFlag.NOT_VALID_YET
    return TokenError(message, flags) if flags else None


def _verify_signature(token: ParsedToken, key: rsa.RSAPublicKey) -> str | None:
    """The method's `Verify` with an RSA public key; Go's error text, or None when valid."""
    alg = token.alg
    message = token.signing_input.encode("utf-8", "replace")
    if alg.startswith("HS"):
        return "key is of invalid type"  # HMAC wants []byte; an RSA key never fits
    if alg == "none":
        return "'none' signature type is not allowed"
    try:
        signature = b64url_decode(token.signature)
    except TokenError as exc:
        return exc.message
    if alg.startswith("ES"):
        return "key is of invalid type"
    if alg in PYJWT_RSA:
        if PYJWT_RSA[alg].verify(message, key, signature):
            return None
        return "crypto/rsa: verification error"
    hash_type = _PSS_HASHES[alg]
    try:
        key.verify(
            signature,
            message,
            padding.PSS(mgf=padding.MGF1(hash_type()), salt_length=padding.PSS.AUTO),
            hash_type(),
        )
    except (InvalidSignature, ValueError):
        return "crypto/rsa: verification error"
    return None


KeyFunc = Callable[[ParsedToken], rsa.RSAPublicKey]


def parse_token(raw: str, key_func: KeyFunc, *, now: float) -> KiteClaims:
    """Verify a JWT exactly as jwt-go's `ParseWithClaims(raw, &KiteClaims{}, key_func)`.

    Args:
        raw: the compact JWT.
        key_func: picks the verification key from the unverified token; raise `TokenError` to
            refuse (its text becomes the error, as Go's keyFunc errors do).
        now: current time, UTC seconds (injected so tests do not depend on the clock).

    Raises:
        TokenError: with jwt-go's combined flags and text.
    """
    token = parse_unverified(raw)
    try:
        key = key_func(token)
    except TokenError as exc:
        raise TokenError(exc.message, exc.flags or ValidationFlag.UNVERIFIABLE) from None
    return check_parsed(token, key, now=now)


def check_parsed(token: ParsedToken, key: rsa.RSAPublicKey, *, now: float) -> KiteClaims:
    """The steps of `parse_token` after the key function: time claims, then signature.

    Split out so an authenticator can choose the key asynchronously (e.g. a storage lookup).

    Raises:
        TokenError: with jwt-go's combined flags and text.
    """
    error = _time_claims_error(token.claims, math.floor(now))
    signature_error = _verify_signature(token, key)
    if signature_error is not None:
        flags = (error.flags if error else ValidationFlag.NONE) | ValidationFlag.SIGNATURE_INVALID
        error = TokenError(signature_error, flags)
    if error is not None:
        raise error
    return token.claims


def renewal_time(raw_token: str) -> float | None:
    """When Go's token renewer would fetch a new token: `exp` - 30 s (UTC seconds).

    The token is read without verification, as the renewer tolerates signature errors. None
    when the token cannot be parsed or has no `exp` (Go then never renews on a timer).
    """
    try:
        claims = parse_unverified(raw_token).claims
    except TokenError:
        return None
    return claims.exp - RENEW_BEFORE if claims.exp else None
