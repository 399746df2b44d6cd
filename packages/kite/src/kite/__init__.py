"""kite: the kite micro-service runtime on trio, wire-compatible with Go kite.

- RPC core (transport-independent): a `Kite` serves methods and calls other kites over
  `MessagePipe`s, one `Peer` per connection.
- Authentication and configuration: `Config` / `Config.from_env`, the kite.key file (`KiteKey`,
  `read_kite_key`, `write_kite_key`), Go duration strings, RSA PEM keys, JWT kite keys and tokens
  (`issue_kite_key`, `issue_token`, `parse_token`) and the callee-side `Authenticators`.
- Serving and dialling: `Kite.serve` / `Kite.run` offer every SockJS transport under `/kite`
  (`KiteServer`, `SockJSEndpoint`); `Kite.dial` connects over WebSocket or XHR polling
  (`Client`), with Go's `auto` fallback and optional reconnection; `Kite.handle_http` serves
  other paths, each request an `HTTPRequest`.
- Blocking client: `kite.connect(url or Kontrol query)` → `BlockingClient`, whose `tell`
  blocks; trio runs in a background thread (scripts, REPL, Jupyter).
- Kontrol: `KontrolClient` (`async with kite.kontrol_client(...)`), `kite.register`,
  `register_forever`, `register_http(_forever)`, `get_kites` (`KiteClient`s with a
  `TokenRenewer`), `get_token`, `get_key`, `on_register`.
- Typed methods: `Kite.method` serves plain typed functions (arguments bound and checked
  against their annotations); `Kite.describe()`, the built-in `kite.methods` and
  `remote.methods()` describe a kite's methods (`MethodDescription`, JSON Schema).
- Tests: `kite.testing` (a fixed test key pair; the pytest plugin's `kite_test_keys`; a
  running Kontrol comes with `kontrol.testing`).
- Errors: one tree under `KiteError`, keyed by Go's error `type` strings; network failures
  are `TransportError`s (`ConnectError`, `HandshakeError`, `ConnectionClosedError`,
  `TransportTimeoutError`, `ProtocolError`, `BodyTooLargeError`, `ListenError`). An
  exception raised in (or by) a kite `async with` block comes out as itself, never wrapped in
  exception groups; `single_exception` does the same for your own `async with` functions.
- Utilities: `TimerHeap` (many timers, one task), `TokenBucket`, `Backoff`.
"""

from ._auth._authenticators import (
    DEFAULT_MAX_KEY_SIZE,
    AuthContext,
    Authenticator,
    Authenticators,
    KeyNotTrustedError,
    KiteKeyAuthenticator,
    TokenAuthenticator,
    is_token_expiry,
    verify_audience,
)
from ._auth._claims import KiteClaims
from ._auth._issue import (
    audience_for_query,
    issue_kite_key,
    issue_token,
    resign_kite_key,
    sign_claims,
)
from ._auth._keys import (
    KeyFormatError,
    KeyPair,
    generate_key_pair,
    parse_private_key,
    parse_public_key,
    public_key_pem,
)
from ._auth._kitekey import (
    KiteKey,
    kite_home,
    kite_key_path,
    load_kite_key,
    read_kite_key,
    write_kite_key,
)
from ._auth._token_errors import TokenError, ValidationFlag
from ._auth._tokens import (
    RENEW_BEFORE,
    RENEW_RETRY_INTERVAL,
    ParsedToken,
    check_parsed,
    parse_token,
    parse_unverified,
    renewal_time,
)
from ._auth._trust_cache import TrustCache
from ._backoff import Backoff, ExponentialBackoff
from ._blocking_client import BlockingClient, connect
from ._config import Config, Transport
from ._configerrors import ConfigError, KiteKeyError
from ._duration import DurationError, format_duration, parse_duration
from ._errors import (
    ArgumentError,
    AuthenticationError,
    DisconnectError,
    GenericError,
    InvalidResponseError,
    KiteError,
    KiteTimeoutError,
    MethodNotFoundError,
    MethodsNotDescribedError,
    RequestLimitError,
    SendError,
)
from ._groups import single_exception
from ._http import (
    BodyTooLargeError,
    ConnectError,
    ConnectionClosedError,
    HandshakeError,
    HTTPRequest,
    ListenError,
    ProtocolError,
    TransportError,
    TransportTimeoutError,
)
from ._kite import AuthenticateHook, Kite
from ._kontrol._client import Dialler, KontrolClient, NoKitesAvailableError
from ._kontrol._kite_client import KiteClient
from ._kontrol._registration import (
    HTTPRequester,
    KontrolError,
    RegisterResult,
)
from ._kontrol._renewer import TokenRenewer
from ._kontrol._watch import KiteEvent, KiteWatch
from ._rpc._descriptions import MethodDescription, ParamDescription
from ._rpc._limits import PeerLimits
from ._rpc._methods import FinalFunc, Handler, Method, MethodHandling
from ._rpc._peer import Peer, open_peer
from ._rpc._pipe import MemoryPipe, MessagePipe, PipeClosedError, memory_pipe_pair
from ._rpc._request import Request
from ._rpc._throttle import TokenBucket
from ._sockjs._client import Client, ClientHook
from ._sockjs._endpoint import SockJSEndpoint
from ._sockjs._options import ServerLimits, kite_sockjs_options
from ._sockjs._pipe import SockJSPipe
from ._sockjs._server import KiteServer, open_kite_server
from ._timer_heap import TimerHeap
from ._urls import InvalidURLError
from .protocol import Auth, KiteIdentity, KontrolQuery

__version__ = "0.1.0"  # equal to pyproject.toml's version (tests/test_packaging.py)

__all__ = [
    "DEFAULT_MAX_KEY_SIZE",
    "RENEW_BEFORE",
    "RENEW_RETRY_INTERVAL",
    "ArgumentError",
    "Auth",
    "AuthContext",
    "AuthenticateHook",
    "AuthenticationError",
    "Authenticator",
    "Authenticators",
    "Backoff",
    "BlockingClient",
    "BodyTooLargeError",
    "Client",
    "ClientHook",
    "Config",
    "ConfigError",
    "ConnectError",
    "ConnectionClosedError",
    "Dialler",
    "DisconnectError",
    "DurationError",
    "ExponentialBackoff",
    "FinalFunc",
    "GenericError",
    "HTTPRequest",
    "HTTPRequester",
    "Handler",
    "HandshakeError",
    "InvalidResponseError",
    "InvalidURLError",
    "KeyFormatError",
    "KeyNotTrustedError",
    "KeyPair",
    "Kite",
    "KiteClaims",
    "KiteClient",
    "KiteError",
    "KiteEvent",
    "KiteIdentity",
    "KiteKey",
    "KiteKeyAuthenticator",
    "KiteKeyError",
    "KiteServer",
    "KiteTimeoutError",
    "KiteWatch",
    "KontrolClient",
    "KontrolError",
    "KontrolQuery",
    "ListenError",
    "MemoryPipe",
    "MessagePipe",
    "Method",
    "MethodDescription",
    "MethodHandling",
    "MethodNotFoundError",
    "MethodsNotDescribedError",
    "NoKitesAvailableError",
    "ParamDescription",
    "ParsedToken",
    "Peer",
    "PeerLimits",
    "PipeClosedError",
    "ProtocolError",
    "RegisterResult",
    "Request",
    "RequestLimitError",
    "SendError",
    "ServerLimits",
    "SockJSEndpoint",
    "SockJSPipe",
    "TimerHeap",
    "TokenAuthenticator",
    "TokenBucket",
    "TokenError",
    "TokenRenewer",
    "Transport",
    "TransportError",
    "TransportTimeoutError",
    "TrustCache",
    "ValidationFlag",
    "audience_for_query",
    "check_parsed",
    "connect",
    "format_duration",
    "generate_key_pair",
    "is_token_expiry",
    "issue_kite_key",
    "issue_token",
    "kite_home",
    "kite_key_path",
    "kite_sockjs_options",
    "load_kite_key",
    "memory_pipe_pair",
    "open_kite_server",
    "open_peer",
    "parse_duration",
    "parse_private_key",
    "parse_public_key",
    "parse_token",
    "parse_unverified",
    "public_key_pem",
    "read_kite_key",
    "renewal_time",
    "resign_kite_key",
    "sign_claims",
    "single_exception",
    "verify_audience",
    "write_kite_key",
]

# Exceptions print as `kite.X`, not with the private module that defines them.
for _value in map(globals().get, __all__):
    if isinstance(_value, type) and issubclass(_value, BaseException):
        _value.__module__ = _value.__module__.split("._")[0]
del _value
