"""Sans-IO SockJS: frames, client payloads, transports and the HTTP surface, as data.

Nothing in this package does I/O, reads a clock or draws random numbers: callers pass bytes,
the current time and entropy in, and get bytes, responses and typed errors out.
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
    "DEFAULT_SOCKJS_URL",
    "Deliver",
    "Endpoint",
    "EndpointKind",
    "FrameWriter",
    "LocalProtocolError",
    "MessageTooLargeError",
    "MethodNotAllowed",
    "NotFound",
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
    "decode_jsonp_send",
    "decode_payload",
    "decode_websocket_message",
    "encode_payload",
    "is_websocket_upgrade",
    "plan_request",
    "resolve",
    "validate_callback",
]
