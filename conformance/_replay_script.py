"""What a recorded Go client did, read from its traffic alone: the replay's client-role script.

How this works: `read_script` walks a scenario's dnode messages in capture order (WebSocket
messages, ``xhr_send`` bodies and XHR poll answers alike) and tells them apart by the kite
protocol, never by the recorded program's command line:

- a message from the client whose ``method`` is a name and whose first argument is a kite
  envelope (``kite``, ``authentication``, ``responseCallback``, ``withArgs``) is a **call** the
  Go client made (`RecordedCall`): its method, arguments (the paths the ``callbacks`` map names
  inside ``withArgs`` are functions), authentication and the client's own kite identity;
- a message from the server whose ``method`` is the number of a call's ``responseCallback`` is
  that call's **answer** (``error``, ``result``); the number of a function in the call's
  arguments is an **invocation** of that callback, in order;
- a message from the server whose ``method`` is a name is the server calling the client
  (`ServedCall`: ``client.hello``, Kontrol's ``kite.heartbeat``); the client's message whose
  ``method`` is that request's ``responseCallback`` number is how the Go client answered.

Callback numbers belong to the side that sent them and to their connection, so each is looked
up per connection and direction. Calls carry their **order and overlap**: `RecordedCall.after`
names the earlier calls whose answers had reached the Go client before it sent this one (empty
for calls sent while earlier ones were still outstanding), and `RecordedCall.index` is where the
message sits in the capture. A message the protocol does not explain (a raw script's input, a
message from a client that is not a kite) is left out: `ClientScript.calls` is then empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._captures import Event, Scenario

__all__ = [
    "ClientScript",
    "Invocation",
    "RecordedCall",
    "ServedCall",
    "UnreplayableError",
    "read_script",
    "script_messages",
]

Path = tuple[str | int, ...]


class UnreplayableError(Exception):
    """The scenario holds something the client role cannot drive: reported as ``skip`` with
    this message as the reason."""


@dataclass(frozen=True, slots=True)
class Invocation:
    """The server calling back a function the client sent in a call's arguments."""

    index: int  # the event carrying it
    path: Path  # where the function sat in ``withArgs``
    args: list[Any]


@dataclass(slots=True)
class RecordedCall:
    """One call the Go client made, as its message recorded it."""

    index: int  # the event carrying the message (``ws-text``/``ws-message``/``xhr_send``)
    conn: int
    link: str  # the recording proxy's name for the server (``math``, ``kontrol``)
    method: str
    with_args: Any  # ``withArgs`` as sent (functions left as their ``"[Function]"`` text)
    functions: tuple[Path, ...]  # paths of the functions inside ``withArgs``
    auth: tuple[str, str] | None  # ``authentication`` (type, key)
    kite: Mapping[str, Any]  # the Go client's identity (``kite``)
    response_id: int | None
    answer: Mapping[str, Any] | None = None  # ``{"error": ..., "result": ...}``
    answer_index: int | None = None
    invocations: list[Invocation] = field(default_factory=list)
    after: tuple[int, ...] = ()  # `index` of each call answered before this one was sent
    function_ids: dict[int, Path] = field(default_factory=dict)


@dataclass(slots=True)
class ServedCall:
    """The server calling a method on the Go client, and the client's answer."""

    index: int
    conn: int
    method: str
    response_id: int | None
    answer: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ClientScript:
    """Everything the Go client did that the replay's client role must do again."""

    calls: tuple[RecordedCall, ...]
    served: tuple[ServedCall, ...]
    transports: Mapping[int, Literal["websocket", "xhr"]]  # per connection with a session

    def answers_to(self, method: str) -> list[Mapping[str, Any]]:
        """How the Go client answered the server's calls of `method`, in order."""
        return [s.answer for s in self.served if s.method == method and s.answer is not None]


def script_messages(sc: Scenario) -> Iterator[tuple[Event, dict[str, Any]]]:
    """Every dnode message (a JSON object) of the scenario with the event carrying it, in
    capture order: complete WebSocket messages (fragments once, as the decoder's
    ``ws-message``), ``xhr_send`` bodies and XHR poll answers. Read from the text the
    replay plays (``data``, ``body``), so a scenario edited there is read as edited."""
    for ev in sc.events:
        if ev.kind == "ws-continuation" or (ev.kind == "ws-text" and ev.fin is False):
            continue
        if ev.kind in ("ws-text", "ws-message"):
            text = ev.data
        elif ev.kind in ("http-request", "http-response"):
            text = ev.body
        else:
            continue
        for value in _sockjs_messages(text or ""):
            if isinstance(value, dict):
                yield ev, value


def _sockjs_messages(text: str) -> Iterator[Any]:
    """The JSON values of the SockJS messages in a server frame (``a[...]``, one or more
    lines over XHR) or a client payload (``[...]``); nothing for anything else."""
    for line in text.split("\n"):
        body = line[1:] if line[:1] == "a" else line if line[:1] == "[" else ""
        if not body:
            continue
        try:
            messages = json.loads(body)
        except ValueError:
            continue
        if not isinstance(messages, list):
            continue
        for message in messages:
            if isinstance(message, str):
                try:
                    yield json.loads(message)
                except ValueError:
                    continue


def _functions(message: Mapping[str, Any]) -> dict[int, Path]:
    """The message's ``callbacks`` map: callback number → path from its ``arguments``."""
    table = message.get("callbacks")
    out: dict[int, Path] = {}
    if not isinstance(table, dict):
        return out
    for key, path in table.items():
        try:
            number = int(key)
        except ValueError:
            continue
        if isinstance(path, list) and all(isinstance(p, str | int) for p in path):
            out[number] = tuple(path)
    return out


def _envelope(message: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The kite envelope of a request message (None: not a kite request)."""
    args = message.get("arguments")
    if not isinstance(message.get("method"), str) or not isinstance(args, list) or not args:
        return None
    first = args[0]
    if not isinstance(first, dict) or "responseCallback" not in first or "kite" not in first:
        return None
    return first


def _response_id(functions: Mapping[int, Path]) -> int | None:
    for number, path in functions.items():
        if path == (0, "responseCallback") or path == ("0", "responseCallback"):
            return number
    return None


def _auth(envelope: Mapping[str, Any]) -> tuple[str, str] | None:
    auth = envelope.get("authentication")
    if isinstance(auth, dict) and isinstance(auth.get("type"), str):
        return str(auth["type"]), str(auth.get("key", ""))
    return None


def _transports(sc: Scenario) -> dict[int, Literal["websocket", "xhr"]]:
    out: dict[int, Literal["websocket", "xhr"]] = {}
    for ev in sc.events:
        if ev.kind == "http-request" and ev.target:
            if ev.target.endswith("/websocket"):
                out[ev.conn] = "websocket"
            elif ev.target.endswith(("/xhr", "/xhr_send")):
                out[ev.conn] = "xhr"
    return out


def read_script(sc: Scenario) -> ClientScript:
    """The Go client's calls and answers in `sc` (see the module docstring)."""
    links = {e.conn: e.link or "" for e in sc.events if e.kind == "tcp-open"}
    transports = _transports(sc)
    calls: list[RecordedCall] = []
    served: list[ServedCall] = []
    # per (conn, direction of the message that defined it): callback number → owner
    call_of: dict[tuple[str, int], RecordedCall] = {}
    function_of: dict[tuple[str, int], tuple[RecordedCall, Path]] = {}
    served_of: dict[tuple[str, int], ServedCall] = {}
    for ev, message in script_messages(sc):
        session = _session(sc, ev, transports)
        method = message.get("method")
        args = message.get("arguments")
        if isinstance(method, str):
            envelope = _envelope(message)
            if envelope is None:
                continue
            functions = _functions(message)
            response_id = _response_id(functions)
            if ev.dir == "c2s":
                in_args = {
                    n: tuple(p[2:])
                    for n, p in functions.items()
                    if len(p) >= 2 and str(p[0]) == "0" and p[1] == "withArgs"
                }
                kite = envelope.get("kite")
                call = RecordedCall(
                    index=ev.index,
                    conn=ev.conn,
                    link=links.get(ev.conn, ""),
                    method=method,
                    with_args=envelope.get("withArgs"),
                    functions=tuple(in_args.values()),
                    auth=_auth(envelope),
                    kite=kite if isinstance(kite, dict) else {},
                    response_id=response_id,
                    function_ids=in_args,
                )
                call.after = tuple(
                    c.index
                    for c in calls
                    if c.answer_index is not None and c.answer_index < ev.index
                )
                calls.append(call)
                if response_id is not None:
                    call_of[(session, response_id)] = call
                for number, path in in_args.items():
                    function_of[(session, number)] = (call, path)
            else:
                request = ServedCall(ev.index, ev.conn, method, response_id)
                served.append(request)
                if response_id is not None:
                    served_of[(session, response_id)] = request
            continue
        if not isinstance(method, int) or isinstance(method, bool):
            continue
        arguments = args if isinstance(args, list) else []
        if ev.dir == "s2c":
            answered = call_of.pop((session, method), None)
            if answered is not None:
                first = arguments[0] if arguments else None
                answered.answer = first if isinstance(first, dict) else {"result": first}
                answered.answer_index = ev.index
                continue
            owner = function_of.get((session, method))
            if owner is not None:
                owner[0].invocations.append(Invocation(ev.index, owner[1], arguments))
        else:
            served_call = served_of.pop((session, method), None)
            if served_call is not None:
                first = arguments[0] if arguments else None
                served_call.answer = first if isinstance(first, dict) else {"result": first}
    return ClientScript(tuple(calls), tuple(served), transports)


def _session(sc: Scenario, ev: Event, transports: Mapping[int, str]) -> str:
    """The SockJS session an event belongs to: its connection over WebSocket, its session id
    over XHR (polls and sends of one session come on several TCP connections)."""
    if transports.get(ev.conn) == "xhr":
        target = ev.target if ev.kind == "http-request" else _request_target(sc, ev)
        parts = (target or "").split("/")
        if len(parts) >= 4:
            return parts[-2]
    return str(ev.conn)


def _request_target(sc: Scenario, response: Event) -> str | None:
    """The target of the request an HTTP response answers (its ``request`` line)."""
    line = response.request or ""
    return line.partition(" ")[2] or None
