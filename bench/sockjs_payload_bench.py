"""sockjs micro-benchmarks: decoding one client payload carrying one ~1 KB kite message.

That is what a server does with every ``xhr_send`` body and every WebSocket message a Go client
sends (``["<kite message>"]``, the message itself JSON text, so the payload is full of
``\\"`` escapes). Goal: at least 200,000 payloads/s on one core. For scale, the wrapping of a
server frame for XHR and the planning of an ``xhr_send`` request (route + decode + responses)
are measured too (no goals).
"""

from __future__ import annotations

import datetime as dt
import json

import sockjs
from bench import Case

_KITE = {
    "name": "goclient",
    "username": "anchor",
    "id": "336446d4-d626-46d3-8b93-95fc24a34492",
    "environment": "production",
    "region": "eu-west",
    "version": "1.0.0",
    "hostname": "worker-17.example.com",
}
_CALL = {
    "method": "fs.readDirectory",
    "arguments": [
        {
            "kite": _KITE,
            "authentication": {"type": "kiteKey", "key": "eyJhbGciOiJSUzI1NiJ9." + "x" * 420},
            "responseCallback": "[Function]",
            "withArgs": [{"path": "/home/anchor/projects/kite", "recursive": False}],
        }
    ],
    "callbacks": {"0": [0, "responseCallback"]},
}

#: One kite message of about 1 KB, as Go's client frames it.
MESSAGE = json.dumps(_CALL, separators=(",", ":"))
PAYLOAD = sockjs.encode_payload([MESSAGE])
PAYLOAD_TEXT = PAYLOAD.decode()
FRAME = "a" + json.dumps([MESSAGE], ensure_ascii=False, separators=(",", ":"))

_OPTIONS = sockjs.Options()
_NOW = dt.datetime(2026, 11, 23, 9, 23, 19, tzinfo=dt.UTC)
_SEND = sockjs.Request.from_target(
    "POST", "/kite/746/24ae09e1462cdc59f273/xhr_send", [("Content-Type", "text/plain")], PAYLOAD
)
_XHR = sockjs.FrameWriter(sockjs.Transport.XHR)
_LIMIT = _OPTIONS.max_payload_size


def _decode_bytes() -> object:
    return sockjs.decode_payload(PAYLOAD, max_size=_LIMIT)


def _decode_ws_text() -> object:
    return sockjs.decode_websocket_message(PAYLOAD_TEXT, max_size=_LIMIT)


def _wrap_xhr() -> object:
    return _XHR.wrap(FRAME)


def _plan_xhr_send() -> object:
    return sockjs.plan_request(_SEND, _OPTIONS, now=_NOW, entropy=0)


CASES = [
    Case("sockjs.decode_payload[1KB]", _decode_bytes, goal=200_000, unit="payload"),
    Case("sockjs.decode_websocket_message[1KB,str]", _decode_ws_text, goal=200_000, unit="msg"),
    Case("sockjs.wrap[xhr,1KB]", _wrap_xhr, unit="frame"),
    Case("sockjs.plan_request[xhr_send,1KB]", _plan_xhr_send, unit="request"),
]
