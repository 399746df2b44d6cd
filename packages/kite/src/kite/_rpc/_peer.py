"""RPC over one message pipe: Go's `*kite.Client`, both directions of one kite connection.

How this works (docs/protocol.md §3.4, §3.5, §4.1-§4.6):

* One task at a time holds the **reading role**: it receives messages from the pipe and decodes
  each once. A string `method` is a request, at most `max_concurrent_requests` served at once.
  Beyond that, requests wait in a FIFO backlog (a finishing request takes the next one, no new
  task); while the backlog holds `request_backlog` requests the reader stops reading
  (back-pressure). The backlog keeps responses and callbacks flowing while all request slots
  are busy, so handlers waiting for the caller do not deadlock the connection.
* **Requests run inline, role-swapping when they suspend.** The reader creates the request's
  coroutine and steps it itself (`coro.send(None)`). Most requests (a plain handler whose
  response send did not block) finish in that one step: no task, no task switch. A request
  that suspends has yielded a trio trap, which binds it to the reader's task (the trap records
  the current task; cancel scopes it entered belong to this task), so it must finish here:
  the reader hands the reading role to the idle owner task or a new task and keeps
  driving the request (`_coroutines.resume`: the first trap goes to trio, then sends and throws are
  forwarded, `yield from` style), then the backlog; then this task ends (the owner task of
  `Peer._run`, e.g. `Kite.serve_pipe`'s caller, instead parks until a reader hands the role
  back to it, which then costs no new task). So an idle connection served by `Peer._run` has
  no task of its own (one reader task more once a request has suspended, until the owner
  reads again); a request that awaits costs at most one task.
  Each request runs in its own copy of the reader's contextvars context, as it would in a
  task of its own.
* A numeric `method` is a callback invocation:
  * the response callback of one of our pending calls is handed to the waiting caller right
    in the reader (no task, no user code) and freed at once, so late or duplicate responses
    are ignored and nothing leaks (Go never frees them, §3.4; peers cannot tell);
  * any other callback of ours runs on one serial **callback lane**, in arrival order as on
    Go's read loop: when the lane is idle the reader steps it inline like a request; one that
    suspends makes its task the lane's runner (the reading role moves on), which then runs
    the callbacks queued meanwhile (at most `callback_queue` before the reader waits), so the
    reading of requests and responses never stalls behind a callback;
  * an unknown id is ignored, as Go does.
* A response is delivered to its caller only after the callbacks received before it have run
  (what Go's serial read loop guarantees: a `countdown` caller sees every tick before the
  result), unless the caller *is* such a callback, which would otherwise deadlock.
* Sends are serialised FIFO; each message is scrubbed and encoded exactly once. A pipe whose
  `send` completes without suspending costs no checkpoint; the reader checkpoints once every
  `_FAIR_READS` messages so a pipe that never blocks cannot starve the other tasks.
* When the pipe ends, the connection's tasks (running handlers included, Go's cancelled
  request `Context`) are cancelled and waiting calls fail with `DisconnectError`.

Tasks live in the nursery `Peer._run` opens in its caller's task; `open_peer` (an `async with`)
runs it in one task of its own; leaving the block closes the connection.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

import trio
from trio.lowlevel import ParkingLot

import dnode

from .._duration import format_seconds
from .._errors import DisconnectError, KiteTimeoutError, SendError
from .._groups import raise_single
from ..protocol import Auth, KiteIdentity
from ._coroutines import is_awaitable, resume
from ._deadlines import CallDeadlines
from ._descriptions import MethodDescription, remote_methods
from ._envelope import LocalIdentity, RequestEncoder, parse_response
from ._limits import PeerLimits
from ._observer import CALL_LOG, CallObserver, client_log
from ._pending import PendingCall
from ._pipe import MessagePipe, PipeClosedError

__all__ = ["LocalKite", "Peer", "ServeRequest", "open_peer"]

log = logging.getLogger("kite.rpc")

_CLOSED_ERRORS = (
    PipeClosedError,
    trio.ClosedResourceError,
    trio.BrokenResourceError,
    trio.EndOfChannel,
)
#: The reader checkpoints once per this many messages (fairness with pipes that never block).
_FAIR_READS = 64
_current_task = trio.lowlevel.current_task
_reschedule = trio.lowlevel.reschedule
_wait_task_rescheduled = trio.lowlevel.wait_task_rescheduled
_ABORT_SUCCEEDED = trio.lowlevel.Abort.SUCCEEDED
copy_context = contextvars.copy_context
_scalar_json = dnode.scalar_json
_NO_CALLBACKS: dict[int, Any] = {}  # never changed


#: Serves one incoming method request on a connection: `serve(peer, message)`.
ServeRequest = Callable[["Peer", dnode.Message], Coroutine[Any, Any, None]]


class LocalKite(LocalIdentity, Protocol):
    """What a connection uses of the kite it belongs to (a `Kite`): the identity sent in the
    envelope of every call, and `serve_request`, the callee pipeline (`_callee`) the reader
    hands every incoming method request to."""

    serve_request: ServeRequest
    #: Observes every call served and made (logging, tracing, metrics); `None`: nothing.
    observer: CallObserver | None


class Peer:
    """The RPC endpoint of one kite connection (either side of it).

    Created by `open_peer` (or `Kite.accept` / `Kite.connect_pipe` / `Kite.serve_pipe`); do
    not construct directly.

    Attributes:
        local_kite: the kite this side belongs to; it serves incoming requests.
        kite: the remote kite's identity: set by the first request on accepted connections
            (username replaced by the authenticated one), given by the dialler otherwise.
        auth: credentials put in the envelope of every call we make (`None` → `null`).
        trusted: whether this side dialled the connection; requests then skip
            authentication and get an empty username (§5.7).
        limits: this connection's `PeerLimits`.
    """

    __slots__ = (
        "__weakref__",
        "_backlog",
        "_backlog_lot",
        "_cb_done",
        "_cb_enqueued",
        "_cb_lot",
        "_cb_queue",
        "_cb_room",
        "_closed",
        "_closing",
        "_deadlines",
        "_encoder",
        "_nursery",
        "_pending",
        "_pipe",
        "_runner_task",
        "_running",
        "_send_lot",
        "_sending",
        "_spare",
        "_table",
        "auth",
        "first_request_seen",
        "kite",
        "limits",
        "local_kite",
        "trusted",
    )

    def __init__(
        self,
        pipe: MessagePipe,
        local_kite: LocalKite,
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
        self._encoder: RequestEncoder | None = None  # made by the first call
        self._pending: dict[int, PendingCall] = {}
        # Queues and parking lots are created on first use: an idle connection stays small.
        self._sending = False  # a send in progress; others queue in `_send_lot` (FIFO)
        self._send_lot: ParkingLot | None = None
        self._running = 0  # requests being served (inline or in their own task)
        self._backlog: deque[dnode.Message] | None = None
        self._backlog_lot: ParkingLot | None = None  # the reader waiting for backlog room
        self._cb_queue: deque[tuple[Callable[..., Any], dnode.Message]] | None = None
        self._cb_room: ParkingLot | None = None  # the reader waiting for callback queue room
        self._cb_enqueued = 0
        self._cb_done = 0
        self._cb_lot: ParkingLot | None = None  # callers waiting for earlier callbacks
        self._runner_task: trio.lowlevel.Task | None = None  # the task on the callback lane
        self._nursery: trio.Nursery | None = None
        self._deadlines: CallDeadlines | None = None  # made by the first call with a timeout
        self._spare: trio.lowlevel.Task | None = None  # the owner task, idle, parked to read
        self._closing = False
        self._closed: trio.Event | None = None  # created by the first `wait_closed`

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

    @property
    def remote_address(self) -> tuple[str, int] | None:
        """The other end's `(host, port)` when the transport knows it."""
        address = getattr(self._pipe, "remote_address", None)
        return address if isinstance(address, tuple) else None

    @property
    def transport(self) -> str:
        """The name of the transport carrying this connection (`memory` when unnamed)."""
        name = getattr(self._pipe, "transport", None)
        return name if isinstance(name, str) else "memory"

    async def wait_closed(self) -> None:
        """Wait until the connection has ended."""
        if self._closing:
            await trio.lowlevel.checkpoint()
            return
        if self._closed is None:
            self._closed = trio.Event()
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

    async def methods(self, *, timeout: float | None = None) -> list[MethodDescription]:  # noqa: ASYNC109
        """The remote kite's methods that this side may call (its `kite.methods`).

        Raises:
            MethodsNotDescribedError: the remote kite does not describe its methods (Go).
        """
        return await remote_methods(self.tell, timeout)

    async def call(
        self,
        method: str,
        args: list[Any] | None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
        free_callbacks: bool = False,
        trace_context: Mapping[str, str] | None = None,
    ) -> Any:
        """Like `tell`, with the argument list given as is (`None` → `"withArgs":null`).

        A non-empty `trace_context` (W3C `traceparent`/`tracestate`) goes into the envelope's
        `traceContext` field, which Go kites ignore. The kite's observer, when it has one,
        makes the call (`None` here) and passes it; an empty mapping bypasses the observer.
        """
        if self._closing:
            raise SendError("can't send, client is closed")
        if trace_context is None:
            observer = self.local_kite.observer
            if observer is None and client_log.isEnabledFor(logging.DEBUG):
                observer = CALL_LOG
            if observer is not None:
                return await observer.call(self, method, args, timeout, free_callbacks)
        pending = PendingCall()
        table = self._table
        encoder = self._encoder
        if encoder is None:
            encoder = self._encoder = RequestEncoder()
        try:
            text, cid, callbacks = encoder.encode(
                self.local_kite, self.auth, method, pending, args, table, trace_context
            )
        except dnode.DnodeError as exc:
            raise SendError(str(exc)) from exc
        self._pending[cid] = pending
        try:
            if self._sending:
                await self._send_text(text, callbacks)
            else:  # `_send_text` uncontended, inlined on the hot path
                self._sending = True
                try:
                    await self._pipe.send(text)
                except BaseException as exc:
                    self._send_failed(exc, callbacks)
                    raise
                finally:
                    if self._send_lot:
                        self._send_lot.unpark()  # hand the slot over (`_sending` stays true)
                    else:
                        self._sending = False
            if timeout is None:
                if not pending.done:  # `pending.wait()`, inlined on the hot path
                    pending.task = _current_task()
                    await _wait_task_rescheduled(pending._abort)
            elif self._nursery is not None:
                # Watched by the connection's deadline task: no cancel scope per call.
                deadlines = self._deadlines
                if deadlines is None:
                    deadlines = self._deadlines = CallDeadlines(self._nursery)
                deadlines.arm(pending, timeout)
                try:
                    if not pending.done:
                        pending.task = _current_task()
                        await _wait_task_rescheduled(pending._abort)
                finally:
                    deadlines.disarm(pending, timeout)
            else:
                with trio.move_on_after(timeout):
                    await pending.wait()
                pending.timed_out = not pending.done
            if pending.timed_out:
                raise KiteTimeoutError(
                    f'No response to "{method}" method in {format_seconds(timeout or 0)}'
                )
        finally:
            del self._pending[cid]
            if free_callbacks:
                for sent in callbacks:
                    table.remove(sent)
            else:
                table.remove(cid)  # already gone if the reader delivered an answer
        if pending.error is not None:
            raise pending.error
        if pending.barrier > self._cb_done:
            await self._wait_callbacks(pending.barrier)
        message = pending.message
        assert message is not None
        arguments = message.arguments
        if message.callbacks:  # functions in the result (rare): proxies at their paths
            dnode.unscrub(arguments, message.callbacks, self.send_callback, strict=False)
        return parse_response(arguments)

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

    async def send_response(self, callback_id: int, result: Any) -> None:
        """Answer a request: `send_callback(callback_id, [{"error": None, "result": result}])`.

        A scalar result (`dnode.scalar_json`) is written straight into the message text,
        the same text scrub and encode would make, without either.

        Raises:
            SendError: as `send_callback`.
        """
        piece = _scalar_json(result)
        if piece is None:
            await self.send_callback(callback_id, [{"error": None, "result": result}])
            return
        if self._closing:
            raise SendError("can't send, client is closed")
        await self._send_text(
            f'{{"method":{callback_id},"arguments":[{{"error":null,"result":{piece}}}],'
            '"callbacks":{}}',
            _NO_CALLBACKS,
        )

    def start_soon(self, async_fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run a background task for as long as this connection lives (cancelled with it)."""
        if self._nursery is None or self._closing:
            raise SendError("can't send, client is closed")
        self._nursery.start_soon(async_fn, *args)

    async def _run(
        self,
        before_start: Callable[[Peer], Awaitable[None]] | None = None,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve the connection in the calling task until it ends, then return.

        Opens the connection's nursery, awaits `before_start(peer)` (tasks may be started
        with `start_soon` there), reports `task_status.started()`, then reads the pipe in this
        task: while the connection is idle it has no task but this one. Returns once the pipe
        has ended (or `aclose` was called) and every task of the connection has finished;
        cancelling the caller ends the connection. It does not close the pipe: see `aclose`.
        """
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                if before_start is not None:
                    await before_start(self)
                task_status.started()
                while await self._read():  # the role moved on and our request is done:
                    await self._wait_for_reading_role()  # be the next reader, not a new task
        finally:
            self._shutdown()

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
        if _current_task() is self._runner_task:
            return  # a callback waiting for a response: waiting for itself would deadlock
        while self._cb_done < barrier:
            if self._cb_lot is None:
                self._cb_lot = ParkingLot()
            await self._cb_lot.park()

    async def _send_message(self, message: dnode.Message, callbacks: dict[int, Any]) -> None:
        try:
            text = dnode.encode(message)
        except dnode.DnodeError as exc:
            for cid in callbacks:
                self._table.remove(cid)
            raise SendError(str(exc)) from exc
        await self._send_text(text, callbacks)

    async def _send_text(self, text: str, callbacks: dict[int, Any]) -> None:
        """Send an encoded message (FIFO); on failure forget its `callbacks` (as Go does)."""
        try:
            if self._sending:
                if self._send_lot is None:
                    self._send_lot = ParkingLot()
                await self._send_lot.park()  # FIFO; woken as the owner of the send slot
            else:
                self._sending = True  # the common, uncontended case: no extra checkpoint
            try:
                await self._pipe.send(text)
            finally:
                if self._send_lot:
                    self._send_lot.unpark()  # hand the slot over (`_sending` stays true)
                else:
                    self._sending = False
        except BaseException as exc:
            self._send_failed(exc, callbacks)
            raise

    def _send_failed(self, exc: BaseException, callbacks: dict[int, Any]) -> None:
        """Sending a message failed: free its callbacks (Go does) and raise `SendError`.

        Returns (for the caller to re-raise `exc`) when `exc` is a `SendError` already or not
        an `Exception` (a cancellation).
        """
        for cid in callbacks:
            self._table.remove(cid)
        if isinstance(exc, SendError):
            return
        if isinstance(exc, _CLOSED_ERRORS):
            raise SendError("can't send, client is closed") from exc
        if isinstance(exc, Exception):
            raise SendError(str(exc)) from exc

    def _shutdown(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._nursery is not None:
            self._nursery.cancel_scope.cancel()
        self._cb_done = sys.maxsize  # release callers waiting for callbacks that will not run
        if self._cb_lot:
            self._cb_lot.unpark_all()
        for pending in self._pending.values():
            if not pending.done:
                pending.error = DisconnectError("Remote kite has disconnected")
                pending.deliver()
        if self._closed is not None:
            self._closed.set()

    def _hand_over_reading(self) -> None:
        """Give the reading role away (this task keeps a suspended request).

        To the connection's owner task if it is idle (waiting in `_wait_for_reading_role`),
        which is cheaper than a new task and lets the reader that ends here exit.
        """
        spare = self._spare
        if spare is not None:
            self._spare = None
            _reschedule(spare)
        else:
            assert self._nursery is not None
            self._nursery.start_soon(self._read)

    async def _wait_for_reading_role(self) -> None:
        """Park the owner task until `_hand_over_reading` wakes it to read (or the end)."""
        self._spare = _current_task()
        await _wait_task_rescheduled(self._abort_spare)

    def _abort_spare(self, raise_cancel: Any) -> trio.lowlevel.Abort:
        self._spare = None
        return _ABORT_SUCCEEDED

    async def _read(self) -> bool:
        """Hold the reading role until the pipe ends (False) or the role moves on (True)."""
        receive = self._pipe.receive
        decode = dnode.decode
        table = self._table
        max_running = self.limits.max_concurrent_requests
        max_backlog = self.limits.request_backlog
        serve = self.local_kite.serve_request
        reads = 0
        while True:
            try:
                text = await receive()
            except _CLOSED_ERRORS:
                break
            except Exception:
                log.debug("pipe failed", exc_info=True)
                break
            reads += 1
            if reads >= _FAIR_READS:
                reads = 0
                await trio.lowlevel.checkpoint()
            try:
                message = decode(text)
            except dnode.DecodeError as exc:
                log.info("error processing message err: %s", exc)  # Go logs and drops it
                continue
            method = message.method
            if isinstance(method, str):
                if self._running >= max_running:
                    backlog = self._backlog
                    if backlog is None:
                        backlog = self._backlog = deque()
                    backlog.append(message)
                    while len(backlog) >= max_backlog:
                        if self._backlog_lot is None:
                            self._backlog_lot = ParkingLot()
                        await self._backlog_lot.park()
                    continue
                self._running += 1
                coro = serve(self, message)
                context = copy_context()  # a request's own, as if it ran in a task of its own
                try:
                    trap = context.run(coro.send, None)
                except StopIteration:
                    self._running -= 1
                    continue
                except BaseException:
                    self._running -= 1
                    raise
                # The request suspended: it is bound to this task now; reading moves on.
                self._hand_over_reading()
                try:
                    await resume(coro, trap, context)
                    await self._serve_backlog()
                finally:
                    self._running -= 1
                return True
            fn = table.get(method)
            if fn is None:
                continue  # unknown callback id: ignored, as in Go
            if type(fn) is PendingCall:
                table.remove(method)
                if not fn.done:
                    fn.message = message
                    fn.barrier = self._cb_enqueued
                    fn.deliver()
                continue
            self._cb_enqueued += 1
            if self._runner_task is not None:  # the lane is busy: queue behind it
                queue = self._cb_queue
                if queue is None:
                    queue = self._cb_queue = deque()
                queue.append((fn, message))
                while len(queue) > self.limits.callback_queue:
                    if self._cb_room is None:
                        self._cb_room = ParkingLot()
                    await self._cb_room.park()
                continue
            self._runner_task = _current_task()
            coro = self._run_callback(fn, message)
            context = copy_context()
            try:
                trap = context.run(coro.send, None)
            except StopIteration:
                self._runner_task = None
                continue
            except BaseException:
                self._runner_task = None
                raise
            self._hand_over_reading()
            try:
                await resume(coro, trap, context)
                await self._run_callback_queue()
            finally:
                self._runner_task = None
            return True
        self._shutdown()
        return False

    async def _serve_backlog(self) -> None:
        """Serve the requests queued while every slot was busy (in this task, in order)."""
        backlog = self._backlog
        serve = self.local_kite.serve_request
        while backlog:  # None (never used) or a deque
            message = backlog.popleft()
            if self._backlog_lot:
                self._backlog_lot.unpark_all()
            await serve(self, message)

    async def _run_callback(self, fn: Callable[..., Any], message: dnode.Message) -> None:
        try:
            args = dnode.unscrub(
                message.arguments, message.callbacks, self.send_callback, strict=False
            )
            result = fn(*args)
            if is_awaitable(result):
                await result
        except Exception:
            log.exception("callback %r failed", message.method)
        self._cb_done += 1
        if self._cb_lot:
            self._cb_lot.unpark_all()

    async def _run_callback_queue(self) -> None:
        """Run the callbacks queued behind the one this task ran (the lane's runner)."""
        queue = self._cb_queue
        while queue:  # None (never used) or a deque
            fn, message = queue.popleft()
            if self._cb_room:
                self._cb_room.unpark_all()
            await self._run_callback(fn, message)


@asynccontextmanager
async def open_peer(
    pipe: MessagePipe,
    local_kite: LocalKite,
    *,
    trusted: bool,
    auth: Auth | None = None,
    remote: KiteIdentity | None = None,
    limits: PeerLimits | None = None,
    before_start: Callable[[Peer], Awaitable[None]] | None = None,
) -> AsyncIterator[Peer]:
    """Run RPC over `pipe` for the duration of the block; yields the `Peer`.

    `before_start(peer)` is awaited before the first message is read (it may start tasks with
    `peer.start_soon`, but a call awaited there cannot be answered yet). The connection runs
    in one task (`Peer._run`). On exit (or when the pipe ends) the connection's tasks are
    cancelled and the pipe closed. An exception raised by the block comes out as itself, not
    wrapped in an exception group (the connection's own tasks never raise).
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
        raise_single(group)
    finally:
        await peer.aclose()
