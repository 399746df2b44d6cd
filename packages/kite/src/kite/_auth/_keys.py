"""RSA keys in PEM, as Go kite and Kontrol write and read them (docs/protocol.md §5.2, §6.6).

How this works: Go compares Kontrol public keys as *exact strings* (the kite's `KontrolKey`
against a kite key's `kontrolKey` claim, key-pair lookups in Kontrol), so the PEM text is the
identity of a key and we always keep the text we were given next to the parsed object. New pairs
are generated in Go's format (`kitetest.GenerateKeyPair`): 2048-bit RSA, public key PKIX
`-----BEGIN PUBLIC KEY-----`, private key PKCS#1 `-----BEGIN RSA PRIVATE KEY-----`, 64-character
lines and a trailing newline (Kontrol trims it before use; claims carry the trimmed text).

Parsing mirrors jwt-go's `ParseRSAPublicKeyFromPEM` / `ParseRSAPrivateKeyFromPEM`: the first PEM
block of any type is used; a public key may be PKIX or a certificate, a private key PKCS#1 or
PKCS#8. Failures raise `KeyFormatError` whose text is jwt-go's (`Invalid Key: Key must be PEM
encoded PKCS1 or PKCS8 private key` -- sic, also for public keys -- and `Key is not a valid RSA
public key`); DER errors, whose Go text comes from `encoding/asn1`, are approximated by Go's
`x509: malformed certificate`. Parsed keys are cached by their PEM text (bounded LRU) because
every `kiteKey` authentication parses the presented key.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "KeyFormatError",
    "KeyPair",
    "generate_key_pair",
    "parse_private_key",
    "parse_public_key",
    "public_key_pem",
]

#: jwt-go's ErrKeyMustBePEMEncoded text, used for public keys too.
ERR_NOT_PEM = "Invalid Key: Key must be PEM encoded PKCS1 or PKCS8 private key"
ERR_NOT_RSA_PUBLIC = "Key is not a valid RSA public key"
ERR_NOT_RSA_PRIVATE = "Key is not a valid RSA private key"
ERR_MALFORMED_DER = "x509: malformed certificate"

_PEM_BLOCK = re.compile(
    r"-----BEGIN ([^\r\n-]*)-----\r?\n(.*?)-----END \1-----",
    re.DOTALL,
)


#: What `cryptography` raises for DER it cannot use.
_DER_ERRORS = (ValueError, TypeError, UnsupportedAlgorithm)


class KeyFormatError(ValueError):
    """A key that Go's jwt-go would refuse to parse; `str()` is jwt-go's text."""


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A PEM key pair as Go writes it; `public` is the exact text trusted peers compare."""

    public: str
    private: str


def _first_pem_block(text: str) -> bytes:
    """Go's `pem.Decode`: the DER bytes of the first well-formed PEM block, header lines
    (`Name: value`) skipped."""
    for match in _PEM_BLOCK.finditer(text):
        lines = match.group(2).splitlines()
        body = "".join(line.strip() for line in lines if ":" not in line)
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            continue
    raise KeyFormatError(ERR_NOT_PEM)


@lru_cache(maxsize=256)
def parse_public_key(pem: str) -> rsa.RSAPublicKey:
    """Parse an RSA public key from PEM (PKIX, or the key of a certificate), Go's way.

    Raises:
        KeyFormatError: with jwt-go's text.
    """
    der = _first_pem_block(pem)
    key: object
    try:
        key = serialization.load_der_public_key(der)
    except _DER_ERRORS:
        try:
            key = x509.load_der_x509_certificate(der).public_key()
        except _DER_ERRORS:
            raise KeyFormatError(ERR_MALFORMED_DER) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyFormatError(ERR_NOT_RSA_PUBLIC)
    return key


@lru_cache(maxsize=32)
def parse_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Parse an RSA private key from PEM (PKCS#1 or PKCS#8), Go's way.

    Raises:
        KeyFormatError: with jwt-go's text.
    """
    der = _first_pem_block(pem)
    key: object
    try:
        key = serialization.load_der_private_key(der, password=None)
    except _DER_ERRORS:
        raise KeyFormatError("x509: failed to parse private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError(ERR_NOT_RSA_PRIVATE)
    return key


def public_key_pem(key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> str:
    """The PKIX PEM text of a public key, exactly as Go's `pem.EncodeToMemory` writes it."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def generate_key_pair(bits: int = 2048) -> KeyPair:
    """A new RSA key pair in Go's PEM format (PKIX public, PKCS#1 private, trailing newline)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    return KeyPair(public=public_key_pem(private), private=private_pem)
