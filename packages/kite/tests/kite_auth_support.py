"""Shared material of the auth tests: the Go-issued keys of conformance/captures/keys, and
hand-made JWTs for forgeries that no honest signer produces."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from kite import Config, KiteClaims, KiteIdentity, KiteKey, sign_claims

KEYS = Path(__file__).resolve().parents[3] / "conformance" / "captures" / "keys"


def key_file(name: str) -> str:
    """A file of captures/keys, whitespace trimmed (tokens were saved with a newline)."""
    return (KEYS / name).read_text().strip()


KONTROL_PEM = (KEYS / "kontrol.pem").read_text()
KONTROL_PUB = (KEYS / "kontrol.pub").read_text()
ROGUE_PEM = (KEYS / "rogue.pem").read_text()
ROGUE_PUB = (KEYS / "rogue.pub").read_text()
ANCHOR_KEY = key_file("anchor.kite.key")
ALICE_KEY = key_file("alice.kite.key")
ROGUE_KEY = key_file("rogue.kite.key")
BADSIG_KEY = key_file("badsig.kite.key")
TOKEN_OK = key_file("token-auth-token-ok.jwt")
TOKEN_OK_XHR = key_file("token-auth-token-ok-xhr.jwt")
TOKEN_BAD_SIGNATURE = key_file("token-auth-token-bad-signature.jwt")

#: iat of anchor.kite.key; the recording clock was in November 2026.
ANCHOR_IAT = 1795423422
#: iat/exp of token-auth-token-ok.jwt.
TOKEN_IAT = 1795425467
TOKEN_EXP = 1795598867
#: A moment at which every captured key and token is valid.
NOW = TOKEN_IAT + 60

#: gomath's identity in the captures: kite `math` of user `anchor`.
MATH = KiteIdentity(
    name="math",
    username="anchor",
    id="11111111-2222-3333-4444-555555555555",
    environment="unknown",
    region="unknown",
    version="1.0.0",
    hostname="vm",
)


def anchor_config() -> Config:
    """gomath's configuration: `-kitekey keys/anchor.kite.key`."""
    return Config().with_kite_key(KiteKey.parse(ANCHOR_KEY, now=NOW))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_jwt(header: dict[str, Any], claims: dict[str, Any] | str, signature: bytes = b"") -> str:
    """An unsigned JWT with arbitrary header/claims and a given signature."""
    claim_text = claims if isinstance(claims, str) else json.dumps(claims, separators=(",", ":"))
    return (
        b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64(claim_text.encode())
        + "."
        + b64(signature)
    )


def hs256_with_public_key(claims: dict[str, Any], secret: str) -> str:
    """The classic algorithm-confusion forgery: HS256 keyed with the RSA public key text."""
    unsigned = raw_jwt({"alg": "HS256", "typ": "JWT"}, claims).rsplit(".", 1)[0]
    mac = hmac.new(secret.encode(), unsigned.encode(), hashlib.sha256).digest()
    return unsigned + "." + b64(mac)


def token(private: str = KONTROL_PEM, **claims: Any) -> str:
    """A token signed by `private` with the given claims (Go's claim order and encoding)."""
    base: dict[str, Any] = {
        "aud": "/anchor//math",
        "exp": TOKEN_EXP,
        "jti": "00000000-0000-4000-8000-000000000000",
        "iat": TOKEN_IAT,
        "iss": "anchor",
        "nbf": TOKEN_IAT,
        "sub": "anchor",
    }
    base.update(claims)
    return sign_claims(KiteClaims(**base), private)


def replace_payload(jwt: str, claims: dict[str, Any]) -> str:
    """Swap the claims segment of a signed JWT, keeping its header and signature."""
    header, _, signature = jwt.split(".")
    return header + "." + b64(json.dumps(claims, separators=(",", ":")).encode()) + "." + signature
