"""Workflows the server tests serve (imported by the server subprocess by module path)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

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


class Progress(Event):
    n: int


class Greet(Workflow):
    """Streams one Progress event per letter of the name, then greets."""

    @step
    async def greet(self, ctx: Context, ev: StartEvent) -> StopEvent:
        for i, _ in enumerate(ev.name):
            ctx.write_event_to_stream(Progress(n=i))
        return StopEvent(result={"greeting": f"Hello, {ev.name}!"})


class Approval(Workflow):
    """Asks a human, then answers with the verdict."""

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> InputRequiredEvent:
        await ctx.store.set("item", ev.item)
        return InputRequiredEvent(prefix=f"Approve {ev.item}?")

    @step
    async def decide(self, ctx: Context, ev: HumanResponseEvent) -> StopEvent:
        item = await ctx.store.get("item")
        return StopEvent(result=f"{item}: {ev.response}")


def _append_line(path: Path, text: str) -> None:
    with path.open("a") as fh:
        fh.write(text + "\n")


class Tick(Event):
    n: int


class Slow(Workflow):
    """``ev.ticks`` steps of ``ev.pause`` s each, one Progress per step; each
    step execution appends a line to the file named by ``SLOW_LOG``."""

    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> Tick:
        await ctx.store.set("ticks", ev.ticks)
        await ctx.store.set("pause", ev.pause)
        return Tick(n=0)

    @step
    async def tick(self, ctx: Context, ev: Tick) -> Tick | StopEvent:
        log = os.environ.get("SLOW_LOG")
        if log:
            await asyncio.to_thread(_append_line, Path(log), str(ev.n))
        await asyncio.sleep(await ctx.store.get("pause"))
        ctx.write_event_to_stream(Progress(n=ev.n))
        if ev.n + 1 >= await ctx.store.get("ticks"):
            return StopEvent(result=ev.n + 1)
        return Tick(n=ev.n + 1)
