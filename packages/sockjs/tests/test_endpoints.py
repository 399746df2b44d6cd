"""Routing: every protocol-suite URL and every recorded Go request lands on the right endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockjs import (
    Endpoint,
    EndpointKind,
    MethodNotAllowed,
    NotFound,
    Options,
    Request,
    Transport,
    resolve,
)

K = EndpointKind
KITE = Options()  # prefix /kite, websocket on, raw websocket off: Go kite's set-up
ECHO = Options(prefix="/echo", raw_websocket=True)  # the protocol suite's test service
CAPTURES = Path(__file__).resolve().parents[3] / "conformance" / "captures"


def route(method: str, target: str, options: Options = KITE) -> object:
    return resolve(Request.from_target(method, target), options)


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        ("GET", "/kite", Endpoint(K.WELCOME)),
        ("GET", "/kite/", Endpoint(K.WELCOME)),
        ("GET", "/kite/info", Endpoint(K.INFO)),
        ("GET", "/kite/info?t=1", Endpoint(K.INFO)),
        ("OPTIONS", "/kite/info", Endpoint(K.INFO_OPTIONS)),
        ("GET", "/kite/iframe.html", Endpoint(K.IFRAME)),
        ("POST", "/kite/1/2/xhr", Endpoint(K.XHR, "1", "2")),
        ("OPTIONS", "/kite/1/2/xhr", Endpoint(K.XHR_OPTIONS, "1", "2")),
        ("POST", "/kite/1/2/xhr_send", Endpoint(K.XHR_SEND, "1", "2")),
        ("OPTIONS", "/kite/1/2/xhr_send", Endpoint(K.XHR_SEND_OPTIONS, "1", "2")),
        ("POST", "/kite/1/2/xhr_streaming", Endpoint(K.XHR_STREAMING, "1", "2")),
        ("OPTIONS", "/kite/1/2/xhr_streaming", Endpoint(K.XHR_STREAMING_OPTIONS, "1", "2")),
        ("GET", "/kite/1/2/eventsource", Endpoint(K.EVENTSOURCE, "1", "2")),
        ("GET", "/kite/1/2/htmlfile?c=cb", Endpoint(K.HTMLFILE, "1", "2")),
        ("GET", "/kite/1/2/jsonp?c=cb", Endpoint(K.JSONP, "1", "2")),
        ("OPTIONS", "/kite/1/2/jsonp", Endpoint(K.JSONP_OPTIONS, "1", "2")),
        ("POST", "/kite/1/2/jsonp_send", Endpoint(K.JSONP_SEND, "1", "2")),
        ("GET", "/kite/1/2/websocket", Endpoint(K.WEBSOCKET, "1", "2")),
        ("GET", "/kite/websocket", NotFound()),  # raw WebSocket is off in Go kite
        ("GET", "/echo/websocket", NotFound()),  # wrong prefix
        # 405s with sockjs-go's Allow lists.
        ("GET", "/kite/000/nosuchsession/xhr", MethodNotAllowed(("POST", "OPTIONS"))),
        ("GET", "/kite/1/2/xhr_send", MethodNotAllowed(("POST", "OPTIONS"))),
        ("POST", "/kite/1/2/websocket", MethodNotAllowed(("GET",))),
        ("POST", "/kite/info", MethodNotAllowed(("OPTIONS", "GET"))),
        ("POST", "/kite", MethodNotAllowed(("GET",))),
        ("POST", "/kite/iframe.html", MethodNotAllowed(("GET",))),
        ("GET", "/kite/1/2/jsonp_send", MethodNotAllowed(("POST",))),
        ("OPTIONS", "/kite/1/2/eventsource", MethodNotAllowed(("GET",))),
        ("OPTIONS", "/kite/1/2/jsonp_send", MethodNotAllowed(("POST",))),
        # 404s.
        ("GET", "/nonexistent", NotFound()),
        ("GET", "/kitex", NotFound()),
        ("GET", "/kitex/1/2/xhr", NotFound()),
        ("POST", "/kite/a.b/c/xhr", NotFound()),  # section 2.1: dots never match
        ("POST", "/kite/1/2/3/xhr", NotFound()),  # anchored, unlike sockjs-go
        ("GET", "/kite/x/kite", NotFound()),  # anchored, unlike sockjs-go
        ("POST", "/kite/1/2/XHR", NotFound()),
        ("POST", "/kite/1/2/xhr/", NotFound()),
        ("POST", "/kite/1/2/unknown", NotFound()),
    ],
)
def test_kite_routes(method: str, target: str, expected: object) -> None:
    assert route(method, target) == expected


def test_raw_websocket_and_disabled_websocket() -> None:
    assert route("GET", "/echo/websocket", ECHO) == Endpoint(K.RAW_WEBSOCKET)
    assert route("POST", "/echo/websocket", ECHO) == MethodNotAllowed(("GET",))
    off = Options(websocket=False)
    assert route("GET", "/kite/1/2/websocket", off) == NotFound()
    assert route("POST", "/kite/1/2/xhr", off) == Endpoint(K.XHR, "1", "2")


def test_empty_prefix() -> None:
    root = Options(prefix="")
    assert route("GET", "/", root) == Endpoint(K.WELCOME)
    assert route("GET", "", root) == Endpoint(K.WELCOME)
    assert route("GET", "/info", root) == Endpoint(K.INFO)
    assert route("POST", "/a/b/xhr", root) == Endpoint(K.XHR, "a", "b")


# --- the protocol suite's URL tables (base_url = /echo) -------------------------------------


@pytest.mark.parametrize("suffix", ["/a", "/a.html", "//", "///", "/a/a", "/a/a/", "/a/"])
def test_greeting_not_found(suffix: str) -> None:
    # BaseUrlGreeting.test_notFound
    assert route("GET", "/echo" + suffix, ECHO) == NotFound()


@pytest.mark.parametrize(
    "suffix",
    [
        "/iframe.html",
        "/iframe-a.html",
        "/iframe-.html",
        "/iframe-0.1.2.html",
        "/iframe-0.1.2abc-dirty.2144.html",
        "/iframe-a.html?t=1234",
        "/iframe-0.1.2.html?t=123414",
        "/iframe-0.1.2abc-dirty.2144.html?t=qweqweq123",
    ],
)
def test_iframe_urls(suffix: str) -> None:
    # IframePage.test_simpleUrl / test_versionedUrl / test_queriedUrl
    assert route("GET", "/echo" + suffix, ECHO) == Endpoint(K.IFRAME)


@pytest.mark.parametrize(
    "suffix",
    [
        "/iframe.htm",
        "/iframe",
        "/IFRAME.HTML",
        "/IFRAME",
        "/iframe.HTML",
        "/iframe.xml",
        "/iframe-/.html",
        "/iframexhtml",  # sockjs-go's unescaped '.' would match this one
    ],
)
def test_iframe_invalid_urls(suffix: str) -> None:
    # IframePage.test_invalidUrl
    assert route("GET", "/echo" + suffix, ECHO) == NotFound()


@pytest.mark.parametrize(
    ("session_part", "server_id", "session_id"),
    [
        ("/a/a123", "a", "a123"),
        ("/_/_7", "_", "_7"),
        ("/1/7", "1", "7"),
        ("/abcdefgh_i-j%20/abcdefg_i-j%2099", "abcdefgh_i-j ", "abcdefg_i-j 99"),
        ("/000/0f4c1b9e-7b5a-4a53-9b0e-5c2f1e2d3c4b", "000", None),
        ("/1/" + "x" * 128, "1", "x" * 128),  # MAX_ID_LENGTH
        ("/~/~", "~", "~"),
    ],
)
def test_session_urls_accept_any_value(
    session_part: str, server_id: str, session_id: str | None
) -> None:
    # SessionURLs.test_anyValue (ids are percent-decoded, as Go's URL.Path is)
    found = route("POST", "/echo" + session_part + "/xhr", ECHO)
    assert isinstance(found, Endpoint)
    assert found.kind is K.XHR
    assert found.server_id == server_id
    if session_id is not None:
        assert found.session_id == session_id


@pytest.mark.parametrize(
    "suffix",
    [
        "//",
        "/a./a",
        "/a/a.",
        "/./.",
        "/",
        "///",
        "/a%2Eb/c",
        # our bounds (sockjs-node and sockjs-go take these as ids)
        "/1/a%00b",
        "/1/a%0Ab",
        "/1/%3Cscript%3E",
        "/1/<script>",
        "/1/a%2Fb",
        "/1/" + "x" * 129,
        "/" + "1" * 129 + "/a",
        "/1/caf%C3%A9",
        "/1/a%ZZb",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_session_urls_invalid(suffix: str, method: str) -> None:
    # SessionURLs.test_invalidPaths
    assert route(method, "/echo" + suffix + "/xhr", ECHO) == NotFound()


def test_server_id_is_ignored() -> None:
    # SessionURLs.test_ignoringServerId: the session id alone names the session.
    a = route("POST", "/echo/000/s1/xhr", ECHO)
    b = route("POST", "/echo/999/s1/xhr_send", ECHO)
    assert isinstance(a, Endpoint)
    assert isinstance(b, Endpoint)
    assert a.session_id == b.session_id == "s1"


def test_endpoint_kind_properties() -> None:
    transports = {k: k.transport for k in K if k.transport is not None}
    assert transports == {
        K.WEBSOCKET: Transport.WEBSOCKET,
        K.XHR: Transport.XHR,
        K.XHR_STREAMING: Transport.XHR_STREAMING,
        K.EVENTSOURCE: Transport.EVENTSOURCE,
        K.HTMLFILE: Transport.HTMLFILE,
        K.JSONP: Transport.JSONP,
    }
    assert {k for k in K if k.is_options} == {
        K.INFO_OPTIONS,
        K.XHR_OPTIONS,
        K.XHR_SEND_OPTIONS,
        K.XHR_STREAMING_OPTIONS,
        K.JSONP_OPTIONS,
    }
    assert not K.INFO.session_bound
    assert not K.RAW_WEBSOCKET.session_bound
    assert K.XHR_SEND.session_bound


def test_request_helpers() -> None:
    req = Request.from_target(
        "GET",
        "/kite/a/b/jsonp?x=1&c=%63allback&c=second#frag",
        [("origin", "http://x"), ("Origin", "http://y")],
    )
    assert req.path == "/kite/a/b/jsonp"
    assert req.query_param("c") == "callback"
    assert req.query_param("missing") is None
    assert req.header("ORIGIN") == "http://x"
    assert req.header("Cookie") is None


@pytest.mark.parametrize(
    "prefix", ["kite", "/kite/", "/kite?x", "/kite#y"], ids=["no-slash", "trailing", "q", "frag"]
)
def test_bad_prefixes(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        Options(prefix=prefix)


@given(st.text(alphabet="/.abkite%0_-?", max_size=30), st.sampled_from(["GET", "POST", "PUT"]))
def test_resolve_never_crashes(path: str, method: str) -> None:
    found = route(method, path)
    assert isinstance(found, Endpoint | NotFound | MethodNotAllowed)
    if isinstance(found, Endpoint) and found.kind.session_bound:
        assert found.server_id
        assert "." not in found.server_id
        assert "/" not in found.server_id
        assert found.session_id
        assert "." not in found.session_id
        assert "%" not in found.session_id + found.server_id


# --- every recorded HTTP exchange under /kite ----------------------------------------------

EXPECTED_KIND = {
    "websocket": K.WEBSOCKET,
    "xhr": K.XHR,
    "xhr_send": K.XHR_SEND,
}


def _captured_requests() -> list[tuple[str, dict[str, object]]]:
    found = []
    for path in sorted(CAPTURES.glob("*.jsonl")):
        if path.name.endswith(".raw.jsonl"):
            continue
        for line in path.read_text(encoding="utf-8").split("\n"):
            if not line:
                continue
            event = json.loads(line)
            if event["kind"] == "http-request" and str(event["target"]).startswith("/kite"):
                found.append((path.stem, event))
    return found


CAPTURED = _captured_requests()


def test_captures_were_found() -> None:
    assert len(CAPTURED) > 50
    assert {name for name, _ in CAPTURED} >= {"ping", "ping-xhr", "sockjs-info"}


@pytest.mark.parametrize(("name", "event"), CAPTURED, ids=[n for n, _ in CAPTURED])
def test_captured_requests_are_classified(name: str, event: dict[str, object]) -> None:
    method, target = str(event["method"]), str(event["target"])
    found = route(method, target)
    last = target.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    if target in ("/kite", "/kite/"):
        assert found == Endpoint(K.WELCOME)
    elif target == "/kite/info":
        assert found == Endpoint(K.INFO if method == "GET" else K.INFO_OPTIONS)
    elif target == "/kite/iframe.html":
        assert found == Endpoint(K.IFRAME)
    elif method == "GET" and last == "xhr":
        assert found == MethodNotAllowed(("POST", "OPTIONS"))  # sockjs-info's 405 probe
    else:
        assert isinstance(found, Endpoint)
        assert found.kind is EXPECTED_KIND[last]
        _, _, server_id, session_id, _ = target.split("/")
        assert (found.server_id, found.session_id) == (server_id, session_id)
        if name not in ("invalid-frame-xhr",):
            assert len(server_id) == 3
            assert server_id.isdigit()
