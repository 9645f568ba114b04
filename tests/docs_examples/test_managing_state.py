"""Page "Managing State" (managing_state.md)."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field

from .lib import Context, Event, StartEvent, StopEvent, Workflow, step


class MyWorkflow(Workflow):
    @step
    async def my_step(self, ctx: Context, ev: StartEvent) -> StopEvent:
        current_count = await ctx.store.get("count", default=0)
        current_count += 1
        await ctx.store.set("count", current_count)
        return StopEvent()


class LockingWorkflow(Workflow):
    @step
    async def my_step(self, ctx: Context, ev: StartEvent) -> StopEvent:
        # No other steps can access the state while the `with` block is running
        async with ctx.store.edit_state() as ctx_state:
            if "count" not in ctx_state:
                ctx_state["count"] = 0
            ctx_state["count"] += 1
        return StopEvent()


class CounterState(BaseModel):
    count: int = Field(default=0)


class TypedWorkflow(Workflow):
    @step
    async def start(self, ctx: Context[CounterState], ev: StartEvent) -> StopEvent:
        # Allows for atomic state updates
        async with ctx.store.edit_state() as ctx_state:
            ctx_state.count += 1

        return StopEvent(result="Done!")


async def test_untyped_store_counts() -> None:
    handler = MyWorkflow().run()
    assert await handler is None
    assert await handler.ctx.store.get("count") == 1


async def test_edit_state_creates_and_increments() -> None:
    handler = LockingWorkflow().run()
    await handler
    assert await handler.ctx.store.get("count") == 1


class Tick(Event):
    n: int


class ConcurrentEdits(Workflow):
    """The lock's point: many workers editing one key at once lose no increment."""

    @step
    async def fan_out(self, ctx: Context, ev: StartEvent) -> Tick | None:
        for n in range(8):
            ctx.send_event(Tick(n=n))
        return None

    @step(num_workers=4)
    async def bump(self, ctx: Context, ev: Tick) -> StopEvent | None:
        async with ctx.store.edit_state() as ctx_state:
            if "count" not in ctx_state:
                ctx_state["count"] = 0
            await asyncio.sleep(0.001)
            ctx_state["count"] += 1
            done = ctx_state["count"] == 8
        return StopEvent(result="all") if done else None


async def test_edit_state_under_concurrency_loses_nothing() -> None:
    handler = ConcurrentEdits(timeout=20).run()
    assert await handler == "all"
    assert await handler.ctx.store.get("count") == 8


async def test_typed_state() -> None:
    handler = TypedWorkflow().run()
    assert await handler == "Done!"
    state = await handler.ctx.store.get_state()
    assert isinstance(state, CounterState)
    assert state.count == 1


async def test_context_across_runs() -> None:
    workflow = MyWorkflow()
    ctx = Context(workflow)

    handler = workflow.run(ctx=ctx)
    await handler
    handler = workflow.run(ctx=ctx)
    await handler
    assert await ctx.store.get("count") == 2


async def test_context_across_runs_through_a_dict() -> None:
    workflow = MyWorkflow()
    ctx = Context(workflow)
    await workflow.run(ctx=ctx)

    ctx_dict = ctx.to_dict()
    ctx = Context.from_dict(workflow, ctx_dict)

    await workflow.run(ctx=ctx)
    assert await ctx.store.get("count") == 2


async def test_typed_context_across_runs() -> None:
    workflow = TypedWorkflow()
    ctx = Context(workflow)
    await workflow.run(ctx=ctx)
    ctx = Context.from_dict(workflow, ctx.to_dict())
    await workflow.run(ctx=ctx)
    assert (await ctx.store.get_state()).count == 2
