"""The clock of a capture: what the wall clock read while a scenario was being recorded.

How this works: every replay judges keys, tokens, renewals and expiries on the clock of the
capture, never on today's date, so recorded credentials stay valid however old the recording
is. `capture_origin` reads a moment of the recording from the scenario: its ``meta.json``
``recorded_at`` (UTC seconds) when the recorder wrote one; else from its own traffic, the
latest time it names: each JWT (kite key or token) carries its issue time ``iat``, and each
HTTP ``Date`` header the second it was written. Every credential of the scenario had been
issued by then, so none is "used before issued"; the moment is at most the capture's length
(seconds) after its first event, which no credential's lifetime notices. A scenario naming no
time falls back to the issue time of the captures' own token (`keys_moment`).

`CaptureClock` is the wall clock a replay hands to the code under test (``wall_clock=``,
``now=``, ``clock=`` arguments): it starts at the capture's first event and advances with
trio's clock, so a replay on a `trio.testing.MockClock` moves the capture's clock with it.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import trio

from kite import TokenError, parse_unverified

from ._captures import Event, Scenario

__all__ = ["CaptureClock", "capture_origin", "keys_moment"]

#: A JWT in any text (its header always starts ``{"`` = ``eyJ`` in base64url).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


@cache
def keys_moment(keys: Path) -> float:
    """A moment of the recording read from the captures' keys: one minute after Kontrol issued
    ``token-auth-token-ok.jwt``; else the latest ``iat`` of any key or token there."""
    token = keys / "token-auth-token-ok.jwt"
    if token.exists():
        return float(parse_unverified(token.read_text().strip()).claims.iat + 60)
    times = [iat for path in sorted(keys.glob("*")) if path.is_file() for iat in _iats(path)]
    if not times:
        raise FileNotFoundError(f"no key or token with an issue time in {keys}")
    return float(max(times))


def _iats(path: Path) -> Iterator[int]:
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return
    yield from _iats_in(text)


def _iats_in(text: str) -> Iterator[int]:
    for match in _JWT.finditer(text):
        try:
            iat = parse_unverified(match.group(0)).claims.iat
        except (TokenError, ValueError):
            continue
        if iat:
            yield int(iat)


def _times(ev: Event) -> Iterator[float]:
    """The wall-clock times one event names (``Date`` headers, JWT issue times)."""
    for name, value in ev.headers:
        if name.lower() == "date":
            try:
                parsed = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            if parsed.tzinfo is not None:
                yield parsed.timestamp() + 1  # the header's second has begun; +1 s covers it
    for text in (ev.data, ev.body):
        if text and "eyJ" in text:
            yield from _iats_in(text.replace("\\", ""))


def capture_origin(sc: Scenario, keys: Path) -> float:
    """A moment of the scenario's recording, UTC seconds (see the module docstring)."""
    recorded = sc.meta.get("recorded_at")
    if isinstance(recorded, int | float) and not isinstance(recorded, bool):
        return float(recorded)
    times = [t for ev in sc.events for t in _times(ev)]
    return max(times) if times else keys_moment(keys)


class CaptureClock:
    """The capture's wall clock: `start` at its first reading, then running with trio's clock
    (read it inside a trio run)."""

    __slots__ = ("_zero", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self._zero: float | None = None

    def __call__(self) -> float:
        """UTC seconds on the capture's clock."""
        now = trio.current_time()
        if self._zero is None:
            self._zero = now
        return self.start + (now - self._zero)

    def __repr__(self) -> str:
        return f"<CaptureClock from {self.start:.0f}>"
