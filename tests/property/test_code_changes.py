"""Code changes between start and resume.

A run of ``Orders`` is stopped with work pending: the ``pack`` step (one
worker) runs on the first order and the second order is queued for it; a
human question is outstanding. Then it is resumed with other code under the
same workflow name:

- compatible: a changed step body; a new step nothing routes to yet; a new
  step that also accepts an event type the journal already delivered (history
  keeps its routing; only new deliveries reach it);
- incompatible: ``pack`` renamed or removed while work for it is pending; an
  event type renamed (its class gone) or its fields made incompatible; a state
  type that cannot load the stored state. Each raises NonDeterminismError
  naming the run, the journal entry, what it expected and what the code has,
  without changing the run.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import test_code_changes as this
from proptools import SimulatedCrash
from pydantic import BaseModel

from durable_flows import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    SqliteStore,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from durable_flows.errors import EventNotAcceptedError, NonDeterminismError
from durable_flows.storage.rows import JournalEntry

pytestmark = pytest.mark.timeout(30)

NAME = "orders"
GOLDEN_WAITING = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "waiting.db"


class Order(Event):
    n: int


class Packed(Event):
    n: int


class Question(InputRequiredEvent):
    prefix: str


class Answer(HumanResponseEvent):
    response: str


class Audit(Event):
    """A type no step of the original code knows."""

    note: str


class Orders(Workflow):
    """The code the runs start with."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(workflow_name=NAME, timeout=30, **kw)

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Order | None:
        ctx.send_event(Order(n=1))
        ctx.send_event(Order(n=2))
        return None

    @step(num_workers=1)
    async def pack(self, ev: Order) -> Packed:
        return Packed(n=ev.n * 10)

    @step
    async def ask(self, ctx: Context, ev: Packed) -> Question | None:
        if ctx.collect_events(ev, [Packed, Packed]) is None:
            return None
        return Question(prefix="ship?")

    @step
    async def ship(self, ctx: Context, ev: Answer) -> StopEvent:
        await ctx.store.set("shipped", ev.response)
        return StopEvent(result=f"shipped: {ev.response}")


# --- new code, compatible ---------------------------------------------------------------


class NewPackBody(Orders):
    """Same steps and types; ``pack`` computes something else."""

    @step(num_workers=1)
    async def pack(self, ev: Order) -> Packed:  # type: ignore[override]
        return Packed(n=ev.n * 100)


class AddedUnrouted(Orders):
    """A new step for a type nothing sends yet (the graph check would refuse it)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(disable_validation=True, **kw)

    @step
    async def audit(self, ev: Audit) -> None:
        return None


class AddedRouted(Orders):
    """A new step that also takes Order: only orders delivered from now on reach it."""

    seen: list[int] = []

    @step
    async def count_orders(self, ev: Order) -> None:
        AddedRouted.seen.append(ev.n)
        return None


# --- new code, incompatible -----------------------------------------------------------


class PackRenamed(Workflow):
    def __init__(self, **kw: Any) -> None:
        super().__init__(workflow_name=NAME, timeout=30, **kw)

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Order | None:
        return None

    @step(num_workers=1)
    async def pack_order(self, ev: Order) -> Packed:
        return Packed(n=ev.n)

    @step
    async def ask(self, ctx: Context, ev: Packed) -> Question:
        return Question(prefix="ship?")

    @step
    async def ship(self, ev: Answer) -> StopEvent:
        return StopEvent(result="x")


class PackRemoved(Workflow):
    def __init__(self, **kw: Any) -> None:
        super().__init__(workflow_name=NAME, timeout=30, **kw)

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Question:
        return Question(prefix="ship?")

    @step
    async def ship(self, ev: Answer) -> StopEvent:
        return StopEvent(result="x")


class PackTakesAudit(Orders):
    """``pack`` keeps its name but no longer accepts Order."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(disable_validation=True, **kw)

    @step(num_workers=1)
    async def pack(self, ev: Audit) -> Packed:  # type: ignore[override]
        return Packed(n=0)


# --- making a run with pending work -------------------------------------------------------


class DiesAfterPackStarts(SqliteStore):
    """Commits the batch in which ``pack`` accepted its first order, then dies."""

    dead = False

    async def append(
        self, lease: Any, entries: Any, update: Any = None, consumed_inbox: Any = (), *, durable: bool = True
    ) -> None:
        if self.dead:
            raise SimulatedCrash("dead")
        await super().append(lease, entries, update, consumed_inbox, durable=durable)
        if any(e.kind == "accepted" and e.step == "pack" for e in entries):
            self.dead = True
            raise SimulatedCrash("died while pack runs and an order is queued for it")


async def _pending_run(path: Path, run_id: str = "r1") -> list[JournalEntry]:
    """A run stopped with pack in flight on order 1 and order 2 queued for it."""
    store = DiesAfterPackStarts(path)
    with pytest.raises(SimulatedCrash):
        await Orders(store=store).run(run_id=run_id)
    await store.close()
    reader = SqliteStore(path)
    try:
        return await reader.read(run_id)
    finally:
        await reader.close()


async def _finish(wf_cls: type[Workflow], path: Path, run_id: str = "r1") -> Any:
    store = SqliteStore(path)
    try:
        handler = wf_cls(store=store).resume(run_id)
        async for ev in handler.stream_events():
            if isinstance(ev, Question):
                await handler.send_event(Answer(response="yes"))
        return await handler
    finally:
        await store.close()


def _seq_of(entries: list[JournalEntry], kind: str, n: int) -> int:
    """Seq of the ``sent`` entry carrying Order(n)."""
    for e in entries:
        if e.kind == kind and e.event_type and e.event_type.endswith(".Order") and json.loads(e.payload)["event"]["n"] == n:
            return e.seq
    raise AssertionError(f"no {kind} of Order(n={n})")


async def test_unchanged_code_resumes(tmp_path: Path) -> None:
    await _pending_run(tmp_path / "j.db")
    assert await _finish(Orders, tmp_path / "j.db") == "shipped: yes"


async def test_changed_step_body_resumes(tmp_path: Path) -> None:
    await _pending_run(tmp_path / "j.db")
    assert await _finish(NewPackBody, tmp_path / "j.db") == "shipped: yes"


async def test_added_unrouted_step_resumes(tmp_path: Path) -> None:
    await _pending_run(tmp_path / "j.db")
    assert await _finish(AddedUnrouted, tmp_path / "j.db") == "shipped: yes"


async def test_added_step_does_not_see_events_delivered_before_it_existed(tmp_path: Path) -> None:
    """History keeps the routing it had: both orders were delivered to pack alone."""
    await _pending_run(tmp_path / "j.db")
    AddedRouted.seen = []
    assert await _finish(AddedRouted, tmp_path / "j.db") == "shipped: yes"
    assert AddedRouted.seen == []


async def _refused(wf_cls: type[Workflow], path: Path) -> NonDeterminismError:
    store = SqliteStore(path)
    try:
        before = await store.read("r1")
        with pytest.raises(NonDeterminismError) as caught:
            await wf_cls(store=store).resume("r1")
        run = await store.get_run("r1")
        assert run is not None and run.status == "running"  # not marked failed: deploy other code
        assert await store.read("r1") == before  # nothing written
        return caught.value
    finally:
        await store.close()


async def test_renamed_step_with_pending_work_is_refused(tmp_path: Path) -> None:
    entries = await _pending_run(tmp_path / "j.db")
    err = await _refused(PackRenamed, tmp_path / "j.db")
    assert err.run_id == "r1"
    assert err.seq == _seq_of(entries, "sent", 2)  # the order still queued for pack
    assert "step 'pack'" in err.expected and "queued" in err.expected and "Order" in err.expected
    assert "no step 'pack'" in err.found and "pack_order" in err.found
    assert "r1" in str(err) and f"seq={err.seq}" in str(err) and "fork" in str(err)


async def test_removed_step_with_pending_work_is_refused(tmp_path: Path) -> None:
    entries = await _pending_run(tmp_path / "j.db")
    err = await _refused(PackRemoved, tmp_path / "j.db")
    assert (err.run_id, err.seq) == ("r1", _seq_of(entries, "sent", 2))
    assert "no step 'pack'" in err.found


async def test_step_that_no_longer_accepts_its_pending_event_is_refused(tmp_path: Path) -> None:
    entries = await _pending_run(tmp_path / "j.db")
    err = await _refused(PackTakesAudit, tmp_path / "j.db")
    assert err.seq == _seq_of(entries, "sent", 2)
    assert "accept" in err.expected and "Order" in err.expected
    assert "Audit" in err.found


async def test_renamed_event_type_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = await _pending_run(tmp_path / "j.db")
    monkeypatch.delattr(this, "Order")  # as after renaming the class
    err = await _refused(Orders, tmp_path / "j.db")
    first = next(e.seq for e in entries if e.event_type == "test_code_changes.Order")
    assert (err.run_id, err.seq) == ("r1", first)
    assert "test_code_changes.Order" in err.expected
    assert "no importable class" in err.found


class OrderWithListField(Event):
    n: list[str]


async def test_event_fields_made_incompatible_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entries = await _pending_run(tmp_path / "j.db")
    monkeypatch.setattr(this, "Order", OrderWithListField)
    err = await _refused(Orders, tmp_path / "j.db")
    first = next(e.seq for e in entries if e.event_type == "test_code_changes.Order")
    assert err.seq == first
    assert "loads the stored fields" in err.expected and "n" in err.found


class Tally(Workflow):
    def __init__(self, **kw: Any) -> None:
        super().__init__(workflow_name="tally", timeout=30, **kw)

    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> Question:
        await ctx.store.set("count", 3)
        return Question(prefix="more?")

    @step
    async def end(self, ctx: Context, ev: Answer) -> StopEvent:
        return StopEvent(result=await ctx.store.get("count"))


class StrictState(BaseModel):
    count: list[str] = []


class TallyTyped(Workflow):
    def __init__(self, **kw: Any) -> None:
        super().__init__(workflow_name="tally", timeout=30, **kw)

    @step
    async def begin(self, ctx: Context[StrictState], ev: StartEvent) -> Question:
        return Question(prefix="more?")

    @step
    async def end(self, ctx: Context[StrictState], ev: Answer) -> StopEvent:
        return StopEvent(result=None)


async def test_state_type_that_cannot_load_the_stored_state_is_refused(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "j.db")
    try:
        handler = Tally(store=store).run(run_id="t")
        async for ev in handler.stream_events():
            if isinstance(ev, Question):
                break
        for _ in range(100):
            run = await store.get_run("t")
            if run is not None and run.status == "waiting":
                break
            await asyncio.sleep(0.01)
    finally:
        await store.close()
    store = SqliteStore(tmp_path / "j.db")
    try:
        with pytest.raises(NonDeterminismError) as caught:
            await asyncio.wait_for(TallyTyped(store=store).resume("t"), 5)
        assert "StrictState" in caught.value.found and "DictState" in caught.value.expected
        assert "count" in caught.value.found
        assert caught.value.seq is not None
    finally:
        await store.close()


async def test_awaited_event_type_gone_while_a_waiter_is_pending_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The golden waiting run is parked on wait_for_event(golden_wf.Approval)."""
    import shutil

    import golden_wf

    path = tmp_path / "waiting.db"
    shutil.copyfile(GOLDEN_WAITING, path)
    monkeypatch.delattr(golden_wf, "Approval")
    async with SqliteStore(path) as store:
        waiter_seq = next(e.seq for e in await store.read(golden_wf.WAITING) if e.kind == "waiter")
        wf = golden_wf.Asks(store=store, workflow_name="golden.asks", timeout=None)
        with pytest.raises(NonDeterminismError) as caught:
            await asyncio.wait_for(wf.resume(golden_wf.WAITING), 5)
    err = caught.value
    assert (err.run_id, err.seq) == (golden_wf.WAITING, waiter_seq)
    assert "golden_wf.Approval" in err.expected and "'approve' waits" in err.expected
    assert "no importable class" in err.found


class Unknown(Event):
    note: str


class AddedAnswerNote(Orders):
    """A new step that also takes Answer, which arrives only after the resume."""

    noted: list[str] = []

    @step
    async def note(self, ev: Answer) -> None:
        AddedAnswerNote.noted.append(ev.response)
        return None


async def test_routing_of_new_code_after_a_resume_replays_as_it_ran(tmp_path: Path) -> None:
    """Regression: replay used the run's first fingerprint for every event, but after a
    resume under changed code the live loop routes new events with the new code. An
    event delivered after the resume to a new step then made the next replay fail
    (the ``accepted`` record found no event queued for that step). The ``resumed``
    record now carries the routing the loop uses from there on."""
    path = tmp_path / "j.db"
    await _pending_run(path)
    AddedAnswerNote.noted = []
    assert await _finish(AddedAnswerNote, path) == "shipped: yes"
    assert AddedAnswerNote.noted == ["yes"]  # the new step took the answer live
    store = SqliteStore(path)
    try:
        entries = await store.read("r1")
        accepted = [e.step for e in entries if e.kind == "accepted" and e.event_type is None]
        assert "note" in accepted
        # Reading the finished run back replays the whole journal with its routing.
        assert await AddedAnswerNote(store=store).resume("r1") == "shipped: yes"
        info = await store.get_run("r1")
        assert info is not None and info.status == "completed"
    finally:
        await store.close()
    assert AddedAnswerNote.noted == ["yes"]  # nothing ran again


async def test_send_event_checks_against_the_code_that_resumed_the_run(tmp_path: Path) -> None:
    """Regression (review): the run row kept the first code's fingerprint, so
    ``store.send_event`` refused an event type that only the resuming code takes."""
    path = tmp_path / "j.db"
    await _pending_run(path)
    store, other = SqliteStore(path), SqliteStore(path)
    try:
        handler = AddedUnrouted(store=store).resume("r1")
        async for ev in handler.stream_events():
            if isinstance(ev, Question):
                assert await other.send_event("r1", Audit(note="from another process")) > 0
                await handler.send_event(Answer(response="yes"))
        assert await handler == "shipped: yes"
        info = await other.get_run("r1")
        assert info is not None
        assert json.loads(info.fingerprint or "{}") == AddedUnrouted()._run_spec().fingerprint()
    finally:
        await other.close()
        await store.close()
    # While a run is running (waiting for nothing), the row's fingerprint is all
    # send_event checks against: make the finished run look so and send again.
    con = sqlite3.connect(path)
    con.execute("UPDATE runs SET status = 'running', waiting_for = '[]' WHERE run_id = 'r1'")
    con.commit()
    con.close()
    async with SqliteStore(path) as other:
        assert await other.send_event("r1", Audit(note="only the new code takes it")) > 0
        with pytest.raises(EventNotAcceptedError):
            await other.send_event("r1", Unknown(note="no step takes it"))
