"""`kiteKey` and `token` authentication with Go kite's exact checks and wire messages."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kite_auth_support import (
    ALICE_KEY,
    ANCHOR_IAT,
    ANCHOR_KEY,
    BADSIG_KEY,
    KONTROL_PEM,
    MATH,
    NOW,
    ROGUE_KEY,
    ROGUE_PEM,
    TOKEN_BAD_SIGNATURE,
    TOKEN_EXP,
    TOKEN_OK,
    TOKEN_OK_XHR,
    anchor_config,
    hs256_with_public_key,
    raw_jwt,
    replace_payload,
    token,
)

from kite import (
    Auth,
    AuthContext,
    AuthenticationError,
    Authenticators,
    Config,
    GenericError,
    KeyNotTrustedError,
    KiteClaims,
    KiteIdentity,
    KiteKeyAuthenticator,
    TokenAuthenticator,
    TrustCache,
    is_token_expiry,
    issue_kite_key,
    sign_claims,
)

CONFIG = anchor_config()
TRUSTED_PEM = CONFIG.kontrol_key


def check(
    auth: Auth | None,
    *,
    registry: Authenticators | None = None,
    config: Config = CONFIG,
    local: KiteIdentity = MATH,
    now: float = NOW,
) -> str:
    registry = registry if registry is not None else Authenticators()
    return registry.authenticate_sync(auth, local=local, config=config, now=now)


def refusal(
    auth: Auth | None,
    *,
    registry: Authenticators | None = None,
    config: Config = CONFIG,
    now: float = NOW,
) -> str:
    with pytest.raises(AuthenticationError) as info:
        check(auth, registry=registry, config=config, now=now)
    assert info.value.type == "authenticationError"
    return info.value.message


def kite_key(private: str = KONTROL_PEM, **claims: object) -> str:
    base: dict[str, object] = {
        "jti": "e6bff753-1e67-41e4-914c-ce02f52c6fae",
        "iat": ANCHOR_IAT,
        "iss": "anchor",
        "sub": "alice",
        "kontrol_key": TRUSTED_PEM,
        "kontrol_url": "http://127.0.0.1:4000/kite",
    }
    base.update(claims)
    return sign_claims(KiteClaims(**base), private)  # type: ignore[arg-type]


# ------------------------------------------------------------------ registry, Go's texts, §4.4


def test_missing_credentials() -> None:
    assert refusal(None) == "No authentication information is provided"


def test_unknown_type() -> None:
    assert refusal(Auth("bogus", "x")) == "Unknown authentication type: bogus"
    assert refusal(Auth("sessionID", "x")) == "Unknown authentication type: sessionID"


def test_custom_authenticator_registered_by_type() -> None:
    registry = Authenticators()

    def session(ctx: AuthContext) -> str:
        if ctx.key != "s3cret":
            raise AuthenticationError("unknown session")
        return "carol"

    registry.register("sessionID", session)
    assert check(Auth("sessionID", "s3cret"), registry=registry) == "carol"
    assert refusal(Auth("sessionID", "nope"), registry=registry) == "sessionID: unknown session"
    registry.unregister("sessionID")
    assert "sessionID" not in registry
    assert refusal(Auth("sessionID", "s3cret"), registry=registry) == (
        "Unknown authentication type: sessionID"
    )


async def test_async_custom_authenticator() -> None:
    registry = Authenticators()

    async def remote(ctx: AuthContext) -> str:
        if ctx.key == "bad":
            raise AuthenticationError("refused by the directory")
        return "dave"

    registry.register("directory", remote)
    auth = Auth("directory", "ok")
    assert await registry.authenticate(auth, local=MATH, config=CONFIG, now=NOW) == "dave"
    with pytest.raises(
        AuthenticationError, match=r"^authenticationError: directory: refused by the directory$"
    ):
        await registry.authenticate(Auth("directory", "bad"), local=MATH, config=CONFIG, now=NOW)
    with pytest.raises(TypeError):
        registry.authenticate_sync(auth, local=MATH, config=CONFIG, now=NOW)


def test_huge_key_refused_before_parsing() -> None:
    huge = ANCHOR_KEY + "A" * 20000
    assert refusal(Auth("token", huge)) == (
        f"token: key is too large ({len(huge)} bytes, limit 16384)"
    )
    small = Authenticators(max_key_size=100)
    message = refusal(Auth("kiteKey", ANCHOR_KEY), registry=small)
    assert message == f"kiteKey: key is too large ({len(ANCHOR_KEY)} bytes, limit 100)"


# ------------------------------------------------------------------ kiteKey


def test_kite_keys_issued_by_go_kontrol_authenticate() -> None:
    assert check(Auth("kiteKey", ANCHOR_KEY)) == "anchor"
    # Issuer and audience of kite keys are not checked: alice's key runs as alice (Go).
    assert check(Auth("kiteKey", ALICE_KEY)) == "alice"


def test_kite_key_bad_signature_capture() -> None:
    # Capture auth-bad-signature: exactly what gomath answered.
    assert refusal(Auth("kiteKey", BADSIG_KEY)) == "kiteKey: crypto/rsa: verification error"


def test_untrusted_kontrol_key_then_cached_verdict_then_expiry() -> None:
    registry = Authenticators()
    auth = Auth("kiteKey", ROGUE_KEY)
    # Capture auth-untrusted-key, then the cached verdict its meta.json describes.
    assert refusal(auth, registry=registry) == "kiteKey: kontrol key is not trusted"
    assert refusal(auth, registry=registry, now=NOW + 299) == "kiteKey: invalid kontrol key found"
    assert refusal(auth, registry=registry, now=NOW + 300) == "kiteKey: kontrol key is not trusted"


def test_verify_ttl_from_config_and_no_cache() -> None:
    registry = Authenticators()
    auth = Auth("kiteKey", ROGUE_KEY)
    short = dataclasses.replace(CONFIG, verify_ttl=30.0)
    assert refusal(auth, registry=registry, config=short) == "kiteKey: kontrol key is not trusted"
    assert refusal(auth, registry=registry, config=short, now=NOW + 29) == (
        "kiteKey: invalid kontrol key found"
    )
    assert refusal(auth, registry=registry, config=short, now=NOW + 30) == (
        "kiteKey: kontrol key is not trusted"
    )
    uncached = dataclasses.replace(CONFIG, verify_ttl=-1.0)
    registry = Authenticators()
    for _ in range(2):
        assert refusal(auth, registry=registry, config=uncached) == (
            "kiteKey: kontrol key is not trusted"
        )


def test_trusted_verdict_is_cached_and_custom_errors_are_not() -> None:
    calls: list[str] = []

    def verify(pem: str, ctx: AuthContext) -> None:
        calls.append(pem)
        if pem != TRUSTED_PEM:
            raise AuthenticationError("no key pair found")  # Kontrol's storage answer

    registry = Authenticators(kite_key=KiteKeyAuthenticator(verify=verify))
    assert check(Auth("kiteKey", ANCHOR_KEY), registry=registry) == "anchor"
    assert check(Auth("kiteKey", ALICE_KEY), registry=registry) == "alice"
    assert calls == [TRUSTED_PEM]
    for _ in range(2):  # storage errors are never cached: same text each time
        assert refusal(Auth("kiteKey", ROGUE_KEY), registry=registry) == (
            "kiteKey: no key pair found"
        )
    assert len(calls) == 3


async def test_async_verify_function() -> None:
    async def verify(pem: str, ctx: AuthContext) -> None:
        if pem != TRUSTED_PEM:
            raise KeyNotTrustedError()

    cache = TrustCache()
    registry = Authenticators(kite_key=KiteKeyAuthenticator(verify=verify, cache=cache))

    async def run(key: str) -> str:
        return await registry.authenticate(Auth("kiteKey", key), local=MATH, config=CONFIG, now=NOW)

    assert await run(ANCHOR_KEY) == "anchor"
    with pytest.raises(AuthenticationError) as info:
        await run(ROGUE_KEY)
    assert info.value.message == "kiteKey: kontrol key is not trusted"
    with pytest.raises(AuthenticationError) as info:
        await run(ROGUE_KEY)
    assert info.value.message == "kiteKey: invalid kontrol key found"
    assert len(cache) == 2


def test_trust_cache_is_bounded() -> None:
    cache = TrustCache(max_entries=2)
    for i in range(5):
        cache.set(f"k{i}", False, now=0, ttl=10)
    assert len(cache) == 2
    assert cache.get("k0", now=1) is None
    assert cache.get("k4", now=1) is False


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (TOKEN_OK, "kiteKey: no kontrol key found"),  # a token presented as a kite key
        (kite_key(kontrol_key="junk"), "kiteKey: Invalid Key: Key must be PEM encoded PKCS1 "
         "or PKCS8 private key"),
        (kite_key(private=ROGUE_PEM), "kiteKey: crypto/rsa: verification error"),  # wrong key
        (replace_payload(ANCHOR_KEY, {"sub": "root", "kontrolKey": TRUSTED_PEM}),
         "kiteKey: crypto/rsa: verification error"),  # tampered payload
        (hs256_with_public_key({"sub": "root", "kontrolKey": TRUSTED_PEM}, TRUSTED_PEM),
         "kiteKey: key is of invalid type"),
        (raw_jwt({"alg": "none", "typ": "JWT"}, {"sub": "root", "kontrolKey": TRUSTED_PEM}),
         "kiteKey: 'none' signature type is not allowed"),
        (raw_jwt({"alg": "ES256"}, {"sub": "root", "kontrolKey": TRUSTED_PEM}, b"x" * 64),
         "kiteKey: key is of invalid type"),
        (kite_key(sub=""), "kiteKey: token has no username"),
        (kite_key(iat=NOW + 1), "kiteKey: Token used before issued"),
        (kite_key(nbf=NOW + 60), "kiteKey: token is not valid yet"),
        (kite_key(exp=NOW - 3600), "kiteKey: token is expired by 1h0m0s"),
        ("x.y", "kiteKey: token contains an invalid number of segments"),
        (raw_jwt({"alg": "RS256"}, {"aud": ["/anchor"], "kontrolKey": TRUSTED_PEM}),
         "kiteKey: json: cannot unmarshal array into Go struct field KiteClaims.aud of type "
         "string"),
    ],
)  # fmt: skip
def test_kite_key_refusals(key: str, message: str) -> None:
    assert refusal(Auth("kiteKey", key)) == message


def test_kite_key_issued_by_us_authenticates() -> None:
    key = issue_kite_key(
        private_key=KONTROL_PEM,
        public_key=TRUSTED_PEM,
        issuer="anchor",
        subject="bob",
        kontrol_url="http://127.0.0.1:4000/kite",
        now=NOW,
    )
    assert check(Auth("kiteKey", key)) == "bob"


# ------------------------------------------------------------------ token


def test_tokens_issued_by_go_kontrol_authenticate() -> None:
    # Capture auth-token-ok: audience /anchor//math admits kite math of anchor.
    assert check(Auth("token", TOKEN_OK)) == "anchor"
    assert check(Auth("token", TOKEN_OK_XHR)) == "anchor"


def test_bad_signature_reported_as_expired() -> None:
    assert refusal(Auth("token", TOKEN_BAD_SIGNATURE)) == "token: token is expired"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (token(private=ROGUE_PEM), "token: token is expired"),  # wrong key (rotation)
        (replace_payload(TOKEN_OK, {"aud": "/", "iss": "anchor", "sub": "root"}),
         "token: token is expired"),  # tampered payload
        (ANCHOR_KEY, "token: token has no audience"),  # a kite key presented as a token
        (hs256_with_public_key({"aud": "/", "iss": "anchor", "sub": "root"}, TRUSTED_PEM),
         "token: invalid signing method"),
        (raw_jwt({"alg": "none", "typ": "JWT"}, {"aud": "/", "iss": "anchor", "sub": "root"}),
         "token: invalid signing method"),
        (raw_jwt({"alg": "PS256"}, {"aud": "/", "iss": "anchor", "sub": "root"}),
         "token: invalid signing method"),
        (token(iss="mallory"), "token: issuer is not trusted: mallory"),
        (token(iss=""), "token: issuer is not trusted: "),
        (token(exp=NOW - 5), "token: token is expired by 5s"),
        (token(nbf=NOW + 5), "token: token is not valid yet"),
        (token(iat=NOW + 5, nbf=0), "token: Token used before issued"),
        (token(sub=""), "token: token has no username"),
        (token(aud=""), "token: token has no audience"),
        (token(aud="/alice"), 'token: audience: username "alice" not allowed (/alice)'),
        (token(aud="/anchor/prod"), 'token: audience: environment "prod" not allowed '
         "(/anchor/prod)"),
        (token(aud="/anchor//calc"), 'token: audience: kite "calc" not allowed (/anchor//calc)'),
        (token(aud="vm"), "token: invalid audience: invalid kite string (vm)"),
        (token(aud="///math"), 'token: audience: username "" not allowed (///math)'),
        (raw_jwt({"alg": "RS256"}, {"aud": ["/anchor//math"], "iss": "anchor"}),
         "token: json: cannot unmarshal array into Go struct field KiteClaims.aud of type "
         "string"),
    ],
)  # fmt: skip
def test_token_refusals(key: str, message: str) -> None:
    assert refusal(Auth("token", key)) == message


@pytest.mark.parametrize(
    "audience",
    ["/", "/anchor", "/anchor/unknown", "/anchor//math", "/anchor/unknown/math/9.9.9/x/y/z"],
)
def test_token_audiences_admitted(audience: str) -> None:
    assert check(Auth("token", token(aud=audience, sub="alice"))) == "alice"


def test_token_expiry_is_exact_to_the_second() -> None:
    assert check(Auth("token", TOKEN_OK), now=TOKEN_EXP + 0.9) == "anchor"
    assert refusal(Auth("token", TOKEN_OK), now=TOKEN_EXP + 1) == "token: token is expired by 1s"


def test_token_without_kontrol_key_is_a_generic_error() -> None:
    no_key = dataclasses.replace(CONFIG, kontrol_key="")
    with pytest.raises(GenericError) as info:
        check(Auth("token", TOKEN_OK), config=no_key)
    assert info.value.message == "kontrol key is not set in config"
    assert info.value.type == "genericError"


def test_custom_audience_check() -> None:
    def only_superuser(local: KiteIdentity, audience: str) -> None:
        if audience != "/":
            raise AuthenticationError(f"want / not {audience}")

    registry = Authenticators(token=TokenAuthenticator(verify_audience=only_superuser))
    assert refusal(Auth("token", TOKEN_OK), registry=registry) == (
        "token: want / not /anchor//math"
    )
    assert check(Auth("token", token(aud="/")), registry=registry) == "anchor"


# ------------------------------------------------------------------ no mutant authenticates


def _mutants() -> st.SearchStrategy[tuple[str, str, str]]:
    originals = [("token", TOKEN_OK), ("kiteKey", ANCHOR_KEY)]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n"

    @st.composite
    def build(draw: st.DrawFn) -> tuple[str, str, str]:
        auth_type, original = draw(st.sampled_from(originals))
        chars = list(original)
        for _ in range(draw(st.integers(1, 3))):
            index = draw(st.integers(0, len(chars) - 1))
            chars[index] = draw(st.sampled_from(alphabet))
        return auth_type, original, "".join(chars)

    return build()


@settings(max_examples=300)
@given(_mutants())
def test_no_byte_mutant_authenticates(case: tuple[str, str, str]) -> None:
    auth_type, original, mutant = case
    if mutant == original:
        return
    registry = Authenticators()
    with pytest.raises(AuthenticationError) as info:
        registry.authenticate_sync(Auth(auth_type, mutant), local=MATH, config=CONFIG, now=NOW)
    assert info.value.message.startswith(auth_type + ": ")


def test_token_expiry_signal_matches_go_client_rule() -> None:
    expired = AuthenticationError("token: token is expired")
    assert is_token_expiry(expired)
    assert is_token_expiry(AuthenticationError("token: token is expired by 5s"))
    assert not is_token_expiry(AuthenticationError("token: token is not valid yet"))
    assert not is_token_expiry(GenericError("token is expired"))
