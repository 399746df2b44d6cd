"""Cross-check scrubbing with the npm ``dnode-protocol`` 0.2.2 (what kite.js uses) and decode
real kite.js 1.0.13 requests. Needs node and ``conformance/node/node_modules`` (``npm ci``).

Known, intended differences (README): dnode-protocol writes every path step as a string
(``["0","cb"]``) where Go and we write list indexes as numbers, and it gives a function sent
again in a *later* message its old id, where Go (and we) number every occurrence anew.
"""

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import dnode

NODE_DIR = Path(__file__).resolve().parent.parent / "conformance" / "node"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (NODE_DIR / "node_modules" / "dnode-protocol").is_dir(),
        reason="npm peers missing: run `npm ci` in conformance/node (dev.py test does)",
    ),
]


def run_node(request: dict[str, Any]) -> Any:
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(NODE_DIR / "dnode_scrub.js")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=NODE_DIR,
    )
    return json.loads(proc.stdout)


FIXED_CASES: list[Any] = [
    "$fn",
    {"responseCallback": "$fn", "withArgs": [4]},
    {"kite": {"name": "x"}, "responseCallback": "$fn", "withArgs": [{"cb": "$fn", "from": 3}]},
    [["$fn", ["$fn"]], {"a": {"b": {"c": "$fn"}}}],
    {"same": "$same", "again": ["$same", "$same"]},
    {"empty": [], "nothing": {}, "null": None, "n": 1.5, "s": "[Function]"},
    {"unicode ключ": "$fn", "": "$fn", "a.b": ["$fn"]},
]


def random_cases(n: int) -> list[Any]:
    rng = random.Random(20261123)  # fixed: the same cases every run
    keys = ["a", "b", "cb", "withArgs", "x y", "é", "k0"]  # JS reorders integer-like keys

    def value(depth: int) -> Any:
        roll = rng.random()
        if depth > 3 or roll < 0.35:
            return rng.choice(["$fn", "$fn", 1, "s", None, True, 2.5])
        if roll < 0.7:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return {k: value(depth + 1) for k in rng.sample(keys, rng.randint(0, 4))}

    return [value(0) for _ in range(n)]


CASES = FIXED_CASES + random_cases(60)


def with_functions(value: Any, shared: Any) -> Any:
    if value == "$fn":
        return lambda *args: None
    if value == "$same":
        return shared
    if isinstance(value, list):
        return [with_functions(v, shared) for v in value]
    if isinstance(value, dict):
        return {k: with_functions(v, shared) for k, v in value.items()}
    return value


def test_scrub_agrees_with_dnode_protocol() -> None:
    theirs = run_node({"scrub": CASES})["scrub"]
    for case, js in zip(CASES, theirs, strict=True):
        shared = lambda *args: None  # noqa: E731
        args, cbs = dnode.scrub([with_functions(case, shared)], dnode.CallbackTable())
        ours = json.loads(dnode.encode(dnode.Message("m", args, cbs)))
        assert ours["arguments"] == js["arguments"], case
        # same ids in the same walk order; JS writes every path step as a string
        js_paths = {int(k): v for k, v in js["callbacks"].items()}
        assert {k: [str(s) for s in p] for k, p in cbs.items()} == js_paths, case
        for path in cbs.values():  # and ours are Go's: numbers for list steps
            node: Any = [case]
            for step in path:
                assert isinstance(step, int) == isinstance(node, list)
                node = node[step]


def mark(value: Any) -> Any:
    if isinstance(value, dnode.RemoteFunction):
        return f"<fn:{value.id}>"
    if isinstance(value, list):
        return [mark(v) for v in value]
    if isinstance(value, dict):
        return {k: mark(v) for k, v in value.items()}
    return value


def test_unscrub_agrees_with_dnode_protocol() -> None:
    messages = []
    for case in CASES:
        shared = lambda *args: None  # noqa: E731
        args, cbs = dnode.scrub([with_functions(case, shared)], dnode.CallbackTable())
        text = dnode.encode(dnode.Message("m", args, cbs))
        messages.append(json.loads(text))
    # also string steps, as dnode-protocol and kite.js send them
    messages.append(
        {"method": "m", "arguments": [{"cb": "[Function]"}, [0]], "callbacks": {"3": ["0", "cb"]}}
    )
    messages.append(
        {"method": "m", "arguments": [[0, [1, 2]]], "callbacks": {"1": ["0", "1", "1"]}}
    )
    theirs = run_node({"unscrub": messages})["unscrub"]
    for msg, js in zip(messages, theirs, strict=True):
        decoded = dnode.decode(json.dumps(msg))
        ours = dnode.unscrub(decoded.arguments, decoded.callbacks, lambda cid, args: None)
        assert mark(ours) == js, msg


def test_kitejs_requests_decode_and_unscrub() -> None:
    calls = [
        {"method": "square", "params": [4]},
        {"method": "countdown", "params": [{"from": 3, "cb": "$fn"}]},
        {"method": "kite.ping", "params": []},
    ]
    texts = run_node({"kitejs": calls})["kitejs"]
    sent: list[Any] = []
    for call, text in zip(calls, texts, strict=True):
        msg = dnode.decode(text)  # key order arguments, callbacks, links, method; "0" steps
        assert msg.method == call["method"]
        assert msg.links == []
        args = dnode.unscrub(msg.arguments, msg.callbacks, lambda cid, a: sent.append((cid, a)))
        envelope = dnode.Partial(args).one().map()
        respond = envelope["responseCallback"].function()
        assert isinstance(respond, dnode.RemoteFunction)
        with_args = envelope["withArgs"].slice()
        if call["method"] == "countdown":
            with_args[0].map()["cb"].function()(3)
        respond({"error": None, "result": 1})
        again = json.loads(dnode.encode(dnode.decode(text)))  # re-encodes, links dropped
        assert again["method"] == call["method"]
    assert [cid for cid, _ in sent] == [0, 0, 1, 0]
