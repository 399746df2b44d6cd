"""A served kite refuses browser pages of other origins unless `Config.sockjs_allowed_origins`
lists them; non-browser clients and the kite's own pages are always served (real sockets)."""

from __future__ import annotations

import pytest

import kite
from kite import HandshakeError
from kite._http import HTTPClient, open_ws_client


def _square(request: kite.Request) -> float:
    return request.args.one().float() ** 2


def _math(**config: object) -> kite.Kite:
    k = kite.Kite("math", "1.0.0", kite.Config(disable_authentication=True, **config))  # type: ignore[arg-type]
    k.handle_func("square", _square)
    return k


def test_config_reaches_the_sockjs_options() -> None:
    config = kite.Config(sockjs_allowed_origins=("https://App.example",))
    assert kite.kite_sockjs_options(config).allowed_origins == ("https://app.example",)
    assert kite.kite_sockjs_options(kite.Config()).allowed_origins == ()


async def test_other_origins_are_refused_by_default_on_every_transport() -> None:
    async with _math().serve("127.0.0.1", 0) as server, HTTPClient() as http:
        evil = [("Origin", "http://evil.example")]
        info = await http.request("GET", server.url + "/info", evil)
        assert (info.status, info.body) == (403, b"Origin not allowed\n")
        poll = await http.request("POST", server.url + "/123/abcdef/xhr", evil)
        assert poll.status == 403
        ws_url = server.url.replace("http", "ws") + "/123/abcdef/websocket"
        with pytest.raises(HandshakeError) as refused:
            async with open_ws_client(ws_url, evil, timeout=5):
                pass
        assert refused.value.status == 403
        own = [("Origin", f"http://127.0.0.1:{server.port}")]
        assert (await http.request("GET", server.url + "/info", own)).status == 200
        assert (await http.request("GET", server.url + "/info")).status == 200  # no Origin


async def test_listed_origins_and_every_client_transport_are_served() -> None:
    k = _math(sockjs_allowed_origins=("http://app.example:8080",))
    async with k.serve("127.0.0.1", 0) as server, HTTPClient() as http:
        listed = [("Origin", "http://app.example:8080")]
        info = await http.request("GET", server.url + "/info", listed)
        assert info.status == 200
        assert dict(info.headers)["Access-Control-Allow-Origin"] == "http://app.example:8080"
        ws_url = server.url.replace("http", "ws") + "/123/abcdef/websocket"
        async with open_ws_client(ws_url, listed, timeout=5) as ws:
            assert await ws.receive() == "o"
        caller = kite.Kite("caller", "1.0.0")
        for transport in ("websocket", "xhr"):  # Go's clients: own origin / no Origin
            async with caller.dial(server.url, transport=transport, timeout=5) as remote:
                assert await remote.tell("square", 3, timeout=5) == 9
