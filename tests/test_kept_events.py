"""An event sent before the waiter it is for exists is kept for it (issue 14 item 2).

Upstream's ``test_spans`` sends the answer right after ``run()``, before the step
has called ``wait_for_event``; upstream 2.26.1 gets it to the waiter by the order
its loop processes ticks in. durable_flows keeps, in the journaled state, every
sent event that no step accepts and no waiter matches when delivered; a waiter
registering later takes the oldest kept event it matches (type, requirements,
target step). Replay folds the same records to the same kept events; crashes
around kept events are covered by the generated workflows' "early" waits
(``tests/property/wfgen.py``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from durable_flows import Context, StartEvent, StopEvent, Workflow, step
from durable_flows.codec.journal import Codec
from durable_flows.events import Event
from durable_flows.runtime.replay import decode_journal, replay
from durable_flows.storage import SqliteStore

pytestmark = pytest.mark.timeout(60)


class WaitEvent(Event):
    value: str


class Other(Event):
    pass


class WaitsAtOnce(Workflow):
    @step
    async def wait_step(self, ctx: Context, ev: StartEvent) -> StopEvent:
        result = await ctx.wait_for_event(WaitEvent)
        return StopEvent(result=result.value)


class WaitsLater(Workflow):
    @step
    async def wait_step(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(0.2)  # the answers arrive before the waiter registers
        result = await ctx.wait_for_event(WaitEvent, requirements={"value": "hello"})
        return StopEvent(result=result.value)


class SentByAStep(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Other:
        ctx.send_event(WaitEvent(value="from a step"))
        return Other()

    @step
    async def waiter(self, ctx: Context, ev: Other) -> StopEvent:
        result = await ctx.wait_for_event(WaitEvent)
        return StopEvent(result=result.value)


async def test_upstream_test_spans_wait_case(tmp_path: Path) -> None:
    """Regression: the answer sent right after run() was dropped and the run waited forever."""
    handler = WaitsAtOnce(store=SqliteStore(str(tmp_path / "j.db"))).run()
    handler.ctx.send_event(WaitEvent(value="hello"))
    assert await handler == "hello"


async def test_the_waiter_takes_the_oldest_matching_kept_event(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "j.db"))
    wf = WaitsLater(store=store)
    handler = wf.run()
    handler.ctx.send_event(WaitEvent(value="nope"))  # does not meet the requirements: stays kept
    handler.ctx.send_event(WaitEvent(value="hello"))
    assert await handler == "hello"
    entries = await store.read(handler.run_id)
    state = replay(handler.run_id, decode_journal(handler.run_id, entries, Codec()), wf._run_spec())
    assert [e.value for _, e in state.kept] == ["nope"]  # type: ignore[attr-defined]
    assert [e.kind for e in entries].count("waiter") == 1
    await store.close()


async def test_an_event_sent_by_another_step_is_kept_for_a_later_waiter(tmp_path: Path) -> None:
    assert await SentByAStep(store=SqliteStore(str(tmp_path / "j.db"))).run() == "from a step"
