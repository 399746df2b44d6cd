"""dnode: the message layer of kite, as Go kite speaks it. Pure, stdlib only, no I/O.

A dnode message is JSON text ``{"method":..,"arguments":[..],"callbacks":{"id":[path]}}``.
Functions cannot travel as JSON, so the sender *scrubs* them out of the arguments (each becomes
``"[Function]"`` plus a numbered callback path) and the receiver *unscrubs* them back in as
proxies that send ``{"method": id, ...}`` when called. This package does both, encodes and
decodes messages byte-compatibly with Go's ``koding/kite/dnode``, and offers Go's
``Partial`` argument accessors. How values map to JSON is tabled in the package README.

    table = dnode.CallbackTable()                  # one per connection
    args, cbs = dnode.scrub([envelope], table)     # functions -> "[Function]" + ids
    text = dnode.encode(dnode.Message("square", args, cbs))

    msg = dnode.decode(text)                       # the other side
    args = dnode.unscrub(msg.arguments, msg.callbacks, send)   # RemoteFunction at each path

Received arguments keep their JSON text (``dnode.Partial.located(value, msg.text, path)``), so a
handler that sends them back sends what it received, byte for byte, as a Go handler does;
``dnode.RawJSON(text)`` sends any JSON text as written (Go's ``json.RawMessage``).

Exceptions (one tree; every bad-input error is also a ``ValueError``)::

    DnodeError
    ├── DecodeError          text is not JSON / not a dnode message Go would accept
    ├── EncodeError          a message cannot be encoded (NaN, unknown type, bad shape)
    │   └── ScrubError       a value inside outgoing arguments has no JSON form (.path)
    ├── PathError            a received callback path cannot be followed (.path, .callback_id)
    ├── ArgumentError        a Partial accessor failed; Go's texts ("Invalid array length")
    └── CallbackLimitError   a CallbackTable is full (.limit)
"""

from ._errors import (
    ArgumentError,
    CallbackLimitError,
    DecodeError,
    DnodeError,
    EncodeError,
    PathError,
    ScrubError,
)
from ._gofields import GoFields, go_fold
from ._json import BACKENDS, get_backend, go_float, go_json, json_kind, scalar_json, set_backend
from ._message import MAX_CALLBACK_ID, CallbackPath, Message, decode, encode
from ._partial import Partial
from ._raw import GoField, RawJSON
from ._scrub import (
    DEFAULT_CALLBACK_LIMIT,
    FUNCTION_PLACEHOLDER,
    CallbackTable,
    RemoteFunction,
    scrub,
    scrub_encode,
    unscrub,
)

__version__ = "0.1.0"  # equal to pyproject.toml's version (tests/test_packaging.py)

__all__ = [
    "BACKENDS",
    "DEFAULT_CALLBACK_LIMIT",
    "FUNCTION_PLACEHOLDER",
    "MAX_CALLBACK_ID",
    "ArgumentError",
    "CallbackLimitError",
    "CallbackPath",
    "CallbackTable",
    "DecodeError",
    "DnodeError",
    "EncodeError",
    "GoField",
    "GoFields",
    "Message",
    "Partial",
    "PathError",
    "RawJSON",
    "RemoteFunction",
    "ScrubError",
    "decode",
    "encode",
    "get_backend",
    "go_float",
    "go_fold",
    "go_json",
    "json_kind",
    "scalar_json",
    "scrub",
    "scrub_encode",
    "set_backend",
    "unscrub",
]

# Exceptions print as `dnode.X`, not with the private module that defines them.
for _value in map(globals().get, __all__):
    if isinstance(_value, type) and issubclass(_value, BaseException):
        _value.__module__ = _value.__module__.split("._")[0]
del _value
