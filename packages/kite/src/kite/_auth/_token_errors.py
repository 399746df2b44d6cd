"""How a JWT fails: jwt-go's `ValidationError` texts and flag bits."""

from __future__ import annotations

import enum

__all__ = ["TokenError", "ValidationFlag"]


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
