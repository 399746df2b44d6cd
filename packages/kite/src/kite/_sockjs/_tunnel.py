"""`kite.tunnel`: serve one kite session over a WebSocket this kite dials (Go's tunnel).

How this works (docs/protocol.md §10.2): a tunnel proxy calls `kite.tunnel` with
`[{"url": "ws://<proxy>/tunnel/<server>/<session>/websocket?token=<jwt>"}]` on a kite
registered to it. The kite dials that URL as a SockJS WebSocket client -- the proxy relays the
SockJS session of an outside client through it -- and serves the session like an accepted
connection (`serve_pipe`: requests are authenticated as usual). The dial happens before the
method answers (a failed dial is the method's error); the session is then served in a task
of the connection the call came on, so it ends at the latest with that connection.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlsplit

import dnode
import sockjs

from .._errors import KiteError
from .._http import TransportError, connect_websocket
from .._rpc._pipe import MessagePipe
from .._rpc._request import Request
from ._client_pipes import WebSocketClientPipe

__all__ = ["TUNNEL_METHOD", "TunnellingKite", "open_tunnel", "tunnel_handler"]

TUNNEL_METHOD = "kite.tunnel"


class TunnellingKite(Protocol):
    """What a tunnel needs of its kite: serving an accepted session."""

    async def serve_pipe(self, pipe: MessagePipe) -> None: ...


async def open_tunnel(url: str, *, timeout: float) -> WebSocketClientPipe:  # noqa: ASYNC109
    """Dial the tunnel `url` (a complete SockJS WebSocket URL) as a SockJS client session."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise KiteError(f"kite.tunnel: not a WebSocket URL: {url!r}")
    machine = sockjs.WebSocketClient(url, server_id="0", session_id="0")
    machine.url = url  # the proxy gives the whole session URL, not a kite base URL
    origin = f"http://{parts.netloc}"  # Go sends Origin http://<host> whatever the scheme
    try:
        ws = await connect_websocket(url, [("Origin", origin)], timeout=timeout)
    except TransportError as exc:
        raise KiteError(f"kite.tunnel: cannot dial {url}: {exc}") from None
    return WebSocketClientPipe(ws, machine)


def tunnel_handler(kite: TunnellingKite, *, timeout: float) -> Any:
    """The `kite.tunnel` handler of `kite`."""

    async def handle(request: Request) -> None:
        fields: dict[str, dnode.Partial] = {
            k.lower(): v for k, v in request.args.one().map().items()
        }
        if "url" not in fields:
            raise KiteError("kite.tunnel: no url given")
        pipe = await open_tunnel(fields["url"].string(), timeout=timeout)
        request.client.start_soon(kite.serve_pipe, pipe)

    return handle
