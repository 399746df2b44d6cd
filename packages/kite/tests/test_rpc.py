"""The RPC core end to end: two kites over an in-memory pipe, both directions."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing
from kite_rpc_helpers import RecordingPipe, client_kite, connected, math_kite

import kite
from kite import (
    ArgumentError,
    DisconnectError,
    GenericError,
    KiteError,
    KiteTimeoutError,
    MethodNotFoundError,
    PeerLimits,
    Request,
    SendError,
)


async def test_square_and_add() -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        assert await client.tell("square", 4) == 16
        assert await client.tell("add", 2, 3.5) == 5.5
        assert await client.tell("kite.ping") == "pong"


async def test_generic_error_from_exception_has_request_id() -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        with pytest.raises(GenericError) as info:
            await client.tell("fail", "something went wrong")
    err = info.value
    assert err.type == "genericError"
    assert err.message == "something went wrong"
    assert len(err.id) == 16
    assert int(err.id, 16) >= 0
    assert str(err) == f"something went wrong (request id {err.id})"
    assert err.go_error() == f"something went wrong ({err.id})"


async def test_error_types() -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        with pytest.raises(GenericError, match="boom: deliberate panic"):
            await client.call("boom", [])
        with pytest.raises(MethodNotFoundError) as nf:
            await client.tell("noSuchMethod", 1)
        assert nf.value.message == "Method not found: noSuchMethod"
        assert nf.value.id == ""
        with pytest.raises(ArgumentError) as arg:
            await client.tell("square", 4, 5)
        assert arg.value.message == "Invalid array length"
        assert arg.value.id
        with pytest.raises(ArgumentError, match="cannot unmarshal string into Go value"):
            await client.tell("square", "notanumber")
        with pytest.raises(KiteError) as custom:
            await client.tell("failTyped", "custom")
        assert type(custom.value) is KiteError
        assert custom.value.to_json() == {
            "type": "myType",
            "message": "custom",
            "code": "E_CUSTOM",
            "id": custom.value.id,
        }
        assert len(custom.value.id) == 16


async def test_with_args_null_versus_empty_list() -> None:
    server = math_kite()
    seen: list[bool] = []
    server.handle_func("nil?", lambda r: seen.append(r.args.is_nil))
    async with connected(server, client_kite()) as (client, _, cpipe, _):
        await client.tell("nil?")
        await client.call("nil?", [])
    assert seen == [True, False]
    assert '"withArgs":null' in cpipe.sent[0]
    assert '"withArgs":[]' in cpipe.sent[1]


async def test_callbacks_both_ways_countdown() -> None:
    ticks: list[int] = []

    async def tick(n: int) -> None:
        await trio.lowlevel.checkpoint()
        ticks.append(n)

    async with connected(math_kite(), client_kite()) as (client, _, cpipe, spipe):
        assert await client.tell("countdown", {"cb": tick, "from": 3}) == "done"
        # Every tick ran before the result was handed over (Go's serial read loop).
        assert ticks == [3, 2, 1]
    assert spipe.sent[:3] == [
        '{"method":1,"arguments":[3],"callbacks":{}}',
        '{"method":1,"arguments":[2],"callbacks":{}}',
        '{"method":1,"arguments":[1],"callbacks":{}}',
    ]
    assert json.loads(cpipe.sent[0])["callbacks"] == {
        "0": [0, "responseCallback"],
        "1": [0, "withArgs", 0, "cb"],
    }


async def test_server_calls_client_back() -> None:
    async with connected(math_kite(), client_kite()) as (client, server, _, spipe):
        assert await client.call("callMeBack", []) == "hello from go client"
        # The server side can also call the client directly, outside any request.
        assert await server.tell("client.hello") == "hello from go client"
    reverse = json.loads(spipe.sent[0])
    assert reverse["method"] == "client.hello"
    assert reverse["arguments"][0]["authentication"] is None
    assert reverse["callbacks"] == {"0": [0, "responseCallback"]}


async def test_server_to_client_request_is_trusted_with_empty_username() -> None:
    client = client_kite()
    seen: list[str] = []
    client.handle_func("whoami", lambda r: seen.append(r.username), auth=True)
    async with connected(math_kite(), client) as (_, server, _, _):
        await server.tell("whoami")
    assert seen == [""]


async def test_function_in_result_is_awaitable() -> None:
    server = math_kite()
    calls: list[str] = []

    async def hello(name: str) -> None:
        calls.append(name)

    server.handle_func("give", lambda r: {"cb": hello})
    async with connected(server, client_kite()) as (client, _, _, spipe):
        result = await client.tell("give")
        await result["cb"]("x")
        await trio.testing.wait_all_tasks_blocked()
    assert calls == ["x"]
    assert json.loads(spipe.sent[0])["callbacks"] == {"0": [0, "result", "cb"]}


async def test_timeout_message_and_late_response_ignored(autojump_clock: Any) -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        with pytest.raises(KiteTimeoutError) as info:
            await client.tell("sleep", 5000, timeout=4)
        assert str(info.value) == 'timeout: No response to "sleep" method in 4s'
        assert len(client.callbacks) == 0
        await trio.sleep(2)  # the late response arrives and is dropped silently
        assert await client.tell("square", 3, timeout=1.5) == 9


async def test_disconnect_while_waiting() -> None:
    server = math_kite()
    started = trio.Event()

    @server.handle("hang")
    async def hang(r: Request) -> None:
        started.set()
        await trio.sleep_forever()

    async with connected(server, client_kite()) as (client, server_peer, _, _):
        async with trio.open_nursery() as nursery:

            async def close_server() -> None:
                await started.wait()
                await server_peer.aclose()

            nursery.start_soon(close_server)
            with pytest.raises(DisconnectError, match="Remote kite has disconnected"):
                await client.tell("hang")
        await client.wait_closed()
        with pytest.raises(SendError, match="can't send, client is closed"):
            await client.tell("square", 2)


async def test_handlers_cancelled_when_peer_goes_away() -> None:
    server = math_kite()
    started, cancelled = trio.Event(), trio.Event()

    @server.handle("hang")
    async def hang(r: Request) -> None:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    async with connected(server, client_kite()) as (client, server_peer, _, _):
        errors: list[BaseException] = []

        async def call() -> None:
            try:
                await client.tell("hang")
            except DisconnectError as exc:
                errors.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(call)
            await started.wait()
            await client.aclose()
            await cancelled.wait()
            await server_peer.wait_closed()
        assert len(errors) == 1


async def test_concurrency_bound_and_concurrent_requests(autojump_clock: Any) -> None:
    server = math_kite(limits=PeerLimits(max_concurrent_requests=3))
    running = 0
    peak = 0

    @server.handle("work")
    async def work(r: Request) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await trio.sleep(1)
        running -= 1
        return r.args.one().int()

    results: list[int] = []
    async with connected(server, client_kite()) as (client, _, _, _):
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            for i in range(10):

                async def one(i: int = i) -> None:
                    results.append(await client.tell("work", i))

                nursery.start_soon(one)
        elapsed = trio.current_time() - start
    assert sorted(results) == list(range(10))
    assert peak == 3
    assert 4 <= elapsed < 5  # ceil(10 / 3) rounds of 1 s: concurrent, but bounded


async def test_callbacks_run_serially_in_arrival_order(autojump_clock: Any) -> None:
    server = math_kite()
    order: list[tuple[str, int]] = []

    @server.handle("burst")
    async def burst(r: Request) -> None:
        cb = r.args.one().function()
        for i in range(5):
            await cb(i)

    async def slow(i: int) -> None:
        order.append(("start", i))
        await trio.sleep(1 if i % 2 == 0 else 0.1)
        order.append(("end", i))

    async with connected(server, client_kite()) as (client, _, _, _):
        await client.tell("burst", slow)
    assert order == [(kind, i) for i in range(5) for kind in ("start", "end")]


async def test_callback_may_call_back_without_deadlock() -> None:
    server = math_kite()
    got: list[Any] = []

    @server.handle("notify")
    async def notify(r: Request) -> str:
        await r.args.one().function()("go")
        return "notified"

    client_k = client_kite()
    async with connected(server, client_k) as (client, _, _, _):

        async def on_notify(word: str) -> None:
            got.append(await client.tell("square", 5))  # a callback making a call

        assert await client.tell("notify", on_notify) == "notified"
        await client.tell("kite.ping")
    assert got == [25]


async def test_no_growth_of_callback_table_over_many_calls() -> None:
    async with connected(math_kite(), client_kite()) as (client, server, _, _):
        for i in range(300):
            assert await client.tell("square", i) == i * i
        assert len(client.callbacks) == 0
        assert len(server.callbacks) == 0
        assert client.callbacks.next_id == 300
        for _ in range(50):
            await server.tell("client.hello")
        assert len(server.callbacks) == 0


async def test_malformed_messages_never_crash_the_connection() -> None:
    server = math_kite()
    a, b = kite.memory_pipe_pair()
    async with server.accept(a):
        raw = b
        for bad in [
            "this is not json",
            '{"method":true,"arguments":[]}',
            '{"method":"kite.ping","arguments":[]}',
            '{"method":"kite.ping","arguments":[5],"callbacks":{}}',
            '{"method":"kite.ping","callbacks":{"1":[0]}}',
            '{"method":42,"arguments":[1],"callbacks":{}}',
            '{"method":"square","arguments":[],"callbacks":{"x":[0]}}',
        ]:
            await raw.send(bad)
        # Two envelopes: Go crashes; we answer through the response callback we can find.
        await raw.send(
            '{"method":"kite.ping","arguments":[{"responseCallback":"[Function]"},2],'
            '"callbacks":{"7":[0,"responseCallback"]}}'
        )
        answer = json.loads(await raw.receive())
        assert answer["method"] == 7
        error = answer["arguments"][0]["error"]
        assert (error["type"], error["message"]) == ("argumentError", "Invalid array length")
        # The minimal envelope Go accepts still works, with string path steps too.
        await raw.send(
            '{"method":"kite.ping","arguments":[{"responseCallback":"[Function]"}],'
            '"callbacks":{"3":["0","responseCallback"]}}'
        )
        assert await raw.receive() == (
            '{"method":3,"arguments":[{"error":null,"result":"pong"}],"callbacks":{}}'
        )
        # A fire-and-forget call (no response callback) runs and sends nothing back.
        await raw.send('{"method":"kite.ping","arguments":[{"withArgs":[]}],"callbacks":{}}')
        await raw.send(
            '{"method":"kite.ping","arguments":[{"ResponseCallback":"[Function]"}],'
            '"callbacks":{"4":[0,"ResponseCallback"]}}'
        )
        assert json.loads(await raw.receive())["method"] == 4


async def test_unencodable_result_is_answered_with_an_error() -> None:
    server = math_kite()
    server.handle_func("bad", lambda r: {"x": object()})
    async with connected(server, client_kite()) as (client, _, _, _):
        with pytest.raises(GenericError) as info:
            await client.tell("bad")
        assert len(info.value.id) == 16
        assert await client.tell("square", 2) == 4


async def test_unencodable_argument_is_a_send_error() -> None:
    async with connected(math_kite(), client_kite()) as (client, _, _, _):
        with pytest.raises(SendError):
            await client.tell("echo", object())
        assert len(client.callbacks) == 0
        assert await client.tell("square", 2) == 4


class FailingSendPipe:
    """A pipe whose sends fail with `error` (and that never delivers anything)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def send(self, message: str) -> None:
        raise self.error

    async def receive(self) -> str:
        await trio.sleep_forever()
        raise AssertionError

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (OSError("wire cut"), "wire cut"),
        (kite.PipeClosedError(), "can't send, client is closed"),
        (SendError("already a SendError"), "already a SendError"),
    ],
)
async def test_a_failed_send_is_a_send_error_and_frees_the_callbacks(
    error: BaseException, text: str
) -> None:
    async with kite.open_peer(FailingSendPipe(error), client_kite(), trusted=True) as peer:
        for _ in range(2):  # the send slot is free again after a failure
            with pytest.raises(SendError, match=text) as info:
                await peer.tell("echo", print, [print], timeout=5)
            if not isinstance(error, SendError):
                assert info.value.__cause__ is error
            assert len(peer.callbacks) == 0
            assert peer._sending is False


async def test_invalid_response_shapes() -> None:
    client_k = client_kite()
    a, b = kite.memory_pipe_pair()
    async with client_k.connect_pipe(b) as client:
        results: list[BaseException] = []

        async def call() -> None:
            try:
                await client.tell("x")
            except kite.InvalidResponseError as exc:
                results.append(exc)

        for answer in ["[]", "[5]", '[{"other":1}]']:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(call)
                request = json.loads(await a.receive())
                cid = next(iter(request["callbacks"]))
                await a.send(f'{{"method":{cid},"arguments":{answer},"callbacks":{{}}}}')
    assert [str(e) for e in results] == [
        "invalidResponse: Invalid array length",
        "invalidResponse: json: cannot unmarshal number into Go value of type kite.Response",
        "invalidResponse: Server has sent invalid response arguments",
    ]


async def test_argument_callbacks_live_on_unless_freed() -> None:
    async def tick(n: int) -> None:
        pass

    limits = PeerLimits(max_callbacks=20)
    async with connected(math_kite(), client_kite(limits=limits)) as (client, _, _, _):
        for _ in range(100):
            await client.tell("countdown", {"cb": tick, "from": 2}, free_callbacks=True)
        assert len(client.callbacks) == 0
        for _ in range(19):
            await client.tell("countdown", {"cb": tick, "from": 1})
        assert len(client.callbacks) == 19  # kept, as Go keeps them
        with pytest.raises(SendError, match="callback table is full"):
            await client.tell("countdown", {"cb": tick, "from": 1})
        assert len(client.callbacks) == 19
        assert await client.tell("kite.ping") == "pong"  # one slot left for a response


async def test_late_and_duplicate_responses_are_ignored() -> None:
    client_k = client_kite()
    a, b = kite.memory_pipe_pair()
    async with client_k.connect_pipe(b) as client, trio.open_nursery() as nursery:
        results: list[Any] = []

        async def call() -> None:
            results.append(await client.tell("x"))

        nursery.start_soon(call)
        request = json.loads(await a.receive())
        cid = next(iter(request["callbacks"]))
        for result in (1, 2):
            await a.send(f'{{"method":{cid},"arguments":[{{"result":{result}}}],"callbacks":{{}}}}')
        await a.send('{"method":999,"arguments":[],"callbacks":{}}')
        # The connection still works after the ignored messages.
        nursery.start_soon(call)
        request = json.loads(await a.receive())
        cid = next(iter(request["callbacks"]))
        await a.send(f'{{"method":{cid},"arguments":[{{"result":3}}],"callbacks":{{}}}}')
    assert results == [1, 3]
    assert len(client.callbacks) == 0


async def test_accepting_side_calls_dialler_with_callbacks() -> None:
    """Roles reversed: the accepting kite runs `countdown` on the kite that dialled it."""
    ticks: list[int] = []
    async with connected(client_kite(), math_kite()) as (_, accepted, _, _):
        assert await accepted.tell("countdown", {"cb": ticks.append, "from": 4}) == "done"
    assert ticks == [4, 3, 2, 1]


async def test_handlers_calling_back_do_not_deadlock_a_saturated_connection() -> None:
    """All request slots busy with handlers waiting for the caller: answers still flow."""
    server = math_kite(limits=PeerLimits(max_concurrent_requests=2, request_backlog=10))
    async with connected(server, client_kite()) as (client, _, _, _):
        results: list[Any] = []
        async with trio.open_nursery() as nursery:
            for _ in range(8):

                async def one() -> None:
                    results.append(await client.call("callMeBack", []))

                nursery.start_soon(one)
    assert results == ["hello from go client"] * 8


async def test_full_backlog_stops_reading() -> None:
    server = math_kite(limits=PeerLimits(max_concurrent_requests=1, request_backlog=1))
    release = trio.Event()

    @server.handle("wait")
    async def wait(r: Request) -> str:
        await release.wait()
        return "released"

    a, b = kite.memory_pipe_pair(max_buffer=0)
    spipe = RecordingPipe(a)
    results: list[str] = []
    async with (
        server.accept(spipe),
        client_kite().connect_pipe(b) as client,
        trio.open_nursery() as nursery,
    ):
        for _ in range(4):

            async def one() -> None:
                results.append(await client.tell("wait"))

            nursery.start_soon(one)
        await trio.testing.wait_all_tasks_blocked()
        # one running, one in the (full) backlog: the third is not read
        assert len(spipe.received) == 2
        release.set()
    assert results == ["released"] * 4


def test_limits_validation() -> None:
    with pytest.raises(ValueError, match="max_concurrent_requests"):
        PeerLimits(max_concurrent_requests=0)
    with pytest.raises(ValueError, match="callback_queue"):
        PeerLimits(callback_queue=-1)
