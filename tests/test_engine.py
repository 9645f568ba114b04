"""End-to-end behaviour of runs, against a real SQLite file and the in-memory store."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from pydantic import BaseModel

from durable_flows import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from durable_flows.errors import (
    WorkflowCancelledByUser,
    WorkflowRuntimeError,
    WorkflowTimeoutError,
)
from durable_flows.retry_policy import retry_policy, stop_after_attempt, wait_fixed
from durable_flows.storage import JournalStore, SqliteStore


class Hello(Workflow):
    @step
    async def greet(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=f"hello {ev.get('name', 'world')}")


class A(Event):
    n: int


class B(Event):
    n: int


class Chain(Workflow):
    @step
    async def one(self, ev: StartEvent) -> A:
        return A(n=ev.n + 1)

    @step
    async def two(self, ev: A) -> B:
        return B(n=ev.n * 10)

    @step
    async def three(self, ev: B) -> StopEvent:
        return StopEvent(result=ev.n)


class Item(Event):
    i: int


class Done(Event):
    i: int
    square: int


class FanOut(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Item | None:
        await ctx.store.set("count", ev.count)
        for i in range(ev.count):
            ctx.send_event(Item(i=i))
        return None

    @step(num_workers=4)
    async def work(self, ctx: Context, ev: Item) -> Done:
        async with ctx.store.edit_state() as state:
            state["seen"] = state.get("seen", 0) + 1
        ctx.write_event_to_stream(ev)
        return Done(i=ev.i, square=ev.i * ev.i)

    @step
    async def gather(self, ctx: Context, ev: Done) -> StopEvent | None:
        count = await ctx.store.get("count")
        got = ctx.collect_events(ev, [Done] * count)
        if got is None:
            return None
        return StopEvent(result=sorted(d.square for d in got))


async def test_hello(store: JournalStore) -> None:
    result = await Hello(store=store).run(name="durable")
    assert result == "hello durable"


async def test_chain_journal(store: JournalStore) -> None:
    wf = Chain(store=store)
    handler = wf.run(n=1)
    assert await handler == 20
    run = await store.get_run(handler.run_id)
    assert run is not None and run.status == "completed"
    kinds = [e["kind"] for e in await store.history(handler.run_id)]
    assert kinds.count("accepted") == 3
    assert kinds.count("completed") == 3
    assert kinds.count("produced") == 3
    assert kinds[0] == "run_started" and kinds[1] == "sent"


async def test_a_finished_run_is_released_by_its_final_commit(tmp_path: Path) -> None:
    """The lease goes with the run's last append: no owner once the result is out,
    and a chain of 3 steps costs 4 commits (start + one per step), not 5."""
    store = SqliteStore(str(tmp_path / "c.db"))
    await store.open()
    try:
        writer = store._writer
        assert writer is not None
        before = writer._commits
        handler = Chain(store=store).run(n=1)
        assert await handler == 20
        assert writer._commits - before == 4
        run = await store.get_run(handler.run_id)
        assert run is not None and (run.status, run.owner, run.lease_expires) == (
            "completed", None, None,
        )  # fmt: skip
        assert store._jobs.held == {}
    finally:
        await store.close()


async def test_fan_out_collect(store: JournalStore) -> None:
    handler = FanOut(store=store).run(count=12)
    streamed = [ev async for ev in handler.stream_events()]
    result = await handler
    assert result == [i * i for i in range(12)]
    assert sorted(e.i for e in streamed if isinstance(e, Item)) == list(range(12))
    assert isinstance(streamed[-1], StopEvent)
    assert await handler.ctx.store.get("seen") == 12


async def test_fan_out_journal_in_sqlite(tmp_path: Path) -> None:
    from durable_flows import SqliteStore

    path = tmp_path / "f.db"
    store = SqliteStore(str(path))
    handler = FanOut(store=store).run(count=5)
    await handler
    await store.close()
    con = sqlite3.connect(path)
    rows = con.execute(
        "SELECT kind, step, event_type FROM journal WHERE run_id=? ORDER BY seq", (handler.run_id,)
    ).fetchall()
    kinds = [r[0] for r in rows]
    assert kinds.count("sent") == 1 + 5  # start event + 5 items
    assert sum(1 for r in rows if r[0] == "accepted" and r[1] == "work") == 5
    assert sum(1 for r in rows if r[0] == "collect") == 5  # 4 adds + 1 clear
    assert sum(1 for r in rows if r[0] == "state") == 6  # set(count) + 5 edits
    assert con.execute("SELECT status FROM runs WHERE run_id=?", (handler.run_id,)).fetchone() == ("completed",)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


class Flaky(Workflow):
    calls = 0

    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)))
    async def flaky(self, ev: StartEvent) -> StopEvent:
        Flaky.calls += 1
        if Flaky.calls < 3:
            raise ValueError(f"boom {Flaky.calls}")
        return StopEvent(result=Flaky.calls)


async def test_retry_journaled(store: JournalStore) -> None:
    Flaky.calls = 0
    handler = Flaky(store=store).run()
    assert await handler == 3
    hist = await store.history(handler.run_id)
    failed = [e for e in hist if e["kind"] == "failed"]
    assert [f["payload"]["attempt"] for f in failed] == [1, 2]
    assert all(f["payload"]["retry_in"] == pytest.approx(0.01) for f in failed)
    assert [e["payload"]["attempt"] for e in hist if e["kind"] == "accepted"] == [1, 2, 3]


class AlwaysFails(Workflow):
    @step
    async def bad(self, ev: StartEvent) -> StopEvent:
        raise KeyError("nope")


async def test_failure_unwrapped(store: JournalStore) -> None:
    handler = AlwaysFails(store=store).run()
    with pytest.raises(KeyError):
        await handler
    run = await store.get_run(handler.run_id)
    assert run is not None and run.status == "failed"
    assert "nope" in (run.error or "")


class Slow(Workflow):
    @step
    async def slow(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(5)
        return StopEvent(result="late")


async def test_timeout(store: JournalStore) -> None:
    handler = Slow(store=store, timeout=0.2).run()
    with pytest.raises(WorkflowTimeoutError, match="timed out after 0.2 seconds"):
        await handler
    run = await store.get_run(handler.run_id)
    assert run is not None and run.status == "timed_out"


async def test_cancel(store: JournalStore) -> None:
    handler = Slow(store=store, timeout=None).run()
    await asyncio.sleep(0.05)
    await handler.cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    run = await store.get_run(handler.run_id)
    assert run is not None and run.status == "cancelled"


class Ask(Workflow):
    @step
    async def ask(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="name?")

    @step
    async def answer(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result=f"hi {ev.response}")


async def test_human_in_the_loop_live(store: JournalStore) -> None:
    handler = Ask(store=store).run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            assert ev.prefix == "name?"
            await asyncio.sleep(0.05)
            run = await store.get_run(handler.run_id)
            assert run is not None and run.status == "waiting"
            handler.ctx.send_event(HumanResponseEvent(response="ann"))
    assert await handler == "hi ann"


class Waits(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=InputRequiredEvent(prefix="ok?"),
            waiter_id="q1",
        )
        return StopEvent(result=reply.response)


async def test_wait_for_event_live(store: JournalStore) -> None:
    handler = Waits(store=store).run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response="yes"))
    assert await handler == "yes"
    kinds = [e["kind"] for e in await store.history(handler.run_id)]
    assert kinds.count("waiter") == 1
    assert kinds.count("accepted") == 2  # first run, then the re-run after the answer


class Counter(BaseModel):
    total: int = 0


class Typed(Workflow):
    @step
    async def add(self, ctx: Context[Counter], ev: StartEvent) -> StopEvent:
        async with ctx.store.edit_state() as state:
            state.total += ev.x
        return StopEvent(result=(await ctx.store.get_state()).total)


async def test_typed_state_and_context_reuse(store: JournalStore) -> None:
    wf = Typed(store=store)
    ctx: Context[Counter] = Context(wf)
    assert await wf.run(ctx=ctx, x=2) == 2
    assert await wf.run(ctx=ctx, x=3) == 5


async def test_resume_finished_run_returns_recorded_result(store: JournalStore) -> None:
    wf = Chain(store=store)
    handler = wf.run(n=4)
    assert await handler == 50
    again = Chain(store=store).resume(handler.run_id)
    assert await again == 50


async def test_resume_finished_failed_run_raises(store: JournalStore) -> None:
    handler = AlwaysFails(store=store).run()
    with pytest.raises(KeyError):
        await handler
    with pytest.raises(KeyError):
        await AlwaysFails(store=store).resume(handler.run_id)


async def test_run_id_exists(store: JournalStore) -> None:
    from durable_flows.errors import RunExistsError

    wf = Chain(store=store)
    assert await wf.run(n=1, run_id="dup") == 20
    with pytest.raises(RunExistsError, match="dup"):
        await wf.run(n=2, run_id="dup")
    assert len(await store.history("dup")) > 0
    assert (await store.get_run("dup")).status == "completed"  # type: ignore[union-attr]


async def test_send_to_unknown_step_rejected(store: JournalStore) -> None:
    class Sender(Workflow):
        @step
        async def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
            ctx.send_event(A(n=1), step="nope")
            return StopEvent()

    with pytest.raises(WorkflowRuntimeError, match="does not exist"):
        await Sender(store=store, disable_validation=True).run()


async def test_verbose_prints_steps(store: JournalStore, capsys: pytest.CaptureFixture[str]) -> None:
    await Chain(store=store, verbose=True).run(n=1)
    out = capsys.readouterr().out
    assert "Running step one" in out
    assert "Step two produced event B" in out


def test_workflow_events_and_validate() -> None:
    wf = Chain()
    assert {StartEvent, A, B, StopEvent} <= set(wf.events)
    assert wf.validate() is False


class Note(Event):
    words: list[str]


class Shared(Workflow):
    """Two steps take the same Note; ``scribble`` changes its copy and fails once."""

    attempts: list[list[str]] = []

    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> Note:
        return Note(words=["a"])

    @step(retry_policy=retry_policy(stop=stop_after_attempt(2), wait=wait_fixed(0)))
    async def scribble(self, ctx: Context, ev: Note) -> None:
        Shared.attempts.append(list(ev.words))
        ev.words.append("scribbled")
        if len(Shared.attempts) == 1:
            raise RuntimeError("once")
        await ctx.store.set("scribbled", ev.words)
        return None

    @step
    async def read(self, ctx: Context, ev: Note) -> StopEvent:
        await asyncio.sleep(0.05)  # after scribble changed (its copy of) the event
        return StopEvent(result=ev.words)


async def test_steps_are_given_their_own_copy_of_an_event(store: JournalStore) -> None:
    """Regression: steps got the run state's own event objects, so a step changing its
    input changed it for another step given the same event and for its own retry,
    which a replay of the journal (holding the event as sent) would not see."""
    Shared.attempts = []
    handler = Shared(store=store, skip_graph_checks={"dead_end"}).run()
    assert await handler == ["a"]
    assert Shared.attempts == [["a"], ["a"]]  # the retry starts from the event as journaled
    assert await handler.ctx.store.get("scribbled") == ["a", "scribbled"]


class OddRequirements(Workflow):
    @step
    async def wait(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.wait_for_event(HumanResponseEvent, requirements={"at": object()})
        return StopEvent(result="?")


async def test_wait_for_event_requirements_must_be_json(store: JournalStore) -> None:
    """They are journaled with the waiter: anything else fails the step with a clear
    error (it used to abort the run loop and leave the run 'running')."""
    handler = OddRequirements(store=store).run()
    with pytest.raises(WorkflowRuntimeError, match="requirements must be JSON values"):
        await asyncio.wait_for(handler, 10)
    run = await store.get_run(handler.run_id)
    assert run is not None and run.status == "failed"
