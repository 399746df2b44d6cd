"""The kite request envelope and response, as Go builds and reads them.

The wire side: docs/protocol.md §4.1, §4.3.

How this works: a method call is a dnode message whose single argument is the envelope
`{"kite", "authentication", "responseCallback", "withArgs"}` (that key order, Go's struct
order); the answer is one call of the response callback with `{"error", "result"}`. This
module only shapes and reads those Python values: scrubbing functions out and encoding are
dnode's job, sending is the peer's.

Reading follows Go's `encoding/json`: keys match fields as Go matches them (`dnode.GoFields`:
Go's case folding; when several keys fill a field the last wins), unknown keys are ignored,
missing keys are zero values. What Go would crash on (arguments not
exactly one object, §4.1 quirk) raises `EnvelopeError` here, carrying the response callback
when one can still be found so the caller can answer instead of dying.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

import dnode

from .._errors import InvalidResponseError, KiteError
from ..protocol import Auth, go_json_kind

__all__ = [
    "Envelope",
    "EnvelopeError",
    "RequestEncoder",
    "call_arguments",
    "error_json",
    "parse_envelope",
    "parse_request",
    "parse_response",
]

#: Go's `kite.callOptions` and `kite.Auth`.
_ENVELOPE_FIELDS: Final = dnode.GoFields(
    "kite", "authentication", "withArgs", "responseCallback", "traceContext"
)
_AUTH_FIELDS: Final = dnode.GoFields("type", "key")
_MISSING: Final[Any] = object()


def call_arguments(
    kite: Mapping[str, str],
    auth: Auth | None,
    response_callback: Callable[..., Any] | None,
    with_args: list[Any] | None,
    trace_context: Mapping[str, str] | None = None,
) -> list[Any]:
    """The `arguments` of a method call, exactly as Go's `callOptions` encodes.

    `with_args=None` gives `"withArgs":null` (Go's `Tell("m")`), `[]` gives `"withArgs":[]`.
    The response callback is the first function the scrubber meets, so it gets the lowest id.
    A non-empty `trace_context` is added last as `"traceContext"`, a field Go's decoder
    ignores (§4.12).
    """
    envelope = {
        "kite": kite,
        "authentication": None if auth is None else auth.to_json(),
        "responseCallback": response_callback,
        "withArgs": with_args,
    }
    if trace_context:
        envelope["traceContext"] = dict(trace_context)
    return [envelope]


class LocalIdentity(Protocol):
    """What `RequestEncoder` reads of the local kite (a `Kite`): its identity."""

    name: str
    username: str
    id: str
    environment: str
    region: str
    version: str
    hostname: str

    @property
    def identity_json(self) -> dict[str, str]: ...


#: A `CallbackTable` for encoding values that hold no functions.
_NO_CALLBACKS: Final = dnode.CallbackTable(0)
#: Encoded method names kept per connection (kites call few); cleared when it holds this many.
_METHOD_CACHE_SIZE: Final = 256
_RESPONSE_CALLBACK: Final[dnode.CallbackPath] = (0, "responseCallback")
_WITH_ARGS: Final[dnode.CallbackPath] = (0, "withArgs")


class RequestEncoder:
    """Encodes one connection's method calls: the dnode message text and its callbacks.

    How this works: a call's envelope (`call_arguments`) differs from the previous call's only
    in `withArgs` and the response callback's id. So `"kite"` (the local kite's
    `identity_json`) and `"authentication"` are encoded once, again whenever one of the seven
    identity fields or the credentials (compared by identity: `Auth` is frozen) change, and a
    call scrubs and encodes only its `withArgs` (`dnode.scrub_encode`, callbacks at
    `[0, "withArgs", ...]`), then joins the texts. The response callback is registered first,
    so it gets the lowest id, as when scrubbing the whole envelope. The text is byte for byte
    what `dnode.encode` writes for the scrubbed `call_arguments` message (a tested property);
    identities or credentials holding anything but strings take that general path.
    """

    __slots__ = ("_auth", "_head", "_identity", "_methods")

    def __init__(self) -> None:
        self._identity: tuple[Any, ...] | None = None
        self._auth: Auth | None = None
        #: '"kite":{..},"authentication":..,' or "" when calls take the general path.
        self._head = ""
        self._methods: dict[str, str] = {}

    def encode(
        self,
        kite: LocalIdentity,
        auth: Auth | None,
        method: str,
        response_callback: Callable[..., Any],
        with_args: list[Any] | None,
        table: dnode.CallbackTable,
        trace_context: Mapping[str, str] | None = None,
    ) -> tuple[str, int, dict[int, dnode.CallbackPath]]:
        """Register `response_callback` and the functions in `with_args`; encode the call.

        A non-empty `trace_context` is encoded after `withArgs` (see `call_arguments`).

        Returns the message text, the response callback's id and the callbacks registered
        (id -> path, the response callback first). All-or-nothing: on error none stays
        registered.

        Raises:
            dnode.DnodeError: `with_args` cannot be scrubbed or encoded, or `table` is full.
        """
        identity = (
            kite.name,
            kite.username,
            kite.id,
            kite.environment,
            kite.region,
            kite.version,
            kite.hostname,
        )
        if identity != self._identity or auth is not self._auth:
            self._prepare(kite, identity, auth)
        head = self._head
        if not head or type(method) is not str:
            return _encode_general(
                kite, auth, method, response_callback, with_args, table, trace_context
            )
        method_json = self._methods.get(method)
        if method_json is None:
            method_json = self._method_json(method)
        cid = table.register(response_callback)
        callbacks: dict[int, dnode.CallbackPath] = {cid: _RESPONSE_CALLBACK}
        if with_args is None:
            args_json = "null"
        else:
            try:
                args_json, found = dnode.scrub_encode(with_args, table, _WITH_ARGS)
            except BaseException:
                table.remove(cid)
                raise
            if found:
                callbacks.update(found)
        if trace_context:
            trace = dnode.scrub_encode(dict(trace_context), _NO_CALLBACKS)[0]
            args_json = f'{args_json},"traceContext":{trace}'
        if len(callbacks) == 1:
            text = (
                f'{{"method":{method_json},"arguments":[{{{head}"responseCallback":"[Function]",'
                f'"withArgs":{args_json}}}],"callbacks":{{"{cid}":[0,"responseCallback"]}}}}'
            )
        else:
            text = (
                f'{{"method":{method_json},"arguments":[{{{head}"responseCallback":"[Function]",'
                f'"withArgs":{args_json}}}],"callbacks":{_callbacks_json(callbacks)}}}'
            )
        return text, cid, callbacks

    def _prepare(self, kite: LocalIdentity, identity: tuple[Any, ...], auth: Auth | None) -> None:
        """Encode the envelope's constant part for this identity and these credentials."""
        self._identity = identity
        self._auth = auth
        self._head = ""
        if not all(type(field) is str for field in identity):
            return
        if auth is None:
            auth_json = "null"
        elif type(auth) is Auth and type(auth.type) is str and type(auth.key) is str:
            auth_json = dnode.scrub_encode(auth.to_json(), _NO_CALLBACKS)[0]
        else:
            return
        kite_json = dnode.scrub_encode(kite.identity_json, _NO_CALLBACKS)[0]
        self._head = f'"kite":{kite_json},"authentication":{auth_json},'

    def _method_json(self, method: str) -> str:
        methods = self._methods
        if len(methods) >= _METHOD_CACHE_SIZE:
            methods.clear()
        text = methods[method] = dnode.scrub_encode(method, _NO_CALLBACKS)[0]
        return text


def _callbacks_json(callbacks: dict[int, dnode.CallbackPath]) -> str:
    """A message's `callbacks` object as `dnode.encode` writes it (ids sorted as strings)."""
    paths = {str(cid): path for cid, path in callbacks.items()}
    return dnode.scrub_encode({key: paths[key] for key in sorted(paths)}, _NO_CALLBACKS)[0]


def _encode_general(
    kite: LocalIdentity,
    auth: Auth | None,
    method: str,
    response_callback: Callable[..., Any],
    with_args: list[Any] | None,
    table: dnode.CallbackTable,
    trace_context: Mapping[str, str] | None = None,
) -> tuple[str, int, dict[int, dnode.CallbackPath]]:
    """`RequestEncoder.encode` the plain way: scrub and encode the whole envelope."""
    arguments = call_arguments(
        kite.identity_json, auth, response_callback, with_args, trace_context
    )
    scrubbed, callbacks = dnode.scrub(arguments, table)
    try:
        text = dnode.encode(dnode.Message(method, scrubbed, callbacks))
    except BaseException:
        for cid in callbacks:
            table.remove(cid)
        raise
    return text, next(iter(callbacks)), callbacks


class EnvelopeError(ValueError):
    """The arguments of a method call are not one envelope object (Go crashes here, §4.1).

    Attributes:
        response_callback: the envelope's response callback if one was found, so the request
            can still be answered.
    """

    def __init__(self, message: str, response_callback: Callable[..., Any] | None) -> None:
        super().__init__(message)
        self.response_callback = response_callback


class Envelope:
    """A received envelope: who claims to call, with what credentials and arguments."""

    __slots__ = ("authentication", "kite", "response_callback", "trace", "with_args")

    def __init__(
        self,
        kite: Any,
        authentication: Auth | None,
        response_callback: Callable[..., Any] | None,
        with_args: Any,
        trace: Any = None,
    ) -> None:
        self.kite = kite
        #: The caller's `traceContext` (W3C trace context), `None` when it sent none.
        self.trace = trace
        self.authentication = authentication
        self.response_callback = response_callback
        #: `dnode.Partial()` (nil) when `withArgs` was missing or null, as in Go.
        nil = with_args is _MISSING or with_args is None
        self.with_args: dnode.Partial = dnode.Partial() if nil else dnode.Partial(with_args)


def _auth(value: Any) -> Auth | None:
    if not isinstance(value, dict):
        return None  # null (or a shape Go could not decode): no credentials
    if len(value) == 2 and "type" in value and "key" in value:  # as Go sends it
        type_ = value["type"]
        key = value["key"]
    else:
        folded = _AUTH_FIELDS.pick(value)
        type_ = folded.get("type")
        key = folded.get("key")
    return Auth(type_ if isinstance(type_, str) else "", key if isinstance(key, str) else "")


def parse_envelope(arguments: list[Any]) -> Envelope:
    """Read the envelope of a received method call (callbacks already unscrubbed).

    Raises:
        EnvelopeError: `arguments` is not exactly one object (see the module docstring).
    """
    first = arguments[0] if arguments else None
    if len(arguments) != 1 or type(first) is not dict:
        callback = None
        if type(first) is dict:
            found = _ENVELOPE_FIELDS.pick(first).get("responseCallback")
            callback = found if callable(found) else None
        if len(arguments) != 1:
            raise EnvelopeError("Invalid array length", callback)
        raise EnvelopeError(
            f"json: cannot unmarshal {go_json_kind(first)} into Go value of type kite.callOptions",
            None,
        )
    obj: dict[str, Any] = first
    try:
        if len(obj) != 4:
            raise KeyError
        kite = obj["kite"]  # the four keys exactly as Go sends them
        auth = obj["authentication"]
        callback = obj["responseCallback"]
        with_args = obj["withArgs"]
    except KeyError:
        folded = _ENVELOPE_FIELDS.pick(obj)
        kite = folded.get("kite")
        auth = folded.get("authentication")
        callback = folded.get("responseCallback")
        with_args = folded.get("withArgs", _MISSING)
        trace = folded.get("traceContext")
        return Envelope(
            kite, _auth(auth), callback if callable(callback) else None, with_args, trace
        )
    return Envelope(kite, _auth(auth), callback if callable(callback) else None, with_args)


_RESPONSE_PATH: Final = (0, "responseCallback")


def parse_request(message: dnode.Message, send: Callable[[int, list[Any]], Any]) -> Envelope:
    """Unscrub a received method call with `send` and read its envelope.

    The same as `parse_envelope(dnode.unscrub(message.arguments, message.callbacks, send,
    strict=False))`, with a fast path for the shape Go and Python kites send (one object with
    the four keys as Go spells them, the response callback its only function at
    `[0, "responseCallback"]`): that one is read without walking the callbacks.

    Raises:
        EnvelopeError: as `parse_envelope`.
    """
    arguments = message.arguments
    callbacks = message.callbacks
    if len(callbacks) == 1 and len(arguments) == 1:
        obj = arguments[0]
        if type(obj) is dict and len(obj) == 4 and "responseCallback" in obj:
            for cid, path in callbacks.items():
                if path == _RESPONSE_PATH and type(path[0]) is int:
                    try:  # the other three keys exactly as Go sends them
                        kite = obj["kite"]
                        auth = obj["authentication"]
                        with_args = obj["withArgs"]
                    except KeyError:
                        break
                    proxy = obj["responseCallback"] = dnode.RemoteFunction(cid, send)
                    return Envelope(kite, None if auth is None else _auth(auth), proxy, with_args)
    return parse_envelope(dnode.unscrub(arguments, callbacks, send, strict=False))


def error_json(exc: BaseException, request_id: str) -> dict[str, str]:
    """The wire error object for an exception raised while serving a request (§4.4).

    A `KiteError` keeps its type, message and code (its id is filled in when empty, as Go
    does); a `dnode.ArgumentError` is an `argumentError`; anything else a `genericError`
    with `str(exc)` as message. Keys in Go's order.
    """
    if isinstance(exc, KiteError):
        return {
            "type": exc.type,
            "message": exc.message,
            "code": exc.code,
            "id": exc.id or request_id,
        }
    type_ = "argumentError" if isinstance(exc, dnode.ArgumentError) else "genericError"
    return {"type": type_, "message": str(exc), "code": "", "id": request_id}


def parse_response(arguments: list[Any]) -> Any:
    """The result of a call from the arguments of its response callback (§4.3).

    Raises:
        KiteError: the matching subclass when the response carries an error.
        InvalidResponseError: the response is malformed (Go's texts).
    """
    if len(arguments) != 1:
        raise InvalidResponseError("Invalid array length")
    obj = arguments[0]
    if type(obj) is not dict:
        raise InvalidResponseError(
            f"json: cannot unmarshal {go_json_kind(obj)} into Go value of type kite.Response"
        )
    if "error" in obj:
        error, result = obj["error"], obj.get("result")
    else:
        folded = {k.lower(): v for k, v in obj.items() if isinstance(k, str)}
        if "error" not in folded and "result" not in folded:
            raise InvalidResponseError("Server has sent invalid response arguments")
        error, result = folded.get("error"), folded.get("result")
    if error is not None:
        if type(error) is not dict:
            raise InvalidResponseError(
                f"json: cannot unmarshal {go_json_kind(error)} into Go value of type kite.Error"
            )
        raise KiteError.from_json(error)
    return result
