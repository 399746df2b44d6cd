"""Property: any sequence of registry operations leaves the SQLite storage answering queries
exactly like a plain dict model (upsert overwrites unless another user's live row holds the id,
heartbeat refreshes, expiry hides, cleanup removes, queries are equality on non-empty fields)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from kite.protocol import KiteIdentity
from kontrol import (
    KeyPair,
    KiteIdTakenError,
    KontrolQuery,
    ManualClock,
    QueryError,
    open_sqlite_storage,
    plan_query,
)

IDS = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(4)]
KEY = KeyPair("11111111-1111-4111-8111-111111111111", "pub", "priv")
TTL = 90.0

kites = st.builds(
    KiteIdentity,
    name=st.sampled_from(["math", "echo"]),
    username=st.sampled_from(["alice", "bob"]),
    id=st.sampled_from(IDS),
    environment=st.just("prod"),
    region=st.sampled_from(["eu", "us"]),
    version=st.sampled_from(["1.0.0", "1.1.0", "2.0.0"]),
    hostname=st.just("vm"),
)
queries = st.builds(
    KontrolQuery,
    username=st.sampled_from(["", "alice", "bob"]),
    name=st.sampled_from(["", "math", "echo"]),
    region=st.sampled_from(["", "eu"]),
    version=st.sampled_from(["", "1.0.0", ">= 1.1", "~> 1.0"]),
    id=st.sampled_from(["", IDS[0]]),
).filter(lambda q: bool(q.username or q.name or q.region or q.id))
operations = st.lists(
    st.one_of(
        st.tuples(st.just("upsert"), kites),
        st.tuples(st.just("heartbeat"), st.sampled_from(IDS)),
        st.tuples(st.just("delete"), st.sampled_from(IDS)),
        st.tuples(st.just("advance"), st.sampled_from([1.0, 30.0, 60.0, 100.0])),
        st.tuples(st.just("clean"), st.none()),
        st.tuples(st.just("query"), queries),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(operations)
def test_storage_behaves_like_a_dict(ops: list[tuple[str, Any]]) -> None:
    async def run() -> None:
        clock = ManualClock()
        model: dict[str, tuple[KiteIdentity, float]] = {}
        async with open_sqlite_storage(
            ":memory:", ttl=TTL, clock=clock, cleanup_interval=None
        ) as s:
            await s.add_key(KEY)
            for op, arg in ops:
                if op == "upsert":
                    held = model.get(arg.id)
                    if (
                        held is not None
                        and held[0].username != arg.username
                        and held[1] >= clock.now - TTL
                    ):
                        with pytest.raises(KiteIdTakenError):
                            await s.upsert(arg, "http://h/kite", KEY.id)
                        continue
                    await s.upsert(arg, "http://h/kite", KEY.id)
                    model[arg.id] = (arg, clock.now)
                elif op == "heartbeat":
                    assert await s.heartbeat(arg) is (arg in model)
                    if arg in model:
                        model[arg] = (model[arg][0], clock.now)
                elif op == "delete":
                    assert await s.delete(arg) is (arg in model)
                    model.pop(arg, None)
                elif op == "advance":
                    clock.advance(arg)
                elif op == "clean":
                    expired = [i for i, (_, t) in model.items() if t < clock.now - TTL]
                    assert await s.clean_expired() == len(expired)
                    for i in expired:
                        del model[i]
                else:
                    try:
                        plan = plan_query(arg)
                    except QueryError:  # e.g. a constraint with only region/id set
                        with pytest.raises(QueryError):
                            await s.get(arg)
                        continue
                    got = await s.get(arg)
                    live = [k for k, t in model.values() if t >= clock.now - TTL]
                    assert {r.kite.id for r in got} == {k.id for k in live if plan.matches(k)}
                    for r in got:
                        assert dataclasses.astuple(r.kite) == dataclasses.astuple(
                            model[r.kite.id][0]
                        )

    trio.run(run)
