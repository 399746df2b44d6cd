"""The `Origin` allow-list: pages from elsewhere are refused with 403 unless listed."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockjs import (
    Deliver,
    Options,
    Receive,
    Reply,
    Request,
    Upgrade,
    normalise_origin,
    origin_allowed,
    plan_request,
)

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
HOST = "127.0.0.1:3636"
UPGRADE = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
]
# every endpoint a page can reach with a request that carries its Origin
GUARDED = [
    ("GET", "/kite/info", []),
    ("OPTIONS", "/kite/info", [("Access-Control-Request-Method", "GET")]),
    ("POST", "/kite/123/abcdef/xhr", []),
    ("OPTIONS", "/kite/123/abcdef/xhr_send", [("Access-Control-Request-Method", "POST")]),
    ("POST", "/kite/123/abcdef/xhr_send", []),
    ("POST", "/kite/123/abcdef/xhr_streaming", []),
    ("GET", "/kite/123/abcdef/eventsource", []),
    ("POST", "/kite/123/abcdef/jsonp_send", [("Content-Type", "text/plain")]),
    ("GET", "/kite/123/abcdef/websocket", UPGRADE),
]


def _plan(method: str, target: str, headers: list[tuple[str, str]], options: Options) -> object:
    body = b'["x"]' if method == "POST" else b""
    request = Request.from_target(method, target, [("Host", HOST), *headers], body)
    return plan_request(request, options, now=NOW, entropy=7)


def _refused(plan: object) -> bool:
    if not isinstance(plan, Reply) or plan.response.status != 403:
        return False
    assert plan.response.body == b"Origin not allowed\n"
    names = {name.lower() for name, _ in plan.response.headers}
    assert not any(name.startswith("access-control-") for name in names), "no CORS on a refusal"
    return True


@pytest.mark.parametrize(("method", "target", "headers"), GUARDED)
def test_a_page_from_another_origin_is_refused_by_default(
    method: str, target: str, headers: list[tuple[str, str]]
) -> None:
    for origin in ("http://evil.example", "http://127.0.0.1:9999", "null", "not an origin"):
        assert _refused(_plan(method, target, [("Origin", origin), *headers], Options()))


@pytest.mark.parametrize(("method", "target", "headers"), GUARDED)
def test_clients_without_origin_and_pages_of_the_server_itself_are_served(
    method: str, target: str, headers: list[tuple[str, str]]
) -> None:
    served = (Reply, Receive, Deliver, Upgrade)
    for origin in (None, f"http://{HOST}", f"https://{HOST}", "HTTP://127.0.0.1:3636"):
        extra = [] if origin is None else [("Origin", origin)]
        plan = _plan(method, target, extra + headers, Options())
        assert isinstance(plan, served)
        assert not _refused(plan)


@pytest.mark.parametrize(("method", "target", "headers"), GUARDED)
def test_listed_origins_are_served_and_get_cors(
    method: str, target: str, headers: list[tuple[str, str]]
) -> None:
    options = Options(allowed_origins=("https://App.Example:443", "http://localhost:8080"))
    assert options.allowed_origins == ("https://app.example", "http://localhost:8080")
    for origin in ("https://app.example", "https://APP.example:443", "http://localhost:8080"):
        plan = _plan(method, target, [("Origin", origin), *headers], options)
        assert not _refused(plan)
    for origin in ("http://app.example", "https://app.example:8443", "http://localhost"):
        assert _refused(_plan(method, target, [("Origin", origin), *headers], options))


def test_cors_echoes_a_listed_origin_with_credentials() -> None:
    options = Options(allowed_origins=("http://localhost:8080",))
    plan = _plan("GET", "/kite/info", [("Origin", "http://localhost:8080")], options)
    assert isinstance(plan, Reply)
    assert plan.response.status == 200
    headers = dict(plan.response.headers)
    assert headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert headers["Access-Control-Allow-Credentials"] == "true"


def test_star_allows_every_origin_as_go_kite_does() -> None:
    options = Options(allowed_origins=("*",))
    for origin in ("http://evil.example", "null", "test"):
        for method, target, headers in GUARDED:
            assert not _refused(_plan(method, target, [("Origin", origin), *headers], options))


def test_null_origin_only_when_listed() -> None:
    assert _refused(_plan("GET", "/kite/info", [("Origin", "null")], Options()))
    options = Options(allowed_origins=("null",))
    assert not _refused(_plan("GET", "/kite/info", [("Origin", "null")], options))


def test_the_greeting_and_the_iframe_page_are_not_guarded() -> None:
    # the iframe page is what a cross-origin page loads to run the iframe transports
    for target in ("/kite", "/kite/", "/kite/iframe.html"):
        plan = _plan("GET", target, [("Origin", "http://evil.example")], Options())
        assert isinstance(plan, Reply)
        assert plan.response.status == 200


@pytest.mark.parametrize(
    "bad",
    ["example.com", "ftp://example.com", "http://example.com/path", "http://x?y", "http://u@x", ""],
)
def test_options_refuse_what_is_not_an_origin(bad: str) -> None:
    with pytest.raises(ValueError, match="not an origin"):
        Options(allowed_origins=(bad,))


def test_options_refuse_a_single_string() -> None:
    with pytest.raises(ValueError, match="not one string"):
        Options(allowed_origins="https://app.example")  # type: ignore[arg-type]


hosts = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?(\.[a-z]{2,6}){0,2}", fullmatch=True)


@given(
    scheme=st.sampled_from(["http", "https", "HTTP", "Https"]),
    host=hosts,
    port=st.none() | st.integers(1, 65535),
    upper=st.booleans(),
)
def test_normalise_origin_is_idempotent_and_matches_itself(
    scheme: str, host: str, port: int | None, upper: bool
) -> None:
    origin = f"{scheme}://{host.upper() if upper else host}" + ("" if port is None else f":{port}")
    once = normalise_origin(origin)
    assert normalise_origin(once) == once
    assert once == once.lower()
    assert origin_allowed(origin, "elsewhere:1", (once,))
    assert not origin_allowed(origin, "elsewhere:1", ())
    default = {"http": 80, "https": 443}[scheme.lower()]
    assert once.endswith(f":{port}") == (port is not None and port != default)
