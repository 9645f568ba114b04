"""Workflows for the state benchmarks (``bench/state_growth.py``), built for either engine.

Same trick as ``workloads.py``: the classes are made inside :func:`define` for
``durable_flows`` or upstream ``workflows``, with qualified names pointing at a
module-level holder so durable_flows can import journaled events back.

No ``from __future__ import annotations``: step annotations are real classes.
"""

import asyncio
import importlib
import types
from typing import Any

DURABLE_FLOWS: Any = None
UPSTREAM: Any = None

_HOLDER = {"durable_flows": "DURABLE_FLOWS", "upstream": "UPSTREAM"}
_PACKAGE = {"durable_flows": "durable_flows", "upstream": "workflows"}

#: The message each chat turn appends (500 bytes).
MESSAGE = "m" * 500


def define(engine: str) -> Any:
    """Chat, fan-out-with-edits and slow-unrelated-key workflows for ``engine``."""
    holder = _HOLDER[engine]
    if globals()[holder] is not None:
        return globals()[holder]
    api = importlib.import_module(_PACKAGE[engine])
    events = importlib.import_module(_PACKAGE[engine] + ".events")
    ns = types.SimpleNamespace(engine=engine, api=api)
    Event, StartEvent, StopEvent = events.Event, events.StartEvent, events.StopEvent
    Context, Workflow, step = api.Context, api.Workflow, api.step

    def named(cls: Any) -> Any:
        cls.__module__ = __name__
        cls.__qualname__ = f"{holder}.{cls.__name__}"
        setattr(ns, cls.__name__, cls)
        return cls

    @named
    class Turn(Event):
        n: int

    @named
    class ChatStart(StartEvent):
        turns: int

    @named
    class Item(Event):
        i: int

    @named
    class ItemDone(Event):
        i: int

    @named
    class Slow(Event):
        pass

    @named
    class FanStart(StartEvent):
        n: int
        slow: float = 0.0

    @named
    class ChatFlow(Workflow):
        """Each turn appends a 500-byte message to a history kept in ctx.store."""

        @step
        async def begin(self, ctx: Context, ev: ChatStart) -> Turn:
            await ctx.store.set("turns", ev.turns)
            return Turn(n=0)

        @step
        async def turn(self, ctx: Context, ev: Turn) -> Turn | StopEvent:
            history = await ctx.store.get("history", default=[])
            history = history + [MESSAGE]
            await ctx.store.set("history", history)
            if ev.n + 1 < await ctx.store.get("turns"):
                return Turn(n=ev.n + 1)
            return StopEvent(result=len(history))

    @named
    class FanEditFlow(Workflow):
        """n workers, each edits ``seen`` through edit_state; with ``slow``, a slow step edits ``status``."""

        @step
        async def split(self, ctx: Context, ev: FanStart) -> Item | Slow | None:
            await ctx.store.set("n", ev.n)
            if ev.slow:
                await ctx.store.set("slow", ev.slow)
                ctx.send_event(Slow())
            for i in range(ev.n):
                ctx.send_event(Item(i=i))
            return None

        @step
        async def slow_step(self, ctx: Context, ev: Slow) -> None:
            async with ctx.store.edit_state() as state:
                state["status"] = "busy"
            await asyncio.sleep(await ctx.store.get("slow"))
            return None

        @step(num_workers=20)
        async def work(self, ctx: Context, ev: Item) -> ItemDone:
            async with ctx.store.edit_state() as state:
                state["seen"] = state.get("seen", 0) + 1
            return ItemDone(i=ev.i)

        @step
        async def gather(self, ctx: Context, ev: ItemDone) -> StopEvent | None:
            n = await ctx.store.get("n")
            if ctx.collect_events(ev, [ItemDone] * n) is None:
                return None
            return StopEvent(result=await ctx.store.get("seen"))

    globals()[holder] = ns
    return ns
