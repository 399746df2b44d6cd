"""Sans-IO SockJS: frames, client payloads, transports, sessions and the HTTP surface, as data.

Nothing in this package does I/O, reads a clock or draws random numbers: callers pass bytes,
the current time and entropy in, and get bytes, responses, events and typed errors out.
"""

from ._client import (
    ClientInput as ClientInput,
)
from ._client import (
    ClientState as ClientState,
)
from ._client import (
    choose_server_id as choose_server_id,
)
from ._client import (
    choose_session_id as choose_session_id,
)
from ._client import (
    encode_client_payload as encode_client_payload,
)
from ._client_ws import (
    WS_TRANSITIONS as WS_TRANSITIONS,
)
from ._client_ws import (
    WebSocketClient as WebSocketClient,
)
from ._client_ws import (
    websocket_origin as websocket_origin,
)
from ._client_ws import (
    websocket_url as websocket_url,
)
from ._client_xhr import (
    XHR_HEADERS as XHR_HEADERS,
)
from ._client_xhr import (
    XHR_TRANSITIONS as XHR_TRANSITIONS,
)
from ._client_xhr import (
    HTTPRequest as HTTPRequest,
)
from ._client_xhr import (
    XHRClient as XHRClient,
)
from ._endpoints import (
    Endpoint as Endpoint,
)
from ._endpoints import (
    EndpointKind as EndpointKind,
)
from ._endpoints import (
    MethodNotAllowed as MethodNotAllowed,
)
from ._endpoints import (
    NotFound as NotFound,
)
from ._endpoints import (
    Request as Request,
)
from ._endpoints import (
    resolve as resolve,
)
from ._errors import (
    LocalProtocolError as LocalProtocolError,
)
from ._errors import (
    MessageTooLargeError as MessageTooLargeError,
)
from ._errors import (
    ProtocolError as ProtocolError,
)
from ._errors import (
    RemoteProtocolError as RemoteProtocolError,
)
from ._errors import (
    SockJSError as SockJSError,
)
from ._events import (
    ClientEvent as ClientEvent,
)
from ._events import (
    CloseCause as CloseCause,
)
from ._events import (
    ClosedByServer as ClosedByServer,
)
from ._events import (
    Heartbeat as Heartbeat,
)
from ._events import (
    MessagesReceived as MessagesReceived,
)
from ._events import (
    Opened as Opened,
)
from ._events import (
    ReceiverDone as ReceiverDone,
)
from ._events import (
    SendFrame as SendFrame,
)
from ._events import (
    SessionClosed as SessionClosed,
)
from ._events import (
    SessionEvent as SessionEvent,
)
from ._events import (
    SessionFinished as SessionFinished,
)
from ._events import (
    SessionNotFound as SessionNotFound,
)
from ._frames import (
    CLOSE_ANOTHER_CONNECTION as CLOSE_ANOTHER_CONNECTION,
)
from ._frames import (
    CLOSE_GO_AWAY as CLOSE_GO_AWAY,
)
from ._frames import (
    CloseFrame as CloseFrame,
)
from ._frames import (
    Frame as Frame,
)
from ._frames import (
    FrameStreamDecoder as FrameStreamDecoder,
)
from ._frames import (
    HeartbeatFrame as HeartbeatFrame,
)
from ._frames import (
    MessagesFrame as MessagesFrame,
)
from ._frames import (
    OpenFrame as OpenFrame,
)
from ._frames import (
    decode_frame as decode_frame,
)
from ._frames import (
    encode_close as encode_close,
)
from ._frames import (
    encode_heartbeat as encode_heartbeat,
)
from ._frames import (
    encode_messages as encode_messages,
)
from ._frames import (
    encode_open as encode_open,
)
from ._frames import (
    quote as quote,
)
from ._http import (
    Deliver as Deliver,
)
from ._http import (
    Plan as Plan,
)
from ._http import (
    Receive as Receive,
)
from ._http import (
    Reply as Reply,
)
from ._http import (
    Upgrade as Upgrade,
)
from ._http import (
    is_websocket_upgrade as is_websocket_upgrade,
)
from ._http import (
    plan_request as plan_request,
)
from ._options import (
    DEFAULT_SOCKJS_URL as DEFAULT_SOCKJS_URL,
)
from ._options import (
    Options as Options,
)
from ._payload import (
    decode_jsonp_send as decode_jsonp_send,
)
from ._payload import (
    decode_payload as decode_payload,
)
from ._payload import (
    decode_websocket_message as decode_websocket_message,
)
from ._payload import (
    encode_payload as encode_payload,
)
from ._responses import (
    Response as Response,
)
from ._session import (
    DEFAULT_DISCONNECT_DELAY as DEFAULT_DISCONNECT_DELAY,
)
from ._session import (
    DEFAULT_HEARTBEAT_DELAY as DEFAULT_HEARTBEAT_DELAY,
)
from ._session import (
    DEFAULT_RESPONSE_LIMIT as DEFAULT_RESPONSE_LIMIT,
)
from ._session import (
    ServerSession as ServerSession,
)
from ._session import (
    SessionInput as SessionInput,
)
from ._session import (
    SessionState as SessionState,
)
from ._transports import (
    FrameWriter as FrameWriter,
)
from ._transports import (
    Transport as Transport,
)
from ._transports import (
    validate_callback as validate_callback,
)

__all__ = [
    "CLOSE_ANOTHER_CONNECTION",
    "CLOSE_GO_AWAY",
    "DEFAULT_DISCONNECT_DELAY",
    "DEFAULT_HEARTBEAT_DELAY",
    "DEFAULT_RESPONSE_LIMIT",
    "DEFAULT_SOCKJS_URL",
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
    "is_websocket_upgrade",
    "plan_request",
    "quote",
    "resolve",
    "validate_callback",
    "websocket_origin",
    "websocket_url",
]
