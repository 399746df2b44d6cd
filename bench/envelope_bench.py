"""Micro-benchmarks of the kite RPC envelope (``kite._rpc._envelope``), the shape of every call.

*build* is ``call_arguments`` (Go's ``callOptions`` object: kite identity, authentication,
response callback, ``withArgs``); *build+scrub+encode* is the general way to get a call's
text: the envelope, dnode's scrub (the response callback gets an id) and encode;
*request_encoder* is what ``tell("square", 4)`` does before the SockJS layer, the same bytes
from ``RequestEncoder`` (envelope head encoded once per connection, only ``withArgs``
scrubbed and encoded per call). *decode+parse* is the callee side: decode, unscrub,
``parse_envelope``. Each on every JSON backend. Goal: 100,000 envelopes/s for
build+scrub+encode with orjson.
"""

from __future__ import annotations

from typing import Any

import dnode
from bench import Case
from kite._rpc._envelope import RequestEncoder, call_arguments, parse_envelope
from kite.protocol import Auth

KITE = {
    "username": "anchor",
    "environment": "production",
    "name": "pybench",
    "version": "1.0.0",
    "region": "eu-west",
    "hostname": "worker-17.example.com",
    "id": "336446d4-d626-46d3-8b93-95fc24a34492",
}
AUTH = Auth("token", "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + "x" * 300)


def _response(*args: Any) -> None:
    return None


def build() -> object:
    return call_arguments(KITE, AUTH, _response, [4])


_table = dnode.CallbackTable()


def build_scrub_encode() -> str:
    args, callbacks = dnode.scrub(call_arguments(KITE, AUTH, _response, [4]), _table)
    for cid in callbacks:  # the response frees its callback
        _table.remove(cid)
    return dnode.encode(dnode.Message("square", args, callbacks))


REQUEST = build_scrub_encode().encode()


class _LocalKite:
    """The identity fields `RequestEncoder` reads of a `Kite`."""

    def __init__(self) -> None:
        for key, value in KITE.items():
            setattr(self, key, value)

    @property
    def identity_json(self) -> dict[str, str]:
        return KITE


_local: Any = _LocalKite()
_encoder = RequestEncoder()


def request_encoder() -> str:
    text, cid, _ = _encoder.encode(_local, AUTH, "square", _response, [4], _table)
    _table.remove(cid)  # the response frees its callback
    return text


def _send(cid: int, args: list[Any]) -> None:
    return None


def decode_parse() -> object:
    msg = dnode.decode(REQUEST)
    return parse_envelope(dnode.unscrub(msg.arguments, msg.callbacks, _send))


GOALS = {"json": None, "orjson": 100_000.0}

CASES: list[Case] = []
for _backend in dnode.BACKENDS:

    def _setup(name: str = _backend) -> None:
        dnode.set_backend(name)

    CASES += [
        Case(f"envelope.build[{_backend}]", build, setup=_setup, unit="call"),
        Case(
            f"envelope.build+scrub+encode[{_backend}]",
            build_scrub_encode,
            setup=_setup,
            goal=GOALS.get(_backend),
            unit="call",
        ),
        Case(f"envelope.request_encoder[{_backend}]", request_encoder, setup=_setup, unit="call"),
        Case(f"envelope.decode+parse[{_backend}]", decode_parse, setup=_setup, unit="call"),
    ]
