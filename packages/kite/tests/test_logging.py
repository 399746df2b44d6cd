"""Logging: `KITE_LOG_LEVEL`, the per-call DEBUG lines, a failing handler's ERROR record, and
connection lines, from real calls over loopback."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap

import pytest
from kite_rpc_helpers import math_kite
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import kite
import kite.otel


async def test_a_raising_handler_logs_one_error_with_traceback_and_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server_kite = math_kite()
    caplog.set_level(logging.INFO, logger="kite")
    async with (
        server_kite.serve(host="127.0.0.1", port=0) as server,
        kite.Kite("caller", "1.0.0").dial(server.url) as remote,
    ):
        with pytest.raises(kite.GenericError) as raised:
            await remote.tell("boom")
        with pytest.raises(kite.KiteError, match="not today"):
            await remote.tell("failTyped", "not today")
    request_id = raised.value.request_id
    assert re.fullmatch("[0-9a-f]{16}", request_id)
    assert str(raised.value).endswith(f"(request id {request_id})")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1  # the deliberate KiteError is the caller's answer, not a bug
    (record,) = errors
    assert record.name == "kite.server"
    assert request_id in record.getMessage()
    assert "boom" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    assert "raise RuntimeError" in caplog.text  # the traceback


@pytest.mark.parametrize("instrumented", [False, True], ids=["plain", "otel"])
async def test_debug_logs_one_line_per_call_and_connections_at_info(
    caplog: pytest.LogCaptureFixture, instrumented: bool
) -> None:
    """The same lines whether or not OpenTelemetry instruments both kites."""
    server_kite = math_kite()
    caller = kite.Kite("caller", "1.0.0")
    if instrumented:
        tracer_provider, meter_provider = TracerProvider(), MeterProvider()
        for k in (server_kite, caller):
            kite.otel.instrument(k, tracer_provider=tracer_provider, meter_provider=meter_provider)
    caplog.set_level(logging.DEBUG, logger="kite")
    async with (
        server_kite.serve(host="127.0.0.1", port=0) as server,
        caller.dial(server.url, transport="xhr") as remote,
    ):
        assert await remote.tell("square", 5) == 25
        with pytest.raises(kite.MethodNotFoundError):
            await remote.tell("nope")
    served = [r.getMessage() for r in caplog.records if r.name == "kite.server"]
    calls = [m for m in served if m.startswith("served ")]
    assert len(calls) == 1
    assert re.fullmatch(
        r"served square from unknown/caller@127\.0\.0\.1:\d+ in [\d.]+ ms: ok", calls[0]
    )
    made = [r.getMessage() for r in caplog.records if r.name == "kite.client"]
    assert any(
        re.fullmatch(r"called square on .*127\.0\.0\.1:\d+ in [\d.]+ ms: ok", m) for m in made
    )
    assert any("called nope" in m and "MethodNotFoundError" in m for m in made)
    opened = [r for r in caplog.records if "opened: xhr from 127.0.0.1:" in r.getMessage()]
    assert [r.levelno for r in opened] == [logging.INFO]
    assert any("closed: xhr from 127.0.0.1:" in r.getMessage() for r in caplog.records)


async def test_no_per_call_line_when_debug_is_off(caplog: pytest.LogCaptureFixture) -> None:
    server_kite = math_kite()
    caplog.set_level(logging.INFO, logger="kite")
    async with (
        server_kite.serve(host="127.0.0.1", port=0) as server,
        kite.Kite("caller", "1.0.0").dial(server.url) as remote,
    ):
        assert await remote.tell("square", 5) == 25
    assert not [r for r in caplog.records if r.getMessage().startswith(("served", "called"))]


def test_kite_log_level_debug_logs_without_any_logging_setup() -> None:
    """What a user gets from `KITE_LOG_LEVEL=DEBUG` with no logging code: lines on stderr."""
    program = textwrap.dedent(
        """
        import trio, kite

        async def main():
            k = kite.Kite("math", "1.0.0", kite.Config.from_env(kite_key=None))
            k.handle_func("square", lambda r: r.args.one().float() ** 2, auth=False)
            async with (
                k.serve(host="127.0.0.1", port=0) as server,
                kite.Kite("caller", "1.0.0").dial(server.url) as remote,
            ):
                print(await remote.tell("square", 3))

        trio.run(main)
        """
    )
    env = {**os.environ, "KITE_LOG_LEVEL": "debug"}
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "9"
    assert re.search(r"\[kite\.server\] DEBUG served square from .* ms: ok", done.stderr)
    assert re.search(r"\[kite\.server\] INFO session \S+ opened: websocket from 127", done.stderr)
    env["KITE_LOG_LEVEL"] = "warning"
    quiet = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""


def test_apply_log_level_refuses_unknown_levels() -> None:
    from kite._observe._logging import apply_log_level

    with pytest.raises(ValueError, match="unknown log level 'verbose'"):
        apply_log_level("verbose")
