"""The `Kite`: construction, identity, authentication hook and lifecycle hooks."""

from __future__ import annotations

import pytest
import trio
from kite_auth_support import ALICE_KEY, ROGUE_KEY, anchor_config
from kite_rpc_helpers import client_kite, connected, math_kite

from kite import (
    Auth,
    AuthContext,
    AuthenticationError,
    Config,
    GenericError,
    Kite,
    KiteIdentity,
    Peer,
    Request,
    memory_pipe_pair,
)


@pytest.mark.parametrize(
    ("name", "version", "message"),
    [
        ("", "1.0.0", "kite: name cannot be empty"),
        ("k", "1.0", "kite: version must be 3-digits semantic version"),
        ("k", "1.0.0.0", "kite: version must be 3-digits semantic version"),
    ],
)
def test_validation_texts(name: str, version: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Kite(name, version)


def test_identity_defaults_and_config() -> None:
    k = Kite("math", "a.b.c")  # parts are not checked to be numeric (Go)
    assert (k.username, k.environment, k.region) == ("unknown", "unknown", "unknown")
    assert len(k.id) == 36
    assert Kite("math", "1.0.0").id != k.id  # fresh per kite
    cfg = Config(username="anchor", environment="prod", region="eu", id="fixed")
    k = Kite("math", "1.0.0", cfg)
    assert k.config is cfg
    assert len(k.id) == 36
    assert k.id != "fixed"  # Go: a fresh UUID, not the kite key's jti
    k.id = cfg.id  # what a Go program does with `k.Id = cfg.Id`
    assert k.identity == KiteIdentity("math", "anchor", "fixed", "prod", "eu", "1.0.0", k.hostname)
    assert list(k.identity_json) == [
        "name",
        "username",
        "id",
        "environment",
        "region",
        "version",
        "hostname",
    ]
    assert k.identity.to_json() == k.identity_json


async def test_authenticators_and_username() -> None:
    # gomath -auth: trusts the captures' Kontrol key; alice's kite key is signed by it.
    server = math_kite(auth=True, config=anchor_config())
    seen: list[tuple[str, str]] = []
    server.handle_func("who", lambda r: seen.append((r.username, r.client.kite.username)))
    server.handle_func("open", lambda r: r.username, auth=False)
    async with connected(server, client_kite(), auth=Auth("kiteKey", ALICE_KEY)) as (c, s, _, _):
        assert await c.tell("open") == "unknown"  # self-declared before authentication
        await c.tell("who")
        assert await c.tell("open") == "alice"  # the authenticated name replaced it
        assert s.kite.name == "goclient"
    assert seen == [("alice", "alice")]
    async with connected(server, client_kite(), auth=Auth("kiteKey", ROGUE_KEY)) as (c, _, _, _):
        with pytest.raises(AuthenticationError) as info:
            await c.tell("who")
    assert info.value.message == "kiteKey: kontrol key is not trusted"
    assert len(info.value.id) == 16


async def test_custom_authenticator_registry() -> None:
    server = math_kite(auth=True)
    server.handle_func("who", lambda r: r.username)

    def session_id(ctx: AuthContext) -> str:
        if ctx.key != "good":
            raise AuthenticationError("unknown session")
        assert ctx.local == server.identity
        assert ctx.config is server.config
        return "bob"

    server.authenticators.register("sessionID", session_id)
    async with connected(server, client_kite(), auth=Auth("sessionID", "good")) as (c, _, _, _):
        assert await c.tell("who") == "bob"
        c.auth = Auth("sessionID", "bad")
        with pytest.raises(AuthenticationError) as refused:
            await c.tell("who")
        assert refused.value.message == "sessionID: unknown session"
        c.auth = Auth("other", "x")
        with pytest.raises(AuthenticationError) as unknown:
            await c.tell("who")
        assert unknown.value.message == "Unknown authentication type: other"


async def test_custom_authenticate_hook() -> None:
    server = math_kite(auth=True)

    async def authenticate(r: Request) -> str:
        if r.auth is None:
            raise AuthenticationError("nope")
        if r.auth.type == "crash":
            raise RuntimeError("authenticator bug")
        return r.auth.key.upper()

    server.authenticate = authenticate
    server.handle_func("who", lambda r: r.username)
    async with connected(server, client_kite(), auth=Auth("x", "bob")) as (c, _, _, _):
        assert await c.tell("who") == "BOB"
        c.auth = Auth("crash", "")
        with pytest.raises(GenericError, match="authenticator bug"):
            await c.tell("who")
        c.auth = None
        with pytest.raises(AuthenticationError, match="nope"):
            await c.tell("who")


async def test_lifecycle_hooks_order() -> None:
    server = math_kite()
    events: list[str] = []

    @server.on_connect
    def connect(peer: Peer) -> None:
        events.append("connect")

    @server.on_first_request
    async def first(peer: Peer) -> None:
        events.append(f"first:{peer.kite.name}")

    @server.on_disconnect
    def disconnect(peer: Peer) -> None:
        events.append("disconnect")
        raise RuntimeError("hooks may fail")  # swallowed, like Go

    server.on_connect(lambda peer: 1 / 0)  # a failing hook does not stop the connection
    async with connected(server, client_kite()) as (client, server_peer, _, _):
        await client.tell("square", 2)
        await client.tell("square", 3)
        await server_peer.tell("client.hello")  # calls back do not count as requests
        events.append("body")
    assert events == ["connect", "first:goclient", "body", "disconnect"]


async def test_serve_pipe_runs_until_the_pipe_ends() -> None:
    server = math_kite()
    a, b = memory_pipe_pair()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.serve_pipe, a)
        async with client_kite().connect_pipe(b) as client:
            assert await client.tell("square", 7) == 49
    # leaving connect_pipe closed the pipe, so serve_pipe returned and the nursery exited


async def test_dialled_side_does_not_run_first_request_hooks() -> None:
    client = client_kite()
    events: list[str] = []
    client.on_first_request(lambda p: events.append("first"))
    client.on_connect(lambda p: events.append("connect"))
    async with connected(math_kite(), client) as (_, server, _, _):
        await server.tell("client.hello")
    assert events == []


async def test_on_connect_can_start_a_call_to_the_new_peer() -> None:
    server = math_kite()
    answers: list[str] = []
    done = trio.Event()

    async def greet(peer: Peer) -> None:
        answers.append(await peer.tell("client.hello"))
        done.set()

    server.on_connect(lambda peer: peer.start_soon(greet, peer))
    async with connected(server, client_kite()):
        await done.wait()
    assert answers == ["hello from go client"]


async def test_errors_of_the_block_are_not_wrapped() -> None:
    a, b = memory_pipe_pair()

    async def body() -> None:
        async with math_kite().accept(a), client_kite().connect_pipe(b) as client:
            await client.tell("kite.ping")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await body()


def test_public_names() -> None:
    import kite

    for name in kite.__all__:
        assert getattr(kite, name) is not None
    assert {"Kite", "Peer", "Request", "MessagePipe", "MethodHandling", "PeerLimits"} <= set(
        kite.__all__
    )
