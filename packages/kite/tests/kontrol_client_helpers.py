"""Test material of the Kontrol client tests: a Kontrol kite serving Go Kontrol's methods with
real tokens (signed with captures/keys/kontrol.pem), an in-memory network of kites that can be
taken down and brought back, and the kite-side messages of the kontrol-* captures."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import trio
import trio.lowlevel
from kite_auth_support import KONTROL_PEM, NOW, anchor_config
from kite_rpc_helpers import RecordingPipe

from kite import (
    AuthContext,
    GenericError,
    Kite,
    KiteIdentity,
    KiteKeyAuthenticator,
    Peer,
    Request,
    audience_for_query,
    issue_token,
    memory_pipe_pair,
)
from kite._kontrol._registration import go_json

CAPTURES = Path(__file__).resolve().parents[3] / "conformance" / "captures"
KONTROL_URL = "http://127.0.0.1:14000/kite"
MATH_URL = "http://127.0.0.1:13636/kite"


def wall_clock() -> float:
    """UTC seconds tied to trio's (mock) clock, starting when the captured keys are valid."""
    return NOW + trio.current_time()


def capture_messages(name: str, direction: str = "c2s") -> list[str]:
    """The SockJS messages (dnode texts) of one direction of a capture, in order."""
    out: list[str] = []
    for line in (CAPTURES / f"{name}.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["kind"] == "ws-text" and event["dir"] == direction and event.get("sockjs"):
            out.extend(event["sockjs"].get("messages") or [])
    return out


def capture_events(name: str) -> list[dict[str, Any]]:
    """Every decoded event of a capture."""
    return [json.loads(line) for line in (CAPTURES / f"{name}.jsonl").read_text().splitlines()]


def use_wall_clock(k: Kite) -> Kite:
    """Make `k` authenticate requests at `wall_clock()` (tied to trio's mock clock) instead
    of the real time, so Kontrol-issued tokens are judged at the time they were issued."""

    async def authenticate(request: Request) -> str:
        return await k.authenticators.authenticate(
            request.auth, local=k.identity, config=k.config, now=wall_clock()
        )

    k.authenticate = authenticate
    return k


class FakeKontrol:
    """A Kontrol kite (`kite.Kite("kontrol", "0.0.1")`) serving Go Kontrol's kite methods
    from memory: `register` (calls `kite.heartbeat` back first), `getKites`, `getToken`,
    `getKey`, with tokens issued by `kite.issue_token` and kiteKey authentication."""

    def __init__(
        self, *, heartbeat_interval: int = 10, register_extra: dict[str, str] | None = None
    ):
        self.config = anchor_config()
        self.kite = use_wall_clock(Kite("kontrol", "0.0.1", self.config))
        self.kite.hostname = "vm"
        self.heartbeat_interval = heartbeat_interval
        self.register_extra = register_extra or {}
        self.registered: dict[str, tuple[KiteIdentity, str]] = {}
        self.pings: list[float] = []
        self.calls: list[str] = []
        self.token_private_key = KONTROL_PEM
        for name in ("register", "getKites", "getToken", "getKey"):
            self.kite.handle_func(name, getattr(self, "_" + name))

    async def _register(self, r: Request) -> dict[str, Any]:
        self.calls.append("register")
        url = r.args.one().map()["url"].string()
        if not url:
            raise GenericError("empty url")
        identity = r.client.kite
        self.registered[identity.id] = (identity, url)

        def ping() -> None:
            self.pings.append(trio.current_time())

        async def heartbeat() -> None:
            with suppress(Exception):
                await r.client.tell("kite.heartbeat", self.heartbeat_interval, ping, timeout=4)

        r.client.start_soon(heartbeat)
        await trio.lowlevel.checkpoint()  # the heartbeat call leaves before the answer, as Go's
        return {"url": url, "heartbeatInterval": 0, **self.register_extra}

    def _token(self, r: Request, audience: str) -> str:
        return issue_token(
            private_key=self.token_private_key,
            issuer="anchor",
            subject=r.username,
            audience=audience,
            now=wall_clock(),
        )

    def _match(self, query: dict[str, str]) -> list[tuple[KiteIdentity, str]]:
        found = []
        for identity, url in self.registered.values():
            fields = identity.to_json()
            if all(not v or fields.get(k) == v for k, v in query.items() if k in fields):
                found.append((identity, url))
        return found

    def _getKites(self, r: Request) -> dict[str, Any]:
        self.calls.append("getKites")
        query = {k: v.string() for k, v in r.args.one().map()["query"].map().items()}
        token = self._token(
            r, audience_for_query(query["username"], query["environment"], query["name"])
        )
        kites = [
            {"kite": identity.to_json(), "url": url, "keyId": "key-1", "token": token}
            for identity, url in self._match(query)
        ]
        return {"kites": kites}

    def _getToken(self, r: Request) -> str:
        self.calls.append("getToken")
        query = {k: v.string() for k, v in r.args.one().map().items() if k != "force"}
        found = self._match(query)
        if not found:
            raise GenericError("no kites found")
        if len(found) > 1:
            raise GenericError("query matches more than one kite")
        return self._token(
            r,
            audience_for_query(
                query.get("username", ""), query.get("environment", ""), query.get("name", "")
            ),
        )

    def _getKey(self, r: Request) -> str:
        self.calls.append("getKey")
        return self.config.kontrol_key


class Network:
    """Kites reachable by URL over in-memory pipes; a URL can go down (its connections are
    cut, dials refused) and come back, possibly served by a new kite (a restart)."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery
        self.kites: dict[str, Kite] = {}
        self.pipes: dict[str, list[Any]] = {}
        self.sent: dict[str, list[str]] = {}
        self.dials: dict[str, int] = {}

    def serve(self, url: str, server: Kite) -> None:
        self.kites[url] = server

    async def down(self, url: str) -> None:
        self.kites.pop(url, None)
        for pipe in self.pipes.pop(url, []):
            await pipe.aclose()

    def dialler(self, local: Kite) -> Callable[[str], Any]:
        @asynccontextmanager
        async def dial(url: str) -> AsyncIterator[Peer]:
            self.dials[url] = self.dials.get(url, 0) + 1
            server = self.kites.get(url)
            if server is None:
                raise OSError(f"dial {url}: connection refused")
            a, b = memory_pipe_pair()
            self.pipes.setdefault(url, []).append(b)
            recording = RecordingPipe(a)
            self.sent[url] = recording.sent
            self.nursery.start_soon(server.serve_pipe, b)
            async with local.connect_pipe(recording) as peer:
                yield peer

        return dial


def math_kite_with_tokens() -> Kite:
    """The captures' `math` kite (user anchor) accepting Kontrol tokens."""
    k = use_wall_clock(Kite("math", "1.0.0", anchor_config()))
    k.hostname = "vm"
    k.id = "10c39e01-6948-4637-aaca-cb4a96f2a1cf"
    k.handle_func("square", lambda r: r.args.one().float() ** 2)
    return k


def local_kite(name: str, kite_id: str) -> Kite:
    """A kite of user anchor with the captures' kite key, named and identified as given."""
    k = Kite(name, "1.0.0", anchor_config())
    k.hostname = "vm"
    k.id = kite_id
    return k


class HTTPKontrol:
    """Go Kontrol's HTTP handlers, in memory: an `HTTPRequester` that can be down."""

    def __init__(self, interval: int = 2) -> None:
        self.interval = interval
        self.up = True
        self.tracked: set[str] = set()
        self.requests: list[tuple[float, str, str, list[tuple[str, str]], bytes]] = []
        self.config = anchor_config()
        self.heartbeat_answer: tuple[int, bytes] | None = None

    def restart(self) -> None:
        self.tracked.clear()  # the tracking is in memory only

    async def __call__(
        self, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> tuple[int, bytes]:
        await trio.sleep(0.001)
        if not self.up:
            raise OSError("connect: connection refused")
        self.requests.append((trio.current_time(), method, url, list(headers), body))
        parts = urllib.parse.urlsplit(url)
        if parts.path == "/register":
            args = json.loads(body)
            if not args.get("url"):
                return 400, b'{"err":"empty URL"}\n'
            ctx = AuthContext(
                auth_type="kiteKey",
                key=args["auth"]["key"],
                local=local_kite("kontrol", "k").identity,
                config=self.config,
                now=wall_clock(),
            )
            try:
                KiteKeyAuthenticator()(ctx)
            except Exception as exc:
                return 401, go_json({"err": str(exc)}) + b"\n"
            self.tracked.add(args["kite"]["id"])
            return 200, go_json({"url": args["url"], "heartbeatInterval": self.interval}) + b"\n"
        if parts.path == "/heartbeat":
            if self.heartbeat_answer is not None:
                return self.heartbeat_answer
            kite_id = urllib.parse.parse_qs(parts.query).get("id", [""])[0]
            return 200, b"pong" if kite_id in self.tracked else b"registeragain"
        return 404, b"404 page not found\n"
