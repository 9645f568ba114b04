"""The engine end to end on PostgreSQL: the same runs as on SQLite, plus several store objects.

Engine tests from test_engine.py are collected here a second time, with the
``store`` fixture below handing them a PostgresStore. A new store object
stands for another process (or another machine): resume there, send events
from there, take a run over from there. Skipped unless DURABLE_FLOWS_TEST_PG
is set.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_support import connect, drop_schema, new_schema_name, pg_dsn_or_skip
from test_durability import Client, Progress, TwoPhase, park
from test_engine import (  # noqa: F401 - collected again, on PostgreSQL
    Chain,
    FanOut,
    test_cancel,
    test_chain_journal,
    test_failure_unwrapped,
    test_fan_out_collect,
    test_hello,
    test_human_in_the_loop_live,
    test_resume_finished_run_returns_recorded_result,
    test_retry_journaled,
    test_run_id_exists,
    test_timeout,
    test_typed_state_and_context_reuse,
    test_wait_for_event_live,
)

from durable_flows import HumanResponseEvent, InputRequiredEvent, SqliteStore, StopEvent
from durable_flows.errors import StaleLeaseError
from durable_flows.events import WorkflowIdleEvent
from durable_flows.storage import JournalStore

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def pg() -> Iterator[tuple[str, str]]:
    """``(dsn, schema)`` of this test; the schema is dropped by ``store``/``stores``."""
    yield pg_dsn_or_skip(), new_schema_name()


@pytest.fixture
async def stores(pg: tuple[str, str]) -> AsyncIterator[Any]:
    """Makes PostgresStore objects on this test's schema (one per "process")."""
    from durable_flows.storage.postgres import PostgresStore

    made: list[PostgresStore] = []

    def make(**kw: Any) -> PostgresStore:
        made.append(PostgresStore(pg[0], schema=pg[1], **kw))
        return made[-1]

    try:
        yield make
    finally:
        for s in made:
            await s.close()
        await drop_schema(*pg)


@pytest.fixture(params=["postgres"])
async def store(stores: Any) -> AsyncIterator[JournalStore]:
    """Overrides tests/conftest.py's store: the engine tests imported above run on this."""
    s = stores()
    await s.open()
    yield s


# -- several processes on one journal -------------------------------------------------


async def test_resume_in_a_new_store_object(stores: Any) -> None:
    Client.made = 0
    first = stores()
    run_id = await park(TwoPhase(store=first))
    run = await first.get_run(run_id)
    assert run is not None and run.status == "waiting"
    await first.close()  # the first process is gone; its lease is released
    second = stores()
    await second.send_event(run_id, HumanResponseEvent(response="later"))
    handler = TwoPhase(store=second).resume(run_id)
    assert await handler == "later"
    assert Client.made == 2  # the resource is made again in the new process, once
    kinds = [e["kind"] for e in await second.history(run_id)]
    assert kinds.count("resumed") == 1 and kinds[-1] == "completed"


async def test_send_event_from_another_store_wakes_the_owner_at_once(
    stores: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import durable_flows.runtime.loop as loop

    owner, client = stores(), stores()
    handler = TwoPhase(store=owner).run()
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, WorkflowIdleEvent):
            break
    # Only NOTIFY can wake the owner now: its inbox poll is pushed past the timeout.
    monkeypatch.setattr(loop, "POLL_INTERVAL", 60.0)
    await asyncio.sleep(0.3)  # let a poll already under way end
    started = time.monotonic()
    await client.send_event(handler.run_id, HumanResponseEvent(response="remote"))
    assert await asyncio.wait_for(handler, 5) == "remote"
    assert time.monotonic() - started < 2


async def test_stream_reattach_from_another_store_sees_each_event_once(stores: Any) -> None:
    first = stores()
    run_id = await park(TwoPhase(store=first))
    await first.close()
    second = stores()
    await second.send_event(run_id, HumanResponseEvent(response="ok"))
    handler = TwoPhase(store=second).resume(run_id)
    seen = [ev async for ev in handler.stream_events(after=0)]
    assert [ev.n for ev in seen if isinstance(ev, Progress)] == [1, 2]
    assert sum(isinstance(ev, InputRequiredEvent) for ev in seen) == 1
    assert isinstance(seen[-1], StopEvent)


async def test_a_stale_owner_cannot_write_after_another_store_took_over(
    stores: Any, pg: tuple[str, str]
) -> None:
    old, new = stores(), stores()
    handler = TwoPhase(store=old).run()
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, WorkflowIdleEvent):
            break
    run_id = handler.run_id
    db = await connect(*pg)
    await db.execute("UPDATE runs SET lease_expires = 0 WHERE run_id = $1", run_id)
    await db.close()
    taker = TwoPhase(store=new).resume(run_id)
    await asyncio.sleep(0.3)
    rows_before = len(await new.history(run_id))
    handler.ctx.send_event(HumanResponseEvent(response="stale"))
    with pytest.raises(StaleLeaseError):
        await handler
    assert len(await new.history(run_id)) == rows_before
    await new.send_event(run_id, HumanResponseEvent(response="fresh"))
    assert await taker == "fresh"


async def test_recover_picks_up_runs_of_a_closed_store(stores: Any) -> None:
    first = stores()
    ids = [await park(TwoPhase(store=first)) for _ in range(3)]
    await first.close()
    second = stores()
    wf = TwoPhase(store=second)
    handlers = await wf.recover()
    assert sorted(h.run_id for h in handlers) == sorted(ids)
    assert await wf.recover() == []  # owned by this live store now
    for run_id in ids:
        await stores().send_event(run_id, HumanResponseEvent(response=run_id))
    assert sorted(await asyncio.gather(*handlers)) == sorted(ids)


async def test_fan_out_runs_in_parallel_share_group_commits(stores: Any) -> None:
    store = stores()
    handlers = [FanOut(store=store).run(count=8) for _ in range(20)]
    results = await asyncio.gather(*handlers)
    assert results == [[i * i for i in range(8)]] * 20
    writer = store._writer
    entries = sum([len(await store.read(h.run_id)) for h in handlers])
    assert writer.commits < entries / 2  # many runs' appends shared transactions


# -- the views match SQLite's -----------------------------------------------------------


async def test_views_show_the_same_rows_as_on_sqlite(
    stores: Any, pg: tuple[str, str], tmp_path: Path
) -> None:
    import sqlite3

    lite = SqliteStore(str(tmp_path / "j.db"))
    pgs = stores()
    for store in (lite, pgs):
        assert await Chain(store=store).run(run_id="chain", n=1) == 20
        assert await FanOut(store=store).run(run_id="fan", count=3) == [0, 1, 4]
    await lite.close()
    queries = {
        "run_summary": "SELECT run_id, workflow, status, entries, steps_run, attempts, "
        "failures, events, pending_inbox, outcome_type, error_type FROM run_summary",
        "step_executions": "SELECT run_id, exec, step, worker, event_type, attempts, outcome "
        "FROM step_executions",
        "step_attempts": "SELECT run_id, exec, step, attempt, accepted_seq, ended_seq, outcome "
        "FROM step_attempts",
        "run_events": "SELECT run_id, seq, kind, event_type, source, from_step, exec, target "
        "FROM run_events",
    }
    con = sqlite3.connect(tmp_path / "j.db")
    db = await connect(*pg)
    try:
        for view, sql in queries.items():
            want = sorted((tuple(r) for r in con.execute(sql).fetchall()), key=repr)
            got = sorted((tuple(r) for r in await db.fetch(sql)), key=repr)
            assert got == want, view
            assert want, view
    finally:
        con.close()
        await db.close()


# -- snapshots -------------------------------------------------------------------------


async def test_resume_in_another_store_object_starts_from_the_snapshot(
    stores: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_snapshots import Counter, Go

    from durable_flows.runtime import snapshot

    monkeypatch.setattr(snapshot, "SIZE_RATIO", 0)
    first = stores()
    handler = Counter(store=first, snapshot_every=10).run(run_id="count", start_event=Go(n=30))
    for _ in range(500):
        info = await first.get_run("count")
        if info is not None and info.status == "waiting":
            break
        await asyncio.sleep(0.01)
    assert info is not None and info.snapshot_seq is not None
    await first.close()
    second = stores()
    reads: list[int] = []
    read = second.read

    async def counting(run_id: str, after_seq: int = 0) -> Any:
        reads.append(after_seq)
        return await read(run_id, after_seq)

    second.read = counting  # type: ignore[method-assign]
    await second.send_event("count", HumanResponseEvent(response="pg"))
    handler = Counter(store=second).resume("count")
    assert await handler == "29 then pg"
    assert reads[0] == info.snapshot_seq - 1
