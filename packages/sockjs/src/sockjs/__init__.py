"""Sans-IO SockJS for kite, byte-compatible with Go kite's sockjs-go server and Go's clients.

Frames, client payloads, per-transport wrapping, the HTTP surface as data, the server session
state machine and the client state machines. Nothing here does I/O, reads a clock or draws random
numbers: callers pass bytes, the current time and entropy in, and get bytes, events, responses and
typed errors out.
"""

from ._client import (
    ClientInput,
    ClientState,
    choose_server_id,
    choose_session_id,
    encode_client_payload,
)
from ._client_ws import (
    WS_TRANSITIONS,
    WebSocketClient,
    websocket_origin,
    websocket_url,
)
from ._client_xhr import (
    XHR_HEADERS,
    XHR_TRANSITIONS,
    HTTPRequest,
    XHRClient,
)
from ._endpoints import (
    MAX_ID_LENGTH,
    Endpoint,
    EndpointKind,
    MethodNotAllowed,
    NotFound,
    Request,
    resolve,
)
from ._errors import (
    LocalProtocolError,
    MessageTooLargeError,
    ProtocolError,
    RemoteProtocolError,
    SockJSError,
)
from ._events import (
    ClientEvent,
    CloseCause,
    ClosedByServer,
    Heartbeat,
    MessagesReceived,
    Opened,
    ReceiverDone,
    SendFrame,
    SessionClosed,
    SessionEvent,
    SessionFinished,
    SessionNotFound,
)
from ._frames import (
    CLOSE_ANOTHER_CONNECTION,
    CLOSE_GO_AWAY,
    CloseFrame,
    Frame,
    FrameStreamDecoder,
    HeartbeatFrame,
    MessagesFrame,
    OpenFrame,
    decode_frame,
    encode_close,
    encode_heartbeat,
    encode_messages,
    encode_open,
    escape_unicode,
    quote,
)
from ._http import (
    Deliver,
    Plan,
    Receive,
    Reply,
    Upgrade,
    is_hixie76_upgrade,
    is_websocket_upgrade,
    plan_request,
)
from ._options import (
    DEFAULT_SOCKJS_URL,
    Options,
)
from ._origins import normalise_origin, origin_allowed
from ._payload import (
    decode_jsonp_send,
    decode_payload,
    decode_websocket_message,
    encode_payload,
)
from ._responses import (
    Response,
)
from ._session import (
    DEFAULT_DISCONNECT_DELAY,
    DEFAULT_HEARTBEAT_DELAY,
    DEFAULT_RESPONSE_LIMIT,
    ServerSession,
    SessionInput,
    SessionState,
)
from ._transports import (
    FrameWriter,
    Transport,
    validate_callback,
)

__version__ = "0.1.0"  # equal to pyproject.toml's version (tests/test_packaging.py)

__all__ = [
    "CLOSE_ANOTHER_CONNECTION",
    "CLOSE_GO_AWAY",
    "DEFAULT_DISCONNECT_DELAY",
    "DEFAULT_HEARTBEAT_DELAY",
    "DEFAULT_RESPONSE_LIMIT",
    "DEFAULT_SOCKJS_URL",
    "MAX_ID_LENGTH",
    "WS_TRANSITIONS",
    "XHR_HEADERS",
    "XHR_TRANSITIONS",
    "ClientEvent",
    "ClientInput",
    "ClientState",
    "CloseCause",
    "CloseFrame",
    "ClosedByServer",
    "Deliver",
    "Endpoint",
    "EndpointKind",
    "Frame",
    "FrameStreamDecoder",
    "FrameWriter",
    "HTTPRequest",
    "Heartbeat",
    "HeartbeatFrame",
    "LocalProtocolError",
    "MessageTooLargeError",
    "MessagesFrame",
    "MessagesReceived",
    "MethodNotAllowed",
    "NotFound",
    "OpenFrame",
    "Opened",
    "Options",
    "Plan",
    "ProtocolError",
    "Receive",
    "ReceiverDone",
    "RemoteProtocolError",
    "Reply",
    "Request",
    "Response",
    "SendFrame",
    "ServerSession",
    "SessionClosed",
    "SessionEvent",
    "SessionFinished",
    "SessionInput",
    "SessionNotFound",
    "SessionState",
    "SockJSError",
    "Transport",
    "Upgrade",
    "WebSocketClient",
    "XHRClient",
    "choose_server_id",
    "choose_session_id",
    "decode_frame",
    "decode_jsonp_send",
    "decode_payload",
    "decode_websocket_message",
    "encode_client_payload",
    "encode_close",
    "encode_heartbeat",
    "encode_messages",
    "encode_open",
    "encode_payload",
    "escape_unicode",
    "is_hixie76_upgrade",
    "is_websocket_upgrade",
    "normalise_origin",
    "origin_allowed",
    "plan_request",
    "quote",
    "resolve",
    "validate_callback",
    "websocket_origin",
    "websocket_url",
]

# Exceptions print as `sockjs.X`, not with the private module that defines them.
for _value in map(globals().get, __all__):
    if isinstance(_value, type) and issubclass(_value, BaseException):
        _value.__module__ = _value.__module__.split("._")[0]
del _value
