"""dnode micro-benchmarks: one typical ~1 KB kite request through the dnode layer.

Receiving = ``decode`` + ``unscrub`` (what a kite does with every incoming message); sending =
``scrub`` + ``encode`` (what it does with every outgoing one), on each JSON backend. Goals: at
least 60,000 msgs/s each with the stdlib, 150,000/s with orjson, on one core.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import dnode
from bench import Case


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# A kite key shaped like the ones Kontrol issues (RS256; header, claims, 256-byte signature).
KITE_KEY = ".".join(
    [
        _b64(b'{"alg":"RS256","typ":"JWT"}'),
        _b64(
            json.dumps(
                {
                    "iss": "anchor",
                    "sub": "anchor",
                    "iat": 1795425467,
                    "jti": "3ae28132-5d4e-4bd5-9a3c-7b0e2bd2a36b",
                    "kontrolURL": "http://127.0.0.1:4000/kite",
                },
                separators=(",", ":"),
            ).encode()
        ),
        _b64(bytes(range(256))),
    ]
)

KITE = {
    "name": "goclient",
    "username": "anchor",
    "id": "336446d4-d626-46d3-8b93-95fc24a34492",
    "environment": "production",
    "region": "eu-west",
    "version": "1.0.0",
    "hostname": "worker-17.example.com",
}


def _response_callback(*args: Any) -> None:
    return None


def envelope() -> dict[str, Any]:
    """The request ``fs.readDirectory({...})`` as a Go kite would send it."""
    return {
        "kite": KITE,
        "authentication": {"type": "kiteKey", "key": KITE_KEY},
        "responseCallback": _response_callback,
        "withArgs": [{"path": "/home/anchor/projects/kite", "recursive": False, "limit": 100}],
    }


ARGS = [envelope()]
REQUEST_TEXT = dnode.encode(
    dnode.Message("fs.readDirectory", *dnode.scrub(ARGS, dnode.CallbackTable()))
)
REQUEST_BYTES = REQUEST_TEXT.encode()


def _send(cid: int, args: list[Any]) -> None:
    return None


def receive() -> object:
    msg = dnode.decode(REQUEST_BYTES)
    return dnode.unscrub(msg.arguments, msg.callbacks, _send)


_table = dnode.CallbackTable()


def send() -> str:
    args, callbacks = dnode.scrub(ARGS, _table)
    for cid in callbacks:  # the runtime removes a response callback when the response arrives
        _table.remove(cid)
    return dnode.encode(dnode.Message("fs.readDirectory", args, callbacks))


def decode_only() -> object:
    return dnode.decode(REQUEST_BYTES)


_scrubbed = dnode.scrub(ARGS, dnode.CallbackTable())
_MESSAGE = dnode.Message("fs.readDirectory", *_scrubbed)


def encode_only() -> str:
    return dnode.encode(_MESSAGE)


GOALS = {"json": 60_000.0, "orjson": 150_000.0}

CASES: list[Case] = []
for _backend in dnode.BACKENDS:

    def _setup(name: str = _backend) -> None:
        dnode.set_backend(name)

    CASES += [
        Case(
            f"dnode.decode+unscrub[{_backend}]",
            receive,
            setup=_setup,
            goal=GOALS[_backend],
            unit="msg",
        ),
        Case(
            f"dnode.scrub+encode[{_backend}]", send, setup=_setup, goal=GOALS[_backend], unit="msg"
        ),
        Case(f"dnode.decode[{_backend}]", decode_only, setup=_setup, unit="msg"),
        Case(f"dnode.encode[{_backend}]", encode_only, setup=_setup, unit="msg"),
    ]
