"""Submitting runs and executing them in workers (in this process, against SQLite)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from durable_flows import HumanResponseEvent, SqliteStore
from durable_flows.errors import WorkflowTimeoutError
from durable_flows.ops.worker import Worker

sys.path.insert(0, str(Path(__file__).parent / "crash"))
from refwf import Reference  # noqa: E402

EXPECTED = {"total": 60, "answer": "yes", "done": 3}


async def answer_when_waiting(store: SqliteStore, run_id: str) -> None:
    while True:
        info = await store.get_run(run_id)
        if info is not None and info.status == "waiting":
            await store.send_event(run_id, HumanResponseEvent(response="yes"))
            return
        await asyncio.sleep(0.02)


async def test_submitted_runs_are_executed_by_a_worker(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    wf = Reference(store=store, timeout=60)
    handles = [await wf.submit(base=10) for _ in range(12)]
    for h in handles:
        info = await store.get_run(h.run_id)
        assert info is not None and info.owner is None and info.status == "running"
    stop = asyncio.Event()
    worker = Worker([Reference(timeout=60)], store=store, concurrency=4)
    serving = asyncio.create_task(worker.run(stop))
    answering = [asyncio.create_task(answer_when_waiting(store, h.run_id)) for h in handles]
    results = await asyncio.wait_for(asyncio.gather(*handles), 60)
    assert results == [EXPECTED] * 12
    stop.set()
    await serving
    await asyncio.gather(*answering)
    assert worker.finished == 12
    assert worker.parked == 12  # each run went idle once, was released, and picked up again
    for h in handles:
        kinds = [e["kind"] for e in await store.history(h.run_id)]
        assert kinds.count("resumed") == 2  # claimed when submitted, again after the answer
    await store.close()


async def test_remote_handler_streams_and_raises(db_path: Path) -> None:
    from durable_flows import StartEvent, StopEvent, Workflow, step

    class Slow(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            await asyncio.sleep(5)
            return StopEvent()

    store = SqliteStore(str(db_path))
    handle = await Slow(store=store, timeout=0.3).submit()
    stop = asyncio.Event()
    serving = asyncio.create_task(Worker([Slow(timeout=0.3)], store=store).run(stop))
    with pytest.raises(WorkflowTimeoutError):
        await asyncio.wait_for(handle, 20)
    stop.set()
    await serving
    await store.close()


async def test_graceful_shutdown_releases_runs(db_path: Path) -> None:
    from durable_flows import StartEvent, StopEvent, Workflow, step

    class Forever(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            await asyncio.sleep(60)
            return StopEvent()

    store = SqliteStore(str(db_path))
    handle = await Forever(store=store, timeout=None).submit()
    stop = asyncio.Event()
    worker = Worker([Forever(timeout=None)], store=store)
    serving = asyncio.create_task(worker.run(stop, grace=0.2))
    await asyncio.sleep(0.5)
    assert len(worker.active) == 1
    stop.set()
    await serving
    info = await store.get_run(handle.run_id)
    assert info is not None and info.status == "running" and info.owner is None
    await store.close()
