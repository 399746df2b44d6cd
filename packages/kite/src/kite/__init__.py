"""kite: the kite micro-service runtime on trio, wire-compatible with Go kite.

RPC core (transport-independent): a `Kite` serves methods and calls other kites over
`MessagePipe`s, one `Peer` per connection.
"""

from ._errors import (
    ArgumentError,
    AuthenticationError,
    DisconnectError,
    GenericError,
    InvalidResponseError,
    KiteError,
    KiteTimeoutError,
    MethodNotFoundError,
    RequestLimitError,
    SendError,
)
from ._handlers import FinalFunc, Handler, Method, MethodHandling
from ._kite import Authenticator, Kite
from ._peer import Peer, PeerLimits, open_peer
from ._request import Request
from ._session import MemoryPipe, MessagePipe, PipeClosedError, memory_pipe_pair
from ._throttle import TokenBucket
from .protocol import Auth, KiteIdentity

__all__ = [
    "ArgumentError",
    "Auth",
    "AuthenticationError",
    "Authenticator",
    "DisconnectError",
    "FinalFunc",
    "GenericError",
    "Handler",
    "InvalidResponseError",
    "Kite",
    "KiteError",
    "KiteIdentity",
    "KiteTimeoutError",
    "MemoryPipe",
    "MessagePipe",
    "Method",
    "MethodHandling",
    "MethodNotFoundError",
    "Peer",
    "PeerLimits",
    "PipeClosedError",
    "Request",
    "RequestLimitError",
    "SendError",
    "TokenBucket",
    "memory_pipe_pair",
    "open_peer",
]
