"""`kite.connect(url)`: call a kite from plain Python (scripts, a REPL, Jupyter), no trio in sight.

How this works: `connect` starts a background thread running `trio.run`. Its main task opens
the connection (`Kite.dial`, or for a Kontrol query a `KontrolClient`, `get_kites` and the
first `KiteClient` found) and then waits for `close()`; everything the connection runs lives
under that task's `async with` blocks, so closing ends it all and the thread returns.
`BlockingClient.tell` hands each call to that loop with `trio.from_thread.run` and blocks the
calling thread until the answer: any number of threads may call at once (each call is a task
of its own in the loop), and a thread whose own asyncio loop is running (Jupyter) only blocks
that loop for the call.

Functions among the arguments (also inside lists, tuples and dicts) are callbacks: the remote
kite calls them in a worker thread of the client's loop (`trio.to_thread.run_sync`), one at a
time in arrival order, before the answer to a call that came after them is returned. A
callback may block and may call `tell` on the same client. Functions it receives (the remote's
callbacks) and functions in results are blocking callables too.

Errors are those of the async API (`ConnectError`, `KiteTimeoutError`, `MethodNotFoundError`,
...), raised in the calling thread as one exception, never an exception group.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from types import TracebackType
from typing import Any, Literal, Protocol, Self

import trio

from ._config import Config, Transport
from ._errors import DisconnectError
from ._groups import sole_exception
from ._kite import Kite
from ._urls import check_kite_url
from .protocol import Auth, KiteIdentity, KontrolQuery

__all__ = ["BlockingClient", "connect"]

#: The transports `connect` accepts, as `Kite.dial` names them.
TransportName = Literal["auto", "websocket", "xhr"]
_CONFIG_TRANSPORTS = {
    "auto": Transport.AUTO,
    "websocket": Transport.WEBSOCKET,
    "xhr": Transport.XHR_POLLING,
}


class _Remote(Protocol):
    async def tell(self, method: str, *args: Any, timeout: float | None = None) -> Any: ...  # noqa: ASYNC109


class _CallbackThread(threading.local):
    """Set in the worker thread while it runs a callback of `client`."""

    client: BlockingClient | None = None


_callback_thread = _CallbackThread()


def connect(
    target: str | KontrolQuery | KiteIdentity | Mapping[str, str],
    *,
    transport: TransportName = "auto",
    auth: Auth | None = None,
    timeout: float | None = None,
    config: Config | None = None,
) -> BlockingClient:
    """Connect to a kite and return a blocking client (close it, or use it as `with`).

    ```python
    with kite.connect("http://127.0.0.1:3636/kite") as remote:
        print(remote.tell("square", 4))  # 16
    ```

    Args:
        target: the kite's URL (`http://host:port/kite`; `https` for TLS), or a Kontrol query
            (a mapping such as `{"username": "alice", "name": "math"}`, a `KontrolQuery` or
            a `KiteIdentity`): Kontrol (`config.kontrol_url`) is asked for the kite and the
            first one found is dialled with the token Kontrol gave for it.
        transport: `"auto"` (WebSocket, XHR polling when the handshake is refused),
            `"websocket"` or `"xhr"`.
        auth: credentials for a URL (default: a `kiteKey` with the config's kite key when it
            has one, else none). Not used with a query: Kontrol's token is.
        timeout: seconds to connect (and, with a query, for each Kontrol call); default
            the config's (15 s).
        config: the local kite's config (default `Config.from_env(kite_key="optional")`:
            `$KITE_HOME/kite.key` when there is one, and the `KITE_*` variables).

    Raises:
        InvalidURLError: `target` is a string but not a kite URL.
        RuntimeError: called from trio code (use `async with Kite(...).dial(url)` there).
        ConnectError, HandshakeError, TransportTimeoutError, KiteError, ...: as the async API.
    """
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        pass
    else:
        raise RuntimeError(
            "kite.connect() blocks its thread and this thread runs trio: use "
            "`async with Kite(...).dial(url) as remote:` here"
        )
    if transport not in _CONFIG_TRANSPORTS:
        raise ValueError(f"transport must be 'auto', 'websocket' or 'xhr', not {transport!r}")
    if config is None:
        config = Config.from_env(kite_key="optional")
    if isinstance(target, str):
        check_kite_url(target)
        opener = _dial_url(target, config, transport, auth, timeout)
        name = target
    else:
        if auth is not None:
            raise ValueError("auth applies to a URL; with a Kontrol query Kontrol's token is used")
        query = KontrolQuery.of(target)
        changes: dict[str, object] = {"transport": _CONFIG_TRANSPORTS[transport]}
        if timeout is not None:
            changes.update(timeout=timeout, handshake_timeout=timeout)
        opener = _find_and_dial(query, config.replace(**changes))
        name = str(KiteIdentity(**query.to_json()))
    client = BlockingClient(opener, name)
    client._start()
    return client


def _local_kite(config: Config) -> Kite:
    return Kite("blocking-client", "1.0.0", config)


def _dial_url(
    url: str,
    config: Config,
    transport: TransportName,
    auth: Auth | None,
    timeout: float | None,
) -> Callable[[], AbstractAsyncContextManager[_Remote]]:
    def opener() -> AbstractAsyncContextManager[_Remote]:
        local = _local_kite(config)
        dial_auth: Auth | Literal["default"] = "default" if auth is None else auth
        return local.dial(url, transport=transport, timeout=timeout, auth=dial_auth)

    return opener


def _find_and_dial(
    query: KontrolQuery, config: Config
) -> Callable[[], AbstractAsyncContextManager[_Remote]]:
    @asynccontextmanager
    async def opener() -> AsyncIterator[_Remote]:
        local = _local_kite(config)
        async with local.kontrol_client():
            found = await local.get_kites(query)
            async with found[0] as remote:
                yield remote

    return opener


class BlockingClient:
    """A connection to one kite, called from ordinary threads (see `connect`).

    Attributes:
        target: the URL or query it was opened with.
    """

    def __init__(self, opener: Callable[[], AbstractAsyncContextManager[_Remote]], target: str):
        self.target = target
        self._opener = opener
        self._thread = threading.Thread(
            target=self._thread_main, name=f"kite.connect {target}", daemon=True
        )
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._remote: _Remote | None = None
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<kite.BlockingClient {self.target!r} {state}>"

    # ----------------------------------------------------------------------------------------
    # lifetime

    def _start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._closed = True
            self._thread.join()
            error, self._error = self._error, None
            raise sole_exception(error)

    def _thread_main(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that connects
            if not self._ready.is_set():
                self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._stop = trio.Event()
        async with self._opener() as remote:
            self._remote = remote
            self._ready.set()
            await self._stop.wait()

    def close(self) -> None:
        """Close the connection and stop its thread (waits for it; calls still waiting fail
        with `DisconnectError`). Closing again does nothing."""
        if self._closed:
            return
        if _callback_thread.client is self:
            raise RuntimeError("a callback cannot close the client that runs it")
        self._closed = True
        assert self._token is not None
        assert self._stop is not None
        with suppress(trio.RunFinishedError):
            trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------
    # calls

    def tell(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        """Call `method` with `args` and return its result (blocks this thread).

        Args:
            timeout: seconds to wait for the answer (None: as long as it takes).

        Raises:
            KiteError: the remote's error (`MethodNotFoundError`, `GenericError`, ...),
                `KiteTimeoutError`, `DisconnectError`, `SendError`.
            RuntimeError: the client is closed.
        """
        remote = self._remote
        if self._closed or remote is None:
            raise RuntimeError(f"{self!r}: the client is closed")
        sent = [self._to_async(arg) for arg in args]
        return self._to_blocking(self._run(remote.tell, method, *sent, timeout=timeout))

    def _run(self, afn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run `await afn(*args, **kwargs)` in the client's loop; block until it is done.

        From a callback's worker thread the call runs in the task waiting for that callback
        (trio's default for its own threads), so an answer that must wait for the callback to
        finish is not waited for; from any other thread it is a new task. Ctrl-C while
        waiting cancels the call.
        """
        scope = trio.CancelScope()

        async def call() -> Any:
            with scope:
                return await afn(*args, **kwargs)
            raise DisconnectError("the call was cancelled")

        in_callback = _callback_thread.client is self
        try:
            if in_callback:
                return trio.from_thread.run(call)
            return trio.from_thread.run(call, trio_token=self._token)
        except KeyboardInterrupt:
            with suppress(trio.RunFinishedError, RuntimeError):
                trio.from_thread.run_sync(scope.cancel, trio_token=self._token)
            raise
        except trio.RunFinishedError:
            raise RuntimeError(f"{self!r}: the client is closed") from None
        except trio.Cancelled:  # the loop is ending (the client closing) under the call
            raise DisconnectError("the client was closed while the call was waiting") from None

    # ----------------------------------------------------------------------------------------
    # callbacks

    def _to_async(self, value: Any) -> Any:
        """Functions in `value` wrapped to run in a worker thread (see the module doc)."""
        if isinstance(value, _BlockingFunction):
            return value.remote
        if callable(value):
            return _ThreadedCallback(self, value)
        if isinstance(value, list | tuple):
            return [self._to_async(item) for item in value]
        if isinstance(value, Mapping):
            return {key: self._to_async(item) for key, item in value.items()}
        return value

    def _to_blocking(self, value: Any) -> Any:
        """Remote functions in a received `value` made blocking callables."""
        if callable(value):
            return _BlockingFunction(self, value)
        if isinstance(value, list):
            return [self._to_blocking(item) for item in value]
        if isinstance(value, dict):
            return {key: self._to_blocking(item) for key, item in value.items()}
        return value


class _ThreadedCallback:
    """A user's function sent as a callback: runs in a worker thread of the client's loop."""

    __slots__ = ("client", "fn")

    def __init__(self, client: BlockingClient, fn: Callable[..., Any]) -> None:
        self.client = client
        self.fn = fn

    async def __call__(self, *args: Any) -> None:
        received = [self.client._to_blocking(arg) for arg in args]
        await trio.to_thread.run_sync(self._run, received)

    def _run(self, args: list[Any]) -> None:
        _callback_thread.client = self.client
        try:
            self.fn(*args)
        finally:
            _callback_thread.client = None


class _BlockingFunction:
    """A remote kite's function (a callback it sent, or one in a result), called from any
    thread: `fn(*args)` sends the call and returns when it is sent."""

    __slots__ = ("client", "remote")

    def __init__(self, client: BlockingClient, remote: Callable[..., Any]) -> None:
        self.client = client
        self.remote = remote

    def __call__(self, *args: Any) -> None:
        sent = [self.client._to_async(arg) for arg in args]
        self.client._run(self.remote, *sent)

    def __repr__(self) -> str:
        return f"<blocking {self.remote!r}>"
