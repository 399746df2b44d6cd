"""Scrubbing (functions out of outgoing values) and unscrubbing (proxies into received ones).

How this works:

* :func:`scrub` walks an outgoing value once, depth first in order (list items by index, dict
  items in insertion order, dataclass fields in declaration order), exactly the order Go's
  scrubber uses. Every callable becomes the string ``"[Function]"`` and is registered in the
  connection's :class:`CallbackTable`, which hands out ids counted from 0 and never reused, as
  Go's per-client counter does. Containers are copied only when something inside them
  changes, so a dict without functions (a kite identity, an auth object) is passed through to
  the encoder untouched. If anything fails, the callbacks registered so far are removed again:
  a message is scrubbed completely or not at all.
* :func:`unscrub` places one :class:`RemoteFunction` per received callback id at its path inside
  the freshly decoded arguments (in place: the lists and dicts come from
  :func:`~dnode.decode` and belong to the caller). Calling the proxy calls the runtime's
  ``send(id, args)`` and returns whatever that returns (an awaitable, for the trio runtime).
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import functools
import math
import re
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, Generic, TypeVar

from . import _json
from ._errors import CallbackLimitError, EncodeError, PathError, ScrubError
from ._json import GoFloatsList, float_is_go_safe, json_kind
from ._message import CallbackPath

__all__ = [
    "DEFAULT_CALLBACK_LIMIT",
    "FUNCTION_PLACEHOLDER",
    "CallbackTable",
    "RemoteFunction",
    "scrub",
    "scrub_encode",
    "unscrub",
]

#: What Go (and every dnode peer) puts where a function was.
FUNCTION_PLACEHOLDER: Final = "[Function]"

#: Default bound on live callbacks per :class:`CallbackTable` (Go has none).
DEFAULT_CALLBACK_LIMIT: Final = 100_000

_R = TypeVar("_R")

#: The runtime's way to invoke a remote callback: ``send(callback_id, arguments)``.
Send = Callable[[int, list[Any]], _R]


class CallbackTable:
    """The functions one end of a connection has sent, by callback id.

    Ids count from 0 and are never reused, even after :meth:`remove` (Go's scrubber counter).
    Keep one table per connection object, across reconnects, as Go does.

    Args:
        limit: most live (registered, not removed) callbacks; :meth:`register` raises
            :class:`~dnode.CallbackLimitError` beyond it.
    """

    __slots__ = ("_callbacks", "_limit", "_next_id")

    def __init__(self, limit: int = DEFAULT_CALLBACK_LIMIT) -> None:
        if limit < 0:
            raise ValueError("limit must be >= 0")
        self._callbacks: dict[int, Callable[..., Any]] = {}
        self._limit = limit
        self._next_id = 0

    @property
    def limit(self) -> int:
        """Most live callbacks this table holds."""
        return self._limit

    @property
    def next_id(self) -> int:
        """The id the next :meth:`register` will return."""
        return self._next_id

    def register(self, fn: Callable[..., Any]) -> int:
        """Store ``fn`` under a new id and return the id.

        Raises:
            CallbackLimitError: the table already holds ``limit`` callbacks.
        """
        if len(self._callbacks) >= self._limit:
            raise CallbackLimitError(self._limit)
        cid = self._next_id
        self._next_id = cid + 1
        self._callbacks[cid] = fn
        return cid

    def get(self, cid: int) -> Callable[..., Any] | None:
        """Return the callback registered under ``cid``, or ``None`` (Go ignores unknown ids)."""
        return self._callbacks.get(cid)

    def remove(self, cid: int) -> bool:
        """Forget callback ``cid``; return whether it was there."""
        return self._callbacks.pop(cid, None) is not None

    def __len__(self) -> int:
        return len(self._callbacks)

    def __contains__(self, cid: object) -> bool:
        return cid in self._callbacks

    def __iter__(self) -> Iterator[int]:
        return iter(self._callbacks)

    def __repr__(self) -> str:
        return f"<CallbackTable {len(self._callbacks)} live, next id {self._next_id}>"


class RemoteFunction(Generic[_R]):
    """A function the peer sent: calling it asks the runtime to invoke callback ``id`` remotely.

    ``proxy(*args)`` returns ``send(id, list(args))`` unchanged, so with an async runtime it
    returns an awaitable. A RemoteFunction is callable, so scrubbing one (passing it on to a
    third party) registers it as a local callback that forwards the call (Go cannot do this).
    """

    __slots__ = ("_send", "id")

    def __init__(self, cid: int, send: Callable[[int, list[Any]], _R]) -> None:
        self.id: Final = cid
        self._send: Final = send

    def __call__(self, *args: Any) -> _R:
        return self._send(self.id, list(args))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RemoteFunction):
            return NotImplemented
        return self.id == other.id and self._send is other._send

    def __hash__(self) -> int:
        return hash((RemoteFunction, self.id, id(self._send)))

    def __repr__(self) -> str:
        return f"<RemoteFunction id={self.id}>"


# ---------------------------------------------------------------------------------------------
# scrubbing


class _Kind(enum.Enum):
    FUNCTION = 1
    DATACLASS = 2
    DNODE = 3
    MAPPING = 4
    SEQUENCE = 5
    STR = 6
    INT = 7
    FLOAT = 8
    BYTES = 9
    ENUM = 10
    UNKNOWN = 11


_KINDS: dict[type, _Kind] = {}


def _classify(x: Any) -> _Kind:
    """What to do with values of a type the fast paths don't know (cached per type)."""
    t = type(x)
    if callable(getattr(t, "__dnode__", None)):
        kind = _Kind.DNODE
    elif dataclasses.is_dataclass(t):
        kind = _Kind.DATACLASS
    elif issubclass(t, enum.Enum) and not issubclass(t, int | str | float):
        kind = _Kind.ENUM
    elif issubclass(t, bool):
        kind = _Kind.INT  # not reached for bool itself (a fast-path type)
    elif issubclass(t, str):
        kind = _Kind.STR
    elif issubclass(t, int):
        kind = _Kind.INT
    elif issubclass(t, float):
        kind = _Kind.FLOAT
    elif issubclass(t, bytes | bytearray | memoryview):
        kind = _Kind.BYTES
    elif issubclass(t, Mapping):
        kind = _Kind.MAPPING
    elif issubclass(t, list | tuple):
        kind = _Kind.SEQUENCE
    elif callable(x):  # callability is a property of the type (its __call__ slot)
        kind = _Kind.FUNCTION
    else:
        kind = _Kind.UNKNOWN
    _KINDS[t] = kind
    return kind


_FUNCTION_TYPES: Final = frozenset(
    (
        types.FunctionType,
        types.MethodType,
        types.BuiltinFunctionType,
        types.BuiltinMethodType,
        functools.partial,
        RemoteFunction,
    )
)


#: Deepest nesting scrub walks; deeper values (and cycles) are a ScrubError. An explicit bound,
#: not the interpreter's recursion limit, so the compiled build (whose calls are C calls that
#: never raise RecursionError) refuses exactly what the pure-Python one does.
MAX_DEPTH: Final = 800


class _Scrub:
    """State of one scrub: the table, the callbacks found so far."""

    __slots__ = ("callbacks", "depth", "go_floats", "register")

    def __init__(self, table: CallbackTable) -> None:
        self.register = table.register
        self.callbacks: dict[int, CallbackPath] = {}
        self.depth = 0  # nested __dnode__ conversions, which do not lengthen the path
        self.go_floats = True  # every float met prints the same in Python and Go

    def walk_float(self, x: float, path: CallbackPath) -> float | int:
        if x - x != 0.0:
            raise ScrubError(f"{x!r} has no JSON form", path)
        if x.is_integer() and abs(x) < 1e16 and (x != 0.0 or math.copysign(1.0, x) > 0):
            return int(x)  # Go prints an integral float64 without a fraction: 16.0 -> 16
        if not float_is_go_safe(x):
            self.go_floats = False  # encode() must look for it (1e-5, 1e20, -0.0)
        return x

    def walk_function(self, fn: Callable[..., Any], path: CallbackPath) -> str:
        self.callbacks[self.register(fn)] = path
        return FUNCTION_PLACEHOLDER

    def walk_dict(self, d: dict[Any, Any], path: CallbackPath) -> dict[str, Any]:
        # The hot loop: strings first (most values), no per-item allocation unless a value
        # changes; a copy of d is made at the first change.
        if len(path) >= MAX_DEPTH:
            raise RecursionError
        out: dict[Any, Any] | None = None
        y: Any
        for k, x in d.items():
            if type(k) is not str:
                return self.walk_rekeyed(d, out, k, path)
            t = type(x)
            if t is str or t is int or x is None or t is bool:
                continue
            if t is float:
                if 1e-4 <= abs(x) < 1e16 and not x.is_integer():
                    continue
                y = self.walk_float(x, (*path, k))
            elif t is dict:
                y = self.walk_dict(x, (*path, k))
            elif t is list:
                y = self.walk_list(x, (*path, k))
            elif t in _FUNCTION_TYPES:  # the common callables, without a call to walk_other
                self.callbacks[self.register(x)] = (*path, k)
                y = FUNCTION_PLACEHOLDER
            else:
                y = self.walk_other(x, (*path, k))
            if y is not x:
                if out is None:
                    out = d.copy()
                out[k] = y
        return d if out is None else out

    def walk_rekeyed(
        self, d: dict[Any, Any], out: dict[Any, Any] | None, first: Any, path: CallbackPath
    ) -> dict[str, Any]:
        """Finish walking ``d`` from key ``first`` on, in a new dict with str keys."""
        result: dict[str, Any] = {}
        src = d if out is None else out
        for k, y in src.items():  # the items before `first` are done (in `out` if changed)
            if k is first:
                break
            result[k] = y
        started = False
        for k, x in d.items():
            if not started:
                if k is not first:
                    continue
                started = True
            key = _key(k, path)
            if key in result:
                raise ScrubError(f"duplicate object key {key!r} after conversion", path)
            result[key] = self.walk_any(x, (*path, key))
        return result

    def walk_list(
        self,
        seq: list[Any] | tuple[Any, ...],
        path: CallbackPath,
        copy: Callable[[Any], list[Any]] = list,
    ) -> Any:
        """``seq`` itself if nothing in it changes, else ``copy(seq)`` with the changes."""
        if len(path) >= MAX_DEPTH:
            raise RecursionError
        out: list[Any] | None = None
        y: Any
        i = -1
        for x in seq:
            i += 1
            t = type(x)
            if t is str or t is int or x is None or t is bool:
                continue
            if t is float:
                if 1e-4 <= abs(x) < 1e16 and not x.is_integer():
                    continue
                y = self.walk_float(x, (*path, i))
            elif t is dict:
                y = self.walk_dict(x, (*path, i))
            elif t is list:
                y = self.walk_list(x, (*path, i))
            elif t in _FUNCTION_TYPES:  # the common callables, without a call to walk_other
                self.callbacks[self.register(x)] = (*path, i)
                y = FUNCTION_PLACEHOLDER
            else:
                y = self.walk_other(x, (*path, i))
            if y is not x:
                if out is None:
                    out = copy(seq)
                out[i] = y
        return seq if out is None else out

    def walk_any(self, x: Any, path: CallbackPath) -> Any:
        t = type(x)
        if t is str or t is int or x is None or t is bool:
            return x
        if t is float:
            return self.walk_float(x, path)
        if t is dict:
            return self.walk_dict(x, path)
        if t is list:
            return self.walk_list(x, path)
        return self.walk_other(x, path)

    def walk_other(self, x: Any, path: CallbackPath) -> Any:
        t = type(x)
        if t is tuple:
            return self.walk_list(x, path)
        kind = _KINDS.get(t) or _classify(x)
        if kind is _Kind.FUNCTION:
            return self.walk_function(x, path)
        if kind is _Kind.DATACLASS:
            return self.walk_dict(_dataclass_dict(x), path)
        if kind is _Kind.DNODE:
            self.depth += 1
            try:
                if self.depth >= MAX_DEPTH:
                    raise RecursionError
                return self.walk_any(x.__dnode__(), path)
            finally:
                self.depth -= 1
        if kind is _Kind.SEQUENCE:
            return self.walk_list(list(x), path)
        if kind is _Kind.MAPPING:
            return self.walk_dict(dict(x.items()), path)
        if kind is _Kind.STR:
            return str.__str__(x)
        if kind is _Kind.INT:
            return int.__index__(x)
        if kind is _Kind.FLOAT:
            return self.walk_any(float(x), path)
        if kind is _Kind.BYTES:
            return base64.b64encode(x).decode("ascii")  # Go's []byte encoding
        if kind is _Kind.ENUM:
            return self.walk_any(x.value, path)
        raise ScrubError(f"{t.__qualname__} value has no JSON mapping", path)


def _key(k: Any, path: CallbackPath) -> str:
    if type(k) is str:
        return k
    if isinstance(k, int) and not isinstance(k, bool):
        return str(int(k))  # Go writes integer map keys as decimal strings
    if isinstance(k, str):
        return str.__str__(k)
    raise ScrubError(f"object keys must be str or int, not {type(k).__qualname__}", path)


_DC_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}


def _dataclass_dict(obj: Any) -> dict[str, Any]:
    """A dataclass instance's fields as a dict, without deep-copying (unlike ``asdict``).

    A field's key is its name, or ``metadata["dnode"]`` if that is a string; fields with
    ``metadata={"dnode": "-"}`` are left out (Go's ``json:"-"``).
    """
    t = type(obj)
    spec = _DC_FIELDS.get(t)
    if spec is None:
        items = []
        for f in dataclasses.fields(obj):
            name = f.metadata.get("dnode", f.name)
            if name != "-":
                items.append((f.name, str(name)))
        spec = _DC_FIELDS[t] = tuple(items)
    return {key: getattr(obj, attr) for attr, key in spec}


def scrub(value: Any, table: CallbackTable) -> tuple[Any, dict[int, CallbackPath]]:
    """Replace every function in ``value`` by ``"[Function]"`` and register it in ``table``.

    ``value`` is normally the argument list of a message. Returns the JSON-ready value (sharing
    unchanged sub-containers with ``value``; ``value`` itself is never modified) and the
    callbacks found, id -> path, ready for :class:`~dnode.Message`. See the package README
    for which Python values map to which JSON.

    Raises:
        ScrubError: a value has no JSON mapping (the error names its path).
        CallbackLimitError: ``table`` is full.
    """
    state = _Scrub(table)
    try:
        if type(value) is list:  # the argument list: copied once, into the tagged type
            out = state.walk_list(value, (), GoFloatsList)
            if out is value:
                out = GoFloatsList(value)
        else:
            out = state.walk_any(value, ())
            if type(out) is list:
                out = GoFloatsList(out)
        if not state.go_floats and type(out) is GoFloatsList:
            out = list(out)
        return out, state.callbacks
    except BaseException as exc:
        _undo(state, table, exc)
        raise


#: Types scrub passes through unchanged and whose JSON spelling needs no float rewrite.
_JSON_SCALARS: Final = frozenset((str, int, bool, type(None)))


def scrub_encode(
    value: Any, table: CallbackTable, path: CallbackPath = ()
) -> tuple[str, dict[int, CallbackPath]]:
    """Scrub ``value`` and encode it as JSON text: a piece of a message, for joining.

    ``value`` is taken to sit at ``path`` inside a message's ``arguments``: its callbacks get
    paths starting with ``path``, and the text is exactly what :func:`~dnode.encode` writes
    for that value inside the whole message (Go's spelling, floats included). A runtime whose
    messages share a constant part (a kite request's envelope) can so encode that part once
    and each message's variable parts alone, then join the texts. All-or-nothing like
    :func:`scrub`.

    Raises:
        ScrubError: a value has no JSON mapping (the error names its path).
        CallbackLimitError: ``table`` is full.
        EncodeError: the scrubbed value cannot be encoded.
    """
    if type(value) is list:
        for x in value:
            if type(x) not in _JSON_SCALARS:
                break
        else:  # nothing to scrub (the common argument list): no walk, no callbacks
            try:
                text = _json.dumps(value)
            except (TypeError, ValueError) as exc:  # pragma: no cover - plain values encode
                raise EncodeError(f"cannot encode message: {exc}") from None
            return _json._go_spelling(text, False), {}
    state = _Scrub(table)
    try:
        out = state.walk_any(value, path)
        try:
            text = _json.dumps(out)
        except (TypeError, ValueError, RecursionError) as exc:
            raise EncodeError(f"cannot encode message: {exc}") from None
    except BaseException as exc:
        _undo(state, table, exc)
        raise
    return _json._go_spelling(text, not state.go_floats), state.callbacks


def _undo(state: _Scrub, table: CallbackTable, exc: BaseException) -> None:
    """A scrub failed: forget the callbacks it registered (all-or-nothing); a recursion error
    becomes the `ScrubError` it means. The caller re-raises anything else."""
    for cid in state.callbacks:
        table.remove(cid)
    if isinstance(exc, RecursionError):
        raise ScrubError("value is nested too deeply or contains itself") from None


# ---------------------------------------------------------------------------------------------
# unscrubbing

_ATOI: Final = re.compile(r"[+-]?[0-9]+")


def unscrub(
    arguments: list[Any],
    callbacks: Mapping[int, CallbackPath],
    send: Callable[[int, list[Any]], Any],
    *,
    strict: bool = True,
) -> list[Any]:
    """Put a :class:`RemoteFunction` at each callback path inside received ``arguments``.

    Works in place and returns ``arguments``. Following Go, a path that runs into a missing
    object key or a ``null`` is skipped silently, and the last step of a path into an object
    sets that key even if it was absent. Numeric strings index lists (``"0"``), integer steps
    into objects use their decimal string as key.

    Raises:
        PathError: (only with ``strict``, the default) a path is empty, indexes past the end of
            a list, uses a non-numeric string on a list, or runs through a scalar or a
            function. With ``strict=False`` such paths are skipped and the rest are placed.
    """
    top = arguments if type(arguments) is list else None
    for cid, path in callbacks.items():
        proxy = RemoteFunction(cid, send)
        if len(path) == 2 and top is not None:
            # The usual shape, a key of an object in the argument list (a kite request's
            # [0, "responseCallback"]): placed without walking.
            index, key = path
            if type(index) is int and type(key) is str and 0 <= index < len(top):
                node = top[index]
                if type(node) is dict:
                    node[key] = proxy
                    continue
        try:
            _place(arguments, path, proxy)
        except PathError as exc:
            if strict:
                exc.callback_id = cid
                raise
    return arguments


def _place(node: Any, path: CallbackPath, proxy: RemoteFunction[Any]) -> None:
    last = len(path) - 1
    if last < 0:
        raise PathError(f"callback path too short: {list(path)!r}", path)
    for i, step in enumerate(path):
        t = type(node)
        if t is list:
            if type(step) is int:
                index = step
            elif type(step) is str and _ATOI.fullmatch(step):
                index = int(step)
            else:
                raise PathError(f"integer expected in callback path, got '{step}'.", path)
            if not 0 <= index < len(node):
                raise PathError(
                    f"callback path index {index} out of range (length {len(node)}): "
                    f"{list(path)!r}",
                    path,
                )
            if i == last:
                node[index] = proxy
                return
            node = node[index]
        elif t is dict:
            key = step if type(step) is str else str(step)
            if i == last:
                node[key] = proxy
                return
            node = node.get(key)
        elif node is None:
            return  # Go: the path does not exist, skip
        else:
            raise PathError(
                f"Unhandled value of kind '{_kind(node)}' in callback path: {list(path)!r}",
                path,
            )
    # not reached: the loop returns at the last step


def _kind(value: Any) -> str:
    return "function" if isinstance(value, RemoteFunction) else json_kind(value)
