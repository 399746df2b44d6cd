"""The proxy kites: give kites behind them public URLs (Go's `reverseproxy`, `tunnelproxy`).

`ReverseProxy` is the kite `proxy`: a kite calls its `register(url)` (what
`Kite.register_to_proxy` does) and is then reachable at `<public base>/proxy/<kite id>`, over
every SockJS transport, until its connection to the proxy ends. How it works and its limits:
`_reverse` and `_forward`.

`TunnelProxy` is the kite `tunnelproxy`, for kites nobody can dial: a kite calls its
`register` (what `Kite.register_to_tunnel` does) and is then reachable at
`<public base>/proxy?kiteID=<kite id>`; each outside session reaches it through a WebSocket
the kite dials to the proxy (`_tunnel_proxy`, `_tunnels`).
"""

from ._forward import BackendError
from ._reverse import NAME, VERSION, Backend, ProxyLimits, ReverseProxy
from ._tunnel_proxy import TUNNEL_NAME, TUNNEL_VERSION, TunnelLimits, TunnelProxy

__all__ = [
    "NAME",
    "TUNNEL_NAME",
    "TUNNEL_VERSION",
    "VERSION",
    "Backend",
    "BackendError",
    "ProxyLimits",
    "ReverseProxy",
    "TunnelLimits",
    "TunnelProxy",
]
