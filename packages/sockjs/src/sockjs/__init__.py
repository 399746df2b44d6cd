"""Sans-IO SockJS: frames, client payloads, transports, sessions and the HTTP surface, as data.

Nothing in this package does I/O, reads a clock or draws random numbers: callers pass bytes,
the current time and entropy in, and get bytes, responses, events and typed errors out.
"""

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
    "DEFAULT_SOCKJS_URL",
    "CloseFrame",
    "Deliver",
    "Endpoint",
    "EndpointKind",
    "Frame",
    "FrameStreamDecoder",
    "FrameWriter",
    "HeartbeatFrame",
    "LocalProtocolError",
    "MessageTooLargeError",
    "MessagesFrame",
    "MethodNotAllowed",
    "NotFound",
    "OpenFrame",
    "Options",
    "Plan",
    "ProtocolError",
    "Receive",
    "RemoteProtocolError",
    "Reply",
    "Request",
    "Response",
    "SockJSError",
    "Transport",
    "Upgrade",
    "decode_frame",
    "decode_jsonp_send",
    "decode_payload",
    "decode_websocket_message",
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
]
