"""Sans-IO SockJS for kite: frames, sessions and client state machines, byte-compatible with Go.

No I/O, no clocks, no trio: feed data and the current time in, get events and frames out.
"""

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

__all__ = [
    "CLOSE_ANOTHER_CONNECTION",
    "CLOSE_GO_AWAY",
    "CloseFrame",
    "Frame",
    "FrameStreamDecoder",
    "HeartbeatFrame",
    "LocalProtocolError",
    "MessageTooLargeError",
    "MessagesFrame",
    "OpenFrame",
    "ProtocolError",
    "RemoteProtocolError",
    "SockJSError",
    "decode_frame",
    "encode_close",
    "encode_heartbeat",
    "encode_messages",
    "encode_open",
    "quote",
]
