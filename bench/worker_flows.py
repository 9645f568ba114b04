"""A workflow for the worker benchmark: five steps that each wait 10 ms on simulated I/O."""

import asyncio

from durable_flows import Event, StartEvent, StopEvent, Workflow, step


class Hop(Event):
    n: int


class IoChain(Workflow):
    @step
    async def begin(self, ev: StartEvent) -> Hop:
        return Hop(n=1)

    @step
    async def hop(self, ev: Hop) -> Hop | StopEvent:
        await asyncio.sleep(0.01)  # a model or API call
        return StopEvent(result=ev.n) if ev.n >= 5 else Hop(n=ev.n + 1)
