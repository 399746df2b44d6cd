"""The client roles of a tunnel proxy recording: our kite behind the tunnel, a client through it.

How this works: a scenario whose traffic has a link ``tunnel`` recorded Go's tunnel proxy
(``gotunnelproxy``): a kite nobody can dial registers to it (``register``) on its kite
connection; a client dials ``/proxy?kiteID=<kite id>``; the proxy then calls ``kite.tunnel({url})``
on the kite, which dials that URL (``/tunnel/<server>/<session>/websocket?token=<JWT>``) and
serves the client's session over it. `tunnel_parties` cuts the recording into its two Go
clients of the proxy, each a scenario of its own connections: the client through the tunnel
(replayed as any client, dialling the recorded ``/proxy?kiteID=...``), and the kite: its kite
connection and its tunnel. `replay_tunnel_kite_diff` plays the proxy's side of both at our kite:
a fake proxy answers the kite's ``register`` and calls ``kite.tunnel`` with a URL naming a
second fake, which accepts our runtime's tunnel connection and plays the client's calls
carried through it, comparing what our kite answers with what Go's did.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import trio

from kite import Config, KiteKey, Peer, memory_pipe_pair

from ._capture_clock import CaptureClock, capture_origin
from ._captures import CAPTURES_DIR, Scenario
from ._gomath import keys_dir, math_kite
from ._replay_calls import serve_recorded_answers
from ._replay_client import _client_kite, _fake_server
from ._replay_kontrol import running_kontrol
from ._replay_proxy import recorded_address
from ._replay_script import UnreplayableError, read_script

__all__ = ["TUNNEL_LINK", "replay_tunnel_kite_diff", "tunnel_parties"]

#: The link name of a recorded tunnel proxy.
TUNNEL_LINK = "tunnel"

KITE = "kite behind the tunnel"
CLIENT = "client"
KITE_CONNECTION = "its kite connection"
TUNNEL = "its tunnel"
KONTROL = "memory:kontrol"  # our Kontrol's URL here: a memory pipe


def tunnel_parties(sc: Scenario) -> list[tuple[str, Scenario]] | None:
    """The kite behind the tunnel (its kite connection and its tunnels) and the client
    through it (``/proxy...``), each a scenario of its connections; None without a tunnel."""
    links = {e.conn: e.link for e in sc.events if e.kind == "tcp-open"}
    if TUNNEL_LINK not in links.values():
        return None
    groups: dict[str, set[int]] = {KITE: set(), CLIENT: set()}
    for ev in sc.events:
        if ev.kind == "http-request" and ev.dir == "c2s" and links.get(ev.conn) == TUNNEL_LINK:
            through = (ev.target or "").startswith("/proxy")
            groups[CLIENT if through else KITE].add(ev.conn)
    parties = []
    for label, conns in groups.items():
        if conns:
            meta = dict(sc.meta)
            if label == KITE:  # what goclient printed is the client's
                meta["client_outputs"] = []
            events = tuple(e for e in sc.events if e.conn in conns)
            parties.append((label, Scenario(name=sc.name, meta=meta, events=events)))
    return parties


async def replay_tunnel_kite_diff(
    party: Scenario,
    tolerated: set[str],
    *,
    captures: Path = CAPTURES_DIR,
    event_timeout: float = 5.0,
) -> str | None:
    """Play the tunnel proxy's side of the kite's connections (`tunnel_parties`) at our kite
    doing Go's ``RegisterToTunnel`` (`Kite.register_to_tunnel`, the proxy named by
    ``proxy_url`` as ``KITE_PROXY_URL`` names it): its ``register`` call, the proxy's
    ``kite.tunnel`` and the session through the tunnel our runtime opens; the first
    difference, or None.

    Our kite takes the recorded kite's identity and kite key (from its ``register`` call) and
    answers the calls carried through the tunnel as Go's did; it registers the tunnel's URL to
    our Kontrol (`_replay_kontrol.running_kontrol`, over a memory pipe), as Go's did to its
    Kontrol. Everything runs on the capture's clock.
    """
    script = read_script(party)
    registers = [c for c in script.calls if c.method == "register"]
    auth = registers[0].auth if len(registers) == 1 else None
    if auth is None:
        raise UnreplayableError("the kite did not make one authenticated register call")
    register = registers[0]
    kite_conn = register.conn
    tunnels = sorted({e.conn for e in party.events if e.kind == "tcp-open"} - {kite_conn})
    if len(tunnels) != 1:
        raise UnreplayableError(f"{len(tunnels)} tunnels; this replay drives one")
    address = recorded_address(party, TUNNEL_LINK)
    if address is None:
        raise UnreplayableError("the recording names no address of the tunnel proxy")
    clock = CaptureClock(capture_origin(party, keys_dir(captures)))
    proxy_listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    tunnel_listener = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
    proxy_port = proxy_listener.socket.getsockname()[1]
    tunnel_port = tunnel_listener.socket.getsockname()[1]
    key = KiteKey.parse(auth[1], now=clock())
    config = Config(disable_authentication=True).with_kite_key(key)  # a kite without -auth
    config = config.replace(proxy_url=f"http://127.0.0.1:{proxy_port}/kite")
    if _is_gomath(party, register.kite):  # our twin, handlers and all (calls back, calls out)
        k = math_kite(config)
    else:  # any other kite: the calls carried through the tunnel answered as Go answered
        k = _client_kite(register.kite, config)
        serve_recorded_answers(k, script)
    recorded = f"//{address[0]}:{address[1]}/tunnel"
    replace = {recorded: f"//127.0.0.1:{tunnel_port}/tunnel"}
    diffs: dict[str, str | None] = {}
    finished = {name: trio.Event() for name in (KITE_CONNECTION, TUNNEL)}

    async def fake(name: str, listener: trio.SocketListener, conn: int) -> None:
        async with listener:
            stream = await listener.accept()
        may_close = trio.Event()
        may_close.set()  # our side may end its connection whenever Go's did
        async with stream:
            diffs[name] = await _fake_server(
                party, stream, tolerated, may_close, event_timeout, conn=conn, replace=replace
            )
        finished[name].set()

    async with running_kontrol(party, captures, clock) as kontrol:

        @asynccontextmanager
        async def dialler(url: str) -> AsyncIterator[Peer]:
            if url != KONTROL:  # the proxy: a real dial, as the default dialler's
                async with k.dial(url) as client:
                    yield client.peer
                return
            a, b = memory_pipe_pair()
            async with kontrol.accept(a), k.connect_pipe(b) as peer:
                yield peer

        async with trio.open_nursery() as nursery:
            nursery.start_soon(fake, KITE_CONNECTION, proxy_listener, kite_conn)
            nursery.start_soon(fake, TUNNEL, tunnel_listener, tunnels[0])
            async with k.kontrol_client(dialler=dialler, url=KONTROL):
                with trio.move_on_after(event_timeout * 4):
                    await nursery.start(partial(k.register_to_tunnel, retry=event_timeout))
                    for event in finished.values():
                        await event.wait()
                nursery.cancel_scope.cancel()
    for name in (KITE_CONNECTION, TUNNEL):
        if name not in diffs:
            return f"{name}: the fake tunnel proxy did not finish within {event_timeout * 4:g} s"
        if diffs[name] is not None:
            return f"{name}: {diffs[name]}"
    return None


def _is_gomath(sc: Scenario, identity: Mapping[str, Any]) -> bool:
    """The kite behind the tunnel is Go's ``gomath`` (a ``bin/gomath`` step, kite ``math``)."""
    ran = any(str(step.get("cmd", "")).startswith("bin/gomath") for step in sc.steps)
    return ran and identity.get("name") == "math"
