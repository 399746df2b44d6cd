"""The Go-compatibility rules kite for Python reimplements, each held to real Go once.

``gorules`` (``conformance/go/cmd/gorules``, built with Go 1.19.13 like the other peers) answers
how Go's standard library applies each rule; every case below is sent to it and our one
implementation of the rule must give the same answer:

* JSON key matching (`dnode.GoFields`): which struct field each key of an object fills;
* `json.Marshal`'s spelling of strings and float64s (`dnode.go_json`);
* `time.Duration.String` and `time.ParseDuration` (`kite._duration`);
* jwt-go's base64url segment decoding (`kite._auth._base64url`), where we deliberately refuse
  the non-canonical spellings Go accepts (line breaks, explicit padding, non-zero trailing
  bits) with Go's error text at the offending character.

The cases are fixed examples plus seeded random ones, so a run is reproducible.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest

import dnode
from conformance._gopeers import GoBuild, go_peers_or_skip, run_go_program
from kite import DurationError, format_duration, parse_duration
from kite._auth._base64url import b64url_decode, b64url_encode
from kite._auth._token_errors import TokenError

pytestmark = pytest.mark.go

FIELDS = (
    "kite",
    "withArgs",
    "responseCallback",
    "authentication",
    "keyId",
    "sub",
    "kontrolURL",
    "heartbeatInterval",
)


@pytest.fixture(scope="module")
def go_build() -> GoBuild:
    return go_peers_or_skip()


async def ask_go(build: GoBuild, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stdin = "".join(json.dumps(r) + "\n" for r in requests).encode()
    result = await run_go_program(build, "gorules", [], stdin=stdin, time_limit=60)
    assert result.returncode == 0, result.stderr
    # split on \n only: answers may hold U+0085, a line break to `str.splitlines`
    answers = [json.loads(line) for line in result.stdout.split("\n") if line]
    assert len(answers) == len(requests)
    return answers


def _variant(name: str, rng: random.Random) -> str:
    """`name` respelled: letters in random case, some s/k as U+017F/U+212A, or one letter
    replaced by a non-ASCII look-alike that Go does not fold."""
    out = []
    for ch in name:
        roll = rng.random()
        if ch in "sS" and roll < 0.3:
            out.append("\u017f")
        elif ch in "kK" and roll < 0.3:
            out.append("\u212a")
        elif roll < 0.5:
            out.append(ch.swapcase())
        else:
            out.append(ch)
    if rng.random() < 0.15:
        i = rng.randrange(len(out))
        out[i] = rng.choice(["\u0131", "\u0130", "\u00df", "\u212a", "\u017f", "_", " "])
    return "".join(out)


def _field_objects(rng: random.Random) -> list[str]:
    fixed = [
        '{"withArgs":"1","WITHARGS":"2"}',
        '{"WITHARGS":"2","withArgs":"1"}',
        '{"withArg\u017f":"3","\u212aite":"k"}',
        '{"KEYID":"a","keyid":"b","keyId":"c","KeyId":"d"}',
        '{"kontrolurl":"u","KONTROLURL":"v","\u017fub":"s"}',
        '{"w\u0131thArgs":"no","\u212a\u0130te":"no","heartbeat_interval":"no"}',
        '{"Kite":"a","kite":"b","KITE":"c"}',
        "{}",
    ]
    objects = list(fixed)
    for _ in range(300):
        pairs = [
            (_variant(rng.choice(FIELDS), rng), str(rng.randrange(100)))
            for _ in range(rng.randrange(1, 6))
        ]
        objects.append("{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs) + "}")
    return objects


async def test_json_keys_fill_the_fields_go_fills(go_build: GoBuild) -> None:
    objects = _field_objects(random.Random(1))
    answers = await ask_go(go_build, [{"rule": "fields", "object": o} for o in objects])
    fields = dnode.GoFields(*FIELDS)
    for text, answer in zip(objects, answers, strict=True):
        ours = fields.pick_pairs(json.loads(text, object_pairs_hook=list))
        assert ours == answer["fields"], text


def _strings(rng: random.Random) -> list[str]:
    alphabet = [chr(i) for i in range(0x80)] + [
        "\u2028",
        "\u2029",
        "\u00e9",
        "\u0085",
        "\ufeff",
        "\U0001f600",
        "\ud800",  # a lone surrogate: Go reads it as U+FFFD
        "\udfff",
    ]
    fixed = ["", "<a href='x'>&amp;</a>", "\b\f\n\r\t\x00\x1f\x7f", "\u2028\u2029", "\ud83d"]
    return fixed + [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(300)
    ]


def _floats(rng: random.Random) -> list[float]:
    fixed = [0.0, 1.0, 16.0, 0.1, 1e-6, 1e-7, 123456789.0, 1e20, 1e21, 1e-5, 5e-324, 1.7e308]
    fixed += [-x for x in fixed]
    randoms = [rng.uniform(-1e3, 1e3) for _ in range(100)]
    randoms += [10.0 ** rng.uniform(-30, 30) for _ in range(100)]
    randoms += [float(rng.randrange(-(2**60), 2**60)) for _ in range(50)]
    return fixed + randoms


async def test_json_marshal_spelling_is_gos(go_build: GoBuild) -> None:
    strings = _strings(random.Random(2))
    floats = _floats(random.Random(3))
    requests = [{"rule": "string", "string": s} for s in strings]
    requests += [{"rule": "float", "float": f} for f in floats]
    answers = await ask_go(go_build, requests)
    for backend in dnode.BACKENDS:
        dnode.set_backend(backend)
        try:
            for value, answer in zip([*strings, *floats], answers, strict=True):
                assert dnode.go_json(value) == answer["json"], (backend, value)
        finally:
            dnode.set_backend(dnode.BACKENDS[0])


INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)


async def test_durations_format_and_parse_as_go_does(go_build: GoBuild) -> None:
    rng = random.Random(4)
    ns_values = [0, 1, 999, 1000, 1500, 10**6, 10**9, 61 * 10**9, 3600 * 10**9, INT64_MAX]
    ns_values += [INT64_MIN, -1, -(10**9)]
    ns_values += [rng.randrange(-(10**15), 10**15) for _ in range(200)]
    ns_values += [rng.randrange(INT64_MIN, INT64_MAX) for _ in range(50)]
    texts = ["0", "1.5s", "-1h2m3.5s", "1.5x", "", "+5m", ".s", "1.", "9223372036854775808ns"]
    texts += [
        "".join(rng.choice("0123456789.hmsnu\u00b5+-") for _ in range(rng.randrange(1, 10)))
        for _ in range(300)
    ]
    requests = [{"rule": "format_duration", "ns": ns} for ns in ns_values]
    requests += [{"rule": "parse_duration", "text": t} for t in texts]
    answers = await ask_go(go_build, requests)
    for ns, answer in zip(ns_values, answers[: len(ns_values)], strict=True):
        assert format_duration(ns) == answer["text"], ns
    for text, answer in zip(texts, answers[len(ns_values) :], strict=True):
        try:
            ours: dict[str, Any] = {"ns": parse_duration(text)}
        except DurationError as exc:
            ours = {"error": str(exc)}
        assert ours == answer, text


def _segments(rng: random.Random) -> list[str]:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    fixed = ["", "YQ", "YQ=", "YQ==", "YWI", "YWJj", "Y", "YR", "Y\nQ", "YQ\r\n", "+/+/", "a.b"]
    fixed += [b64url_encode(rng.randbytes(n)) for n in range(12)]
    randoms = [
        "".join(rng.choice(alphabet + "=\r\n+/.") for _ in range(rng.randrange(1, 16)))
        for _ in range(300)
    ]
    return fixed + randoms


async def test_base64url_segments_decode_as_jwt_go_or_are_refused(go_build: GoBuild) -> None:
    segments = _segments(random.Random(5))
    answers = await ask_go(go_build, [{"rule": "base64url", "segment": s} for s in segments])
    for segment, answer in zip(segments, answers, strict=True):
        try:
            ours: dict[str, Any] = {"bytes": base64.b64encode(b64url_decode(segment)).decode()}
        except TokenError as exc:
            ours = {"error": str(exc)}
        if "error" in answer or ours == answer:
            assert ours == answer, segment
            continue
        # Go accepted a spelling no encoder writes: we refuse it (deliberately), only those.
        assert "error" in ours, segment
        canonical = b64url_encode(base64.b64decode(answer["bytes"]))
        assert canonical != segment, segment
