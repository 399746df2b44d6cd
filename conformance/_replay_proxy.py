"""Our reverse proxy in the place of Go's ``goreverseproxy``, for the replay's server role.

How this works: a scenario whose traffic has a link ``proxy`` recorded Go's reverse proxy (kite
``proxy``): kites calling its ``register(url)`` and clients reaching them under
``/proxy/<kite id>/...``, which it forwards to the registered URL. `reverse_proxy_twin` makes
our `kite.proxy.ReverseProxy` configured like the recorded one: its public URLs name the
address the recording's clients dialled (the ``listen`` of the link's ``tcp-open``), so its
``register`` answers are byte for byte Go's, and with ``-kitekey`` in the recorded command line
it runs on ``keys/anchor.kite.key``, credentials judged on the capture's clock.

Our proxy dials the URLs kites register, which name the recorded servers' addresses;
`AddressMap` points them at our twins of those servers in what the replay sends to the proxy
(only there: elsewhere the recorded addresses are what Go's servers answered and stay as they
are).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from kite import Config, KiteKey
from kite.proxy import ReverseProxy, TunnelProxy

from ._captures import Event, Scenario
from ._gomath import judge_on_clock, keys_dir
from ._replay_wire import ServerEvent

__all__ = [
    "PROXY_LINK",
    "TUNNEL_LINK",
    "TUNNEL_TOKEN",
    "AddressMap",
    "TunnelURLs",
    "behind_proxy",
    "proxy_parties",
    "recorded_address",
    "reverse_proxy_twin",
    "tunnel_proxy_twin",
]

#: The link name of a recorded reverse proxy.
PROXY_LINK = "proxy"
#: The link name of a recorded tunnel proxy.
TUNNEL_LINK = "tunnel"

#: The version ``gotunnelproxy`` gives its kite (``tunnelproxy.New(cfg, "0.0.1", ...)``).
GO_TUNNEL_VERSION = "0.0.1"

#: A tunnel URL in a ``kite.tunnel`` call (inside escaped JSON text too).
_TUNNEL_URL = re.compile(r"wss?://[^\"\\]*/tunnel/[^\"\\]*")

#: Named on the line when our tunnel proxy's ``kite.tunnel`` URL stood in for Go's.
TUNNEL_TOKEN = "tunnel URL: our token and tunnel number where Go signs a JWT (opaque to the kite)"


def behind_proxy(link: str) -> str:
    """The name of the twin of `link`'s server that our reverse proxy forwards to.

    It is a second twin, apart from the one the replay plays the recorded proxy's own
    connections at: the two carry the same SockJS session ids."""
    return f"{link} behind the proxy"


def recorded_address(sc: Scenario, link: str) -> tuple[str, int] | None:
    """The address (host, port) the recording's clients dialled for `link`."""
    for ev in sc.events:
        if ev.kind == "tcp-open" and ev.link == link and ev.listen:
            host, _, port = ev.listen.rpartition(":")
            return host, int(port)
    return None


def _proxy_flags(sc: Scenario, program: str) -> list[str]:
    for step in sc.steps:
        cmd = str(step.get("cmd", "")).split()
        if cmd[:1] == [f"bin/{program}"]:
            return cmd[1:]
    return []


def _twin_config(
    sc: Scenario, program: str, link: str, captures: Path, clock: Callable[[], float]
) -> tuple[Config, str, int | None]:
    """The config (the captures' kite key with ``-kitekey``) and public address of our twin of
    the recorded `program` serving `link`."""
    address = recorded_address(sc, link)
    host, port = address if address is not None else ("127.0.0.1", None)
    config = Config()
    if "-kitekey" in _proxy_flags(sc, program):
        raw = (keys_dir(captures) / "anchor.kite.key").read_text()
        config = config.with_kite_key(KiteKey.parse(raw, now=clock()))
    return config, host, port


def reverse_proxy_twin(sc: Scenario, captures: Path, clock: Callable[[], float]) -> ReverseProxy:
    """Our reverse proxy like the scenario's (public address, kite key), on `clock`."""
    config, host, port = _twin_config(sc, "goreverseproxy", PROXY_LINK, captures, clock)
    proxy = ReverseProxy(config, public_host=host, public_port=port)
    judge_on_clock(proxy.kite, clock)
    return proxy


def tunnel_proxy_twin(sc: Scenario, captures: Path, clock: Callable[[], float]) -> TunnelProxy:
    """Our tunnel proxy like the scenario's ``gotunnelproxy`` (public address, kite key, its
    kite's version), on `clock`."""
    config, host, port = _twin_config(sc, "gotunnelproxy", TUNNEL_LINK, captures, clock)
    proxy = TunnelProxy(config, public_host=host, public_port=port)
    proxy.kite.version = GO_TUNNEL_VERSION
    judge_on_clock(proxy.kite, clock)
    return proxy


@dataclass
class TunnelURLs:
    """The tunnel URLs our tunnel proxy handed out in place of the recorded ones.

    A recorded kite dials the tunnel URL Go's proxy gave it (a JWT in it); ours gives its own.
    `learn` notes ours when our ``kite.tunnel`` call arrives (and puts the recorded one in its
    place for the comparison); `event` then sends the kite's tunnel request to ours."""

    targets: dict[str, str] = field(default_factory=dict)  # recorded target → ours

    def learn(self, ev: Event, got: ServerEvent, tolerated: set[str]) -> ServerEvent:
        if ev.kind != "ws-text" or "kite.tunnel" not in (ev.data or ""):
            return got
        text = got.body.decode("utf-8", "replace")
        recorded, ours = _TUNNEL_URL.search(ev.data or ""), _TUNNEL_URL.search(text)
        if recorded is None or ours is None:
            return got
        self.targets[_target(recorded.group(0))] = _target(ours.group(0))
        tolerated.add(TUNNEL_TOKEN)
        return replace(got, body=text.replace(ours.group(0), recorded.group(0)).encode())

    def event(self, ev: Event) -> Event:
        if ev.kind == "http-request" and ev.target in self.targets:
            return replace(ev, target=self.targets[ev.target])
        return ev


def _target(url: str) -> str:
    """The request target of a URL (``/path?query``)."""
    rest = url.split("://", 1)[1]
    return "/" + rest.partition("/")[2]


@dataclass(frozen=True, slots=True)
class AddressMap:
    """Recorded ``host:port`` of each server → the address our twin of it serves on."""

    addresses: Mapping[str, str]

    @classmethod
    def of(cls, sc: Scenario, ports: Mapping[str, int]) -> AddressMap:
        """The map for the scenario's links served on `ports` (127.0.0.1; a link's twin
        `behind_proxy` when there is one)."""
        pairs = {}
        for link, port in ports.items():
            address = recorded_address(sc, link)
            if address is not None and link != PROXY_LINK:
                port = ports.get(behind_proxy(link), port)
                pairs[f"{address[0]}:{address[1]}"] = f"127.0.0.1:{port}"
        return cls(pairs)

    def event(self, ev: Event, link: str) -> Event:
        """`ev` as the replay sends it on a connection to `link`: to the reverse proxy, the URLs
        of the other servers in WebSocket text name our twins (the proxy dials them)."""
        if link != PROXY_LINK or ev.kind != "ws-text" or not ev.data or ev.data_b64 is not None:
            return ev
        text = ev.data
        for recorded, ours in self.addresses.items():
            text = text.replace(f"//{recorded}/", f"//{ours}/")
        return replace(ev, data=text) if text != ev.data else ev


def proxy_parties(sc: Scenario) -> list[tuple[str, Scenario]] | None:
    """The Go clients of a reverse proxy's recording, each as a scenario of its own
    connections: the kites on the proxy kite's own URL (``register``), then the clients calling
    a kite through ``/proxy/<kite id>``. None when the scenario recorded no reverse proxy.

    The proxy's own connections to the kites behind it are nobody's client: it forwards bytes
    (the server role replays them at our twins)."""
    links = {e.conn: e.link for e in sc.events if e.kind == "tcp-open"}
    if PROXY_LINK not in links.values():
        return None
    groups: dict[str, set[int]] = {"kite registering to the proxy": set(), "client": set()}
    for ev in sc.events:
        if ev.kind == "http-request" and ev.dir == "c2s" and links.get(ev.conn) == PROXY_LINK:
            through = (ev.target or "").startswith("/proxy/")
            groups["client" if through else "kite registering to the proxy"].add(ev.conn)
    parties = []
    for label, conns in groups.items():
        if not conns:
            continue
        meta = dict(sc.meta)
        if label != "client":  # what goclient printed is the through-client's
            meta["client_outputs"] = []
        events = tuple(e for e in sc.events if e.conn in conns)
        parties.append((label, Scenario(name=sc.name, meta=meta, events=events)))
    return parties
