"""Effects of an execution that was in flight at a crash must not be applied twice.

Found by the generated crash tests (``test_prop_crash.py``) once steps were
made to finish in another order than they started. Both failures come from
live-shared structures: a concurrent execution's *uncommitted* change is
captured by another execution's *committed* record, and the in-flight
execution then runs again after the restart and makes its change a second
time. The live loop now journals a completion only after every execution whose
uncommitted change it read, overwrote or consumed (``runtime/commit_order.py``);
these tests pin the two original cases, and the generated crash tests check
the rule on every run (``proptools.check_exactly_once``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from proptools import SimulatedCrash

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step
from durable_flows.storage.rows import JournalEntry

pytestmark = pytest.mark.timeout(30)


class Part(Event):
    i: int


class PartDone(Event):
    i: int


class Round2(Event):
    first: int


class SharedCounter(Workflow):
    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Part | None:
        ctx.send_event(Part(i=1))
        ctx.send_event(Part(i=10))
        return None

    @step(num_workers=2)
    async def work(self, ctx: Context, ev: Part) -> PartDone:
        async with ctx.store.edit_state() as state:
            state["total"] = state.get("total", 0) + ev.i
        if ev.i == 1:  # edits first, finishes last
            await asyncio.sleep(0.3)
        return PartDone(i=ev.i)

    @step
    async def gather(self, ctx: Context, ev: PartDone) -> StopEvent | None:
        if ctx.collect_events(ev, [PartDone, PartDone]) is None:
            return None
        return StopEvent(result=await ctx.store.get("total"))


class TwoRounds(Workflow):
    @step
    async def first(self, ctx: Context, ev: StartEvent) -> PartDone | None:
        ctx.send_event(PartDone(i=0))
        ctx.send_event(PartDone(i=1))
        return None

    @step
    async def again(self, ctx: Context, ev: Round2) -> PartDone | None:
        ctx.send_event(PartDone(i=2))
        ctx.send_event(PartDone(i=3))
        return None

    @step(num_workers=4)
    async def gather(self, ctx: Context, ev: PartDone) -> Round2 | StopEvent | None:
        got = ctx.collect_events(ev, [PartDone, PartDone])
        if got is None:
            if ev.i == 0:  # buffered first, finishes last
                await asyncio.sleep(0.3)
            return None
        total = sum(p.i for p in got)
        if ev.i < 2:
            return Round2(first=total)
        return StopEvent(result=sorted(p.i for p in got))


class DiesAfter(SqliteStore):
    """Dies right after committing the first append that holds a ``kind`` record."""

    def __init__(self, path: Path, kind: str, op: str | None = None) -> None:
        super().__init__(path)
        self.kind, self.op, self.dead = kind, op, False

    def _matches(self, entries: Any) -> bool:
        return any(e.kind == self.kind and (self.op is None or f'"op":"{self.op}"' in e.payload) for e in entries)

    async def append(
        self, lease: Any, entries: Any, update: Any = None, consumed_inbox: Any = (), *, durable: bool = True
    ) -> None:
        if self.dead:
            raise SimulatedCrash("dead")
        await super().append(lease, entries, update, consumed_inbox, durable=durable)
        if self._matches(entries):
            self.dead = True
            raise SimulatedCrash(f"died after committing a {self.kind} record")


async def _crash_then_resume(wf_cls: type[Workflow], path: Path, kind: str, op: str | None = None) -> tuple[Any, list[JournalEntry]]:
    dying = DiesAfter(path, kind, op)
    handler = wf_cls(store=dying).run(run_id="r")
    with pytest.raises(SimulatedCrash):
        await handler
    await dying.close()
    store = SqliteStore(path)
    try:
        result = await wf_cls(store=store).resume("r")
        return result, await store.read("r")
    finally:
        await store.close()


async def test_uninterrupted_runs_give_the_expected_results(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "j.db")
    try:
        assert await SharedCounter(store=store).run() == 11
        assert await TwoRounds(store=store).run() == [2, 3]
    finally:
        await store.close()


async def test_state_edit_of_an_inflight_execution_is_not_applied_twice(tmp_path: Path) -> None:
    result, _ = await _crash_then_resume(SharedCounter, tmp_path / "j.db", "state")
    assert result == 11


async def test_collected_event_of_an_inflight_execution_is_not_buffered_twice(tmp_path: Path) -> None:
    result, _ = await _crash_then_resume(TwoRounds, tmp_path / "j.db", "collect", "clear")
    assert result == [2, 3]
