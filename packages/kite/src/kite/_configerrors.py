"""Local configuration errors: never sent on the wire, so outside the `KiteError` tree.

ConfigError (ValueError)       an invalid setting; `.variable` names the env variable
└── KiteKeyError               kite.key unreadable or invalid; `.path`, `.reason`
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConfigError", "KiteKeyError"]


class ConfigError(ValueError):
    """An invalid configuration value.

    Attributes:
        variable: the environment variable (or setting) at fault, "" if none.
        go_message: the text Go's `config` package gives for the same input, when it has one.
    """

    def __init__(self, message: str, *, variable: str = "", go_message: str = "") -> None:
        super().__init__(message)
        self.variable = variable
        self.go_message = go_message or message


class KiteKeyError(ConfigError):
    """The kite.key file cannot be read, or its JWT fails Go's checks.

    `str()` is `<path>: <reason>`; `reason` is Go's text (`no such file or directory`,
    `invalid signing method`, `Token used before issued`, ...).
    """

    def __init__(self, path: Path | str | None, reason: str) -> None:
        where = str(path) if path is not None else "kite key"
        super().__init__(f"{where}: {reason}", variable="KITE_HOME", go_message=reason)
        self.path = Path(path) if path is not None else None
        self.reason = reason
