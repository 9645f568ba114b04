"""Events sent from outside (``store.send_event``) while a run is busy.

Found by the generated workflows: an answer to ``wait_for_event`` sent through
the store is refused while another step of the run is still running.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step

pytestmark = pytest.mark.timeout(30)


class Go(Event):
    pass


class Slow(Event):
    pass


class Answer(Event):
    value: int


class Busy(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Go | Slow | None:
        ctx.send_event(Go())
        ctx.send_event(Slow())
        return None

    @step
    async def slow(self, ev: Slow) -> None:
        await asyncio.sleep(1.0)  # keeps the run "running" while the other step waits
        return None

    @step
    async def wait(self, ctx: Context, ev: Go) -> StopEvent:
        answer = await ctx.wait_for_event(Answer, timeout=None)
        return StopEvent(result=answer.value)


async def test_answer_to_a_waiter_is_accepted_while_another_step_runs(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "j.db") as store:
        handler = Busy(store=store, timeout=10).run(run_id="busy")
        for _ in range(200):  # until the waiter is journaled
            if any(e.kind == "waiter" for e in await store.read("busy")):
                break
            await asyncio.sleep(0.01)
        await store.send_event("busy", Answer(value=7))
        assert await handler == 7
