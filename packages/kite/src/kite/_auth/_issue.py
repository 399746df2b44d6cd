"""Issuing kite keys and tokens as Kontrol does: byte-identical to Go for the same key, claims
and time (header `{"alg":"RS256","typ":"JWT"}`, claims in `KiteClaims` order, Go's JSON string
escaping, unpadded base64url, deterministic RSASSA-PKCS1-v1_5 signatures)."""

from __future__ import annotations

import math
import uuid

from cryptography.hazmat.primitives.asymmetric import rsa

from ._base64url import b64url_encode
from ._claims import KiteClaims, claims_dict
from ._keys import parse_private_key
from ._tokens import DEFAULT_TOKEN_LEEWAY, DEFAULT_TOKEN_TTL, PYJWT_RSA

__all__ = ["audience_for_query", "issue_kite_key", "issue_token", "resign_kite_key", "sign_claims"]


def sign_claims(claims: KiteClaims, private_key: str | rsa.RSAPrivateKey) -> str:
    """Sign claims with RS256 exactly as Go's `jwt.NewWithClaims(RS256, claims).SignedString`."""
    key = parse_private_key(private_key) if isinstance(private_key, str) else private_key
    signing_input = (
        b64url_encode(b'{"alg":"RS256","typ":"JWT"}')
        + "."
        + b64url_encode(claims.to_json().encode("utf-8"))
    )
    signature = PYJWT_RSA["RS256"].sign(signing_input.encode("ascii"), key)
    return signing_input + "." + b64url_encode(signature)


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
    """A kite key as Kontrol's `registerUser` issues it (docs/protocol.md §5.3).

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
    """A token as Kontrol's `generateToken` issues it (docs/protocol.md §5.4).

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
        claims = KiteClaims(**{**claims_dict(claims), "kontrol_key": public_key.strip()})
    return sign_claims(claims, private_key)


def audience_for_query(username: str = "", environment: str = "", name: str = "") -> str:
    """Kontrol's audience for a query (docs/protocol.md §5.6): `/<u>/<e>/<n>` when the name is set,
    `/<u>/<e>` when only the environment is, else `/<u>` -- so an ID-only query gives `/`."""
    if name:
        return f"/{username}/{environment}/{name}"
    if environment:
        return f"/{username}/{environment}"
    return f"/{username}"
