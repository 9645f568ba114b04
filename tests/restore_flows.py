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


class Part(Event):
    n: int


class Ticket(Event):
    pass


class Gathered(Event):
    total: int


class Answer(Event):
    text: str


class Gate(Workflow):
    """A wait with requirements and a half-filled collect buffer at once.

    begin -> Part(1) for ``gather`` (which needs two Parts) and Ticket for
    ``ask`` (which waits for ann's HumanResponseEvent); ``finish`` joins
    Gathered and Answer. Each completed step counts itself in state.
    """

    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> Part | Ticket:
        await _hit(ctx, "begin")
        ctx.send_event(Ticket())
        return Part(n=1)

    @step
    async def gather(self, ctx: Context, ev: Part) -> Gathered | None:
        got = ctx.collect_events(ev, [Part, Part])
        if got is None:
            return None
        await _hit(ctx, "gather")
        return Gathered(total=sum(p.n for p in got))  # type: ignore[attr-defined]

    @step
    async def ask(self, ctx: Context, ev: Ticket) -> Answer:
        response = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=InputRequiredEvent(prefix="ann? "),
            requirements={"user": "ann"},
        )
        await _hit(ctx, "ask")
        return Answer(text=response.response)

    @step
    async def finish(self, ctx: Context, ev: Gathered | Answer) -> StopEvent | None:
        got = ctx.collect_events(ev, [Gathered, Answer])
        if got is None:
            return None
        await _hit(ctx, "finish")
        gathered, answer = got
        return StopEvent(result=f"{gathered.total}:{answer.text}")  # type: ignore[attr-defined]


GATE_HITS = {"begin": 1, "gather": 1, "ask": 1, "finish": 1}
