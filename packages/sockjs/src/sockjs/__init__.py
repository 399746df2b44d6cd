"""Sans-IO SockJS for kite: frames, sessions and client state machines, byte-compatible with Go.

No I/O, no clocks, no trio: feed data and the current time in, get events and frames out.
"""

from ._client import ClientInput as ClientInput
from ._client import ClientState as ClientState
from ._client import choose_server_id as choose_server_id
from ._client import choose_session_id as choose_session_id
from ._client import encode_client_payload as encode_client_payload
from ._client_ws import WS_TRANSITIONS as WS_TRANSITIONS
from ._client_ws import WebSocketClient as WebSocketClient
from ._client_ws import websocket_origin as websocket_origin
from ._client_ws import websocket_url as websocket_url
from ._client_xhr import XHR_HEADERS as XHR_HEADERS
from ._client_xhr import XHR_TRANSITIONS as XHR_TRANSITIONS
from ._client_xhr import HTTPRequest as HTTPRequest
from ._client_xhr import XHRClient as XHRClient
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
from ._events import ClientEvent as ClientEvent
from ._events import CloseCause as CloseCause
from ._events import ClosedByServer as ClosedByServer
from ._events import Heartbeat as Heartbeat
from ._events import MessagesReceived as MessagesReceived
from ._events import Opened as Opened
from ._events import ReceiverDone as ReceiverDone
from ._events import SendFrame as SendFrame
from ._events import SessionClosed as SessionClosed
from ._events import SessionEvent as SessionEvent
from ._events import SessionFinished as SessionFinished
from ._events import SessionNotFound as SessionNotFound
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
from ._session import DEFAULT_DISCONNECT_DELAY as DEFAULT_DISCONNECT_DELAY
from ._session import DEFAULT_HEARTBEAT_DELAY as DEFAULT_HEARTBEAT_DELAY
from ._session import DEFAULT_RESPONSE_LIMIT as DEFAULT_RESPONSE_LIMIT
from ._session import ServerSession as ServerSession
from ._session import SessionInput as SessionInput
from ._session import SessionState as SessionState

__all__ = [
    "CLOSE_ANOTHER_CONNECTION",
    "CLOSE_GO_AWAY",
    "DEFAULT_DISCONNECT_DELAY",
    "DEFAULT_HEARTBEAT_DELAY",
    "DEFAULT_RESPONSE_LIMIT",
    "WS_TRANSITIONS",
    "XHR_HEADERS",
    "XHR_TRANSITIONS",
    "ClientEvent",
    "ClientInput",
    "ClientState",
    "CloseCause",
    "CloseFrame",
    "ClosedByServer",
    "Frame",
    "FrameStreamDecoder",
    "HTTPRequest",
    "Heartbeat",
    "HeartbeatFrame",
    "LocalProtocolError",
    "MessageTooLargeError",
    "MessagesFrame",
    "MessagesReceived",
    "OpenFrame",
    "Opened",
    "ProtocolError",
    "ReceiverDone",
    "RemoteProtocolError",
    "SendFrame",
    "ServerSession",
    "SessionClosed",
    "SessionEvent",
    "SessionFinished",
    "SessionInput",
    "SessionNotFound",
    "SessionState",
    "SockJSError",
    "WebSocketClient",
    "XHRClient",
    "choose_server_id",
    "choose_session_id",
    "decode_frame",
    "encode_client_payload",
    "encode_close",
    "encode_heartbeat",
    "encode_messages",
    "encode_open",
    "quote",
    "websocket_origin",
    "websocket_url",
]
