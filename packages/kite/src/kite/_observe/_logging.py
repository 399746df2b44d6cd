"""The `kite` logger tree and `KITE_LOG_LEVEL`.

How this works: every module logs under one tree rooted at `kite` (`kite.server` for served
calls, `kite.client` for calls made and dialling, `kite.rpc` for connections, `kite.http`,
`kite.kontrol`, ...); Kontrol logs under `kontrol`. The library never configures the root
logger. `apply_log_level` (called by `Kite` when its `Config.log_level` is set, as
`Config.from_env` does for `KITE_LOG_LEVEL`) sets the level of both trees, and, when the
application has configured no logging at all (no handler on the root logger or on the tree),
gives each tree a stderr handler of its own, so that `KITE_LOG_LEVEL=DEBUG` shows something
without any code. An application that configures logging itself keeps full control.
"""

from __future__ import annotations

import logging
import sys
from typing import Final

__all__ = ["LEVELS", "TREES", "apply_log_level"]

#: `KITE_LOG_LEVEL` values (Go's names) and their `logging` levels.
LEVELS: Final = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}
#: The roots of the logger trees a level applies to.
TREES: Final = ("kite", "kontrol")
_FORMAT: Final = "%(asctime)s [%(name)s] %(levelname)s %(message)s"


class _KiteStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `apply_log_level` adds (marked by its class, so it is added once)."""


def apply_log_level(level: str) -> None:
    """Set the `kite` and `kontrol` loggers to `level` (a `LEVELS` key, case-insensitive).

    Raises:
        ValueError: `level` is not one of `LEVELS`.
    """
    try:
        value = LEVELS[level.upper()]
    except KeyError:
        raise ValueError(f"unknown log level {level!r} (use one of {', '.join(LEVELS)})") from None
    configured = bool(logging.getLogger().handlers)
    for name in TREES:
        logger = logging.getLogger(name)
        logger.setLevel(value)
        if configured or logger.handlers:
            continue
        handler = _KiteStderrHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
        logger.propagate = False
