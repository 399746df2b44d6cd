"""What a Python user reads when something goes wrong: one exception whose message names the
cause, never a nested exception group; wire texts stay Go's (pinned by the capture tests).

Each case here is a mistake found by trying the packages as a new user would.
"""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
import traceback
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

import dnode
import kite
import kontrol
import sockjs
from kite.testing import TEST_KEY_PAIR
from kontrol.testing import RunningKontrol, open_test_kontrol

ROOT = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _math(config: kite.Config | None = None) -> kite.Kite:
    math = kite.Kite("math", "1.0.0", config or kite.Config(disable_authentication=True))
    math.handle_func("square", lambda r: r.args.one().float() ** 2)
    return math


# ----------------------------------------------------------------------------------------------
# an exception raised in a block comes out as itself


@asynccontextmanager
async def _served_and_dialled() -> AsyncIterator[object]:
    math, client = _math(), kite.Kite("c", "1.0.0")
    async with math.serve("127.0.0.1", 0) as server, client.dial(server.url) as remote:
        yield remote


@asynccontextmanager
async def _pipe_pair() -> AsyncIterator[object]:
    a, b = kite.memory_pipe_pair()
    async with _math().accept(a), kite.Kite("c", "1.0.0").connect_pipe(b) as peer:
        yield peer


@asynccontextmanager
async def _found_through_kontrol() -> AsyncIterator[object]:
    async with open_test_kontrol() as test_kontrol:
        math = _math(test_kontrol.config())
        async with math.serve() as server, math.kontrol_client() as client:
            await math.register_forever(server.url)
            (found,) = await math.get_kites({"username": "testuser", "name": "math"})
            async with found:
                yield client


@asynccontextmanager
async def _kontrol_running(tmp_path: Path) -> AsyncIterator[object]:
    async with kontrol.open_storage(f"sqlite://{tmp_path / 'k.db'}") as storage:
        k = kontrol.Kontrol(storage=storage, key_pair=TEST_KEY_PAIR)
        async with k.running(), k.serve("127.0.0.1", 0):
            yield k


BLOCKS: dict[str, Callable[[Path], AbstractAsyncContextManager[object]]] = {
    "Kite.serve": lambda _: _math().serve("127.0.0.1", 0),
    "Kite.dial": lambda _: _served_and_dialled(),
    "Kite.accept and connect_pipe": lambda _: _pipe_pair(),
    "kontrol_client, KiteClient": lambda _: _found_through_kontrol(),
    "Kontrol.running, open_storage": _kontrol_running,
    "open_sqlite_storage": lambda p: kontrol.open_sqlite_storage(p / "k.db"),
    "open_test_kontrol": lambda _: open_test_kontrol(),
}


@pytest.mark.parametrize("name", sorted(BLOCKS))
async def test_a_value_error_raised_in_the_block_comes_out_as_itself(
    name: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"^mine$") as info:
        async with BLOCKS[name](tmp_path):
            raise ValueError("mine")
    assert type(info.value) is ValueError
    assert info.value.__context__ is None  # not "during handling of ExceptionGroup ..."
    printed = "".join(traceback.format_exception(info.value))
    assert "ExceptionGroup" not in printed
    assert 'raise ValueError("mine")' in printed


async def test_a_port_in_use_is_one_listen_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(kite.ListenError) as info:
            async with _math().serve("127.0.0.1", port):
                pass  # pragma: no cover - never entered
    assert str(info.value) == f"cannot listen on 127.0.0.1:{port}: address already in use"


def test_a_second_quickstart_on_the_same_port_prints_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:  # what a first `python3 dev.py up` holds
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "quickstart.py"),
             "--data-dir", str(tmp_path), "--kontrol-port", str(port)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"==> cannot start: cannot listen on 127.0.0.1:{port}: address already in use (is "
        "`python3 dev.py up` running already? `--kontrol-port N` picks another port)"
    ]


# ----------------------------------------------------------------------------------------------
# URLs and queries


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("localhost:1234", "no scheme (did you mean 'http://localhost:1234/kite'?)"),
        ("127.0.0.1:3636/kite", "no scheme (did you mean 'http://127.0.0.1:3636/kite'?)"),
        ("ftp://h:1/kite", "the scheme must be http, https, ws or wss, not 'ftp'"),
        ("http:///kite", "no host"),
        ("http://h:99999/kite", "the port is not a number from 0 to 65535"),
    ],
)  # fmt: skip
async def test_a_bad_kite_url_is_named_before_dialling(url: str, reason: str) -> None:
    with pytest.raises(kite.InvalidURLError) as info:
        async with kite.Kite("c", "1.0.0").dial(url):
            pass  # pragma: no cover - never entered
    assert str(info.value) == f"invalid kite URL {url!r}: {reason}"
    assert isinstance(info.value, ValueError)


async def test_the_blocking_client_names_a_bad_url_too() -> None:
    def blocking() -> None:
        kite.connect("localhost:1234", config=kite.Config())

    with pytest.raises(kite.InvalidURLError, match="did you mean 'http://localhost:1234/kite'"):
        await trio.to_thread.run_sync(blocking)


async def test_a_bad_kontrol_url_is_named_at_the_first_call() -> None:
    k = kite.Kite("c", "1.0.0", kite.Config(kontrol_url="localhost:4000"))
    async with k.kontrol_client():
        with pytest.raises(kite.InvalidURLError) as info:
            await k.get_kites({"username": "u", "name": "math"})
    assert str(info.value) == (
        "invalid Kontrol URL 'localhost:4000': no scheme (did you mean "
        "'http://localhost:4000/kite'?)"
    )


async def test_an_unknown_query_field_is_refused_with_the_field_meant(
    kontrol_server: RunningKontrol, kite_config: kite.Config
) -> None:
    k = kite.Kite("c", "1.0.0", kite_config)
    async with k.kontrol_client():
        with pytest.raises(ValueError) as info:
            await k.get_kites({"username": "testuser", "nam": "math"})
        with pytest.raises(TypeError, match="field 'version' must be a string, not int"):
            await k.get_kites({"username": "testuser", "version": 1})  # type: ignore[dict-item]
        assert k.kontrol.connections == 0  # refused before asking Kontrol
    assert str(info.value) == (
        "unknown Kontrol query field 'nam' (did you mean 'name'? the fields are username, "
        "environment, name, version, region, hostname, id)"
    )


async def test_a_call_refused_for_a_query_without_username_says_what_to_ask(
    kontrol_server: RunningKontrol, kite_config: kite.Config
) -> None:
    math = _math(kite_config)
    async with math.serve() as server, math.kontrol_client():
        await math.register_forever(server.url)
        # Go's getKites: a query without username finds every user's kites (what a listing
        # wants), with tokens for the audience "///math" that every such kite refuses.
        (found,) = await math.get_kites({"name": "math"})
        async with found as remote:
            with pytest.raises(kite.AuthenticationError) as info:
                await remote.tell("square", 3)
        # An id alone gives the "/" audience, which every kite accepts.
        (by_id,) = await math.get_kites({"id": math.id})
        async with by_id as remote:
            assert await remote.tell("square", 3) == 9
    assert info.value.message == (
        'token: audience: username "" not allowed (///math): the token came from a Kontrol '
        "query without username; ask get_kites with the kites' owner, e.g. "
        "{'username': 'testuser', 'name': 'math'}"
    )
    assert info.value.type == "authenticationError"


async def test_a_dead_kontrol_during_get_kites_says_it_cannot_be_reached() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/kite"
    k = kite.Kite("c", "1.0.0", kite.Config(kontrol_url=url, timeout=3))
    async with k.kontrol_client():
        with pytest.raises(kite.KiteTimeoutError) as info:
            await k.get_kites({"username": "u", "name": "math"})
    message = str(info.value)
    assert message.startswith(
        f"timeout: cannot reach Kontrol at {url} in 3s for getKites: cannot connect: "
    )
    assert "registering" not in message


# ----------------------------------------------------------------------------------------------
# exception classes and request ids


@pytest.mark.parametrize("package", [dnode, sockjs, kite, kontrol], ids=lambda p: p.__name__)
def test_exception_classes_print_with_their_public_package(package: Any) -> None:
    classes = [
        value
        for value in (getattr(package, name) for name in package.__all__)
        if isinstance(value, type) and issubclass(value, BaseException)
    ]
    assert classes
    for cls in classes:
        assert cls.__module__ == package.__name__ or not cls.__module__.startswith(
            package.__name__ + "._"
        ), cls
    assert {cls.__module__ for cls in classes} >= {package.__name__}


def test_a_kite_error_names_its_class_by_the_public_package() -> None:
    err = kite.MethodNotFoundError('No method "cube"')
    assert traceback.format_exception_only(err) == [
        'kite.MethodNotFoundError: methodNotFound: No method "cube"\n'
    ]


async def test_the_request_id_is_named_in_the_text_and_in_the_servers_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="kite.server")
    math = _math()

    @math.handle("fail")
    def fail(r: kite.Request) -> None:
        raise ValueError("bad input")

    client = kite.Kite("c", "1.0.0")
    async with math.serve("127.0.0.1", 0) as server, client.dial(server.url) as remote:
        with pytest.raises(kite.GenericError) as info:
            await remote.tell("fail", timeout=10)
    err = info.value
    assert re.fullmatch("[0-9a-f]{16}", err.request_id)
    assert err.request_id == err.id
    assert str(err) == f"bad input (request id {err.id})"
    assert err.go_error() == f"bad input ({err.id})"
    (logged,) = [m for m in caplog.messages if f"(request id {err.id})" in m]
    assert logged.startswith("fail from ")
    assert logged.endswith(f"failed (request id {err.id}): bad input")
