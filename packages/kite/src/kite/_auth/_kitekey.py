"""The `kite.key` file: where it lives, how Go reads, checks and writes it (docs/protocol.md §5.1).

How this works: `kite_home(environ)` is `$KITE_HOME`, else `<home of the current OS user>/.kite`
(Go's `os/user` lookup: the passwd entry, not `$HOME`). `read_kite_key` reads
`<home>/kite.key`, trims surrounding whitespace and checks the JWT against the public key in its
own `kontrolKey` claim -- an *integrity* check, not trust: RSA algorithms only (`invalid signing
method`), a parsable PEM key, a valid signature and time claims (a key issued in the future fails
with `Token used before issued`). `write_kite_key` creates the directory with mode 0700 and
leaves the key, without trailing newline, in a 0400 file, replacing a read-only one; it writes a
temporary file and renames it so a crash never leaves a half-written key. Nothing here reads the
process environment or clock unless the caller passes them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from .._configerrors import KiteKeyError
from ._claims import KiteClaims
from ._keys import KeyFormatError, parse_public_key
from ._token_errors import TokenError
from ._tokens import RSA_ALGORITHMS, ParsedToken, parse_token

__all__ = [
    "KiteKey",
    "kite_home",
    "kite_key_path",
    "load_kite_key",
    "read_kite_key",
    "write_kite_key",
]

KITE_DIR_NAME = ".kite"
KITE_KEY_FILE_NAME = "kite.key"


@dataclass(frozen=True, slots=True)
class KiteKey:
    """A kite key (`raw` JWT) and its claims, as `config.ReadToken` uses them."""

    raw: str
    claims: KiteClaims

    @property
    def username(self) -> str:
        """`sub`: the user this machine is registered for (`Config.Username`)."""
        return self.claims.sub

    @property
    def kontrol_user(self) -> str:
        """`iss`: Kontrol's username, the expected issuer of tokens (`Config.KontrolUser`)."""
        return self.claims.iss

    @property
    def id(self) -> str:
        """`jti` (`Config.Id`); Go does *not* use it as the kite id by default."""
        return self.claims.jti

    @property
    def kontrol_url(self) -> str:
        """`kontrolURL` (`Config.KontrolURL`)."""
        return self.claims.kontrol_url

    @property
    def kontrol_key(self) -> str:
        """`kontrolKey`: Kontrol's public key PEM, the exact text trusted (`Config.KontrolKey`)."""
        return self.claims.kontrol_key

    @classmethod
    def parse(cls, raw: str, *, now: float) -> KiteKey:
        """Check a kite key JWT the way Go's `kitekey.Parse` does (see module doc).

        Raises:
            TokenError: with jwt-go's text.
        """
        raw = raw.strip()
        return cls(raw=raw, claims=parse_token(raw, _embedded_key, now=now))


def _embedded_key(token: ParsedToken) -> rsa.RSAPublicKey:
    """Go's `kitekey.Extractor`: RSA only, key taken from the token's own `kontrolKey`."""
    if token.alg not in RSA_ALGORITHMS:
        raise TokenError("invalid signing method")
    try:
        return parse_public_key(token.claims.kontrol_key)
    except KeyFormatError as exc:
        raise TokenError(str(exc)) from None


def _user_home() -> Path:
    """Home directory of the current OS user from the passwd database (Go's `os/user`)."""
    try:
        import pwd

        return Path(pwd.getpwuid(os.getuid()).pw_dir)
    except (ImportError, KeyError, AttributeError):
        return Path.home()


def kite_home(environ: Mapping[str, str], *, user_home: Path | None = None) -> Path:
    """`$KITE_HOME` if set and non-empty, else `<user home>/.kite`."""
    configured = environ.get("KITE_HOME", "")
    if configured:
        return Path(configured)
    return (user_home if user_home is not None else _user_home()) / KITE_DIR_NAME


def kite_key_path(environ: Mapping[str, str], *, user_home: Path | None = None) -> Path:
    """The path of `kite.key` under `kite_home(environ)`."""
    return kite_home(environ, user_home=user_home) / KITE_KEY_FILE_NAME


def _os_reason(exc: OSError) -> str:
    """The errno text Go prints (`no such file or directory`, `permission denied`, ...)."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:] if text else "i/o error"


def read_kite_key(path: Path | str, *, now: float | None = None) -> KiteKey:
    """Read, trim and integrity-check the kite key at `path`.

    Args:
        path: the kite.key file.
        now: UTC seconds for the time-claim checks; default the current time.

    Raises:
        KiteKeyError: naming the file and the reason (Go's text where Go has one).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KiteKeyError(path, _os_reason(exc)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise KiteKeyError(path, "not a UTF-8 text file") from None
    try:
        return KiteKey.parse(text, now=time.time() if now is None else now)
    except TokenError as exc:
        raise KiteKeyError(path, exc.message) from None


def load_kite_key(
    environ: Mapping[str, str], *, now: float | None = None, user_home: Path | None = None
) -> KiteKey:
    """Go's `kitekey.Parse()`: read the kite key from `$KITE_HOME/kite.key` (§5.1)."""
    return read_kite_key(kite_key_path(environ, user_home=user_home), now=now)


def _make_dirs(directory: Path) -> None:
    """Go's `os.MkdirAll(dir, 0700)`: every missing component is created with mode 0700
    (`Path.mkdir(parents=True)` would give the parents default permissions)."""
    missing: list[Path] = []
    current = directory
    while not current.is_dir():
        if current.exists():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(current))
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for component in reversed(missing):
        component.mkdir(mode=0o700, exist_ok=True)


def write_kite_key(raw: str, path: Path | str) -> Path:
    """Write a kite key as Go's `kitekey.Write` leaves it: directory 0700, file 0400, no
    trailing newline, an existing (read-only) file replaced.

    Raises:
        KiteKeyError: naming the file when the directory or file cannot be written.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _make_dirs(path.parent)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        try:
            view = memoryview(raw.encode("utf-8"))
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise KiteKeyError(path, _os_reason(exc)) from None
    return path
