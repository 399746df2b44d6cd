"""The HTTP surface as data, test class by test class of the SockJS protocol suite
(``sockjs-protocol.py``), as far as it concerns routing, headers, bodies and payloads.

Session behaviour (echoing, ``c[2010,...]``, closing) belongs to the session state machine and
is tested there; here a `Deliver`/`Receive` plan is the point where the session takes over.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sockjs import (
    Deliver,
    EndpointKind,
    Options,
    Receive,
    Reply,
    Request,
    Response,
    Transport,
    Upgrade,
    plan_request,
)
from sockjs._responses import (
    http_date,
    iframe_page,
    method_not_allowed_response,
    not_found_response,
    preflight_response,
    transport_head,
)

NOW = dt.datetime(2026, 11, 23, 9, 23, 19, tzinfo=dt.UTC)
# The protocol suite's services: its requests carry made-up origins ("test", "null").
EVERY_ORIGIN = ("*",)
ECHO = Options(prefix="/echo", raw_websocket=True, allowed_origins=EVERY_ORIGIN)
WSOFF = Options(prefix="/disabled_websocket_echo", websocket=False, allowed_origins=EVERY_ORIGIN)
COOKIE = Options(prefix="/cookie_needed_echo", cookie_needed=True, allowed_origins=EVERY_ORIGIN)
NO_CACHE = "no-store, no-cache, no-transform, must-revalidate, max-age=0"
SESSION = "/000/7f2c6a3e-0c51-4b7a-9d9e-3f1c2b4a5d6e"


def plan(
    method: str,
    target: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    options: Options = ECHO,
    entropy: int = 1181712415,
) -> object:
    request = Request.from_target(method, target, list((headers or {}).items()), body)
    return plan_request(request, options, now=NOW, entropy=entropy)


def reply(*args: object, **kwargs: object) -> Response:
    result = plan(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Reply), result
    return result.response


def receive(*args: object, **kwargs: object) -> Receive:
    result = plan(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Receive), result
    return result


def deliver(*args: object, **kwargs: object) -> Deliver:
    result = plan(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, Deliver), result
    return result


def content_type(r: Response) -> str:
    return (r.header("Content-Type") or "").replace(" ", "")


def verify_cors(r: Response, origin: str | None) -> None:
    if origin:
        assert r.header("Access-Control-Allow-Origin") == origin
        assert r.header("Access-Control-Allow-Credentials") == "true"
    else:
        assert r.header("Access-Control-Allow-Origin") == "*"
        assert r.header("Access-Control-Allow-Credentials") is None


def verify_not_cached(r: Response) -> None:
    assert r.header("Cache-Control") == NO_CACHE
    assert r.header("Expires") is None
    assert r.header("Last-Modified") is None


def verify_cached(r: Response) -> None:
    cache = r.header("Cache-Control") or ""
    assert "public" in cache
    assert re.search("max-age=[1-9][0-9]{6}", cache)
    assert r.header("Expires") == "Tue, 23 Nov 2027 09:23:19 GMT"
    assert r.header("Last-Modified") is None


def verify_options(target: str, allowed: str) -> None:
    for origin in ("test", "null"):
        r = reply("OPTIONS", target, {"Access-Control-Request-Method": allowed, "Origin": origin})
        assert r.status == 204
        verify_cached(r)
        assert int(r.header("Access-Control-Max-Age") or 0) > 1_000_000
        for method in allowed.split(","):
            assert method.strip() in (r.header("Access-Control-Allow-Methods") or "")
        assert r.body == b""
        assert r.header("Content-Length") is None
        verify_cors(r, origin)


# --- BaseUrlGreeting ------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/echo", "/echo/"])
def test_greeting(target: str) -> None:
    for options in (ECHO, Options(prefix="/echo", cookie_needed=True, allowed_origins=("*",))):
        r = reply("GET", target, options=options)
        assert r.status == 200
        assert content_type(r) == "text/plain;charset=UTF-8"
        assert r.body == b"Welcome to SockJS!\n"
        assert r.header("Set-Cookie") is None
        assert r.header("Content-Length") == "19"  # Http10/Http11.test_synchronous
        assert r.headers == (
            ("Content-Type", "text/plain;charset=UTF-8"),
            ("Date", "Mon, 23 Nov 2026 09:23:19 GMT"),
            ("Content-Length", "19"),
        )


def test_not_found_answer() -> None:
    r = reply("GET", "/echo/a")
    assert r.status == 404
    assert r.body == b"404 page not found\n"
    assert r.headers == (
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Content-Type-Options", "nosniff"),
        ("Date", "Mon, 23 Nov 2026 09:23:19 GMT"),
        ("Content-Length", "19"),
    )


# --- IframePage -----------------------------------------------------------------------------

SUITE_IFRAME = re.compile(
    r"""
^<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="(?P<sockjs_url>[^"]*)"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe\(\);
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>$
""".strip()
)


@pytest.mark.parametrize(
    "suffix", ["/iframe.html", "/iframe-0.1.2abc-dirty.2144.html", "/iframe-a.html?t=1234"]
)
def test_iframe_page(suffix: str) -> None:
    r = reply("GET", "/echo" + suffix, {"Origin": "test"})
    assert r.status == 200
    assert content_type(r) == "text/html;charset=UTF-8"
    verify_cached(r)
    assert r.header("ETag")
    match = SUITE_IFRAME.match(r.body.decode().strip())
    assert match is not None
    assert match.group("sockjs_url") == ECHO.sockjs_url
    assert match.group("sockjs_url").startswith("/")
    assert r.header("Set-Cookie") is None
    assert r.header("Access-Control-Allow-Origin") is None  # no CORS on the iframe (Go)
    assert r.header("Content-Length") == str(len(r.body))


def test_iframe_cacheability() -> None:
    r1 = reply("GET", "/echo/iframe.html")
    r2 = reply("GET", "/echo/iframe.html")
    etag = r1.header("ETag")
    assert etag
    assert etag == r2.header("ETag")
    for sent in (etag, etag.strip('"'), f"W/{etag}", f'"other", {etag}', "*"):
        r = reply("GET", "/echo/iframe.html", {"If-None-Match": sent})
        assert r.status == 304
        assert r.header("Content-Type") is None
        assert r.body == b""
        assert r.header("Content-Length") is None
        verify_cached(r)
    assert reply("GET", "/echo/iframe.html", {"If-None-Match": '"nope"'}).status == 200


def test_iframe_etag_follows_the_sockjs_url() -> None:
    page, etag = iframe_page(Options(sockjs_url="http://cdn.example/sockjs.js"))
    assert b'<script src="http://cdn.example/sockjs.js"></script>' in page
    assert etag != iframe_page(ECHO)[1]
    with pytest.raises(ValueError, match="sockjs_url"):
        Options(sockjs_url='x"><script>alert(1)</script>')


# --- InfoTest --------------------------------------------------------------------------------


def test_info_basic() -> None:
    r = reply("GET", "/echo/info", {"Origin": "test"})
    assert r.status == 200
    assert content_type(r) == "application/json;charset=UTF-8"
    assert r.header("Set-Cookie") is None
    verify_not_cached(r)
    verify_cors(r, "test")
    data = json.loads(r.body)
    assert data == {
        "websocket": True,
        "cookie_needed": False,
        "origins": ["*:*"],
        "entropy": 1181712415,
    }
    # sockjs-go's exact body: key order, no spaces, a trailing newline.
    assert r.body == (
        b'{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":1181712415}\n'
    )


def test_info_entropy_is_the_callers() -> None:
    a = json.loads(reply("GET", "/echo/info", entropy=1).body)
    b = json.loads(reply("GET", "/echo/info", entropy=2**32 - 1).body)
    assert (a["entropy"], b["entropy"]) == (1, 2**32 - 1)
    for bad in (-1, 2**32):
        with pytest.raises(ValueError, match="entropy"):
            plan("GET", "/echo/info", entropy=bad)


def test_info_options() -> None:
    verify_options("/echo/info", "OPTIONS, GET")


def test_info_options_null_origin() -> None:
    r = reply("OPTIONS", "/echo/info", {"Origin": "null", "Access-Control-Request-Method": "POST"})
    assert r.status == 204
    assert r.body == b""
    assert r.header("Access-Control-Allow-Origin") == "null"


def test_info_disabled_websocket() -> None:
    r = reply("GET", "/disabled_websocket_echo/info", options=WSOFF)
    assert json.loads(r.body)["websocket"] is False


# --- SessionURLs / Protocol -------------------------------------------------------------------


@pytest.mark.parametrize("part", ["/a/a1", "/_/_1", "/1/1", "/abcdefgh_i-j%20/abcdefg_i-j%201"])
def test_any_session_url_opens_a_poll(part: str) -> None:
    r = receive("POST", "/echo" + part + "/xhr")
    assert r.head.status == 200
    assert r.writer.transport is Transport.XHR
    assert r.head.with_body(r.writer.wrap("o")).body == b"o\n"


def test_xhr_send_plans() -> None:
    d = deliver("POST", "/echo" + SESSION + "/xhr_send", body=b'["a"]')
    assert d.messages == ("a",)
    assert d.endpoint.session_id == SESSION.rsplit("/", 1)[1]
    assert d.ok.status == 204
    assert d.ok.body == b""
    assert d.not_found.status == 404  # Protocol.test_simpleSession: unknown session


# --- WebsocketHttpErrors / Websocket / RawWebsocket ----------------------------------------


def test_websocket_plain_get_is_400() -> None:
    r = reply("GET", "/echo/0/0/websocket")
    assert r.status == 400
    assert r.body == b'Can "Upgrade" only to "WebSocket".\n'


def test_websocket_bad_connection_header_is_400() -> None:
    r = reply("GET", "/echo/0/0/websocket", {"Upgrade": "WebSocket", "Connection": "close"})
    assert r.status == 400


@pytest.mark.parametrize("headers", [{"Upgrade": "WebSocket", "Connection": "Upgrade"}, {}])
def test_websocket_post_is_405(headers: dict[str, str]) -> None:
    r = reply("POST", "/echo/0/0/websocket", headers)
    assert r.status == 405
    assert not r.header("Content-Type")
    assert r.header("Allow") == "GET"
    assert r.body == b""


UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "keep-alive, Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "x3JJHMbDL1EzLkh9GBhXDw==",
}


def test_websocket_upgrade() -> None:
    result = plan("GET", "/echo" + SESSION + "/websocket", UPGRADE)
    assert isinstance(result, Upgrade)
    assert result.endpoint.kind is EndpointKind.WEBSOCKET
    raw = plan("GET", "/echo/websocket", UPGRADE)
    assert isinstance(raw, Upgrade)
    assert raw.endpoint.kind is EndpointKind.RAW_WEBSOCKET
    assert isinstance(plan("GET", "/echo/websocket", {}), Reply)
    old = dict(UPGRADE, **{"Sec-WebSocket-Version": "8"})
    assert reply("GET", "/echo/0/0/websocket", old).status == 400


# --- XhrPolling ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["/xhr", "/xhr_send"])
def test_xhr_options(suffix: str) -> None:
    verify_options("/echo/abc/abc" + suffix, "OPTIONS, POST")


def test_xhr_transport() -> None:
    r = receive("POST", "/echo" + SESSION + "/xhr", {"Origin": "test"})
    assert content_type(r.head) == "application/javascript;charset=UTF-8"
    verify_cors(r.head, "test")
    verify_not_cached(r.head)
    assert r.head.header("Content-Length") is None
    done = r.head.with_body(r.writer.wrap('a["x"]'))
    assert (done.body, done.header("Content-Length")) == (b'a["x"]\n', "7")

    d = deliver("POST", "/echo" + SESSION + "/xhr_send", {"Origin": "test"}, b'["x"]')
    assert d.ok.status == 204
    assert d.ok.body == b""
    assert content_type(d.ok) == "text/plain;charset=UTF-8"
    verify_cors(d.ok, "test")
    verify_not_cached(d.ok)


@pytest.mark.parametrize(
    ("body", "text"),
    [(b'["x', b"Broken JSON encoding."), (b"", b"Payload expected.")],
)
def test_xhr_send_invalid_json(body: bytes, text: bytes) -> None:
    r = reply("POST", "/echo" + SESSION + "/xhr_send", body=body)
    assert r.status == 500
    assert r.body == text  # sockjs-go writes these without a newline
    verify_not_cached(r)
    verify_cors(r, None)


@pytest.mark.parametrize(
    "ctype",
    [
        "text/plain",
        "T",
        "application/json",
        "application/xml",
        "",
        "application/json; charset=utf-8",
        "text/xml; charset=utf-8",
        "text/xml",
    ],
)
def test_xhr_send_content_types(ctype: str) -> None:
    d = deliver("POST", "/echo" + SESSION + "/xhr_send", {"Content-Type": ctype}, b'["a"]')
    assert d.messages == ("a",)


def test_xhr_request_headers_cors() -> None:
    base = {"Origin": "test", "Access-Control-Request-Method": "POST"}
    r = reply(
        "OPTIONS", "/echo" + SESSION + "/xhr", {**base, "Access-Control-Request-Headers": "a, b, c"}
    )
    verify_cors(r, "test")
    assert r.header("Access-Control-Allow-Headers") == "a, b, c"
    for extra in (
        {"Access-Control-Request-Headers": ""},
        {},
        {"Access-Control-Request-Headers": "null"},
    ):
        r = reply("OPTIONS", "/echo" + SESSION + "/xhr", {**base, **extra})
        verify_cors(r, "test")
        assert r.header("Access-Control-Allow-Headers") is None


def test_xhr_send_empty_frame() -> None:
    assert deliver("POST", "/echo" + SESSION + "/xhr_send", body=b"[]").messages == ()


def test_payload_limit_is_413() -> None:
    small = Options(prefix="/echo", max_payload_size=8)
    r = reply("POST", "/echo" + SESSION + "/xhr_send", body=b'["123456789"]', options=small)
    assert r.status == 413
    assert r.body == b"Payload too large."
    r = reply("POST", "/echo" + SESSION + "/jsonp_send", body=b'["123456789"]', options=small)
    assert r.status == 413


# --- XhrStreaming / EventSource / HtmlFile ---------------------------------------------------


def test_xhr_streaming() -> None:
    verify_options("/echo/abc/abc/xhr_streaming", "OPTIONS, POST")
    r = receive("POST", "/echo" + SESSION + "/xhr_streaming", {"Origin": "test"})
    assert content_type(r.head) == "application/javascript;charset=UTF-8"
    verify_cors(r.head, "test")
    verify_not_cached(r.head)
    assert r.head.header("Content-Length") is None  # Http11.test_streaming
    assert r.writer.prelude == b"h" * 2048 + b"\n"


def test_eventsource() -> None:
    r = receive("GET", "/echo" + SESSION + "/eventsource")
    assert content_type(r.head) == "text/event-stream"
    verify_not_cached(r.head)
    assert r.writer.prelude == b"\r\n"
    assert r.writer.wrap("o") == b"data: o\r\n\r\n"


def test_htmlfile() -> None:
    r = receive("GET", "/echo" + SESSION + "/htmlfile?c=%63allback")
    assert content_type(r.head) == "text/html;charset=UTF-8"
    verify_not_cached(r.head)
    assert b"var c = parent.callback;" in r.writer.prelude
    assert len(r.writer.prelude) > 1024


@pytest.mark.parametrize("transport", ["htmlfile", "jsonp"])
def test_no_callback(transport: str) -> None:
    r = reply("GET", f"/echo/a/a/{transport}")
    assert r.status == 500
    assert b'"callback" parameter required' in r.body
    assert r.body == b'"callback" parameter required\n'  # Go's http.Error
    assert r.header("X-Content-Type-Options") == "nosniff"


@pytest.mark.parametrize("transport", ["htmlfile", "jsonp"])
@pytest.mark.parametrize("callback", ["%20", "*", "abc(", "abc%28"])
def test_invalid_callback(transport: str, callback: str) -> None:
    r = reply("GET", f"/echo/a/a/{transport}?c={callback}")
    assert r.status == 500
    assert b'invalid "callback" parameter' in r.body


# --- JsonPolling -----------------------------------------------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_jsonp_transport() -> None:
    r = receive("GET", "/echo" + SESSION + "/jsonp?c=%63allback")
    assert content_type(r.head) == "application/javascript;charset=UTF-8"
    verify_not_cached(r.head)
    assert r.head.with_body(r.writer.wrap("o")).body == b'/**/callback("o");\r\n'

    d = deliver("POST", "/echo" + SESSION + "/jsonp_send", FORM, b"d=%5B%22x%22%5D")
    assert d.messages == ("x",)
    assert (d.ok.status, d.ok.body) == (200, b"ok")
    assert content_type(d.ok) == "text/plain;charset=UTF-8"
    verify_not_cached(d.ok)
    assert d.not_found.status == 404


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"d=%5B%22x", b"Broken JSON encoding.\n"),
        (b"", b"Payload expected.\n"),
        (b"d=", b"Payload expected.\n"),
        (b"p=p", b"Payload expected.\n"),
    ],
)
def test_jsonp_send_invalid(body: bytes, text: bytes) -> None:
    r = reply("POST", "/echo" + SESSION + "/jsonp_send", FORM, body)
    assert r.status == 500
    assert r.body == text  # Go's http.Error appends a newline here


def test_jsonp_send_content_types() -> None:
    a = deliver("POST", "/echo" + SESSION + "/jsonp_send", FORM, b"d=%5B%22abc%22%5D")
    b = deliver(
        "POST", "/echo" + SESSION + "/jsonp_send", {"Content-Type": "text/plain"}, b'["%61bc"]'
    )
    assert a.messages + b.messages == ("abc", "%61bc")


# --- JsessionidCookie -------------------------------------------------------------------------


def test_cookie_needed_info() -> None:
    r = reply("GET", "/cookie_needed_echo/info", options=COOKIE)
    assert r.header("Set-Cookie") is None
    assert json.loads(r.body)["cookie_needed"] is True


def verify_cookie(r: Response, value: str = "dummy") -> None:
    cookie = r.header("Set-Cookie") or ""
    assert cookie.split(";")[0].strip() == f"JSESSIONID={value}"
    assert cookie.split(";")[1].lower().strip() == "path=/"


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("POST", "/xhr"),
        ("POST", "/xhr_streaming"),
        ("GET", "/eventsource"),
        ("GET", "/htmlfile?c=%63allback"),
        ("GET", "/jsonp?c=%63allback"),
    ],
)
def test_cookie_on_receivers(method: str, suffix: str) -> None:
    r = receive(method, "/cookie_needed_echo" + SESSION + suffix, options=COOKIE)
    verify_cookie(r.head)
    r = receive(method, "/echo" + SESSION + suffix)
    assert r.head.header("Set-Cookie") is None


def test_cookie_is_echoed() -> None:
    r = receive(
        "POST",
        "/cookie_needed_echo" + SESSION + "/xhr",
        {"Cookie": "a=b; JSESSIONID=abcdef; c=d"},
        options=COOKIE,
    )
    verify_cookie(r.head, "abcdef")
    bad = receive(
        "POST",
        "/cookie_needed_echo" + SESSION + "/xhr",
        {"Cookie": "JSESSIONID=a;b"},
        options=COOKIE,
    )
    verify_cookie(bad.head, "a")


def test_cookie_on_jsonp_send_and_preflight() -> None:
    d = deliver("POST", "/cookie_needed_echo" + SESSION + "/jsonp_send", FORM, b"d=%5B%5D", COOKIE)
    verify_cookie(d.ok)
    verify_cookie(d.not_found)
    verify_cookie(reply("OPTIONS", "/cookie_needed_echo/a/b/xhr", options=COOKIE))
    assert (
        reply("GET", "/cookie_needed_echo/iframe.html", options=COOKIE).header("Set-Cookie") is None
    )


# --- small pieces -----------------------------------------------------------------------------


@given(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9998, 1, 1)))
def test_http_date_matches_the_stdlib(when: dt.datetime) -> None:
    assert http_date(when) == format_datetime(when.replace(tzinfo=dt.UTC), usegmt=True)


def test_http_date_and_expires() -> None:
    assert http_date(NOW) == "Mon, 23 Nov 2026 09:23:19 GMT"
    assert http_date(NOW.replace(tzinfo=None, microsecond=999)) == "Mon, 23 Nov 2026 09:23:19 GMT"
    cet = dt.timezone(dt.timedelta(hours=1))
    assert http_date(NOW.astimezone(cet)) == "Mon, 23 Nov 2026 09:23:19 GMT"
    leap = dt.datetime(2028, 2, 29, 12, 0, 0, tzinfo=dt.UTC)
    r = preflight_response(
        EndpointKind.XHR_OPTIONS, Request("OPTIONS", "/kite/a/b/xhr"), Options(), now=leap
    )
    assert r.header("Expires") == "Thu, 01 Mar 2029 12:00:00 GMT"  # Go's AddDate(1, 0, 0)


def test_builders_refuse_wrong_kinds() -> None:
    req = Request("GET", "/kite/info")
    with pytest.raises(ValueError, match="OPTIONS"):
        preflight_response(EndpointKind.INFO, req, Options(), now=NOW)
    with pytest.raises(ValueError, match="receiving"):
        transport_head(EndpointKind.XHR_SEND, req, Options(), now=NOW)


def test_response_helpers() -> None:
    r = method_not_allowed_response(("POST", "OPTIONS"), now=NOW)
    assert r.reason == "Method Not Allowed"
    assert r.headers == (
        ("Allow", "POST, OPTIONS"),
        ("Content-Type", ""),
        ("Date", "Mon, 23 Nov 2026 09:23:19 GMT"),
        ("Content-Length", "0"),
    )
    assert not_found_response(now=NOW).reason == "Not Found"
