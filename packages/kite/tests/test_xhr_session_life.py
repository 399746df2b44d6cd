"""An XHR session lives as long as its client, and a call never stays pending once the
server's side of the session is gone (real 127.0.0.1 sockets).

A kite's server holds a poll until its next heartbeat (10 s); a client whose dial timeout is
shorter must not give up such polls (the server would end the session, cancel the handlers and
answer the next poll with a new session), and if the server does lose the session, the calls in
flight fail at once with `DisconnectError`."""

from __future__ import annotations

import pytest
import trio
from kite_rpc_helpers import client_kite

import kite._sockjs._client_pipes as client_pipes
from kite import Config, DisconnectError, Kite, Request


def _slow_kite(cancelled: list[float]) -> Kite:
    server = Kite("slow", "1.0.0", Config(disable_authentication=True))

    async def slow(r: Request) -> str:
        try:
            await trio.sleep(r.args.one().float())
        except trio.Cancelled:
            cancelled.append(trio.current_time())
            raise
        return "done"

    server.handle_func("slow", slow)
    return server


async def test_a_short_dial_timeout_does_not_end_an_idle_xhr_session() -> None:
    """Dial timeout 1 s, a call answered after 2.5 s: the polls wait for the server's answer,
    the session and the handler live, the call returns."""
    cancelled: list[float] = []
    async with (
        _slow_kite(cancelled).serve(host="127.0.0.1", port=0) as served,
        client_kite().dial(served.url, transport="xhr", timeout=1) as remote,
    ):
        with trio.fail_after(10):
            assert await remote.tell("slow", 2.5) == "done"
        assert remote.connected
        assert cancelled == []
        assert await remote.tell("slow", 0) == "done"


async def test_a_call_fails_at_once_when_the_server_loses_the_xhr_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Polls given up after 0.5 s (as for a server that stopped answering): the server ends the
    session and cancels the handler, answers the next poll with a new session (`o`), and the
    call in flight fails with DisconnectError then, not after its own timeout."""
    monkeypatch.setattr(client_pipes, "POLL_TIMEOUT_FLOOR", 0.5)
    cancelled: list[float] = []
    async with (
        _slow_kite(cancelled).serve(host="127.0.0.1", port=0) as served,
        client_kite().dial(served.url, transport="xhr", timeout=0.5) as remote,
    ):
        with trio.fail_after(10), pytest.raises(DisconnectError):  # the call's own: 60 s
            await remote.tell("slow", 60)
        assert not remote.connected
        assert len(cancelled) == 1
