"""The built-in `kite.*` methods every Go kite serves (docs/protocol.md §4.9).

How this works: `register_builtins` is called by `Kite.__init__`, so (as in Go) the built-ins
capture the kite's `disable_authentication` at construction; `kite.ping` never needs auth.

* `kite.ping` → `"pong"`.
* `kite.methods` (no auth; not in Go) → the methods the caller may call (`_description`).
* `kite.systemInfo` → Go's JSON shape (disk of `/` in KiB, memory in bytes, GOOS name).
* `kite.heartbeat [seconds, callback]` → calls the callback at once (before replying), then
  every `seconds` (truncated to whole seconds). One heartbeat per kite: a new one replaces the
  previous. Divergence: the ticker runs in the caller's connection and stops when it ends
  (Go's keeps ticking into a dead connection, only logging failures).
* `kite.log [msg]` → logs `<caller name>: <msg>` at INFO on logger `kite`; `null`.
* `kite.print [msg]` → writes to stdout; the number of bytes written.
* Only with `enable_terminal_builtins=True` (unsafe: a remote caller reads this process's
  terminal): `kite.prompt [prompt]` (one whitespace-delimited token from stdin) and
  `kite.getPass [prompt]` (a line without echo). `kite.notify` (macOS `osascript`) and
  `kite.tunnel` are not provided.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
from typing import Any, Protocol

import trio

import dnode

from .._errors import GenericError, SendError
from ._descriptions import METHODS_METHOD
from ._introspection import Described, MethodsBuiltin
from ._methods import Handler, Method
from ._request import Request

__all__ = ["register_builtins", "system_info"]

log = logging.getLogger("kite")

_GOOS = {"linux": "linux", "darwin": "darwin", "win32": "windows", "cygwin": "windows"}


def _ping(request: Request) -> str:
    """Answer "pong"."""
    return "pong"


def _meminfo() -> tuple[int, int]:
    """(used, total) memory in bytes, Go's Linux formula; zeros where unknown."""
    fields: dict[str, int] = {}
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                name, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    fields[name] = int(parts[0]) * 1024
    except OSError:
        return 0, 0
    total = fields.get("MemTotal", 0)
    used = total - fields.get("MemFree", 0) - fields.get("Buffers", 0) - fields.get("Cached", 0)
    return used, total


def system_info() -> dict[str, Any]:
    """The `kite.systemInfo` result, keys in Go's order."""
    try:
        st = os.statvfs("/")
        disk_total = st.f_blocks * st.f_frsize // 1024
        disk_used = disk_total - st.f_bfree * st.f_frsize // 1024
    except (OSError, AttributeError):
        disk_total = disk_used = 0
    mem_used, mem_total = _meminfo()
    return {
        "state": "RUNNING",
        "diskUsage": disk_used,
        "diskTotal": disk_total,
        "memoryUsage": mem_used,
        "totalMemoryLimit": mem_total,
        "homeDir": os.path.expanduser("~"),
        "uname": _GOOS.get(sys.platform, sys.platform),
    }


def _system_info(request: Request) -> dict[str, Any]:
    """The host's state, memory and disk, in Go kite's shape."""
    return system_info()


def _log(request: Request) -> None:
    """Log [message] on this kite's logger, as "<caller>: <message>"."""
    msg = request.args.one().string()
    log.info("%s: %s", request.client.kite.name, msg)


def _print(request: Request) -> int:
    """Write [message] to this kite's standard output; the number of bytes written."""
    msg = request.args.one().string()
    sys.stdout.write(msg)
    sys.stdout.flush()
    return len(msg.encode("utf-8"))


async def _beat(scope: trio.CancelScope, interval: int, callback: Any) -> None:
    with scope:
        deadline = trio.current_time()
        while True:
            deadline += interval
            await trio.sleep_until(deadline)
            try:
                await callback()
            except SendError as exc:
                log.info("heartbeat failed: %s", exc)


class _Heartbeat:
    """[seconds, callback]: call the callback now, then every `seconds`."""

    # `kite.heartbeat`: one beat at a time per kite, a new request replaces the running one.

    def __init__(self) -> None:
        self._scope: trio.CancelScope | None = None

    async def __call__(self, request: Request) -> None:
        if request.args.is_nil:
            raise GenericError("empty heartbeat request")
        try:
            items = request.args.slice(2)
            interval = int(items[0].float())
            callback = items[1].function()
        except dnode.ArgumentError as exc:
            raise GenericError(str(exc)) from None
        if interval <= 0:
            raise GenericError("non-positive interval for NewTicker")
        if self._scope is not None:
            self._scope.cancel()
        scope = self._scope = trio.CancelScope()
        await callback()  # the first ping leaves before the reply, as in Go
        request.client.start_soon(_beat, scope, interval, callback)


async def _prompt(request: Request) -> str:
    """[prompt]: one word typed on this kite's terminal."""
    text = request.args.one().string()

    def read() -> str:
        sys.stdout.write(text)
        sys.stdout.flush()
        line = sys.stdin.readline()
        words = line.split()
        if not words:
            raise GenericError("unexpected newline" if line else "EOF")
        return words[0]

    return await trio.to_thread.run_sync(read)


async def _get_pass(request: Request) -> str:
    """[prompt]: a line typed on this kite's terminal without echo."""
    text = request.args.one().string()
    return await trio.to_thread.run_sync(getpass.getpass, text)


class MethodRegistry(Described, Protocol):
    """Where the built-ins are registered: a `Kite` (`kite.methods` describes it)."""

    def handle_func(self, name: str, fn: Handler, *, auth: bool | None = None) -> Method: ...


def register_builtins(kite: MethodRegistry, *, terminal: bool = False) -> None:
    """Register the built-in methods on `kite` (called by `Kite.__init__`)."""
    kite.handle_func("kite.ping", _ping, auth=False)
    kite.handle_func(METHODS_METHOD, MethodsBuiltin(kite), auth=False)
    kite.handle_func("kite.systemInfo", _system_info)
    kite.handle_func("kite.heartbeat", _Heartbeat())
    kite.handle_func("kite.log", _log)
    kite.handle_func("kite.print", _print)
    if terminal:
        kite.handle_func("kite.prompt", _prompt)
        kite.handle_func("kite.getPass", _get_pass)
