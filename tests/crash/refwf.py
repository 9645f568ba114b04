"""The reference workflow for crash tests: chain, fan-out + collect, state, retry, stream, human input.

Every step appends one line per execution to the file named by SIDE_EFFECTS
(the "side effect" a crash must not repeat once its completion is journaled).
"""

from __future__ import annotations

import os
import time

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
from durable_flows.retry_policy import retry_policy, stop_after_attempt, wait_fixed

WIDTH = 3


def side_effect(key: str) -> None:
    """Record that a step ran: ``key``, or ``run_id|key|time`` with SIDE_EFFECTS_TS=1."""
    path = os.environ.get("SIDE_EFFECTS")
    if not path:
        return
    line = key
    if os.environ.get("SIDE_EFFECTS_TS"):
        line = f"{Context.get_step_context().run_id}|{key}|{time.time()}"
    with open(path, "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


class Prepared(Event):
    base: int


class Part(Event):
    i: int
    base: int


class PartDone(Event):
    i: int
    value: int


class Summed(Event):
    total: int


class Checked(Event):
    total: int


class Reference(Workflow):
    @step
    async def prepare(self, ctx: Context, ev: StartEvent) -> Prepared:
        side_effect("prepare")
        await ctx.store.set("base", ev.base)
        return Prepared(base=ev.base)

    @step
    async def split(self, ctx: Context, ev: Prepared) -> Part | None:
        side_effect("split")
        for i in range(WIDTH):
            ctx.send_event(Part(i=i, base=ev.base))
        return None

    @step(num_workers=2)
    async def work(self, ctx: Context, ev: Part) -> PartDone:
        side_effect(f"work:{ev.i}")
        async with ctx.store.edit_state() as state:
            state["done"] = state.get("done", 0) + 1
        ctx.write_event_to_stream(ev)
        return PartDone(i=ev.i, value=ev.base * (ev.i + 1))

    @step
    async def gather(self, ev: PartDone, ctx: Context) -> Summed | None:
        got = ctx.collect_events(ev, [PartDone] * WIDTH)
        if got is None:
            side_effect(f"gather-wait:{ev.i}")
            return None
        side_effect("gather")
        return Summed(total=sum(p.value for p in got))

    @step(retry_policy=retry_policy(wait=wait_fixed(0.05), stop=stop_after_attempt(3)))
    async def check(self, ctx: Context, ev: Summed) -> InputRequiredEvent:
        attempt = ctx.retry_info().retry_number + 1
        side_effect(f"check:{attempt}")
        if attempt < 3:
            raise RuntimeError(f"flaky check, attempt {attempt}")
        await ctx.store.set("total", ev.total)
        return InputRequiredEvent(prefix=f"approve total {ev.total}?")

    @step
    async def finish(self, ctx: Context, ev: HumanResponseEvent) -> StopEvent:
        side_effect("finish")
        total = await ctx.store.get("total")
        done = await ctx.store.get("done")
        return StopEvent(result={"total": total, "answer": ev.response, "done": done})
