"""A Python Kontrol configured like the captures' Go ``gokontrol``, for the replay's server role.

How this works: `running_kontrol` opens an in-memory SQLite storage and runs a
`kontrol.Kontrol` (user ``anchor``, version ``0.0.1``) signing with the captures' Kontrol key
pair (``keys/kontrol.pem`` / ``keys/kontrol.pub``), on the capture's clock
(`_capture_clock.CaptureClock`) so the captured kite keys and tokens verify whatever today's
date, the heartbeat interval taken from the scenario's
``gokontrol -heartbeat-interval`` flag, and HTTP ``/register`` and ``/heartbeat`` mounted like
the ``kontrol serve`` command does. The caller serves it with ``Kite.serve`` as any kite.

When the scenario started ``gomath -register ws`` before the recording (its registration is not
in the capture, but the queries see it), the same registration is made first: our `gomath`
twin with ``keys/anchor.kite.key`` registers the ``-register-url`` with its real Kontrol client
(``kite.register``) under the kite id the step recorded (``kite_id``, when there is one: queries
by id must find it), dialling over a memory pipe that stays open for the block (a
registration lives as long as its connection).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import kite
from kite import Peer, memory_pipe_pair, parse_duration
from kontrol import Kontrol, KontrolOptions, open_sqlite_storage

from ._capture_clock import CaptureClock, capture_origin
from ._captures import CAPTURES_DIR, Scenario
from ._gomath import gomath_kite, keys_dir

__all__ = ["gokontrol_flags", "running_kontrol"]


def gokontrol_flags(sc: Scenario) -> list[str] | None:
    """The ``gokontrol`` command line of the scenario (None when it ran none)."""
    for step in sc.steps:
        cmd = str(step.get("cmd", ""))
        if cmd.startswith("bin/gokontrol"):
            return cmd.split()[1:]
    return None


@asynccontextmanager
async def running_kontrol(
    sc: Scenario, captures: Path = CAPTURES_DIR, clock: CaptureClock | None = None
) -> AsyncIterator[Kontrol]:
    """A running Python Kontrol configured like the scenario's ``gokontrol``, on `clock`
    (default: the scenario's `CaptureClock`)."""
    flags = gokontrol_flags(sc) or []
    options: dict[str, Any] = {}
    if "-heartbeat-interval" in flags:
        value = flags[flags.index("-heartbeat-interval") + 1]
        options["heartbeat_interval"] = parse_duration(value) / 1e9
    keys = keys_dir(captures)
    clock = clock or CaptureClock(capture_origin(sc, keys))
    pair = kite.KeyPair((keys / "kontrol.pub").read_text(), (keys / "kontrol.pem").read_text())
    async with open_sqlite_storage(":memory:", cleanup_interval=None) as storage:
        k = Kontrol(
            config=kite.Config(username="anchor"),
            storage=storage,
            key_pair=pair,
            options=KontrolOptions(**options),
            clock=clock,
        )

        async def register(request: Any) -> None:
            answer = await k.handle_register_http(await request.body())
            await request.respond(answer.status, list(answer.headers), answer.body)

        async def heartbeat(request: Any) -> None:
            answer = k.handle_heartbeat_http(request.query)
            await request.respond(answer.status, list(answer.headers), answer.body)

        k.handle_http("/register", register)
        k.handle_http("/heartbeat", heartbeat)
        async with k.running():
            before = _registered_before(sc)
            if before is None:
                yield k
                return
            url, kite_id = before
            math = gomath_kite(auth=True, captures=captures, clock=clock)
            if kite_id:
                math.id = kite_id

            @asynccontextmanager
            async def over_a_pipe(_url: str) -> AsyncIterator[Peer]:
                a, b = memory_pipe_pair()
                async with k.accept(a), math.connect_pipe(b) as peer:
                    yield peer

            async with math.kontrol_client(dialler=over_a_pipe, url="memory:kontrol"):
                await math.register(url)  # gomath's RegisterForever; one registration suffices
                yield k


def _registered_before(sc: Scenario) -> tuple[str, str] | None:
    """The ``-register-url`` of a ``gomath -register ws`` started before the recording, and
    the kite id it registered under (the step's ``kite_id``; ``""`` when not recorded)."""
    for step in sc.steps:
        cmd = str(step.get("cmd", "")).split()
        before = cmd[:1] == ["bin/gomath"] and step.get("during_capture") is False
        if before and "-register" in cmd and "-register-url" in cmd:
            return cmd[cmd.index("-register-url") + 1], str(step.get("kite_id") or "")
    return None
