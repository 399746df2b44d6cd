"""Every recorded HTTP exchange with a Go kite, replayed through `plan_request`.

For each request in ``conformance/captures/*.jsonl`` under ``/kite`` (plus the 404 probe), we
plan the request with ``now`` = Go's ``Date`` and compare status, header order and values, and
body with Go's answer. Where we deliberately differ, Go's answer is rewritten by the table
`DIFFERENCES` below (each entry is in the package README); nothing else may differ.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict, deque
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from sockjs import Deliver, Options, Receive, Reply, Request, Response, Upgrade, plan_request

CAPTURES = Path(__file__).resolve().parents[3] / "conformance" / "captures"
# Go kite: prefix /kite, no JSESSIONID, websocket on, raw websocket off, every origin allowed
KITE = Options(allowed_origins=("*",))
GO_NO_CACHE = "no-store, no-cache, must-revalidate, max-age=0"
OUR_NO_CACHE = "no-store, no-cache, no-transform, must-revalidate, max-age=0"
UNKNOWN_SESSIONS = {"nosuchsession0000000000"}

Headers = list[tuple[str, str]]


def _no_transform(headers: Headers, request: dict[str, Any]) -> Headers:
    """The current protocol suite wants ``no-transform`` in no-cache answers."""
    return [(n, OUR_NO_CACHE if v == GO_NO_CACHE else v) for n, v in headers]


def _no_credentials_without_origin(headers: Headers, request: dict[str, Any]) -> Headers:
    """Both protocol suites: no ``Access-Control-Allow-Credentials`` when ``Origin`` is absent
    (sockjs-go sends ``true`` next to ``*``, which browsers reject anyway)."""
    if any(n.lower() == "origin" for n, _ in request["headers"]):
        return headers
    return [(n, v) for n, v in headers if n != "Access-Control-Allow-Credentials"]


def _expires_in_gmt(headers: Headers, request: dict[str, Any]) -> Headers:
    """``Expires`` as an RFC 9110 date (Go prints its local zone name, ``UTC``)."""
    return [(n, v.replace(" UTC", " GMT") if n == "Expires" else v) for n, v in headers]


DIFFERENCES = [_no_transform, _no_credentials_without_origin, _expires_in_gmt]


def _exchanges() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for path in sorted(CAPTURES.glob("*.jsonl")):
        if path.name.endswith(".raw.jsonl"):
            continue
        pending: dict[int, deque[dict[str, Any]]] = defaultdict(deque)
        for line in path.read_text(encoding="utf-8").split("\n"):
            if not line:
                continue
            event = json.loads(line)
            if event["kind"] == "http-request":
                pending[event["conn"]].append(event)
            elif event["kind"] == "http-response":
                request = pending[event["conn"]].popleft()
                assert event["request"] == f"{request['method']} {request['target']}"
                target = request["target"]
                if target.startswith("/kite") or target == "/nonexistent":
                    found.append((path.stem, request, event))
    return found


EXCHANGES = _exchanges()
IDS = [
    f"{name}:{req['method']} {req['target'].rsplit('/', 1)[-1] or '/'}"
    for name, req, _ in EXCHANGES
]


def test_all_exchanges_found() -> None:
    statuses = {resp["status"] for _, _, resp in EXCHANGES}
    assert statuses == {101, 200, 204, 404, 405, 500}
    assert len(EXCHANGES) > 50


def _ours(request: dict[str, Any], go: dict[str, Any]) -> Response | None:
    """Our complete answer to the captured request (None: a WebSocket upgrade)."""
    go_headers = dict(go["headers"])
    now = parsedate_to_datetime(go_headers["Date"]) if "Date" in go_headers else None
    entropy = 0
    if request["target"] == "/kite/info" and request["method"] == "GET":
        entropy = json.loads(go["body"])["entropy"]
    req = Request.from_target(
        request["method"],
        request["target"],
        [tuple(h) for h in request["headers"]],
        request["body"].encode(),
    )
    plan = plan_request(
        req,
        KITE,
        now=now or parsedate_to_datetime("Mon, 23 Nov 2026 09:00:00 GMT"),
        entropy=entropy,
    )
    if isinstance(plan, Upgrade):
        assert go["status"] == 101
        return None
    if isinstance(plan, Reply):
        return plan.response
    if isinstance(plan, Deliver):
        if request.get("sockjs") and "messages" in request["sockjs"]:
            assert list(plan.messages) == request["sockjs"]["messages"]
        unknown = plan.endpoint.session_id in UNKNOWN_SESSIONS
        return plan.not_found if unknown else plan.ok
    assert isinstance(plan, Receive)
    body = go["body"].encode()
    if not body:
        # An aborted poll: sockjs-go answers an empty 200 (the session, not us, decides this).
        return plan.head.with_body(b"")
    frame = go["body"].removesuffix("\n")
    return plan.head.with_body(plan.writer.wrap(frame))


@pytest.mark.parametrize(("name", "request_", "go"), EXCHANGES, ids=IDS)
def test_exchange(name: str, request_: dict[str, Any], go: dict[str, Any]) -> None:
    ours = _ours(request_, go)
    if ours is None:
        return
    expected: Headers = [tuple(h) for h in go["headers"]]
    for rewrite in DIFFERENCES:
        expected = rewrite(expected, request_)
    got = list(ours.headers)
    body = go["body"].encode()
    if request_["target"].startswith("/kite/iframe"):
        # The current suite's iframe page (script before bootstrap) and a quoted ETag of it.
        assert ours.header("ETag") == f'"{hashlib.md5(ours.body).hexdigest()}"'
        assert body != ours.body
        skip = {"etag", "content-length"}
        expected = [(n, v) for n, v in expected if n.lower() not in skip]
        got = [(n, v) for n, v in got if n.lower() not in skip]
        body = ours.body
    assert ours.status == go["status"]
    assert [(n.lower(), v) for n, v in got] == [(n.lower(), v) for n, v in expected]
    assert ours.body == body
