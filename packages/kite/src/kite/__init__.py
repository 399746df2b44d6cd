"""kite: the kite micro-service runtime on trio, wire-compatible with Go kite.

- RPC core (transport-independent): a `Kite` serves methods and calls other kites over
  `MessagePipe`s, one `Peer` per connection.
- Authentication and configuration: `Config` / `Config.from_env`, the kite.key file (`KiteKey`,
  `read_kite_key`, `write_kite_key`), Go duration strings, RSA PEM keys, JWT kite keys and tokens
  (`issue_kite_key`, `issue_token`, `parse_token`) and the callee-side `Authenticators`.
- Serving and dialling: `Kite.serve` / `Kite.run` offer every SockJS transport under `/kite`
  (`KiteServer`, `SockJSEndpoint`); `Kite.dial` connects over WebSocket or XHR polling
  (`Client`), with Go's `auto` fallback and optional reconnection.
- Blocking client: `kite.connect(url or Kontrol query)` → `BlockingClient`, whose `tell`
  blocks; trio runs in a background thread (scripts, REPL, Jupyter).
- Kontrol: `KontrolClient` (`async with kite.kontrol_client(...)`), `kite.register`,
  `register_forever`, `register_http(_forever)`, `get_kites` (`KiteClient`s with a
  `TokenRenewer`), `get_token`, `get_key`, `on_register`.
- Tests: `kite.testing` (a fixed test key pair; the pytest plugin's `kite_test_keys`; a
  running Kontrol comes with `kontrol.testing`).
- Errors: one tree under `KiteError`, keyed by Go's error `type` strings; network failures
  are `TransportError`s (`ConnectError`, `HandshakeError`, `ConnectionClosedError`,
  `TransportTimeoutError`, `ProtocolError`, `BodyTooLargeError`, `ListenError`). An
  exception raised in (or by) a kite `async with` block comes out as itself, never wrapped in
  exception groups; `single_exception` does the same for your own `async with` functions.
"""

from ._authenticators import (
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
from ._backoff import Backoff, ExponentialBackoff
from ._blocking import BlockingClient, connect
from ._config import Config, Transport
from ._configerrors import ConfigError, KiteKeyError
from ._dial import Client, ClientHook
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
    RequestLimitError,
    SendError,
)
from ._groups import single_exception
from ._handlers import FinalFunc, Handler, Method, MethodHandling
from ._http import (
    BodyTooLargeError,
    ConnectError,
    ConnectionClosedError,
    HandshakeError,
    ListenError,
    ProtocolError,
    TransportError,
    TransportTimeoutError,
)
from ._keys import (
    KeyFormatError,
    KeyPair,
    generate_key_pair,
    parse_private_key,
    parse_public_key,
    public_key_pem,
)
from ._kite import AuthenticateHook, Kite
from ._kitekey import (
    KiteKey,
    kite_home,
    kite_key_path,
    load_kite_key,
    read_kite_key,
    write_kite_key,
)
from ._kontrol_client import (
    Dialler,
    KiteClient,
    KontrolClient,
    KontrolQuery,
    NoKitesAvailableError,
)
from ._peer import Peer, PeerLimits, open_peer
from ._registration import (
    HTTPRequester,
    KontrolError,
    RegisterResult,
)
from ._renewer import TokenRenewer
from ._request import Request
from ._server import (
    KiteServer,
    ServerLimits,
    SockJSEndpoint,
    SockJSPipe,
    kite_sockjs_options,
    open_kite_server,
)
from ._session import MemoryPipe, MessagePipe, PipeClosedError, memory_pipe_pair
from ._throttle import TokenBucket
from ._tokens import (
    RENEW_BEFORE,
    RENEW_RETRY_INTERVAL,
    KiteClaims,
    ParsedToken,
    TokenError,
    ValidationFlag,
    audience_for_query,
    check_parsed,
    issue_kite_key,
    issue_token,
    parse_token,
    parse_unverified,
    renewal_time,
    resign_kite_key,
    sign_claims,
)
from ._trust_cache import TrustCache
from ._urls import InvalidURLError
from .protocol import Auth, KiteIdentity

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
    "KiteIdentity",
    "KiteKey",
    "KiteKeyAuthenticator",
    "KiteKeyError",
    "KiteServer",
    "KiteTimeoutError",
    "KontrolClient",
    "KontrolError",
    "KontrolQuery",
    "ListenError",
    "MemoryPipe",
    "MessagePipe",
    "Method",
    "MethodHandling",
    "MethodNotFoundError",
    "NoKitesAvailableError",
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

# Exceptions print with the package that exports them (`kite.X`), not the private module
# that defines them.
for _name in __all__:
    _value = globals()[_name]
    if (
        isinstance(_value, type)
        and issubclass(_value, BaseException)
        and _value.__module__.startswith(__name__ + "._")
    ):
        _value.__module__ = __name__
del _name, _value
