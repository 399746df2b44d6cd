"""kite for Python: Go-kite-compatible RPC on trio (work in progress).

Authentication and configuration (this part): `Config` and `Config.from_env`, the kite.key file
(`KiteKey`, `read_kite_key`, `write_kite_key`), Go duration strings, RSA PEM keys, JWT kite keys
and tokens (`issue_kite_key`, `issue_token`, `parse_token`) and the callee-side `Authenticators`.
"""

from ._authenticators import (
    DEFAULT_MAX_KEY_SIZE as DEFAULT_MAX_KEY_SIZE,
)
from ._authenticators import (
    AuthContext as AuthContext,
)
from ._authenticators import (
    Authenticator as Authenticator,
)
from ._authenticators import (
    Authenticators as Authenticators,
)
from ._authenticators import (
    KeyNotTrustedError as KeyNotTrustedError,
)
from ._authenticators import (
    KiteKeyAuthenticator as KiteKeyAuthenticator,
)
from ._authenticators import (
    TokenAuthenticator as TokenAuthenticator,
)
from ._authenticators import (
    is_token_expiry as is_token_expiry,
)
from ._authenticators import (
    verify_audience as verify_audience,
)
from ._config import Config as Config
from ._config import Transport as Transport
from ._configerrors import ConfigError as ConfigError
from ._configerrors import KiteKeyError as KiteKeyError
from ._duration import DurationError as DurationError
from ._duration import format_duration as format_duration
from ._duration import parse_duration as parse_duration
from ._errors import (
    ArgumentError as ArgumentError,
)
from ._errors import (
    AuthenticationError as AuthenticationError,
)
from ._errors import (
    DisconnectError as DisconnectError,
)
from ._errors import (
    GenericError as GenericError,
)
from ._errors import (
    InvalidResponseError as InvalidResponseError,
)
from ._errors import (
    KiteError as KiteError,
)
from ._errors import (
    KiteTimeoutError as KiteTimeoutError,
)
from ._errors import (
    MethodNotFoundError as MethodNotFoundError,
)
from ._errors import (
    RequestLimitError as RequestLimitError,
)
from ._errors import (
    SendError as SendError,
)
from ._keys import KeyFormatError as KeyFormatError
from ._keys import KeyPair as KeyPair
from ._keys import generate_key_pair as generate_key_pair
from ._keys import parse_private_key as parse_private_key
from ._keys import parse_public_key as parse_public_key
from ._keys import public_key_pem as public_key_pem
from ._kitekey import KiteKey as KiteKey
from ._kitekey import kite_home as kite_home
from ._kitekey import kite_key_path as kite_key_path
from ._kitekey import load_kite_key as load_kite_key
from ._kitekey import read_kite_key as read_kite_key
from ._kitekey import write_kite_key as write_kite_key
from ._tokens import RENEW_BEFORE as RENEW_BEFORE
from ._tokens import RENEW_RETRY_INTERVAL as RENEW_RETRY_INTERVAL
from ._tokens import KiteClaims as KiteClaims
from ._tokens import ParsedToken as ParsedToken
from ._tokens import TokenError as TokenError
from ._tokens import ValidationFlag as ValidationFlag
from ._tokens import audience_for_query as audience_for_query
from ._tokens import check_parsed as check_parsed
from ._tokens import issue_kite_key as issue_kite_key
from ._tokens import issue_token as issue_token
from ._tokens import parse_token as parse_token
from ._tokens import parse_unverified as parse_unverified
from ._tokens import renewal_time as renewal_time
from ._tokens import resign_kite_key as resign_kite_key
from ._tokens import sign_claims as sign_claims
from ._trust_cache import TrustCache as TrustCache
from .protocol import Auth as Auth
from .protocol import KiteIdentity as KiteIdentity

__all__ = [
    "DEFAULT_MAX_KEY_SIZE",
    "RENEW_BEFORE",
    "RENEW_RETRY_INTERVAL",
    "ArgumentError",
    "Auth",
    "AuthContext",
    "AuthenticationError",
    "Authenticator",
    "Authenticators",
    "Config",
    "ConfigError",
    "DisconnectError",
    "DurationError",
    "GenericError",
    "InvalidResponseError",
    "KeyFormatError",
    "KeyNotTrustedError",
    "KeyPair",
    "KiteClaims",
    "KiteError",
    "KiteIdentity",
    "KiteKey",
    "KiteKeyAuthenticator",
    "KiteKeyError",
    "KiteTimeoutError",
    "MethodNotFoundError",
    "ParsedToken",
    "RequestLimitError",
    "SendError",
    "TokenAuthenticator",
    "TokenError",
    "Transport",
    "TrustCache",
    "ValidationFlag",
    "audience_for_query",
    "check_parsed",
    "format_duration",
    "generate_key_pair",
    "is_token_expiry",
    "issue_kite_key",
    "issue_token",
    "kite_home",
    "kite_key_path",
    "load_kite_key",
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
    "verify_audience",
    "write_kite_key",
]
