"""sockjs micro-benchmarks: framing one ~1 KB kite message, as every outgoing message is.

``sockjs.encode_messages`` turns one message into an ``a[...]`` frame with Go's exact string
escaping (the hot path of every send); goal: 200,000 frames/s on one core. The other cases
show the cost around it: parsing the frame on the client side, and a WebSocket session's
``send`` (encode + event) as the runtime drives it. Each case runs on every JSON backend
(orjson when installed, else only the stdlib).
"""

from __future__ import annotations

import json

import sockjs
from bench import Case
from sockjs._frames import BACKENDS, _set_backend

# A kite response as Go's JSON encoder writes it (quotes to escape, ASCII), about 1 KB.
MESSAGE = json.dumps(
    {
        "method": 0,
        "arguments": [
            {
                "error": None,
                "result": {
                    "files": [
                        {"name": f"file-{i:03d}.txt", "size": 1000 + i, "isDir": False}
                        for i in range(19)
                    ]
                },
            }
        ],
        "callbacks": {},
    },
    separators=(",", ":"),
)
MESSAGE_UTF8 = MESSAGE.replace("file", "fïlé")
FRAME = sockjs.encode_messages([MESSAGE])


def encode_one() -> object:
    return sockjs.encode_messages([MESSAGE])


def encode_one_non_ascii() -> object:
    return sockjs.encode_messages([MESSAGE_UTF8])


def decode_one() -> object:
    return sockjs.decode_frame(FRAME)


_SESSION = sockjs.ServerSession("bench", 0.0, heartbeat_delay=0)
_SESSION.attach(0.0)
_SESSION.events()


def session_send() -> object:
    _SESSION.send(MESSAGE, 0.0)
    return _SESSION.next_event()


CASES: list[Case] = []
for _backend in BACKENDS:

    def _setup(backend: str = _backend) -> None:
        _set_backend(backend)

    CASES += [
        Case(
            f"sockjs.encode_messages[1x1KB,{_backend}]",
            encode_one,
            setup=_setup,
            goal=200_000,
            unit="frame",
        ),
        Case(
            f"sockjs.encode_messages[1x1KB,non-ascii,{_backend}]",
            encode_one_non_ascii,
            setup=_setup,
            unit="frame",
        ),
        Case(f"sockjs.decode_frame[1x1KB,{_backend}]", decode_one, setup=_setup, unit="frame"),
        Case(
            f"sockjs.ServerSession.send[websocket,{_backend}]",
            session_send,
            setup=_setup,
            unit="msg",
        ),
    ]
