"""The callee pipeline: how a kite serves each method request its connections receive.

How this works: a kite has one `Callee`, holding the methods it serves (`methods`), the
kite-wide pre-handlers, post-handlers and final funcs, the `authenticate` hook and the
`on_first_request` hooks. A connection's reader (`Peer`) calls `serve_request(peer, message)`
for every incoming request, Go's callee pipeline (docs/protocol.md §4.6), as one coroutine with
no checkpoint of its own, so a plain handler is served inline by the reader:

1. unscrub and read the envelope (a malformed one is answered with `argumentError` when a
   response callback is found, otherwise dropped and logged; Go crashes, §4.1);
2. unknown method → `methodNotFound` (no request id), before anything else;
3. first request of an accepted connection: adopt the caller's claimed identity, run
   `on_first_request` hooks;
4. authentication if the method needs it (trusted dialled connections skip it, username "");
5. throttle → `requestLimitError`;
6. the handler chain (`_methods.run_chain`; a bare handler is called directly);
7. reply `{"error":null,"result":...}` or the error object; exceptions never escape. An
   exception other than a `KiteError` or `dnode.ArgumentError` (a handler's bug, not a
   deliberate error answer) is logged on `kite.server` at ERROR with its traceback and the
   request id the caller sees.

The kite's observer (`_observer`), when it has one, sees each request for a known method from
step 3 on; at DEBUG, `kite.server` logs one line per such request.

It also counts the requests being served, so a server shutting down can `wait_idle`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio

import dnode

from .._errors import KiteError, RequestLimitError, SendError
from ..protocol import KiteIdentity
from ._coroutines import is_awaitable
from ._envelope import EnvelopeError, error_json, parse_request
from ._hooks import run_hooks
from ._methods import FinalFunc, Handler, Method, run_chain
from ._observer import CALL_LOG, call_log, log_handler_error
from ._peer import LocalKite, Peer
from ._request import Request, new_request_id

__all__ = ["AuthenticateHook", "Callee", "PeerHook"]

log = logging.getLogger("kite")

#: `fn(request) -> username`, plain or async; raises to refuse the request.
AuthenticateHook = Callable[[Request], "str | Awaitable[str]"]
#: A connection lifecycle hook: `fn(peer)`, plain or async.
PeerHook = Callable[[Peer], Any]


def _error(type_: str, message: str, request_id: str) -> dict[str, str]:
    return {"type": type_, "message": message, "code": "", "id": request_id}


class Callee:
    """Serves the method requests of one kite's connections (see the module docstring).

    Attributes:
        local_kite: the kite serving the requests (each `Request.local_kite`).
        methods: registered methods by name.
        pre, post, final: the kite-wide pre-handlers, post-handlers and final funcs.
        on_first_request: hooks run on the first request of an accepted connection.
        authenticate: `fn(request) -> username` for methods that need authentication.
    """

    def __init__(self, local_kite: LocalKite, authenticate: AuthenticateHook) -> None:
        self.local_kite = local_kite
        self.authenticate = authenticate
        self.methods: dict[str, Method] = {}
        self.pre: list[Handler] = []
        self.post: list[Handler] = []
        self.final: list[FinalFunc] = []
        self.on_first_request: list[PeerHook] = []
        self._in_flight = 0  # method requests being served, on every connection
        self._idle_lot: trio.lowlevel.ParkingLot | None = None  # made by `wait_idle`

    async def serve_request(self, peer: Peer, message: dnode.Message) -> None:
        """Serve one incoming method request on `peer` (never raises but cancellation).

        One coroutine for the whole pipeline (each `await` of a helper coroutine costs), and
        no checkpoint of its own: with a plain handler and a pipe whose `send` does not
        block, the peer's reader runs it to the end in one step (see `_peer`).
        """
        self._in_flight += 1
        try:
            name = message.method
            assert isinstance(name, str)
            try:
                envelope = parse_request(message, peer.send_callback)
            except EnvelopeError as exc:
                if exc.response_callback is None:
                    log.warning("dropped %r: malformed envelope: %s", name, exc)
                    return
                error = _error("argumentError", str(exc), new_request_id())
                await self._respond(peer, exc.response_callback, error, None)
                return
            respond = envelope.response_callback
            method = self.methods.get(name)
            if method is None:
                if respond is not None:
                    error = _error("methodNotFound", f"Method not found: {name}", "")
                    await self._respond(peer, respond, error, None)
                return
            if not peer.first_request_seen and not peer.trusted:
                peer.first_request_seen = True
                peer.kite = KiteIdentity.from_json(envelope.kite)
                await run_hooks(self.on_first_request, peer, log=log)
            observer = self.local_kite.observer
            if observer is None and call_log.isEnabledFor(logging.DEBUG):
                observer = CALL_LOG
            served = None if observer is None else observer.serve(peer, name, envelope.trace)
            request = Request(
                "", name, "", envelope.with_args, peer, envelope.authentication, self.local_kite
            )
            try:
                if not method.authenticate:
                    request.username = peer.kite.username
                elif not peer.trusted:
                    claimed = self.authenticate(request)
                    if is_awaitable(claimed):
                        claimed = await claimed
                    username = str(claimed)
                    request.username = username
                    if peer.kite.username != username:
                        peer.kite = dataclasses.replace(peer.kite, username=username)
                if method.bucket is not None and not method.bucket.take():
                    raise RequestLimitError("The maximum request rate is exceeded.")
                if (
                    method.pre_handlers
                    or method.post_handlers
                    or method.final_funcs
                    or self.pre
                    or self.post
                    or self.final
                ):
                    result = await run_chain(method, request, self.pre, self.post, self.final)
                else:  # a bare handler: run_chain's common case, without its frames
                    result = method.handler(request)
                    if is_awaitable(result):
                        result = await result
            except Exception as exc:  # noqa: BLE001 - every failure is answered, never raised
                error = error_json(exc, request.id)
                if not isinstance(exc, KiteError | dnode.ArgumentError):
                    log_handler_error(name, request, exc)
                if respond is not None:
                    await self._respond(peer, respond, error, None)
                if served is not None:
                    served.end(error, exc)
                return
            if respond is not None:
                try:
                    if type(respond) is dnode.RemoteFunction:  # always (parse_request): by id
                        await peer.send_response(respond.id, result)
                    else:
                        await respond({"error": None, "result": result})
                except SendError as exc:
                    await self._respond_failed(peer, respond, exc, request.id)
                    if served is not None:
                        served.end(error_json(exc, request.id), exc)
                    return
            if served is not None:
                served.end(None, None)
        except Exception:  # the pipeline answers errors itself: a bug, keep serving
            log.exception("error serving %r", message.method)
        finally:
            self._in_flight -= 1
            if not self._in_flight and self._idle_lot is not None:
                self._idle_lot.unpark_all()

    async def wait_idle(self) -> None:
        """Wait until no method request is being served (graceful shutdown)."""
        while self._in_flight:
            if self._idle_lot is None:
                self._idle_lot = trio.lowlevel.ParkingLot()
            await self._idle_lot.park()

    async def _respond(
        self,
        peer: Peer,
        respond: Callable[..., Any],
        error: dict[str, str] | None,
        result: Any,
        request_id: str = "",
    ) -> None:
        try:
            await respond({"error": error, "result": result})
        except SendError as exc:
            if error is not None:
                log.debug("could not send response: %s", exc)
                return
            await self._respond_failed(peer, respond, exc, request_id)

    async def _respond_failed(
        self, peer: Peer, respond: Callable[..., Any], exc: SendError, request_id: str
    ) -> None:
        """A result could not be sent: answer with that error instead (if still connected)."""
        if peer.closed:
            log.debug("could not send response: %s", exc)
            return
        fallback = _error("genericError", str(exc), request_id)
        try:
            await respond({"error": fallback, "result": None})
        except SendError:
            log.debug("could not send response: %s", exc)
