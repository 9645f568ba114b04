"""A human-in-the-loop workflow for the restore tests (importable from a subprocess)."""

from __future__ import annotations

from durable_flows import Context, StartEvent, StopEvent, Workflow, step
from durable_flows.events import Event, HumanResponseEvent, InputRequiredEvent


class Checked(Event):
    answer: str


class Asker(Workflow):
    """ask -> (human) answer -> check -> StopEvent; each step counts itself in state."""

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> InputRequiredEvent:
        await _hit(ctx, "ask")
        await ctx.store.set("who", ev.get("who", "?"))
        return InputRequiredEvent(prefix="answer? ")

    @step
    async def answer(self, ctx: Context, ev: HumanResponseEvent) -> Checked:
        await _hit(ctx, "answer")
        return Checked(answer=ev.response)

    @step
    async def check(self, ctx: Context, ev: Checked) -> StopEvent:
        await _hit(ctx, "check")
        return StopEvent(result=f"{await ctx.store.get('who')}:{ev.answer}")


async def _hit(ctx: Context, name: str) -> None:
    async with ctx.store.edit_state() as state:
        hits = dict(state.get("hits", {}))
        hits[name] = hits.get(name, 0) + 1
        state["hits"] = hits
