"""Fan-out and collect: one step sends N events, four workers handle them, a step gathers.

    python examples/fan_out.py 20
"""

from __future__ import annotations

import asyncio
import sys

from durable_flows import Context, Event, StartEvent, StopEvent, Workflow, step


class Task(Event):
    index: int


class Result(Event):
    index: int
    value: int


class FanOutWorkflow(Workflow):
    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Task | None:
        await ctx.store.set("expected", ev.count)
        for i in range(ev.count):
            ctx.send_event(Task(index=i))
        return None

    @step(num_workers=4)
    async def work(self, ev: Task) -> Result:
        await asyncio.sleep(0.01)  # pretend to call a model or an API
        return Result(index=ev.index, value=ev.index * ev.index)

    @step
    async def gather(self, ctx: Context, ev: Result) -> StopEvent | None:
        expected = await ctx.store.get("expected")
        results = ctx.collect_events(ev, [Result] * expected)
        if results is None:
            return None
        return StopEvent(result=sum(r.value for r in results))


async def main(count: int) -> None:
    wf = FanOutWorkflow()
    handler = wf.run(count=count)
    print(f"sum of squares below {count}: {await handler}  (run {handler.run_id})")
    await wf.store.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
