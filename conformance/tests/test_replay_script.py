"""The client role is driven by the recorded traffic: scenarios built from real ones by editing.

Each synthetic scenario keeps a real capture's handshake and changes what the Go client and
server said afterwards, in Go's exact wire form (the envelope and key order of the recorded
messages): several calls one after another, several outstanding at once answered out of order,
error replies, a ``getKites`` answer with no kites, a command line without ``-method``, and
scenarios broken on purpose, which must end as ``fail`` lines, never as a crash of the run.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil
from typing import Any

import pytest

from conformance.__main__ import main
from conformance._captures import CAPTURES_DIR, Event, Scenario, load_scenario
from conformance._replay import replay_client_role
from conformance._replay_calls import CallOutcome, compare_outcomes
from conformance._replay_script import Path, read_script


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _request(method: str, args: list[Any], number: int) -> dict[str, Any]:
    """A Go client's call as `square`'s recorded one, with another method, arguments and
    response callback number."""
    sc = load_scenario("square")
    recorded = next(e for e in sc.events if e.dir == "c2s" and e.kind == "ws-text")
    message: dict[str, Any] = json.loads(json.loads(recorded.data or "")[0])
    message["method"] = method
    message["arguments"][0]["withArgs"] = args
    message["callbacks"] = {str(number): [0, "responseCallback"]}
    return message


def _answer(number: int, result: Any = None, error: dict[str, str] | None = None) -> dict[str, Any]:
    return {"method": number, "arguments": [{"error": error, "result": result}], "callbacks": {}}


def _over_websocket(messages: list[tuple[str, dict[str, Any]]], stdout: str = "") -> Scenario:
    """`square`'s connection (handshake, ``o``, the client's close) carrying `messages`
    (direction, dnode message) instead of its call; `stdout`: what goclient printed."""
    sc = load_scenario("square")
    head = [e for e in sc.events if e.index <= 3]
    tail = [e for e in sc.events if e.index > 5]
    body = []
    for direction, message in messages:
        text = _dumps([_dumps(message)])
        body.append(
            Event(
                0,
                "ws-text",
                0.0,
                0,
                direction,  # type: ignore[arg-type]
                fin=True,
                rsv=0,
                masked=direction == "c2s",
                data=text if direction == "c2s" else "a" + text,
            )
        )
    events = tuple(dataclasses.replace(e, index=i) for i, e in enumerate([*head, *body, *tail]))
    outputs = [{"label": "goclient", "rc": 0, "stdout": stdout}]
    meta = {**sc.meta, "steps": [], "client_outputs": outputs}
    return Scenario(name="synthetic", meta=meta, events=events)


async def test_a_command_line_without_method_replays() -> None:
    """goclient's default method is ``kite.ping``: the recorded message says so, the flags
    need not (with no command line at all, too)."""
    sc = load_scenario("ping")
    steps = [
        {**s, "cmd": str(s.get("cmd", "")).replace(" -method kite.ping", "")} for s in sc.steps
    ]
    assert not any("-method" in str(s.get("cmd")) for s in steps)
    for meta in ({**sc.meta, "steps": steps}, {**sc.meta, "steps": []}):
        outcome = await replay_client_role(dataclasses.replace(sc, meta=meta))
        assert (outcome.status, outcome.detail) == ("pass", "")


async def test_sequential_calls_on_one_connection() -> None:
    """Three calls, each sent after the previous answer, as Go's client did."""
    sc = _over_websocket(
        [
            ("c2s", _request("square", [4], 0)),
            ("s2c", _answer(0, 16)),
            ("c2s", _request("square", [5], 1)),
            ("s2c", _answer(1, 25)),
            ("c2s", _request("kite.ping", [], 2)),
            ("s2c", _answer(2, "pong")),
        ]
    )
    script = read_script(sc)
    assert [c.method for c in script.calls] == ["square", "square", "kite.ping"]
    assert [len(c.after) for c in script.calls] == [0, 1, 2]
    outcome = await replay_client_role(sc)
    assert (outcome.status, outcome.detail) == ("pass", "")


async def test_overlapping_calls_answered_out_of_order() -> None:
    """Three calls sent before any answer, answered 3, 1, 2: ours overlap the same way, and
    each gets its own answer."""
    sc = _over_websocket(
        [
            ("c2s", _request("square", [4], 0)),
            ("c2s", _request("square", [5], 1)),
            ("c2s", _request("add", [2, 3], 2)),
            ("s2c", _answer(2, 5)),
            ("s2c", _answer(0, 16)),
            ("s2c", _answer(1, 25)),
        ]
    )
    assert [c.after for c in read_script(sc).calls] == [(), (), ()]
    outcome = await replay_client_role(sc)
    assert (outcome.status, outcome.detail) == ("pass", "")


async def test_a_call_sent_after_one_answer_of_two() -> None:
    """The third call went out after the second call's answer only: ours waits for that."""
    sc = _over_websocket(
        [
            ("c2s", _request("square", [4], 0)),
            ("c2s", _request("square", [5], 1)),
            ("s2c", _answer(1, 25)),
            ("c2s", _request("square", [6], 2)),
            ("s2c", _answer(2, 36)),
            ("s2c", _answer(0, 16)),
        ]
    )
    calls = read_script(sc).calls
    assert calls[2].after == (calls[1].index,)
    outcome = await replay_client_role(sc)
    assert (outcome.status, outcome.detail) == ("pass", "")


async def test_error_replies_are_compared_like_results() -> None:
    boom = {"type": "genericError", "message": "boom", "code": "", "id": "0123456789abcdef"}
    custom = {"type": "customError", "message": "no", "code": "E_CUSTOM", "id": "fedcba9876543210"}
    sc = _over_websocket(
        [
            ("c2s", _request("boom", [], 0)),
            ("c2s", _request("failTyped", ["no"], 1)),
            ("s2c", _answer(1, error=custom)),
            ("s2c", _answer(0, error=boom)),
        ]
    )
    outcome = await replay_client_role(sc)
    assert (outcome.status, outcome.detail) == ("pass", "")
    calls = read_script(sc).calls
    mine = [
        CallOutcome(done=True, error={"type": "genericError", "message": "boom", "code": ""}),
        CallOutcome(done=True, error={"type": "customError", "message": "no", "code": "E_OTHER"}),
    ]
    assert compare_outcomes(calls, mine) == (
        f"call 2 (failTyped, event {calls[1].index}): want error "
        "{'type': 'customError', 'message': 'no', 'code': 'E_CUSTOM'}, got error "
        "{'type': 'customError', 'message': 'no', 'code': 'E_OTHER'}"
    )
    mine[1] = CallOutcome(done=True, result=None)
    assert "want error" in (compare_outcomes(calls, mine) or "")


def test_results_and_callbacks_are_compared() -> None:
    sc = load_scenario("countdown-callback")
    calls = read_script(sc).calls
    assert [(i.path, i.args) for i in calls[0].invocations] == [
        ((0, "cb"), [3]),
        ((0, "cb"), [2]),
        ((0, "cb"), [1]),
    ]
    seen: list[tuple[Path, list[Any]]] = [((0, "cb"), [3]), ((0, "cb"), [2]), ((0, "cb"), [1])]
    assert compare_outcomes(calls, [CallOutcome(True, "done", invocations=seen)]) is None
    wrong: list[tuple[Path, list[Any]]] = [((0, "cb"), [3]), ((0, "cb"), [2]), ((0, "cb"), [0])]
    assert compare_outcomes(calls, [CallOutcome(True, "done", invocations=wrong)]) == (
        f"call 1 (countdown, event {calls[0].index}): callback [0, 'cb'] call 3: [0]: want 1, got 0"
    )
    assert "result: value: want 'done', got 'dOne'" in (
        compare_outcomes(calls, [CallOutcome(True, "dOne", invocations=seen)]) or ""
    )


def _no_kites(stdout: str) -> Scenario:
    """`kontrol-getkites` with Kontrol answering no kites, so Go's client never dials one."""
    sc = load_scenario("kontrol-getkites")
    empty = "a" + _dumps([_dumps(_answer(0, {"kites": []}))])
    events: list[Event] = []
    for e in sc.events:
        if e.conn != 0:
            continue  # the math connection: never made
        if e.dir == "s2c" and e.data and '\\"kites\\":[{' in e.data:
            e = dataclasses.replace(e, data=empty, sockjs=None)
        events.append(dataclasses.replace(e, index=len(events)))
    outputs = [{"label": "goquery", "rc": 1, "stdout": stdout}]
    return dataclasses.replace(
        sc, events=tuple(events), meta={**sc.meta, "client_outputs": outputs}
    )


async def test_a_getkites_answer_with_no_kites_is_go_clients_error() -> None:
    """Go's client turns an empty answer into ``no kites availabile`` (sic); so does ours,
    and the replay compares that error like a result."""
    go_error = {"code": "", "id": "", "message": "no kites availabile", "type": "goError"}
    outcome = await replay_client_role(_no_kites(_dumps({"error": go_error}) + "\n"))
    assert (outcome.status, outcome.detail) == ("pass", "")
    other = {**go_error, "message": "something else"}
    outcome = await replay_client_role(_no_kites(_dumps({"error": other}) + "\n"))
    assert outcome.status == "fail"
    assert outcome.detail.startswith("printed: want [{'error': {'type': 'goError', 'message': ")


async def test_an_unparsable_call_is_a_fail_not_a_crash() -> None:
    """A callbacks map naming a function our client cannot place: the scenario fails with the
    first difference, and the replay goes on."""
    message = _request("countdown", [{"from": 1, "cb": "[Function]"}], 0)
    message["callbacks"]["1"] = [0, "withArgs", 7, "nowhere"]
    sc = _over_websocket([("c2s", message), ("s2c", _answer(0, "done"))])
    outcome = await replay_client_role(sc)
    assert outcome.status == "fail"
    assert "callbacks" in outcome.detail


def _copy(names: list[str], to: pathlib.Path) -> None:
    for name in names:
        for suffix in (".meta.json", ".jsonl", ".raw.jsonl"):
            shutil.copy(CAPTURES_DIR / f"{name}{suffix}", to / f"{name}{suffix}")
    shutil.copytree(CAPTURES_DIR / "keys", to / "keys")


def test_broken_scenarios_fail_and_the_run_goes_on(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unreadable files, an event kind nobody knows, a server frame that is not SockJS: each
    is its scenario's ``fail`` line; the others still pass; no traceback."""
    _copy(["square", "ping", "add", "fail"], tmp_path)
    (tmp_path / "ping.jsonl").write_text('{"t": 0, "conn": 0, "dir": "c2s", "kind"\n')
    lines = (tmp_path / "add.jsonl").read_text().splitlines()
    lines.insert(4, _dumps({"t": 0.0125, "conn": 0, "dir": "c2s", "kind": "ws-bogus"}))
    (tmp_path / "add.jsonl").write_text("\n".join(lines) + "\n")
    fail_text = (tmp_path / "fail.jsonl").read_text()
    (tmp_path / "fail.jsonl").write_text(fail_text.replace('"data":"a[', '"data":"x['))
    assert main(["replay", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    out = captured.out.splitlines()
    assert any(line.startswith("fail  server  ping: cannot load: ") for line in out)
    assert any(line.startswith("fail  server  add") for line in out)
    assert any(line.startswith("fail  client  fail") for line in out)
    assert any(line.startswith("pass  server  square  [sockets]") for line in out)
    assert "pass  client  square  [sockets]" in out


def test_cli_on_a_folder_that_cannot_be_read(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x.meta.json").write_text("{not json")
    assert main(["replay", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("fail  server  x: cannot load: the replay raised JSONDecodeError")


async def test_a_call_go_never_had_an_answer_to_is_abandoned() -> None:
    """Go's client gave up on its first call (no answer in the capture) and made another:
    ours makes both, gets the second's answer, and the replay does not wait for the first."""
    sc = _over_websocket(
        [
            ("c2s", _request("sleep", [60000], 0)),
            ("c2s", _request("square", [3], 1)),
            ("s2c", _answer(1, 9)),
        ]
    )
    calls = read_script(sc).calls
    assert calls[0].answer is None
    outcome = await replay_client_role(sc)
    assert (outcome.status, outcome.detail) == ("pass", "")


async def test_what_cannot_be_driven_is_a_skip_with_the_reason() -> None:
    """Calls over two WebSocket connections to one server: reported, not guessed at."""
    sc = load_scenario("square")
    again = [dataclasses.replace(e, conn=1) for e in sc.events]
    events = tuple(dataclasses.replace(e, index=i) for i, e in enumerate([*sc.events, *again]))
    outcome = await replay_client_role(dataclasses.replace(sc, events=events))
    assert (outcome.status, outcome.detail) == (
        "skip",
        "cannot drive: the Go client made its calls over 2 WebSocket connections; "
        "this replay drives one",
    )
