"""Per-transport wrapping: byte-exact to the SockJS protocol suite and to sockjs-go."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sockjs import FrameWriter, Options, RemoteProtocolError, Transport, validate_callback
from sockjs._transports import CALLBACK_REQUIRED, INVALID_CALLBACK

X = 'a["x"]'
GO_AWAY = 'c[3000,"Go away!"]'

# The htmlfile head the protocol suite (HtmlFile.head) expects, with the callback substituted.
SUITE_HTMLFILE_HEAD = """
<!doctype html>
<html><head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
</head><body><h2>Don't panic!</h2>
  <script>
    document.domain = document.domain;
    var c = parent.%s;
    c.start();
    function p(d) {c.message(d);};
    window.onload = function() {c.stop();};
  </script>
""".strip()


def writer(transport: Transport, callback: str | None = None) -> FrameWriter:
    return FrameWriter(transport, callback)


@pytest.mark.parametrize(
    ("transport", "callback", "frame", "wire"),
    [
        (Transport.WEBSOCKET, None, "o", b"o"),
        (Transport.WEBSOCKET, None, X, b'a["x"]'),  # Websocket.test_transport
        (Transport.WEBSOCKET, None, GO_AWAY, b'c[3000,"Go away!"]'),
        (Transport.XHR, None, "o", b"o\n"),  # Protocol.test_simpleSession
        (Transport.XHR, None, "h", b"h\n"),  # invalid-frame-xhr capture
        (Transport.XHR, None, X, b'a["x"]\n'),
        (Transport.XHR, None, GO_AWAY, b'c[3000,"Go away!"]\n'),
        (
            Transport.XHR,
            None,
            'c[2010,"Another connection still open"]',
            b'c[2010,"Another connection still open"]\n',  # xhr-double-poll capture
        ),
        (Transport.XHR_STREAMING, None, "o", b"o\n"),  # XhrStreaming.test_transport
        (Transport.XHR_STREAMING, None, X, b'a["x"]\n'),
        (Transport.EVENTSOURCE, None, "o", b"data: o\r\n\r\n"),  # EventSource.test_transport
        (Transport.EVENTSOURCE, None, X, b'data: a["x"]\r\n\r\n'),
        (
            Transport.EVENTSOURCE,
            None,
            'a["  \\u0000\\n\\r "]',
            b'data: a["  \\u0000\\n\\r "]\r\n\r\n',
        ),
        (Transport.HTMLFILE, "callback", "o", b'<script>\np("o");\n</script>\r\n'),
        (Transport.HTMLFILE, "callback", X, b'<script>\np("a[\\"x\\"]");\n</script>\r\n'),
        (Transport.JSONP, "callback", "o", b'/**/callback("o");\r\n'),  # JsonPolling
        (Transport.JSONP, "callback", X, b'/**/callback("a[\\"x\\"]");\r\n'),
        (Transport.JSONP, "x", 'a["b"]', b'/**/x("a[\\"b\\"]");\r\n'),
        (Transport.JSONP, "x", 'a["abc","%61bc"]', b'/**/x("a[\\"abc\\",\\"%61bc\\"]");\r\n'),
        (Transport.JSONP, "x", GO_AWAY, b'/**/x("c[3000,\\"Go away!\\"]");\r\n'),
        (Transport.XHR, None, 'a["\u00e9"]', 'a["\u00e9"]\n'.encode()),  # raw UTF-8, as Go
    ],
)
def test_wrap(transport: Transport, callback: str | None, frame: str, wire: bytes) -> None:
    assert writer(transport, callback).wrap(frame) == wire


def test_preludes() -> None:
    assert writer(Transport.XHR_STREAMING).prelude == b"h" * 2048 + b"\n"
    assert writer(Transport.EVENTSOURCE).prelude == b"\r\n"
    for transport in (Transport.WEBSOCKET, Transport.XHR):
        assert writer(transport).prelude == b""
    assert writer(Transport.JSONP, "cb").prelude == b""


@pytest.mark.parametrize("callback", ["callback", "x", "_jp.a1b2c3", "a-b_c.D9"])
def test_htmlfile_prelude(callback: str) -> None:
    prelude = writer(Transport.HTMLFILE, callback).prelude.decode()
    # HtmlFile.test_transport: the stripped prelude is the head; the page is past 1 KiB.
    assert prelude.strip() == SUITE_HTMLFILE_HEAD % callback
    assert len(prelude) > 1024
    # sockjs-go's exact bytes: the template (ending in "\n", with its 2-character "%s")
    # is padded with 1024 - len + 14 spaces, then "\r\n\r\n".
    template = SUITE_HTMLFILE_HEAD + "\n"
    expected = template % callback + " " * (1024 - len(template) + 14) + "\r\n\r\n"
    assert prelude == expected
    assert len(prelude) == 1040 + len(callback)


def test_go_quoting_inside_html_and_jsonp() -> None:
    """Frames are quoted with Go's json.Marshal spelling: no raw <, >, &, U+2028/9."""
    frame = 'a["</script><b>&\u2028\u2029"]'
    html = writer(Transport.HTMLFILE, "c").wrap(frame)
    assert html == (
        b'<script>\np("a[\\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\\u2028\\u2029\\"]");\n'
        b"</script>\r\n"
    )
    jsonp = writer(Transport.JSONP, "c").wrap("\b\f\\b\t\x7f/\x01")
    assert jsonp == b'/**/c("\\u0008\\u000c\\\\b\\t\x7f/\\u0001");\r\n'
    assert writer(Transport.JSONP, "c").wrap("\ud800") == '/**/c("\ufffd");\r\n'.encode()


@pytest.mark.parametrize(
    ("callback", "body"),
    [
        (None, CALLBACK_REQUIRED),  # HtmlFile/JsonPolling.test_no_callback
        ("", CALLBACK_REQUIRED),
        (" ", INVALID_CALLBACK),  # test_invalid_callback: %20, *, abc(, abc%28
        ("*", INVALID_CALLBACK),
        ("abc(", INVALID_CALLBACK),
        ("alert(1);x", INVALID_CALLBACK),
        ("a\nb", INVALID_CALLBACK),
        ("cb\n", INVALID_CALLBACK),
        ("\u00e9", INVALID_CALLBACK),
    ],
)
def test_bad_callbacks(callback: str | None, body: str) -> None:
    for transport in (Transport.HTMLFILE, Transport.JSONP):
        with pytest.raises(RemoteProtocolError) as info:
            FrameWriter(transport, callback)
        assert (info.value.status, info.value.body) == (500, body)
    with pytest.raises(RemoteProtocolError):
        validate_callback(callback)


def test_callback_texts() -> None:
    assert CALLBACK_REQUIRED == '"callback" parameter required'
    assert INVALID_CALLBACK == 'invalid "callback" parameter'


def test_callback_only_where_needed() -> None:
    with pytest.raises(ValueError, match="takes no callback"):
        FrameWriter(Transport.XHR, "cb")


def test_transport_kinds_and_limits() -> None:
    options = Options(response_limit=4096)
    assert writer(Transport.XHR).response_limit(options) == 1
    assert writer(Transport.JSONP, "c").response_limit(options) == 1
    for transport, callback in (
        (Transport.XHR_STREAMING, None),
        (Transport.EVENTSOURCE, None),
        (Transport.HTMLFILE, "c"),
    ):
        assert writer(transport, callback).response_limit(options) == 4096
        assert transport.streaming
        assert not transport.polling
    assert writer(Transport.WEBSOCKET).response_limit(options) is None
    assert {t for t in Transport if t.needs_callback} == {Transport.HTMLFILE, Transport.JSONP}
    assert {t for t in Transport if t.polling} == {Transport.XHR, Transport.JSONP}


def test_streaming_response_limit_scenario() -> None:
    """XhrStreaming.test_response_limit: with a 4096-byte limit, 31 frames of a 130-character
    message fit; the limit is reached on the 31st (prelude not counted), as in sockjs-go."""
    options = Options(response_limit=4096)
    w = writer(Transport.XHR_STREAMING)
    limit = w.response_limit(options)
    assert limit is not None
    sent = len(w.wrap("o"))
    msg = '"' + "x" * 128 + '"'
    frames = 0
    while sent < limit:
        sent += len(w.wrap(f"a[{msg}]"))
        frames += 1
    assert frames == 31


def test_writer_is_a_frozen_value() -> None:
    w = writer(Transport.XHR)
    assert w == FrameWriter(Transport.XHR)
    with pytest.raises(AttributeError):
        w.transport = Transport.JSONP  # type: ignore[misc]


# Frames as a session encoder makes them: JSON text in a/c frames never has a raw newline.
frames = st.one_of(
    st.sampled_from(["o", "h", GO_AWAY, 'c[2010,"Another connection still open"]']),
    st.lists(st.text()).map(lambda ms: "a" + json.dumps(ms, ensure_ascii=False)),
)


@given(st.lists(frames, max_size=8))
def test_streams_are_self_delimiting(items: list[str]) -> None:
    """Concatenated xhr_streaming / eventsource output splits back into the same frames."""
    safe = [f.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for f in items]
    xhr = b"".join(writer(Transport.XHR_STREAMING).wrap(f) for f in safe)
    assert xhr.decode().split("\n")[:-1] == safe
    es = b"".join(writer(Transport.EVENTSOURCE).wrap(f) for f in safe)
    events = es.decode().split("\r\n\r\n")[:-1]
    assert [e.removeprefix("data: ") for e in events] == safe


@given(st.text())
@example("</script>")
@example("\ud800\udc00")
def test_quoted_frames_parse_back(frame: str) -> None:
    """htmlfile/jsonp output is valid UTF-8, has no raw '<' or '>' inside the quoted frame,
    and JSON-decodes to the frame (lone surrogates replaced, as Go does)."""
    expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in frame)
    html = writer(Transport.HTMLFILE, "cb").wrap(frame).decode()
    assert html.startswith("<script>\np(")
    assert html.endswith(");\n</script>\r\n")
    quoted = html[len("<script>\np(") : -len(");\n</script>\r\n")]
    assert "<" not in quoted
    assert ">" not in quoted
    assert "\n" not in quoted
    assert json.loads(quoted) == expected
    jsonp = writer(Transport.JSONP, "cb").wrap(frame).decode()
    assert jsonp == f"/**/cb({quoted});\r\n"
