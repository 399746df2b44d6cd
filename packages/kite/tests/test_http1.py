"""The sans-IO HTTP/1.1 parser and writer of the server's hot path, checked against h11.

h11 (the general HTTP/1.1 library our clients and proxy use) is the reference: whatever
request h11 writes, we parse to the same method, target, headers and body, however the bytes
are split; whatever bytes h11's server refuses, we refuse too (and the reverse), except where a
test below names a deliberate difference; the heads we write, h11 reads back unchanged.
"""

from __future__ import annotations

import time

import h11
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kite._http._http1 import (
    BodyReader,
    MessageError,
    header_line,
    parse_request_head,
    parse_response_head,
    response_head,
)

LIMIT = 16 * 1024

_TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_token = st.text(alphabet=_TCHAR, min_size=1, max_size=12)
_value = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=20,
).flatmap(lambda v: st.sampled_from([v, f"{v} {v}" if v else v, f"{v}\t{v}" if v else v]))
_framing_names = {"content-length", "transfer-encoding", "host", "connection", "expect"}
_extra_headers = st.lists(
    st.tuples(_token.filter(lambda n: n.lower() not in _framing_names), _value), max_size=6
)
_targets = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40
)


def _h11_request(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, chunked: bool
) -> bytes:
    writer = h11.Connection(h11.CLIENT)
    framing = (
        [("Transfer-Encoding", "chunked")] if chunked else [("Content-Length", str(len(body)))]
    )
    raw = [
        (k.encode("latin-1"), v.encode("latin-1")) for k, v in [("Host", "x"), *headers, *framing]
    ]
    wire = writer.send(h11.Request(method=method, target=target, headers=raw)) or b""
    if body:
        wire += writer.send(h11.Data(data=body)) or b""
    return wire + (writer.send(h11.EndOfMessage()) or b"")


def _parse_all(
    wire: bytes, read_size: int
) -> list[tuple[bytes, bytes, list[tuple[bytes, bytes]], bytes]]:
    """Every request in `wire`, fed `read_size` bytes at a time as a server reads them."""
    buf = bytearray()
    out = []
    pos = 0
    reader: BodyReader | None = None
    current: tuple[bytes, bytes, list[tuple[bytes, bytes]]] | None = None
    body = b""
    while True:
        if reader is None:
            parsed = parse_request_head(buf, LIMIT)
            if parsed is not None:
                head, end = parsed
                del buf[:end]
                current = (head.method, head.target, head.headers)
                reader = BodyReader(head.length, head.chunked)
                body = b""
                continue
        else:
            body += reader.feed(buf)
            if reader.done:
                assert current is not None
                out.append((*current, body))
                reader = None
                continue
        if pos >= len(wire):
            break
        buf += wire[pos : pos + read_size]
        pos += read_size
    return out


@settings(max_examples=150)
@given(
    requests=st.lists(
        st.tuples(_token, _targets, _extra_headers, st.binary(max_size=300), st.booleans()),
        min_size=1,
        max_size=4,
    ),
    read_size=st.integers(min_value=1, max_value=200),
)
def test_requests_h11_writes_parse_the_same_at_any_split(
    requests: list[tuple[str, str, list[tuple[str, str]], bytes, bool]], read_size: int
) -> None:
    wire = b"".join(_h11_request(*r) for r in requests)
    got = _parse_all(wire, read_size)
    assert len(got) == len(requests)
    for (method, target, headers, body, _chunked), (g_method, g_target, g_headers, g_body) in zip(
        requests, got, strict=True
    ):
        assert g_method == method.encode()
        assert g_target == target.encode()
        assert g_body == body
        sent = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        assert [
            h
            for h in g_headers
            if h[0].lower() not in (b"host", b"content-length", b"transfer-encoding")
        ] == sent


def _h11_verdict(wire: bytes) -> str:
    """What h11's server makes of `wire`: "ok", "incomplete", or the error status."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=LIMIT)
    if wire:
        conn.receive_data(wire)  # (b"" would tell h11 the stream ended)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError as exc:
        return str(exc.error_status_hint)
    if event is h11.NEED_DATA:
        return "incomplete"
    return "ok"


def _our_verdict(wire: bytes) -> str:
    try:
        parsed = parse_request_head(wire, LIMIT)
    except MessageError as exc:
        return str(exc.status)
    return "incomplete" if parsed is None else "ok"


_pieces = st.sampled_from(
    [
        b"GET", b"POST", b" ", b"/", b"/kite", b"?a=b", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0",
        b"\r\n", b"\n", b"Host", b":", b" x", b"Content-Length", b"5", b"-1", b",", b"\t",
        b"Transfer-Encoding", b"chunked", b"gzip", b"\x00", b"\xff", b"\x7f", b"(", b"@",
        b"Connection", b"close", b"Expect", b"100-continue", b"\r",
    ]
)  # fmt: skip


@settings(max_examples=600)
@given(parts=st.lists(_pieces, max_size=24))
@example(
    parts=[b"GET", b" ", b"/", b" ", b"HTTP/1.1", b"\r\n", b"Host", b":", b" x", b"\r\n", b"\r\n"]
)
@example(parts=[b"GET", b" ", b"/", b" ", b"HTTP/1.1", b"\n", b"Host", b":", b" x", b"\n", b"\n"])
def test_accepts_and_refuses_what_h11_does(parts: list[bytes]) -> None:
    wire = b"".join(parts)
    ours = _our_verdict(wire)
    theirs = _h11_verdict(wire)
    if (b"\n " in wire or b"\n\t" in wire) and ours == "400":
        # obs-fold (a header continued on a line starting with whitespace): h11 joins the
        # lines, we answer 400 (RFC 9112 §5.2 lets a server do either).
        return
    if (
        theirs == "ok"
        and ours == "400"
        and b"Transfer-Encoding" in wire
        and b"Content-Length" in wire
    ):
        return  # both framings: see test_content_length_with_chunked_is_not_reused
    assert ours == theirs, wire


@pytest.mark.parametrize(
    ("wire", "status"),
    [
        (b"HELLO WORLD\r\n\r\n", 400),
        (b"GET /kite HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400),
        (b"POST /kite HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400),
        (b"POST /kite HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
        (b"POST /kite HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n", 400),
        (b"GET /kite HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"GET /kite HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        (b"GET /kite HTTP/1.1\r\nHost : x\r\n\r\n", 400),  # space before the colon
        (b"GET /kite HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
        (b"GET /kite HTTP/1.1\r\nHost: x\x00y\r\n\r\n", 400),
        (b"GET /kite HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"POST /kite HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        (b"GET /kite HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * LIMIT + b"\r\n\r\n", 431),
        (b"GET /kite HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * LIMIT, 431),  # incomplete too
    ],
)
def test_malformed_heads_get_the_status_a_server_answers(wire: bytes, status: int) -> None:
    with pytest.raises(MessageError) as info:
        parse_request_head(wire, LIMIT)
    assert info.value.status == status


def test_head_at_the_limit_is_accepted_one_byte_more_is_431() -> None:
    base = b"GET / HTTP/1.1\r\nHost: x\r\nX: \r\n\r\n"
    wire = base.replace(b"X: ", b"X: " + b"a" * (LIMIT - len(base)))
    assert len(wire) == LIMIT
    assert parse_request_head(wire, LIMIT) is not None
    with pytest.raises(MessageError) as info:
        parse_request_head(wire.replace(b"X: ", b"X: a"), LIMIT)
    assert info.value.status == 431


def test_framing_keep_alive_and_continue() -> None:
    parsed = parse_request_head(
        b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n"
        b"Expect: 100-continue\r\n\r\nhello",
        LIMIT,
    )
    assert parsed is not None
    head, _ = parsed
    assert (head.length, head.chunked, head.keep_alive, head.expect_continue) == (
        5,
        False,
        True,
        True,
    )
    assert [k for k, _ in head.headers].count(b"Content-Length") == 1  # an equal duplicate, once
    parsed = parse_request_head(b"GET / HTTP/1.0\r\n\r\n", LIMIT)
    assert parsed is not None
    assert not parsed[0].keep_alive
    parsed = parse_request_head(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, Close\r\n\r\n", LIMIT
    )
    assert parsed is not None
    assert not parsed[0].keep_alive


def test_content_length_with_chunked_is_not_reused() -> None:
    parsed = parse_request_head(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        LIMIT,
    )
    assert parsed is not None
    head, _ = parsed
    assert head.chunked
    assert not head.keep_alive


def test_a_long_run_of_whitespace_is_refused_quickly() -> None:
    wire = b"GET / HTTP/1.1\r\nHost: x\r\nX: a" + b" " * (LIMIT - 100) + b"\x00\r\n\r\n"
    start = time.perf_counter()
    with pytest.raises(MessageError):
        parse_request_head(wire, LIMIT)
    wire = b"GET / HTTP/1.1\r\nHost: x\r\nX:" + b" \t" * ((LIMIT - 100) // 2) + b"\x00\r\n\r\n"
    with pytest.raises(MessageError):
        parse_request_head(wire, LIMIT)
    assert time.perf_counter() - start < 0.5  # linear, not quadratic, in the line's length


@settings(max_examples=150)
@given(
    chunks=st.lists(st.binary(min_size=1, max_size=100), max_size=6),
    extension=st.booleans(),
    trailers=st.booleans(),
    read_size=st.integers(min_value=1, max_value=50),
)
def test_chunked_bodies_at_any_split_leave_what_follows(
    chunks: list[bytes], extension: bool, trailers: bool, read_size: int
) -> None:
    ext = b";name=value" if extension else b""
    wire = b"".join(b"%x%s\r\n%s\r\n" % (len(c), ext, c) for c in chunks)
    wire += b"0\r\n" + (b"X-Trailer: 1\r\n" if trailers else b"") + b"\r\n" + b"NEXT"
    reader = BodyReader(None, chunked=True)
    buf = bytearray()
    body = b""
    for i in range(0, len(wire), read_size):
        buf += wire[i : i + read_size]
        body += reader.feed(buf)
        if reader.done:
            buf += wire[i + read_size :]
            break
    assert reader.done
    assert body == b"".join(chunks)
    assert bytes(buf) == b"NEXT"


@pytest.mark.parametrize(
    "wire", [b"zz\r\n", b"5\r\nhelloXX", b"5\n", b"1" * 30 + b"\r\n", b"0\r\nbad trailer\r\n"]
)
def test_malformed_chunks_are_refused(wire: bytes) -> None:
    reader = BodyReader(None, chunked=True)
    with pytest.raises(MessageError):
        reader.feed(bytearray(wire))


def test_content_length_body_leaves_what_follows_and_eof_mid_body_is_an_error() -> None:
    reader = BodyReader(5)
    buf = bytearray(b"hel")
    assert reader.feed(buf) == b"hel"
    assert not reader.done
    buf += b"loNEXT"
    assert reader.feed(buf) == b"lo"
    assert reader.done
    assert bytes(buf) == b"NEXT"
    short = BodyReader(5)
    short.feed(bytearray(b"ab"))
    with pytest.raises(MessageError):
        short.eof()
    until_close = BodyReader(None)
    assert until_close.feed(bytearray(b"all")) == b"all"
    until_close.eof()
    assert until_close.done


@settings(max_examples=100)
@given(status=st.sampled_from([200, 204, 304, 404, 500, 503, 299]), headers=_extra_headers)
def test_heads_we_write_h11_reads_back(status: int, headers: list[tuple[str, str]]) -> None:
    lines = [header_line(k, v) for k, v in [*headers, ("Content-Length", "0")]]
    wire = response_head(status, lines)
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method="GET", target="/", headers=[(b"Host", b"x")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(wire)
    event = conn.next_event()
    assert isinstance(event, h11.Response)
    assert event.status_code == status
    sent = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    assert [(k, v) for k, v in event.headers.raw_items()][: len(sent)] == sent
    parsed = parse_response_head(wire, LIMIT)
    assert parsed is not None
    assert parsed[0].status == status
    assert parsed[0].headers[: len(sent)] == sent


@pytest.mark.parametrize(
    ("name", "value"),
    [("Bad Name", "x"), ("X", "a\r\nInjected: 1"), ("X", " leading"), ("X", "é€"), ("", "x")],
)
def test_invalid_header_lines_are_value_errors(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        header_line(name, value)


def test_response_heads_given_as_tuples_are_scanned_once() -> None:
    from kite._http._request import _scan_headers

    head = (("Content-Type", "text/plain"), ("Content-Length", "3"), ("Date", "x"))
    first = _scan_headers(head)
    assert _scan_headers(tuple(head)) is first  # an equal tuple: remembered
    assert first.declared == "3"
    assert first.has_date
    assert first.lines[0] == b"Content-Type: text/plain\r\n"
    as_lists = [["X", "1"]]  # pairs that are not hashable: scanned, not remembered
    assert _scan_headers(tuple(as_lists)).lines == (b"X: 1\r\n",)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid response head"):
        _scan_headers((("Bad Name", "x"),))
