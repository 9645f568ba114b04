"""Resume, ownership, resources and stream re-attach, with a restart simulated by a new store object."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Annotated

import pytest

from durable_flows import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    Resource,
    SqliteStore,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from durable_flows.errors import (
    EventNotAcceptedError,
    LeaseHeldError,
    RunFinishedError,
    RunNotFoundError,
    StaleLeaseError,
)
from durable_flows.events import WorkflowIdleEvent


class Client:
    made = 0

    def __init__(self) -> None:
        Client.made += 1


def make_client() -> Client:
    return Client()


class Progress(Event):
    n: int


class TwoPhase(Workflow):
    """Uses a cached resource before and after a human answer; streams progress."""

    @step
    async def ask(
        self, ctx: Context, ev: StartEvent, client: Annotated[Client, Resource(make_client)]
    ) -> InputRequiredEvent:
        ctx.write_event_to_stream(Progress(n=1))
        return InputRequiredEvent(prefix="go?")

    @step
    async def act(
        self, ctx: Context, ev: HumanResponseEvent, client: Annotated[Client, Resource(make_client)]
    ) -> StopEvent:
        ctx.write_event_to_stream(Progress(n=2))
        return StopEvent(result=ev.response)


async def park(wf: Workflow, **kwargs: object) -> str:
    """Run until the run waits for input; return its id (the handler is dropped)."""
    handler = wf.run(**kwargs)
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, WorkflowIdleEvent):
            return handler.run_id
    raise AssertionError("the run finished instead of waiting")


async def test_resume_in_new_store_recreates_cached_resource_once(db_path: Path) -> None:
    Client.made = 0
    store = SqliteStore(str(db_path))
    run_id = await park(TwoPhase(store=store))
    assert Client.made == 1
    run = await store.get_run(run_id)
    assert run is not None and run.status == "waiting"
    assert run.waiting_for == ["durable_flows.events.HumanResponseEvent"]
    await store.close()

    store2 = SqliteStore(str(db_path))  # a new process, as far as the journal can tell
    await store2.send_event(run_id, HumanResponseEvent(response="now"))
    handler = TwoPhase(store=store2).resume(run_id)
    assert await handler == "now"
    assert Client.made == 2  # once per hosted segment of the run, not once per step
    resources = [e for e in await store2.history(run_id) if e["kind"] == "resource"]
    assert [r["payload"]["key"] for r in resources] == [f"{__name__}.make_client"] * 2
    await store2.close()


async def test_stream_reattach_after_resume_sees_each_event_once(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    run_id = await park(TwoPhase(store=store))
    await store.close()
    store2 = SqliteStore(str(db_path))
    await store2.send_event(run_id, HumanResponseEvent(response="ok"))
    handler = TwoPhase(store=store2).resume(run_id)
    seen = [ev async for ev in handler.stream_events(after=0)]
    progress = [ev.n for ev in seen if isinstance(ev, Progress)]
    assert progress == [1, 2]
    assert sum(isinstance(ev, InputRequiredEvent) for ev in seen) == 1
    assert isinstance(seen[-1], StopEvent)
    await store2.close()


async def test_second_resume_while_owner_alive_is_refused(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    run_id = await park(TwoPhase(store=store))  # this store still owns the waiting run
    other = SqliteStore(str(db_path))
    with pytest.raises(LeaseHeldError, match=run_id):
        await TwoPhase(store=other).resume(run_id)
    await other.close()
    await store.close()


async def test_stale_owner_cannot_write(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    handler = TwoPhase(store=store).run()
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, WorkflowIdleEvent):
            break
    run_id = handler.run_id
    # The owner looks dead to the world (its lease lapsed); another process takes over.
    con = sqlite3.connect(db_path)
    con.execute("UPDATE runs SET lease_expires = 0 WHERE run_id = ?", (run_id,))
    con.commit()
    con.close()
    other = SqliteStore(str(db_path))
    taker = TwoPhase(store=other).resume(run_id)
    await asyncio.sleep(0.2)
    rows_before = len(await other.history(run_id))
    # The old owner wakes up and tries to go on: its append is refused.
    handler.ctx.send_event(HumanResponseEvent(response="stale"))
    with pytest.raises(StaleLeaseError):
        await handler
    assert len(await other.history(run_id)) == rows_before
    await other.send_event(run_id, HumanResponseEvent(response="fresh"))
    assert await taker == "fresh"
    await other.close()
    await store.close()


async def test_send_event_errors(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    with pytest.raises(RunNotFoundError):
        await store.send_event("missing", HumanResponseEvent(response="x"))
    run_id = await park(TwoPhase(store=store))
    with pytest.raises(EventNotAcceptedError, match="Progress"):
        await store.send_event(run_id, Progress(n=3))
    await store.send_event(run_id, HumanResponseEvent(response="done"))
    await asyncio.sleep(0.5)  # the live owner polls its inbox
    run = await store.get_run(run_id)
    assert run is not None and run.status == "completed"
    with pytest.raises(RunFinishedError):
        await store.send_event(run_id, HumanResponseEvent(response="late"))
    await store.close()


async def test_resume_unknown_run(db_path: Path) -> None:
    with pytest.raises(RunNotFoundError, match="nope"):
        await TwoPhase(store=SqliteStore(str(db_path))).resume("nope")


async def test_recover_resumes_orphaned_runs(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    ids = [await park(TwoPhase(store=store)) for _ in range(3)]
    await store.close()  # the owner process is gone
    store2 = SqliteStore(str(db_path))
    wf = TwoPhase(store=store2)
    handlers = await wf.recover()
    assert sorted(h.run_id for h in handlers) == sorted(ids)
    assert await wf.recover() == []  # now owned by this live process: skipped
    for run_id in ids:
        await store2.send_event(run_id, HumanResponseEvent(response=run_id))
    assert sorted(await asyncio.gather(*handlers)) == sorted(ids)
    await store2.close()


class Unserializable(Event):
    payload: object


async def test_unserializable_event_field_fails_step_clearly(db_path: Path) -> None:
    from durable_flows.errors import EventNotSerializableError

    class Bad(Workflow):
        @step
        async def s(self, ev: StartEvent) -> Unserializable:
            return Unserializable(payload=object())

        @step
        async def t(self, ev: Unserializable) -> StopEvent:
            return StopEvent()

    store = SqliteStore(str(db_path))
    handler = Bad(store=store).run()
    with pytest.raises(EventNotSerializableError, match="payload.*JsonPickleSerializer"):
        await handler
    kinds = [e["kind"] for e in await store.history(handler.run_id)]
    assert kinds[:3] == ["run_started", "sent", "accepted"] and kinds[-1] == "failed"
    await store.close()


async def test_bad_database_paths_give_clear_errors(tmp_path: Path) -> None:
    from durable_flows.errors import StoreOpenError

    class Hello(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result=1)

    missing_dir = tmp_path / "no" / "such" / "dir" / "j.db"
    with pytest.raises(StoreOpenError, match="cannot open journal database"):
        await Hello(store=SqliteStore(str(missing_dir))).run()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    before = garbage.read_bytes()
    with pytest.raises(StoreOpenError):
        await Hello(store=SqliteStore(str(garbage))).run()
    assert garbage.read_bytes() == before  # nothing was changed


async def test_resumed_waiting_run_reports_running_then_completed(db_path: Path) -> None:
    """Regression: the runs row stayed 'waiting' after a resumed run took in its answer."""
    store = SqliteStore(str(db_path))
    run_id = await park(TwoPhase(store=store))
    await store.close()
    store2 = SqliteStore(str(db_path))
    handler = TwoPhase(store=store2).resume(run_id)
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, WorkflowIdleEvent):
            break  # resumed, nothing to do yet: idle again, and says so
    await store2.send_event(run_id, HumanResponseEvent(response="go"))
    assert await handler == "go"
    info = await store2.get_run(run_id)
    assert info is not None and info.status == "completed" and info.waiting_for == []
    await store2.close()


def test_a_zombie_owner_is_dead() -> None:
    """Regression: a SIGKILLed process not yet reaped still answered kill(pid, 0)."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    from durable_flows.storage.owners import owner_is_dead

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    owner = f"{socket.gethostname()}:{proc.pid}:abc"
    assert not owner_is_dead(owner)
    os.kill(proc.pid, signal.SIGKILL)
    time.sleep(0.3)  # killed, not reaped: a zombie
    assert owner_is_dead(owner)
    proc.wait()
    assert owner_is_dead(owner)
