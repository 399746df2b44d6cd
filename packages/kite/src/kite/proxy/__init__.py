"""The proxy kites: give kites behind them public URLs (Go's `reverseproxy`).

`ReverseProxy` is the kite `proxy`: a kite calls its `register(url)` (what
`Kite.register_to_proxy` does) and is then reachable at `<public base>/proxy/<kite id>`, over
every SockJS transport, until its connection to the proxy ends. How it works and its limits:
`_reverse` and `_forward`.
"""

from ._forward import BackendError
from ._reverse import NAME, VERSION, Backend, ProxyLimits, ReverseProxy

__all__ = ["NAME", "VERSION", "Backend", "BackendError", "ProxyLimits", "ReverseProxy"]
