"""RPC over one message pipe: Go's `*kite.Client`, both directions of one kite connection.

How this works (PROTOCOL.md §3.7, §3.8, §4.1-§4.6):

* One **reader task** receives messages from the pipe and decodes each once. A string
  `method` is a request: it runs in a task of the connection's nursery, at most
  `max_concurrent_requests` at once. Beyond that, requests wait in a FIFO backlog (a finishing
  task takes the next one, no new task); while the backlog holds `request_backlog` requests
  the reader stops reading (back-pressure). The backlog keeps responses and callbacks flowing
  while all request slots are busy, so handlers waiting for the caller do not deadlock the
  connection. A numeric `method` is a callback invocation:
  * the response callback of one of our pending calls is handed to the waiting caller right
    in the reader (no task, no user code) and freed at once, so late or duplicate responses
    are ignored and nothing leaks (Go never frees them, §3.7; peers cannot tell);
  * any other callback of ours goes to one **callback task** through a bounded memory
    channel: callbacks run serially in arrival order, as on Go's read loop, without stalling
    the reading of requests and responses;
  * an unknown id is ignored, as Go does.
* A response is delivered to its caller only after the callbacks received before it have run
  (what Go's serial read loop guarantees: a `countdown` caller sees every tick before the
  result), unless the caller *is* such a callback, which would otherwise deadlock.
* Sends are serialised by a FIFO lock; each message is scrubbed and encoded exactly once.
* When the pipe ends, the connection's tasks (running handlers included, Go's cancelled
  request `Context`) are cancelled and waiting calls fail with `DisconnectError`.

Tasks live in a nursery owned by `open_peer` (an `async with`); leaving the block closes the
connection.
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import trio

import dnode

from ._envelope import call_arguments, go_duration, parse_response
from ._errors import DisconnectError, KiteTimeoutError, SendError
from ._session import MessagePipe, PipeClosedError
from .protocol import Auth, KiteIdentity

if TYPE_CHECKING:
    from ._kite import Kite

__all__ = ["Peer", "PeerLimits", "open_peer"]

log = logging.getLogger("kite.rpc")

_CLOSED_ERRORS = (
    PipeClosedError,
    trio.ClosedResourceError,
    trio.BrokenResourceError,
    trio.EndOfChannel,
)


@dataclass(frozen=True, slots=True)
class PeerLimits:
    """Resource limits of one connection.

    Attributes:
        max_concurrent_requests: incoming method calls served at once (default 100). Go has
            no limit.
        request_backlog: requests read and waiting for a free slot (default 100); when full,
            the connection is not read until a request finishes.
        callback_queue: received callback invocations queued for the callback task before
            the reader waits (default 64).
        max_callbacks: live local callbacks (functions we sent and may still be called) per
            connection (default `dnode.DEFAULT_CALLBACK_LIMIT`); beyond it a call fails with
            `SendError`. Response callbacks are freed when answered or abandoned; functions
            passed as arguments live as long as the connection (as in Go).
    """

    max_concurrent_requests: int = 100
    request_backlog: int = 100
    callback_queue: int = 64
    max_callbacks: int = dnode.DEFAULT_CALLBACK_LIMIT

    def __post_init__(self) -> None:
        for name in ("max_concurrent_requests", "request_backlog", "max_callbacks"):
            if getattr(self, name) < 1:
                raise ValueError(f"PeerLimits.{name} must be at least 1")
        if self.callback_queue < 0:
            raise ValueError("PeerLimits.callback_queue must not be negative")


class _PendingCall:
    """The response callback of one outgoing call; it is never run, the reader delivers to it."""

    __slots__ = ("barrier", "error", "event", "message")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.message: dnode.Message | None = None
        self.error: BaseException | None = None
        self.barrier = 0

    def __call__(self, *args: Any) -> None:  # pragma: no cover - a marker for the scrubber
        raise RuntimeError("response callbacks are delivered by the reader")


class Peer:
    """The RPC endpoint of one kite connection (either side of it).

    Created by `open_peer` (or `Kite.accept` / `Kite.connect_pipe`); do not construct directly.

    Attributes:
        local_kite: the kite this side belongs to; it serves incoming requests.
        kite: the remote kite's identity: set by the first request on accepted connections
            (username replaced by the authenticated one), given by the dialler otherwise.
        auth: credentials put in the envelope of every call we make (`None` → `null`).
        trusted: whether this side dialled the connection; requests then skip
            authentication and get an empty username (§5.7).
        limits: this connection's `PeerLimits`.
    """

    def __init__(
        self,
        pipe: MessagePipe,
        local_kite: Kite,
        *,
        trusted: bool,
        auth: Auth | None = None,
        remote: KiteIdentity | None = None,
        limits: PeerLimits | None = None,
    ) -> None:
        self.limits = limits if limits is not None else PeerLimits()
        self.local_kite = local_kite
        self.kite = remote if remote is not None else KiteIdentity()
        self.auth = auth
        self.trusted = trusted
        self.first_request_seen = False
        self._pipe = pipe
        self._table = dnode.CallbackTable(self.limits.max_callbacks)
        self._pending: dict[int, _PendingCall] = {}
        self._send_lock = trio.StrictFIFOLock()
        self._running = 0  # request tasks alive
        self._backlog: deque[dnode.Message] = deque()
        self._backlog_lot = trio.lowlevel.ParkingLot()  # the reader waiting for backlog room
        self._cb_send, self._cb_receive = trio.open_memory_channel[
            tuple[Callable[..., Any], dnode.Message]
        ](self.limits.callback_queue)
        self._cb_enqueued = 0
        self._cb_done = 0
        self._cb_lot = trio.lowlevel.ParkingLot()
        self._runner_task: trio.lowlevel.Task | None = None
        self._nursery: trio.Nursery | None = None
        self._closing = False
        self._closed = trio.Event()

    def __repr__(self) -> str:
        side = "dialled" if self.trusted else "accepted"
        return f"<Peer {side} remote={self.kite.name or '?'} closed={self._closing}>"

    # ----------------------------------------------------------------------------------------
    # public API

    @property
    def closed(self) -> bool:
        """Whether the connection has ended (no more sends or receives)."""
        return self._closing

    @property
    def callbacks(self) -> dnode.CallbackTable:
        """Our live local callbacks (for inspection: its length must not grow per call)."""
        return self._table

    async def wait_closed(self) -> None:
        """Wait until the connection has ended."""
        await self._closed.wait()

    async def tell(
        self,
        method: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109
        free_callbacks: bool = False,
    ) -> Any:
        """Call `method` on the remote kite and return its result.

        With no `args` the envelope carries `"withArgs":null`, as Go's `Tell("m")`; use
        `call(method, [])` to send `[]`. Functions anywhere in `args` are sent as callbacks;
        functions in the result arrive as awaitable `dnode.RemoteFunction` proxies.

        Args:
            timeout: seconds to wait for the response (`None`: forever, as Go's `Tell`).
            free_callbacks: forget the functions sent in `args` once the call is over
                (answered, failed or abandoned), for callbacks the remote only calls while
                serving the call (a `countdown`); later invocations are then ignored. By
                default they stay callable for the life of the connection, as in Go (what
                e.g. `kite.heartbeat` needs), bounded by `PeerLimits.max_callbacks`.

        Raises:
            KiteError: the remote error (its `kite._errors` subclass), `KiteTimeoutError`,
                `DisconnectError`, `SendError` or `InvalidResponseError`.
        """
        return await self.call(
            method, list(args) if args else None, timeout=timeout, free_callbacks=free_callbacks
        )

    async def call(
        self,
        method: str,
        args: list[Any] | None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
        free_callbacks: bool = False,
    ) -> Any:
        """Like `tell`, with the argument list given as is (`None` → `"withArgs":null`)."""
        if self._closing:
            raise SendError("can't send, client is closed")
        pending = _PendingCall()
        arguments = call_arguments(self.local_kite.identity_json, self.auth, pending, args)
        try:
            scrubbed, callbacks = dnode.scrub(arguments, self._table)
        except dnode.DnodeError as exc:
            raise SendError(str(exc)) from exc
        cid = next(iter(callbacks))  # the response callback is the first function scrubbed
        self._pending[cid] = pending
        try:
            await self._send_message(dnode.Message(method, scrubbed, callbacks), callbacks)
            if timeout is None:
                await pending.event.wait()
            else:
                with trio.move_on_after(timeout):
                    await pending.event.wait()
                if not pending.event.is_set():
                    raise KiteTimeoutError(
                        f'No response to "{method}" method in {go_duration(timeout)}'
                    )
        finally:
            self._pending.pop(cid, None)
            if free_callbacks:
                for sent in callbacks:
                    self._table.remove(sent)
            else:
                self._table.remove(cid)
        if pending.error is not None:
            raise pending.error
        if pending.barrier > self._cb_done:
            await self._wait_callbacks(pending.barrier)
        message = pending.message
        assert message is not None
        return parse_response(
            dnode.unscrub(message.arguments, message.callbacks, self.send_callback, strict=False)
        )

    async def send_callback(self, callback_id: int, args: list[Any]) -> None:
        """Invoke the remote callback `callback_id` with `args` (what a received proxy does).

        Raises:
            SendError: the connection is closed or the arguments cannot be sent.
        """
        if self._closing:
            raise SendError("can't send, client is closed")
        try:
            scrubbed, callbacks = dnode.scrub(args, self._table)
        except dnode.DnodeError as exc:
            raise SendError(str(exc)) from exc
        await self._send_message(dnode.Message(callback_id, scrubbed, callbacks), callbacks)

    def start_soon(self, async_fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run a background task for as long as this connection lives (cancelled with it)."""
        if self._nursery is None or self._closing:
            raise SendError("can't send, client is closed")
        self._nursery.start_soon(async_fn, *args)

    async def aclose(self) -> None:
        """End the connection: cancel its tasks, fail waiting calls, close the pipe."""
        self._shutdown()
        with trio.CancelScope(shield=True):
            try:
                await self._pipe.aclose()
            except Exception:  # a transport failing to close is already closed for us
                log.debug("error closing pipe", exc_info=True)

    # ----------------------------------------------------------------------------------------
    # internals

    async def _wait_callbacks(self, barrier: int) -> None:
        """Wait until the callbacks received before a response have run (see module doc)."""
        if trio.lowlevel.current_task() is self._runner_task:
            return  # a callback waiting for a response: waiting for itself would deadlock
        while self._cb_done < barrier:
            await self._cb_lot.park()

    async def _send_message(self, message: dnode.Message, callbacks: dict[int, Any]) -> None:
        try:
            text = dnode.encode(message)
        except dnode.DnodeError as exc:
            for cid in callbacks:
                self._table.remove(cid)
            raise SendError(str(exc)) from exc
        lock = self._send_lock
        try:
            try:
                lock.acquire_nowait()  # the common, uncontended case: no extra checkpoint
            except trio.WouldBlock:
                await lock.acquire()
            try:
                await self._pipe.send(text)
            finally:
                lock.release()
        except BaseException as exc:
            for cid in callbacks:  # Go frees the callbacks of a message it failed to send
                self._table.remove(cid)
            if isinstance(exc, SendError):
                raise
            if isinstance(exc, _CLOSED_ERRORS):
                raise SendError("can't send, client is closed") from exc
            if isinstance(exc, Exception):
                raise SendError(str(exc)) from exc
            raise

    async def _run(
        self,
        before_start: Callable[[Peer], Awaitable[None]] | None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._run_callbacks)
                if before_start is not None:
                    await before_start(self)
                nursery.start_soon(self._reader)
                task_status.started()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
        self._cb_done = sys.maxsize  # release callers waiting for callbacks that will not run
        self._cb_lot.unpark_all()
        for pending in self._pending.values():
            if not pending.event.is_set():
                pending.error = DisconnectError("Remote kite has disconnected")
                pending.event.set()
        self._closed.set()

    async def _reader(self) -> None:
        receive = self._pipe.receive
        decode = dnode.decode
        table_get = self._table.get
        backlog = self._backlog
        max_running = self.limits.max_concurrent_requests
        max_backlog = self.limits.request_backlog
        while True:
            try:
                text = await receive()
            except _CLOSED_ERRORS:
                break
            except Exception:
                log.debug("pipe failed", exc_info=True)
                break
            try:
                message = decode(text)
            except dnode.DecodeError as exc:
                log.info("error processing message err: %s", exc)  # Go logs and drops it
                continue
            method = message.method
            if isinstance(method, str):
                if self._running < max_running:
                    self._running += 1
                    assert self._nursery is not None
                    self._nursery.start_soon(self._serve, message)
                else:
                    backlog.append(message)
                    while len(backlog) >= max_backlog:
                        await self._backlog_lot.park()
                continue
            fn = table_get(method)
            if fn is None:
                continue  # unknown callback id: ignored, as in Go
            if type(fn) is _PendingCall:
                self._table.remove(method)
                if not fn.event.is_set():
                    fn.message = message
                    fn.barrier = self._cb_enqueued
                    fn.event.set()
                continue
            self._cb_enqueued += 1
            await self._cb_send.send((fn, message))
        self._shutdown()

    async def _serve(self, message: dnode.Message) -> None:
        try:
            while True:
                try:
                    await self.local_kite._serve_request(self, message)
                except Exception:  # the pipeline answers errors itself: a bug, keep serving
                    log.exception("error serving %r", message.method)
                if not self._backlog:
                    break
                message = self._backlog.popleft()
                if self._backlog_lot:
                    self._backlog_lot.unpark_all()
        finally:
            self._running -= 1

    async def _run_callbacks(self) -> None:
        self._runner_task = trio.lowlevel.current_task()
        lot = self._cb_lot
        async for fn, message in self._cb_receive:
            try:
                args = dnode.unscrub(
                    message.arguments, message.callbacks, self.send_callback, strict=False
                )
                result = fn(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("callback %r failed", message.method)
            self._cb_done += 1
            if lot:
                lot.unpark_all()


@asynccontextmanager
async def open_peer(
    pipe: MessagePipe,
    local_kite: Kite,
    *,
    trusted: bool,
    auth: Auth | None = None,
    remote: KiteIdentity | None = None,
    limits: PeerLimits | None = None,
    before_start: Callable[[Peer], Awaitable[None]] | None = None,
) -> AsyncIterator[Peer]:
    """Run RPC over `pipe` for the duration of the block; yields the `Peer`.

    `before_start(peer)` is awaited before the first message is read (it may start tasks with
    `peer.start_soon`, but a call awaited there cannot be answered yet). On exit (or when the
    pipe ends) the connection's tasks are cancelled and the pipe closed. An exception raised by
    the block comes out as itself, not wrapped in an exception group (the connection's own
    tasks never raise).
    """
    peer = Peer(pipe, local_kite, trusted=trusted, auth=auth, remote=remote, limits=limits)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(peer._run, before_start)
            try:
                yield peer
            finally:
                peer._shutdown()
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise
    finally:
        await peer.aclose()
