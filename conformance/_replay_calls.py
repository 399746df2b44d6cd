"""Our client making the recorded Go client's calls, in its order and overlap, and the check of
what came back.

How this works: `drive_calls` takes the `RecordedCall` values `_replay_script.read_script` read
from the traffic and makes each with our `kite.Peer`: the same method, ``withArgs`` (``null``
stays ``null``) with a Python function at every path where Go sent one, and the same
authentication. A call is sent only once the fake server playing Go's server (`Cursor`) waits
for exactly that message and once every call whose answer reached the Go client before it sent
this one has returned here too: sequential repeats stay sequential, calls Go made while others
were outstanding are made while ours are outstanding, and Go's server answers them in its
recorded order, out of order included. `compare_outcomes` then holds each call's outcome (the
result, or the error's ``type``, ``message`` and ``code``) and the arguments each callback got
against the recorded answer and invocations, so error replies are compared like results.
`served_handlers` gives our client kite the methods the server called on the Go client
(``client.hello``), answering as the Go client did; the ``kite.*`` built-ins are our runtime's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import trio

from kite import Auth, Kite, KiteError, Request

from ._normalise import first_difference, normalise_json
from ._replay_script import ClientScript, Path, RecordedCall

__all__ = [
    "CallOutcome",
    "Cursor",
    "compare_outcomes",
    "drive_calls",
    "error_json",
    "serve_recorded_answers",
]


class Cursor:
    """Where a fake server is in the capture: the index of the client event it waits for next
    (``math.inf`` once it has played everything)."""

    __slots__ = ("_changed", "at")

    def __init__(self) -> None:
        self.at: float = -1
        self._changed = trio.Event()

    def move(self, index: float) -> None:
        """The fake server now waits for the client event at `index`."""
        self.at = index
        self._changed.set()
        self._changed = trio.Event()

    async def reach(self, index: float) -> None:
        """Wait until the fake server waits for the event at `index` or a later one."""
        while self.at < index:
            await self._changed.wait()


@dataclass(slots=True)
class CallOutcome:
    """What one of our calls returned, and what its callbacks were called with."""

    done: bool = False
    result: Any = None
    error: dict[str, str] | None = None
    invocations: list[tuple[Path, list[Any]]] = field(default_factory=list)


def error_json(exc: KiteError) -> dict[str, str]:
    """The parts of an error a caller sees: ``type``, ``message``, ``code``."""
    return {"type": exc.type, "message": exc.message, "code": exc.code}


def _with_functions(value: Any, functions: set[Path], path: Path, seen: CallOutcome) -> Any:
    if path in functions:

        def callback(*args: Any) -> None:
            seen.invocations.append((path, list(args)))

        return callback
    if isinstance(value, list):
        return [_with_functions(v, functions, (*path, i), seen) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _with_functions(v, functions, (*path, k), seen) for k, v in value.items()}
    return value


def _normal_path(path: Path) -> Path:
    return tuple(int(p) if isinstance(p, str) and p.isdigit() else p for p in path)


def call_args(call: RecordedCall, seen: CallOutcome) -> list[Any] | None:
    """The call's ``withArgs`` with our functions where Go sent its own."""
    if call.with_args is None:
        return None
    functions = {_normal_path(p) for p in call.functions}
    args = call.with_args if isinstance(call.with_args, list) else [call.with_args]
    return [_with_functions(a, functions, (i,), seen) for i, a in enumerate(args)]


async def drive_calls(
    peer: Any,
    calls: Sequence[RecordedCall],
    cursor: Cursor,
    *,
    call_timeout: float | None,
    authenticate: bool = True,
) -> list[CallOutcome]:
    """Make `calls` on `peer` (a dialled `kite.Client`, or a `kite.KiteClient`) as the Go
    client did (see the module docstring); returns once every call Go had an answer to has
    returned here (calls Go never had an answer to are abandoned then, as Go's were; calls
    Go sent in one SockJS payload are sent together).

    Args:
        call_timeout: each call's timeout, seconds (None: none).
        authenticate: send each call's recorded authentication (a `KiteClient` sends the
            token Kontrol gave it instead).
    """
    outcomes = [CallOutcome() for _ in calls]
    finished = [trio.Event() for _ in calls]

    async def make(k: int) -> None:
        call, seen = calls[k], outcomes[k]
        args = call_args(call, seen)
        if authenticate:  # on the session's RPC peer (a `kite.Client` holds one)
            rpc = getattr(peer, "peer", peer)
            rpc.auth = Auth(*call.auth) if call.auth is not None else None
        try:
            seen.result = await peer.call(call.method, args, timeout=call_timeout)
        except KiteError as exc:
            seen.error = error_json(exc)
        seen.done = True
        finished[k].set()

    position = {call.index: k for k, call in enumerate(calls)}
    async with trio.open_nursery() as nursery:
        for k, call in enumerate(calls):
            for index in call.after:  # answered before Go sent this call: ours too
                if index in position:
                    await finished[position[index]].wait()
            await cursor.reach(call.index)
            nursery.start_soon(make, k)
            if k + 1 < len(calls) and calls[k + 1].index == call.index:
                continue  # sent together with the next one (one SockJS payload)
            await cursor.reach(call.index + 1)  # our message has been read
        for k, call in enumerate(calls):
            if call.answer is not None:
                await finished[k].wait()
        nursery.cancel_scope.cancel()  # calls Go never had an answer to: abandoned, as Go's
    return outcomes


def _want_error(answer: Mapping[str, Any]) -> dict[str, str] | None:
    error = answer.get("error")
    if not isinstance(error, dict):
        return None
    return {k: str(error[k]) for k in ("type", "message", "code") if error.get(k) is not None}


def compare_outcomes(calls: Sequence[RecordedCall], outcomes: Sequence[CallOutcome]) -> str | None:
    """Each of our calls against the recorded one: the outcome, then the callbacks' arguments;
    the first difference, or None."""
    for k, (call, ours) in enumerate(zip(calls, outcomes, strict=True)):
        where = f"call {k + 1} ({call.method}, event {call.index})"
        if call.answer is not None:
            if not ours.done:
                return f"{where}: no outcome, Go's client got an answer"
            want_error = _want_error(call.answer)
            if want_error is not None:
                got = {key: (ours.error or {}).get(key, "") for key in want_error}
                if ours.error is None or got != want_error:
                    what = f"error {ours.error}" if ours.error else f"result {ours.result!r:.80}"
                    return f"{where}: want error {want_error}, got {what}"
            elif ours.error is not None:
                want = call.answer.get("result")
                return f"{where}: want result {want!r:.80}, got error {ours.error}"
            else:
                diff = first_difference(
                    normalise_json(call.answer.get("result")), normalise_json(ours.result)
                )
                if diff is not None:
                    return f"{where}: result: {diff}"
        wanted = [(_normal_path(i.path), i.args) for i in call.invocations]
        seen = [(_normal_path(p), a) for p, a in ours.invocations]
        if [p for p, _ in wanted] != [p for p, _ in seen]:
            return (
                f"{where}: callbacks called at {[list(p) for p, _ in seen]}, "
                f"Go's at {[list(p) for p, _ in wanted]}"
            )
        for n, ((path, w), (_, g)) in enumerate(zip(wanted, seen, strict=True)):
            diff = first_difference(normalise_json(w), normalise_json(g))
            if diff is not None:
                return f"{where}: callback {list(path)} call {n + 1}: {diff}"
    return None


def serve_recorded_answers(client: Kite, script: ClientScript) -> None:
    """Handle on `client` each method the server called on the Go client (but Go's built-in
    ``kite.*`` ones, which our runtime serves itself), answering as Go did: its recorded
    result, or its recorded error; a method Go did not know (``methodNotFound``) stays
    unknown here too."""
    answers: dict[str, list[Mapping[str, Any]]] = {}
    for served in script.served:
        if served.method.startswith("kite.") or served.answer is None:
            continue
        answers.setdefault(served.method, []).append(served.answer)
    for method, recorded in answers.items():
        error = recorded[0].get("error")
        if isinstance(error, dict) and error.get("type") == "methodNotFound":
            continue
        client.handle_func(method, _answering(recorded))


def _answering(recorded: list[Mapping[str, Any]]) -> Callable[[Request], Any]:
    """A handler giving the recorded answers in turn (the last one again when asked more)."""
    turn = [0]

    def handler(r: Request) -> Any:
        answer = recorded[min(turn[0], len(recorded) - 1)]
        turn[0] += 1
        error = answer.get("error")
        if isinstance(error, dict):
            raise KiteError(
                str(error.get("message", "")),
                type=str(error.get("type", "genericError")),
                code=str(error.get("code") or ""),
            )
        return answer.get("result")

    return handler
