"""JWT reading and writing against tokens a real Go Kontrol issued (captures/keys)."""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from kite_auth_support import (
    ANCHOR_KEY,
    KONTROL_PEM,
    KONTROL_PUB,
    NOW,
    ROGUE_PEM,
    TOKEN_EXP,
    TOKEN_IAT,
    TOKEN_OK,
    b64,
    key_file,
    raw_jwt,
)

from kite import (
    KeyFormatError,
    KiteClaims,
    TokenError,
    ValidationFlag,
    audience_for_query,
    generate_key_pair,
    issue_kite_key,
    issue_token,
    parse_private_key,
    parse_public_key,
    parse_token,
    public_key_pem,
    renewal_time,
    resign_kite_key,
    sign_claims,
)
from kite._auth._tokens import ParsedToken, parse_unverified


def kontrol_key(_token: ParsedToken) -> rsa.RSAPublicKey:
    return parse_public_key(KONTROL_PUB)


def decode_part(jwt: str, index: int) -> bytes:
    part = jwt.split(".")[index]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.mark.parametrize(
    "name",
    [
        "anchor.kite.key",
        "alice.kite.key",
        "token-auth-token-ok.jwt",
        "token-auth-token-ok-xhr.jwt",
    ],
)
def test_go_issued_jwts_verify_against_kontrol_pub(name: str) -> None:
    raw = key_file(name)
    claims = parse_unverified(raw).claims
    # The recording clock was in Nov 2026: check at the token's own issue time.
    assert parse_token(raw, kontrol_key, now=claims.iat) == claims


@pytest.mark.parametrize(
    "name", ["anchor.kite.key", "alice.kite.key", "rogue.kite.key", "token-auth-token-ok.jwt"]
)
def test_resigning_go_claims_reproduces_go_bytes(name: str) -> None:
    raw = key_file(name)
    claims = parse_unverified(raw).claims
    private = ROGUE_PEM if name.startswith("rogue") else KONTROL_PEM
    assert sign_claims(claims, private) == raw


def test_go_claim_order_and_header() -> None:
    assert decode_part(ANCHOR_KEY, 0) == b'{"alg":"RS256","typ":"JWT"}'
    payload = decode_part(TOKEN_OK, 1).decode()
    assert list(json.loads(payload)) == ["aud", "exp", "jti", "iat", "iss", "nbf", "sub"]
    assert list(json.loads(decode_part(ANCHOR_KEY, 1))) == [
        "jti",
        "iat",
        "iss",
        "sub",
        "kontrolKey",
        "kontrolURL",
    ]


def test_claims_json_uses_go_escaping() -> None:
    claims = KiteClaims(sub='a<b>&c\u2028\n\x01\x08é"\\', exp=5)
    assert claims.to_json() == (
        '{"exp":5,"sub":"a\\u003cb\\u003e\\u0026c\\u2028\\n\\u0001\\u0008é\\"\\\\"}'
    )


def test_issue_token_sets_claims_as_kontrol() -> None:
    now = 1795425767.25
    raw = issue_token(
        private_key=KONTROL_PEM, issuer="anchor", subject="alice", audience="/anchor//math", now=now
    )
    claims = parse_token(raw, kontrol_key, now=now)
    assert claims.aud == "/anchor//math"
    assert claims.iss == "anchor"
    assert claims.sub == "alice"
    assert claims.iat == claims.nbf == int(now) - 300
    assert claims.exp - claims.iat == 48 * 3600 + 600  # 48 h 10 min, as observed from Go
    assert uuid.UUID(claims.jti).version == 4
    assert not claims.kontrol_key
    assert decode_part(raw, 0) == b'{"alg":"RS256","typ":"JWT"}'


def test_issue_token_without_nbf() -> None:
    raw = issue_token(
        private_key=KONTROL_PEM,
        issuer="anchor",
        subject="anchor",
        audience="/",
        now=NOW,
        not_before=False,
    )
    assert "nbf" not in json.loads(decode_part(raw, 1))


def test_issue_kite_key_matches_kontrol_initial() -> None:
    raw = issue_kite_key(
        private_key=KONTROL_PEM,
        public_key=KONTROL_PUB,  # with its trailing newline: trimmed like Go
        issuer="anchor",
        subject="anchor",
        kontrol_url="http://127.0.0.1:4000/kite",
        now=ANCHOR_NOW,
        jti="3ae28132-30cb-4e1a-858f-24423d502a05",
    )
    assert raw == ANCHOR_KEY  # byte-identical to the key Go's `kontrol -initial` wrote


ANCHOR_NOW = 1795423422 + 300.5


def test_resign_kite_key_replaces_only_the_kontrol_key() -> None:
    claims = parse_unverified(ANCHOR_KEY).claims
    rogue_pub = public_key_pem(parse_private_key(ROGUE_PEM)).strip()
    raw = resign_kite_key(claims, private_key=ROGUE_PEM, public_key=rogue_pub)
    new = parse_unverified(raw).claims
    assert new.kontrol_key == rogue_pub
    assert (new.sub, new.iss, new.jti, new.iat) == (claims.sub, claims.iss, claims.jti, claims.iat)


@pytest.mark.parametrize(
    ("query", "audience"),
    [
        ({"username": "anchor", "name": "math"}, "/anchor//math"),
        ({"username": "anchor", "environment": "unknown"}, "/anchor/unknown"),
        ({"username": "anchor"}, "/anchor"),
        ({"name": "math"}, "///math"),
        ({}, "/"),
        ({"username": "anchor", "environment": "prod", "name": "math"}, "/anchor/prod/math"),
    ],
)
def test_audience_for_query(query: dict[str, str], audience: str) -> None:
    assert audience_for_query(**query) == audience


def test_generated_key_pair_is_in_go_pem_format() -> None:
    pair = generate_key_pair(1024)  # size irrelevant to the format; keeps the test fast
    assert re.fullmatch(
        r"-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n"
        r"-----END PUBLIC KEY-----\n",
        pair.public,
    )
    assert pair.private.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert pair.private.endswith("-----END RSA PRIVATE KEY-----\n")
    assert public_key_pem(parse_private_key(pair.private)) == pair.public


def test_unknown_key_algorithm_is_a_key_format_error() -> None:
    body = "".join(KONTROL_PUB.strip().splitlines()[1:-1])
    der = base64.b64decode(body)
    rsa_oid = bytes.fromhex("2a864886f70d010101")
    assert rsa_oid in der
    mangled = base64.b64encode(der.replace(rsa_oid, bytes.fromhex("2a864886f70d01010d")))
    pem = "-----BEGIN PUBLIC KEY-----\n" + mangled.decode() + "\n-----END PUBLIC KEY-----"
    with pytest.raises(KeyFormatError, match="x509: malformed certificate"):
        parse_public_key(pem)


def test_go_public_key_text_round_trips() -> None:
    assert public_key_pem(parse_public_key(KONTROL_PUB)) == KONTROL_PUB


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("", "Invalid Key: Key must be PEM encoded PKCS1 or PKCS8 private key"),
        ("not a key", "Invalid Key: Key must be PEM encoded PKCS1 or PKCS8 private key"),
        (
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "x509: malformed certificate",
        ),
    ],
)
def test_bad_public_keys_give_jwt_go_text(pem: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=re.escape(message)):
        parse_public_key(pem)


HEADER = {"alg": "RS256", "typ": "JWT"}


@pytest.mark.parametrize(
    ("raw", "message", "flag"),
    [
        ("abc", "token contains an invalid number of segments", ValidationFlag.MALFORMED),
        ("a.b.c.d", "token contains an invalid number of segments", ValidationFlag.MALFORMED),
        ("a!.b.c", "illegal base64 data at input byte 1", ValidationFlag.MALFORMED),
        ("bearer x.y.z", "tokenstring should not contain 'bearer '", ValidationFlag.MALFORMED),
        (b64(b"[1]") + ".e30.", "json: cannot unmarshal array into Go value of type "
         "map[string]interface {}", ValidationFlag.MALFORMED),
        (b64(b"{") + ".e30.", "unexpected end of JSON input", ValidationFlag.MALFORMED),
        (b64(b"{}x") + ".e30.", "invalid character 'x' after top-level value",
         ValidationFlag.MALFORMED),
        (raw_jwt(HEADER, "[]"), "json: cannot unmarshal array into Go value of type "
         "kitekey.KiteClaims", ValidationFlag.MALFORMED),
        (raw_jwt(HEADER, ""), "EOF", ValidationFlag.MALFORMED),
        (raw_jwt(HEADER, '{"sub":"x"'), "unexpected EOF", ValidationFlag.MALFORMED),
        (raw_jwt(HEADER, {"aud": ["/anchor"]}), "json: cannot unmarshal array into Go struct "
         "field KiteClaims.aud of type string", ValidationFlag.MALFORMED),
        (raw_jwt(HEADER, {"exp": 1.5}), "json: cannot unmarshal number 1.5 into Go struct "
         "field KiteClaims.exp of type int64", ValidationFlag.MALFORMED),
        (raw_jwt(HEADER, {"exp": "1"}), "json: cannot unmarshal string into Go struct "
         "field KiteClaims.exp of type int64", ValidationFlag.MALFORMED),
        (raw_jwt(HEADER, {"sub": 5}), "json: cannot unmarshal number into Go struct "
         "field KiteClaims.sub of type string", ValidationFlag.MALFORMED),
        (raw_jwt(HEADER, {"iat": 2**63}), "json: cannot unmarshal number 9223372036854775808 "
         "into Go struct field KiteClaims.iat of type int64", ValidationFlag.MALFORMED),
        (raw_jwt({"typ": "JWT"}, {}), "signing method (alg) is unspecified.",
         ValidationFlag.UNVERIFIABLE),
        (raw_jwt({"alg": 5}, {}), "signing method (alg) is unspecified.",
         ValidationFlag.UNVERIFIABLE),
        (raw_jwt({"alg": "XS256"}, {}), "signing method (alg) is unavailable.",
         ValidationFlag.UNVERIFIABLE),
        (raw_jwt({"alg": "rs256"}, {}), "signing method (alg) is unavailable.",
         ValidationFlag.UNVERIFIABLE),
    ],
)  # fmt: skip
def test_malformed_tokens_give_jwt_go_text(raw: str, message: str, flag: ValidationFlag) -> None:
    with pytest.raises(TokenError) as info:
        parse_token(raw, kontrol_key, now=NOW)
    assert info.value.message == message
    assert info.value.flags == flag


def test_claims_keys_match_case_insensitively_last_wins() -> None:
    text = '{"SUB":"a","Sub":"b","\u017fub":"c","kontrolurl":"u","aud":null,"x":[1]}'
    claims = KiteClaims.from_json_text(text)
    assert (claims.sub, claims.kontrol_url, claims.aud) == ("c", "u", "")


def test_claims_trailing_data_ignored_like_go_decoder() -> None:
    assert KiteClaims.from_json_text('{"sub":"a"} garbage').sub == "a"


@pytest.mark.parametrize(
    ("claims", "message", "flags"),
    [
        ({"exp": NOW - 100}, "token is expired by 1m40s", ValidationFlag.EXPIRED),
        ({"exp": NOW}, None, ValidationFlag.NONE),
        ({"iat": NOW + 1}, "Token used before issued", ValidationFlag.ISSUED_AT),
        ({"nbf": NOW + 1}, "token is not valid yet", ValidationFlag.NOT_VALID_YET),
        (
            {"exp": NOW - 1, "iat": NOW + 1, "nbf": NOW + 1},
            "token is not valid yet",
            ValidationFlag.EXPIRED | ValidationFlag.ISSUED_AT | ValidationFlag.NOT_VALID_YET,
        ),
        ({"exp": NOW - 1, "iat": NOW + 1}, "Token used before issued",
         ValidationFlag.EXPIRED | ValidationFlag.ISSUED_AT),
    ],
)  # fmt: skip
def test_time_claims_like_jwt_go(
    claims: dict[str, int], message: str | None, flags: ValidationFlag
) -> None:
    times = KiteClaims(
        sub="x", exp=claims.get("exp", 0), iat=claims.get("iat", 0), nbf=claims.get("nbf", 0)
    )
    raw = sign_claims(times, KONTROL_PEM)
    if message is None:
        assert parse_token(raw, kontrol_key, now=NOW + 0.999).sub == "x"
        return
    with pytest.raises(TokenError) as info:
        parse_token(raw, kontrol_key, now=NOW)
    assert (info.value.message, info.value.flags) == (message, flags)


def test_bad_signature_overrides_time_errors() -> None:
    raw = sign_claims(KiteClaims(sub="x", exp=NOW - 5), ROGUE_PEM)
    with pytest.raises(TokenError) as info:
        parse_token(raw, kontrol_key, now=NOW)
    assert info.value.message == "crypto/rsa: verification error"
    assert info.value.flags == ValidationFlag.EXPIRED | ValidationFlag.SIGNATURE_INVALID


def test_non_canonical_base64_refused() -> None:
    header, claims, signature = TOKEN_OK.split(".")
    # The signature is 256 bytes: its last character carries 4 unused bits.
    last = signature[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) ^ 1]
    for variant in (signature[:-1] + twin, signature + "==", signature[:5] + "\n" + signature[5:]):
        with pytest.raises(TokenError) as info:
            parse_token(f"{header}.{claims}.{variant}", kontrol_key, now=NOW)
        assert info.value.flags & ValidationFlag.SIGNATURE_INVALID
        assert info.value.message.startswith("illegal base64 data at input byte ")


def test_renewal_time_is_thirty_seconds_before_expiry() -> None:
    assert renewal_time(TOKEN_OK) == TOKEN_EXP - 30
    assert renewal_time(ANCHOR_KEY) is None  # kite keys never expire
    assert renewal_time("garbage") is None
    assert TOKEN_IAT < TOKEN_EXP
