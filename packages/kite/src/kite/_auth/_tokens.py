"""JWTs exactly as Go kite reads and Kontrol writes them: dgrijalva/jwt-go v3.2.0 semantics.

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

Writing (`sign_claims`, `issue_kite_key`, `issue_token`) produces byte-identical output to Go for
the same key, claims and time: header `{"alg":"RS256","typ":"JWT"}`, claims in `KiteClaims` order
`aud, exp, jti, iat, iss, nbf, sub, kontrolKey, kontrolURL` with empty ones omitted, Go's JSON
string escaping, unpadded base64url, and deterministic RSASSA-PKCS1-v1_5 signatures.
"""

from __future__ import annotations

import base64
import enum
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from jwt.algorithms import RSAAlgorithm

from .._duration import SECOND, format_duration
from ._keys import parse_private_key

__all__ = [
    "DEFAULT_TOKEN_LEEWAY",
    "DEFAULT_TOKEN_TTL",
    "RENEW_BEFORE",
    "RENEW_RETRY_INTERVAL",
    "KiteClaims",
    "ParsedToken",
    "TokenError",
    "ValidationFlag",
    "audience_for_query",
    "check_parsed",
    "issue_kite_key",
    "issue_token",
    "parse_token",
    "parse_unverified",
    "renewal_time",
    "resign_kite_key",
    "sign_claims",
]

#: Kontrol's `TokenTTL` (48 h) and `TokenLeeway` (5 min), in seconds (PROTOCOL.md §6.1).
DEFAULT_TOKEN_TTL = 48 * 3600.0
DEFAULT_TOKEN_LEEWAY = 5 * 60.0
#: Go's token renewer asks for a new token this many seconds before `exp` (§5.8).
RENEW_BEFORE = 30.0
#: ... and retries a failed renewal after this many seconds (plus a 1 s pause).
RENEW_RETRY_INTERVAL = 10.0

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


class ValidationFlag(enum.IntFlag):
    """jwt-go's `ValidationError` bits, kept so callers can test *why* a token failed."""

    NONE = 0
    MALFORMED = 1 << 0
    UNVERIFIABLE = 1 << 1
    SIGNATURE_INVALID = 1 << 2
    AUDIENCE = 1 << 3
    EXPIRED = 1 << 4
    ISSUED_AT = 1 << 5
    ISSUER = 1 << 6
    NOT_VALID_YET = 1 << 7
    ID = 1 << 8
    CLAIMS_INVALID = 1 << 9


class TokenError(ValueError):
    """A JWT that jwt-go would refuse. `str()` is jwt-go's `ValidationError.Error()` text."""

    def __init__(self, message: str, flags: ValidationFlag = ValidationFlag.NONE) -> None:
        super().__init__(message)
        self.message = message
        self.flags = flags


# --------------------------------------------------------------------------- base64url


_B64URL_OK = re.compile(r"[A-Za-z0-9_-]*")
_DECODE_MAP: dict[int, int] = {
    c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}


def _b64url_encode(data: bytes) -> str:
    """jwt-go's `EncodeSegment`: URL alphabet, padding stripped."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(segment: str) -> bytes:
    """jwt-go's `DecodeSegment` (pad to a multiple of four, Go's decoder), canonical only.

    Go's decoder is lenient in ways no Go encoder ever uses: it ignores `\\r`/`\\n` inside
    a segment, accepts explicit `=` padding and non-zero bits in the last character.
    Accepting those would let many strings stand for one signed token, so we refuse them
    (same error text, offset of the offending character); every token Go or we issue
    decodes exactly as in Go.

    Raises:
        TokenError: `illegal base64 data at input byte N` (Go's offset where Go refuses too).
    """
    if len(segment) % 4 != 1 and _B64URL_OK.fullmatch(segment):
        # The common, well-formed case decodes identically with the stdlib.
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        if _b64url_encode(data) != segment:
            # Non-zero padding bits: Go accepts them, we refuse (see `_b64url_decode` doc).
            raise _corrupt(len(segment) - 1)
        return data
    src = segment.encode("utf-8", "surrogateescape")
    src += b"=" * (-len(src) % 4)
    _go_base64_decode(src)  # raises Go's error for anything Go refuses
    # Go accepted it only thanks to line breaks or explicit padding: refuse, naming the first.
    raise _corrupt(min(i for i, ch in enumerate(segment) if ch in "\r\n="))


def _corrupt(offset: int) -> TokenError:
    return TokenError(f"illegal base64 data at input byte {offset}")


def _go_base64_decode(src: bytes) -> bytes:
    """Go's `base64.URLEncoding.DecodeString`, quantum by quantum, for the error offsets."""
    out = bytearray()
    n = len(src)
    si = 0
    while True:
        quantum = [0, 0, 0, 0]
        j = 0
        length = 4
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                raise _corrupt(si - j)
            c = src[si]
            si += 1
            value = _DECODE_MAP.get(c)
            if value is not None:
                quantum[j] = value
                j += 1
                continue
            if c in (0x0A, 0x0D):
                continue
            if c != 0x3D or j < 2:  # not '=' or padding too early
                raise _corrupt(si - 1)
            if j == 2:  # "==" expected; the first '=' is consumed
                while si < n and src[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    raise _corrupt(n)
                if src[si] != 0x3D:
                    raise _corrupt(si - 1)
                si += 1
            while si < n and src[si] in (0x0A, 0x0D):
                si += 1
            if si < n:
                raise _corrupt(si)
            length = j
            break
        word = quantum[0] << 18 | quantum[1] << 12 | quantum[2] << 6 | quantum[3]
        out.extend(word.to_bytes(3, "big")[: length - 1])
        if length < 4:
            return bytes(out)


# --------------------------------------------------------------------------- Go JSON

_HTML_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _go_json_string(text: str) -> str:
    """A JSON string as Go's `encoding/json` writes it (HTML-safe, raw UTF-8)."""
    text = _SURROGATE.sub("\ufffd", text)
    out = []
    for ch in text:
        if ch in _CONTROL:
            out.append(_CONTROL[ch])
        elif ch < " ":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out).translate(_HTML_SAFE) + '"'


class _Number(str):
    """A JSON number kept as its literal text, as Go's decoder sees it."""

    __slots__ = ()


class _Object(list[tuple[str, Any]]):
    """A JSON object as its ordered key/value pairs (duplicates kept, as Go sees them)."""

    __slots__ = ()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _go_quote_char(ch: str) -> str:
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return "'" + json.dumps(ch, ensure_ascii=False)[1:-1] + "'"


def _syntax_message(error: json.JSONDecodeError, stream: bool) -> str:
    """Approximate Go's `encoding/json` syntax-error text for a Python decode error."""
    doc, pos, msg = error.doc, error.pos, error.msg
    if pos >= len(doc) or msg.startswith("Unterminated string"):
        return "unexpected EOF" if stream else "unexpected end of JSON input"
    char = _go_quote_char(doc[pos])
    if msg.startswith("Extra data"):
        return f"invalid character {char} after top-level value"
    if msg.startswith("Expecting property name"):
        return f"invalid character {char} looking for beginning of object key string"
    if msg.startswith("Expecting ':'"):
        return f"invalid character {char} after object key"
    if msg.startswith("Expecting ','"):
        return f"invalid character {char} after object key:value pair"
    if msg.startswith("Invalid control character"):
        return f"invalid character {char} in string literal"
    if msg.startswith(("Invalid \\escape", "Invalid \\u")):
        return f"invalid character {char} in string escape code"
    return f"invalid character {char} looking for beginning of value"


def _json_value(text: str, *, stream: bool) -> Any:
    """Decode one JSON value with numbers kept literal.

    `stream=True` is Go's `Decoder.Decode` (what jwt-go uses for claims): trailing data after
    the first value is ignored and an empty input is `EOF`. Otherwise `json.Unmarshal`.
    """
    decoder = json.JSONDecoder(
        parse_float=_Number,
        parse_int=_Number,
        parse_constant=_reject_constant,
        object_pairs_hook=_Object,
    )
    try:
        if stream:
            start = len(text) - len(text.lstrip(" \t\r\n"))
            if start == len(text):
                raise TokenError("EOF", ValidationFlag.MALFORMED)
            value, _ = decoder.raw_decode(text, start)
            return value
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        raise TokenError(_syntax_message(exc, stream), ValidationFlag.MALFORMED) from None
    except ValueError as exc:  # a NaN/Infinity literal
        raise TokenError(str(exc), ValidationFlag.MALFORMED) from None
    except RecursionError:
        raise TokenError("exceeded max depth", ValidationFlag.MALFORMED) from None


def _json_kind(value: Any) -> str:
    """Go's `UnmarshalTypeError.Value` for a decoded value."""
    if isinstance(value, _Number):
        return "number"
    if isinstance(value, _Object):
        return "object"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _fold_equal(name: str, key: str) -> bool:
    """Go's case-insensitive struct-field match (ASCII folding plus the two special runes
    U+017F (long s) ~ `s` and U+212A (Kelvin sign) ~ `k`)."""
    if len(name) != len(key):
        return False
    for a, b in zip(name, key, strict=True):
        if b == "\u017f":
            b = "s"
        elif b == "\u212a":
            b = "k"
        elif b >= "\x80":
            return False
        if a.lower() != b.lower():
            return False
    return True


# --------------------------------------------------------------------------- claims


@dataclass(frozen=True, slots=True)
class KiteClaims:
    """Go's `kitekey.KiteClaims`: the standard claims plus `kontrolKey`/`kontrolURL`.

    Empty strings and zero times mean "absent" (Go omits them when writing and skips their
    checks when reading). Times are integer UTC seconds.
    """

    aud: str = ""
    exp: int = 0
    jti: str = ""
    iat: int = 0
    iss: str = ""
    nbf: int = 0
    sub: str = ""
    kontrol_key: str = ""
    kontrol_url: str = ""

    def to_json(self) -> str:
        """The claims JSON Go writes: struct order, empty values omitted, Go escaping."""
        parts = []
        for json_name, attr, is_int in _CLAIM_FIELDS:
            value = getattr(self, attr)
            if not value:
                continue
            text = str(int(value)) if is_int else _go_json_string(value)
            parts.append(f'"{json_name}":{text}')
        return "{" + ",".join(parts) + "}"

    @classmethod
    def from_json_text(cls, text: str) -> KiteClaims:
        """Decode claims as jwt-go does (`json.Decoder` into `KiteClaims`).

        Raises:
            TokenError: flag `MALFORMED`, with Go's `encoding/json` text.
        """
        value = _json_value(text, stream=True)
        if value is None:
            return cls()
        if not isinstance(value, _Object):
            raise TokenError(
                f"json: cannot unmarshal {_json_kind(value)} into Go value of type "
                "kitekey.KiteClaims",
                ValidationFlag.MALFORMED,
            )
        return cls._from_pairs(value)

    @classmethod
    def _from_pairs(cls, pairs: Iterable[tuple[str, Any]]) -> KiteClaims:
        values: dict[str, Any] = {}
        first_error: str | None = None
        for key, value in pairs:
            spec = _CLAIM_BY_NAME.get(key)
            if spec is None:
                spec = next((s for s in _CLAIM_FIELDS if _fold_equal(s[0], key)), None)
            if spec is None or value is None:
                continue
            json_name, attr, is_int = spec
            error: str | None = None
            if is_int:
                if isinstance(value, _Number):
                    parsed = _parse_int64(value)
                    if parsed is None:
                        error = f"number {value}"
                    else:
                        values[attr] = parsed
                else:
                    error = _json_kind(value)
                go_type = "int64"
            else:
                if isinstance(value, str) and not isinstance(value, _Number):
                    values[attr] = _SURROGATE.sub("\ufffd", value)
                else:
                    error = _json_kind(value)
                go_type = "string"
            if error is not None and first_error is None:
                first_error = (
                    f"json: cannot unmarshal {error} into Go struct field "
                    f"KiteClaims.{json_name} of type {go_type}"
                )
        if first_error is not None:
            raise TokenError(first_error, ValidationFlag.MALFORMED)
        return cls(**values)


_CLAIM_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("aud", "aud", False),
    ("exp", "exp", True),
    ("jti", "jti", False),
    ("iat", "iat", True),
    ("iss", "iss", False),
    ("nbf", "nbf", True),
    ("sub", "sub", False),
    ("kontrolKey", "kontrol_key", False),
    ("kontrolURL", "kontrol_url", False),
)
_CLAIM_BY_NAME = {spec[0]: spec for spec in _CLAIM_FIELDS}
_INT_LITERAL = re.compile(r"-?[0-9]+")


def _parse_int64(literal: str) -> int | None:
    if not _INT_LITERAL.fullmatch(literal):
        return None
    number = int(literal)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


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
_PYJWT_RSA = {
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
        header_bytes = _b64url_decode(parts[0])
    except TokenError as exc:
        if raw.lower().startswith("bearer "):
            raise TokenError(
                "tokenstring should not contain 'bearer '", ValidationFlag.MALFORMED
            ) from None
        raise TokenError(exc.message, ValidationFlag.MALFORMED) from None
    header_value = _json_value(header_bytes.decode("utf-8", "replace"), stream=False)
    if header_value is not None and not isinstance(header_value, _Object):
        raise TokenError(
            f"json: cannot unmarshal {_json_kind(header_value)} into Go value of type "
            "map[string]interface {}",
            ValidationFlag.MALFORMED,
        )
    header = dict(header_value) if header_value is not None else None
    try:
        claim_bytes = _b64url_decode(parts[1])
    except TokenError as exc:
        raise TokenError(exc.message, ValidationFlag.MALFORMED) from None
    claims = KiteClaims.from_json_text(claim_bytes.decode("utf-8", "replace"))
    alg = header.get("alg") if header else None
    if not isinstance(alg, str) or isinstance(alg, _Number):
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
        signature = _b64url_decode(token.signature)
    except TokenError as exc:
        return exc.message
    if alg.startswith("ES"):
        return "key is of invalid type"
    if alg in _PYJWT_RSA:
        if _PYJWT_RSA[alg].verify(message, key, signature):
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


# --------------------------------------------------------------------------- issuing


def sign_claims(claims: KiteClaims, private_key: str | rsa.RSAPrivateKey) -> str:
    """Sign claims with RS256 exactly as Go's `jwt.NewWithClaims(RS256, claims).SignedString`."""
    key = parse_private_key(private_key) if isinstance(private_key, str) else private_key
    signing_input = (
        _b64url_encode(b'{"alg":"RS256","typ":"JWT"}')
        + "."
        + _b64url_encode(claims.to_json().encode("utf-8"))
    )
    signature = _PYJWT_RSA["RS256"].sign(signing_input.encode("ascii"), key)
    return signing_input + "." + _b64url_encode(signature)


def issue_kite_key(
    *,
    private_key: str | rsa.RSAPrivateKey,
    public_key: str,
    issuer: str,
    subject: str,
    kontrol_url: str,
    now: float,
    leeway: float = DEFAULT_TOKEN_LEEWAY,
    jti: str | None = None,
) -> str:
    """A kite key as Kontrol's `registerUser` issues it (PROTOCOL.md §5.3).

    `iat` = now - leeway, `jti` a random UUIDv4, `kontrolKey` the trimmed public PEM; no
    `aud`, `exp` or `nbf` (kite keys never expire).
    """
    claims = KiteClaims(
        jti=jti if jti is not None else str(uuid.uuid4()),
        iat=math.floor(now - leeway),
        iss=issuer,
        sub=subject,
        kontrol_key=public_key.strip(),
        kontrol_url=kontrol_url,
    )
    return sign_claims(claims, private_key)


def issue_token(
    *,
    private_key: str | rsa.RSAPrivateKey,
    issuer: str,
    subject: str,
    audience: str,
    now: float,
    ttl: float = DEFAULT_TOKEN_TTL,
    leeway: float = DEFAULT_TOKEN_LEEWAY,
    not_before: bool = True,
    jti: str | None = None,
) -> str:
    """A token as Kontrol's `generateToken` issues it (PROTOCOL.md §5.4).

    `exp` = now + ttl + leeway, `iat` = `nbf` = now - leeway (`nbf` omitted when
    `not_before` is false, Go's `TokenNoNBF`), `sub` the requester, `aud` from
    `audience_for_query`.
    """
    claims = KiteClaims(
        aud=audience,
        exp=math.floor(now + ttl + leeway),
        jti=jti if jti is not None else str(uuid.uuid4()),
        iat=math.floor(now - leeway),
        iss=issuer,
        nbf=math.floor(now - leeway) if not_before else 0,
        sub=subject,
    )
    return sign_claims(claims, private_key)


def resign_kite_key(
    claims: KiteClaims, *, private_key: str | rsa.RSAPrivateKey, public_key: str
) -> str:
    """Re-sign a kite key after key rotation (Kontrol's `updateKeyWithKeyPair`): every claim is
    kept except `kontrolKey`, replaced by the new public key only when the old key had one."""
    if claims.kontrol_key:
        claims = KiteClaims(**{**_as_dict(claims), "kontrol_key": public_key.strip()})
    return sign_claims(claims, private_key)


def _as_dict(claims: KiteClaims) -> dict[str, Any]:
    return {attr: getattr(claims, attr) for _, attr, _ in _CLAIM_FIELDS}


def audience_for_query(username: str = "", environment: str = "", name: str = "") -> str:
    """Kontrol's audience for a query (PROTOCOL.md §5.6): `/<u>/<e>/<n>` when the name is set,
    `/<u>/<e>` when only the environment is, else `/<u>` -- so an ID-only query gives `/`."""
    if name:
        return f"/{username}/{environment}/{name}"
    if environment:
        return f"/{username}/{environment}"
    return f"/{username}"


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
