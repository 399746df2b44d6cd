"""The Python twin of the captures' Go ``gomath`` program (kite ``math`` 1.0.0).

How this works: `gomath_kite` builds a `kite.Kite` with exactly the methods of
``conformance/go/cmd/gomath`` (see ``captures/FORMAT.md``), configured like its command lines in
the captures: without ``auth`` authentication is disabled on every method (``gomath``), with
``auth`` the kite runs on ``keys/anchor.kite.key`` and trusts the captures' Kontrol key
(``gomath -auth -kitekey keys/anchor.kite.key``). Credentials are judged by the real
authenticators on an injected clock: the replay passes the capture's own clock
(`_capture_clock.CaptureClock`); by default a fixed moment of the recording, `RECORDING_TIME`,
when every captured key and token was valid. Nothing here reads today's date.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from kite import Config, Kite, KiteError, KiteKey, Request

from ._capture_clock import keys_moment
from ._captures import CAPTURES_DIR

__all__ = ["RECORDING_TIME", "gomath_kite", "judge_on_clock", "keys_dir", "math_kite"]


def keys_dir(captures: Path = CAPTURES_DIR) -> Path:
    """The captures' key folder (``keys/``)."""
    return captures / "keys"


#: When the captures were recorded (seconds since the epoch), read from the captured token.
RECORDING_TIME: float = keys_moment(keys_dir())


def gomath_kite(
    *,
    auth: bool = False,
    kitekey: bool = False,
    captures: Path = CAPTURES_DIR,
    clock: Callable[[], float] | None = None,
) -> Kite:
    """A kite ``math`` 1.0.0 serving what Go's ``gomath`` serves.

    Args:
        auth: like ``gomath -auth -kitekey keys/anchor.kite.key``: methods other than
            ``kite.ping`` need ``kiteKey`` or ``token`` authentication.
        kitekey: like ``gomath -kitekey keys/anchor.kite.key`` without ``-auth``: the key's
            identity (username ``anchor``), authentication off.
        captures: the captures folder whose ``keys/`` to use.
        clock: the wall clock (UTC seconds) credentials are judged on; default: a fixed moment
            of the recording (`_capture_clock.keys_moment` of the captures' keys).
    """
    config = Config()
    now = clock if clock is not None else _fixed(keys_moment(keys_dir(captures)))
    if auth or kitekey:
        raw = (keys_dir(captures) / "anchor.kite.key").read_text()
        config = config.with_kite_key(KiteKey.parse(raw, now=now()))
    k = math_kite(config.replace(disable_authentication=not auth))
    if auth:
        judge_on_clock(k, now)
    return k


def judge_on_clock(k: Kite, now: Callable[[], float]) -> None:
    """Make `k` judge the credentials of requests (expiry, not-before) on the clock `now`."""

    async def authenticate(r: Request) -> str:
        return await k.authenticators.authenticate(
            r.auth, local=k.identity, config=k.config, now=now()
        )

    k.authenticate = authenticate


def _fixed(moment: float) -> Callable[[], float]:
    return lambda: moment


def math_kite(config: Config | None = None) -> Kite:
    """A kite ``math`` 1.0.0 with exactly the methods of Go's ``gomath``.

    Args:
        config: the kite's configuration; default: authentication disabled (``gomath`` without
            ``-auth``). With a kite key and Kontrol key in it, it is ``gomath -auth`` judged at
            the current time (`gomath_kite` judges at `RECORDING_TIME` instead).
    """
    k = Kite("math", "1.0.0", config or Config(disable_authentication=True))

    @k.handle("square")
    def square(r: Request) -> float:
        n = r.args.one().float()
        return n * n

    @k.handle("echo")
    def echo(r: Request) -> Any:
        return r.args  # the arguments' JSON text exactly as received, as Go's r.Args

    @k.handle("rawArgs")
    def raw_args(r: Request) -> str | None:
        return r.args.json  # the arguments' JSON text as received (None: withArgs null)

    @k.handle("add")
    def add(r: Request) -> float:
        a, b = r.args.slice(2)
        return a.float() + b.float()

    @k.handle("fail")
    def fail(r: Request) -> None:
        raise ValueError(r.args.one().string())

    @k.handle("failTyped")
    def fail_typed(r: Request) -> None:
        raise KiteError(r.args.one().string(), type="customError", code="E_CUSTOM")

    @k.handle("boom")
    def boom(r: Request) -> None:
        raise RuntimeError("boom: deliberate panic in handler")

    @k.handle("sleep")
    async def sleep(r: Request) -> str:
        await trio.sleep(r.args.one().float() / 1000)
        return "slept"

    @k.handle("countdown")
    async def countdown(r: Request) -> str:
        opts = r.args.one().map()
        cb = opts["cb"].function()
        for i in range(opts["from"].int(), 0, -1):
            await cb(i)
        return "done"

    @k.handle("callMeBack")
    async def call_me_back(r: Request) -> Any:
        return await r.client.tell("client.hello", "hello from math", timeout=10)

    k.handle_func("limited", lambda r: "ok").throttle(60.0, 2)
    return k
