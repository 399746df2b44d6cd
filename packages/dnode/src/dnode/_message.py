"""The dnode message and its codec: JSON text <-> :class:`Message`, byte-compatible with Go.

How this works: :func:`decode` parses the text once (``orjson`` or the stdlib), then checks the
three fields the way Go's ``json.Unmarshal`` into ``dnode.Message`` plus ``ParseCallbacks``
would: keys match case-insensitively (the last one wins), ``method`` is a string or a
non-negative number (floats truncate, as Go's float64 -> uint64 does), ``arguments`` is an
array (``null``/missing read as ``[]``), ``callbacks`` maps decimal ids to paths of strings and
integers (numeric strings are kept as strings; :func:`~dnode.unscrub` reads them as indexes
where they meet a list). Anything else raises :class:`~dnode.DecodeError`; Go would log and
drop the message.

:func:`encode` builds ``{"method":..,"arguments":..,"callbacks":{..}}`` in that key order with
callback ids sorted as strings (Go sorts map keys), and spells the JSON exactly as Go does
(see ``_json``). It never re-walks the arguments in Python: the JSON backend does the only walk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from . import _json
from ._errors import DecodeError, EncodeError
from ._gofields import GoFields

__all__ = ["MAX_CALLBACK_ID", "CallbackPath", "Message", "decode", "encode"]

#: A callback path: ints index arrays, strings index objects.
CallbackPath = tuple[str | int, ...]

#: Largest callback id or numeric method Go can represent (uint64).
MAX_CALLBACK_ID: Final = 2**64 - 1

_FIELDS: Final = GoFields("method", "arguments", "callbacks", "links")


@dataclass(frozen=True, slots=True, init=False)
class Message:
    """One dnode message.

    Attributes:
        method: a method name (``str``), or the id of a callback the receiver sent earlier.
        arguments: the argument list (after :func:`~dnode.scrub`, or as decoded).
        callbacks: callback id -> path of the function inside ``arguments``.
        links: the classic-dnode ``links`` value if a peer sent one; Go ignores it and
            :func:`encode` never writes it.
    """

    method: str | int
    arguments: list[Any]
    callbacks: Mapping[int, CallbackPath]
    links: Any

    def __init__(
        self,
        method: str | int,
        arguments: list[Any],
        callbacks: Mapping[int, CallbackPath] | None = None,
        links: Any = None,
    ) -> None:
        # Frozen: the slots are set through their descriptors (twice as fast as the
        # object.__setattr__ calls a generated frozen __init__ makes; this is per message).
        _set_method(self, method)
        _set_arguments(self, arguments)
        _set_callbacks(self, {} if callbacks is None else callbacks)
        _set_links(self, links)


def decode(data: str | bytes | bytearray | memoryview) -> Message:
    """Parse one dnode message from JSON text or UTF-8 bytes.

    Raises:
        DecodeError: the data is not JSON, or not a dnode message Go would process.
    """
    try:
        obj = _json.loads(data)
    except _json.DECODE_ERRORS as exc:
        raise DecodeError(f"invalid JSON: {exc}") from None
    if type(obj) is not dict:
        raise DecodeError(f"a dnode message is a JSON object, not {_json.json_kind(obj)}")
    links = None
    try:
        if len(obj) != 3:
            raise KeyError
        method = obj["method"]
        arguments = obj["arguments"]
        callbacks = obj["callbacks"]
    except KeyError:  # rare: other keys (links, different case, extras) or missing ones
        method, arguments, callbacks, links = _fold_fields(obj)

    # method
    t = type(method)
    if t is not str:
        if t is int:
            if not 0 <= method <= MAX_CALLBACK_ID:
                raise DecodeError(f"Method is not string or integer: {method!r}")
        elif t is float and 0.0 <= method < 18446744073709551616.0:
            method = int(method)  # Go truncates float64 to uint64 (1.9 -> 1)
        else:
            raise DecodeError(f"Method is not string or integer: {_show(method)}")

    # arguments
    if type(arguments) is not list:
        if arguments is _MISSING or arguments is None:
            arguments = []
        else:
            raise DecodeError(f"arguments must be a JSON array, not {_json.json_kind(arguments)}")

    # callbacks
    if type(callbacks) is dict and callbacks:
        cbs: dict[int, CallbackPath] = {}
        for key, path in callbacks.items():
            if key.isdigit() and key.isascii() and len(key) < 20:
                cid = int(key)
            else:
                cid = _callback_id(key)
            if type(path) is list:
                for step in path:
                    if type(step) is not str and type(step) is not int:
                        break
                else:
                    cbs[cid] = tuple(path)
                    continue
            cbs[cid] = _path(key, path)
    elif callbacks is _MISSING or callbacks is None or callbacks == {}:
        cbs = {}
    else:
        raise DecodeError(f"callbacks must be a JSON object, not {_json.json_kind(callbacks)}")
    return Message(method, arguments, cbs, links)


_SLOTS: Any = vars(Message)
_set_method = _SLOTS["method"].__set__
_set_arguments = _SLOTS["arguments"].__set__
_set_callbacks = _SLOTS["callbacks"].__set__
_set_links = _SLOTS["links"].__set__


def encode(msg: Message) -> str:
    """Encode a message as compact JSON text, byte for byte as Go's dnode would.

    ``msg.arguments`` must be a value :func:`~dnode.scrub` produced (functions replaced, values
    checked) or one :func:`decode` produced: encode does not walk it again in Python. In
    particular NaN and infinities, which scrub refuses, raise EncodeError with the stdlib
    backend but are written as ``null`` by orjson.

    Raises:
        EncodeError: bad method, callbacks or argument values (NaN, unknown types, ...).
    """
    method: Any = msg.method
    t = type(method)
    if t is not str and not (t is int and 0 <= method <= MAX_CALLBACK_ID):
        raise EncodeError(f"method must be a str or an int in [0, 2**64), not {method!r}")
    arguments = msg.arguments
    # Arguments straight from scrub() carry a tag when every float in them is already spelled
    # the Go way by both backends: then the float scan of the text can be skipped.
    floats = type(arguments) is not _json.GoFloatsList
    if floats and type(arguments) is not list and not isinstance(arguments, list | tuple):
        raise EncodeError(f"arguments must be a list, not {type(arguments).__name__}")
    callbacks = msg.callbacks
    if not callbacks:
        cbs: dict[str, Any] = {}
    else:
        keys = {}
        path: Any
        for cid, path in callbacks.items():
            if type(cid) is not int or not 0 <= cid <= MAX_CALLBACK_ID:
                raise EncodeError(f"callback ids must be ints in [0, 2**64), not {cid!r}")
            if type(path) is not tuple and type(path) is not list:
                raise EncodeError(f"callback path must be a tuple, not {path!r}")
            for step in path:
                if type(step) is not str and type(step) is not int:
                    raise EncodeError(f"callback path steps must be str or int: {path!r}")
            keys[str(cid)] = path
        cbs = keys if len(keys) == 1 else {k: keys[k] for k in sorted(keys)}
    obj = {"method": method, "arguments": arguments, "callbacks": cbs}
    try:
        text = _json.dumps(obj)
    except (TypeError, ValueError, RecursionError) as exc:
        raise EncodeError(f"cannot encode message: {exc}") from None
    return _json._go_spelling(text, floats)


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final[Any] = _Missing()


def _fold_fields(obj: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """The message's fields as Go's `encoding/json` fills them (`GoFields`)."""
    found = _FIELDS.pick(obj)
    return (
        found.get("method", _MISSING),
        found.get("arguments", _MISSING),
        found.get("callbacks", _MISSING),
        found.get("links"),
    )


def _callback_id(key: str) -> int:
    # Go: strconv.ParseUint(key, 10, 64); any failure drops the whole message.
    if not (key.isascii() and key.isdigit()):
        raise DecodeError(f'strconv.ParseUint: parsing "{key}": invalid syntax')
    cid = int(key)
    if cid > MAX_CALLBACK_ID:
        raise DecodeError(f'strconv.ParseUint: parsing "{key}": value out of range')
    return cid


def _path(key: str, path: Any) -> CallbackPath:
    if type(path) is not list:
        if path is None:
            return ()
        raise DecodeError(f"callback {key}: path must be a JSON array, not {_json.json_kind(path)}")
    for step in path:
        t = type(step)
        if t is not str and t is not int:
            return _slow_path(key, path)
    return tuple(path)


def _slow_path(key: str, path: list[Any]) -> CallbackPath:
    steps: list[str | int] = []
    for step in path:
        t = type(step)
        if t is str or t is int:
            steps.append(step)
        elif t is float and math.isfinite(step) and step == int(step):
            steps.append(int(step))
        else:
            raise DecodeError(
                f"callback {key}: path steps must be strings or integers, got {_show(step)}"
            )
    return tuple(steps)


def _show(value: Any) -> str:
    try:
        return _json._go_spelling(_json.dumps(value))
    except (TypeError, ValueError, RecursionError):
        return repr(value)
