"""Every dnode message in the recorded Go traffic decodes, and re-encodes to Go's exact text.

The recordings (conformance/captures/*.jsonl) hold, for each SockJS message, the text as sent
(``sockjs.messages``) and its parse (``sockjs.dnode``). Messages written by Go programs must
come back byte for byte; messages written by the raw Python probes (malformed-input scenarios)
only as equal JSON values, or as a DecodeError where Go drops them.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest

import dnode

CAPTURES = Path(__file__).resolve().parent.parent / "conformance" / "captures"

# Scenarios whose client->server messages come from raw Python probes, not Go.
RAW_CLIENTS = {
    "invalid-frame",
    "invalid-frame-binary",
    "invalid-frame-bad-dnode",
    "invalid-frame-crash",
    "invalid-frame-xhr",
    "xhr-double-poll",
    "ws-client-close",
}

# Go forwards these messages' numbers verbatim (json.Number / raw Partial), e.g. `2.5E+20`,
# `-0`, `1.0`; re-encoding a float64 can only give Go's canonical spelling of the same value.
RAW_NUMBERS = {"echo-values"}

# Messages Go drops (logs "error processing message" / "Method is not string or integer").
DROPPED = {"this is not dnode", '{"method":true}', "x", "not dnode"}


def messages() -> list[Any]:
    cases = []
    for path in sorted(CAPTURES.glob("*.jsonl")):
        if path.name.endswith(".raw.jsonl"):
            continue
        name = path.name.removesuffix(".jsonl")
        for n, line in enumerate(path.read_text().split("\n")):
            if not line:
                continue
            event = json.loads(line)
            sockjs = event.get("sockjs") or {}
            for i, text in enumerate(sockjs.get("messages", [])):
                go_wrote = not (name in RAW_CLIENTS and event["dir"] == "c2s")
                cases.append(pytest.param(name, go_wrote, text, id=f"{name}:{n}:{i}"))
    return cases


CASES = messages()


def test_the_captures_are_there() -> None:
    assert len(CASES) > 70


_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|.')


def same_tokens_same_numbers(a: str, b: str) -> bool:
    """Equal token by token, except that numbers compare by value."""
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    if len(ta) != len(tb):
        return False
    for x, y in zip(ta, tb, strict=True):
        if x != y and not (x[0] in "-0123456789" and float(x) == float(y)):
            return False
    return True


@pytest.mark.parametrize("backend", dnode.BACKENDS)
@pytest.mark.parametrize(("name", "go_wrote", "text"), CASES)
def test_capture_message_round_trips(backend: str, name: str, go_wrote: bool, text: str) -> None:
    dnode.set_backend(backend)
    if text in DROPPED:
        with pytest.raises(dnode.DecodeError):
            dnode.decode(text)
        return
    msg = dnode.decode(text)
    assert dnode.decode(text.encode()) == msg
    out = dnode.encode(msg)
    expected = json.loads(text)
    expected.pop("links", None)
    got = json.loads(out)
    assert got == expected
    if go_wrote and name in RAW_NUMBERS:
        assert same_tokens_same_numbers(out, text)  # strings and structure still byte-exact
    elif go_wrote:
        assert out == text
