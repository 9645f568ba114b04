"""Page "Concurrent execution of workflows" (concurrent_execution.md).

The pages sleep ``random.randint(0, 5)`` seconds; here ``random.randint`` is
scripted and ``asyncio.sleep`` is given tenths of those seconds, so the
order in which the queries finish is chosen by the test.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from .lib import Context, Event, StartEvent, StopEvent, Workflow, step

PAUSE = {"Query 1": 3, "Query 2": 1, "Query 3": 2}  # tenths of a second
running: list[str] = []


def slow_for(query: str) -> float:
    return PAUSE[query] / 10


class StepTwoEvent(Event):
    query: str


class ParallelFlow(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StepTwoEvent | None:
        ctx.send_event(StepTwoEvent(query="Query 1"))
        ctx.send_event(StepTwoEvent(query="Query 2"))
        ctx.send_event(StepTwoEvent(query="Query 3"))

    @step(num_workers=4)
    async def step_two(self, ev: StepTwoEvent) -> StopEvent:
        print("Running slow query ", ev.query)
        running.append(ev.query)
        await asyncio.sleep(slow_for(ev.query))

        return StopEvent(result=ev.query)


class StepThreeEvent(Event):
    result: str


collected: list[list[str]] = []


class ConcurrentFlow(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StepTwoEvent | None:
        ctx.send_event(StepTwoEvent(query="Query 1"))
        ctx.send_event(StepTwoEvent(query="Query 2"))
        ctx.send_event(StepTwoEvent(query="Query 3"))

    @step(num_workers=4)
    async def step_two(self, ctx: Context, ev: StepTwoEvent) -> StepThreeEvent:
        print("Running query ", ev.query)
        await asyncio.sleep(slow_for(ev.query))
        return StepThreeEvent(result=ev.query)

    @step
    async def step_three(self, ctx: Context, ev: StepThreeEvent) -> StopEvent | None:
        # wait until we receive 3 events
        result = ctx.collect_events(ev, [StepThreeEvent] * 3)
        if result is None:
            return None

        # do something with all 3 results together
        collected.append([r.result for r in result])
        return StopEvent(result="Done")


class StepAEvent(Event):
    query: str


class StepBEvent(Event):
    query: str


class StepCEvent(Event):
    query: str


class StepACompleteEvent(Event):
    result: str


class StepBCompleteEvent(Event):
    result: str


class StepCCompleteEvent(Event):
    result: str


class MixedFlow(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StepAEvent | StepBEvent | StepCEvent | None:
        ctx.send_event(StepAEvent(query="Query 1"))
        ctx.send_event(StepBEvent(query="Query 2"))
        ctx.send_event(StepCEvent(query="Query 3"))

    @step
    async def step_a(self, ctx: Context, ev: StepAEvent) -> StepACompleteEvent:
        print("Doing something A-ish")
        await asyncio.sleep(0.05)
        return StepACompleteEvent(result=ev.query)

    @step
    async def step_b(self, ctx: Context, ev: StepBEvent) -> StepBCompleteEvent:
        print("Doing something B-ish")
        return StepBCompleteEvent(result=ev.query)

    @step
    async def step_c(self, ctx: Context, ev: StepCEvent) -> StepCCompleteEvent:
        print("Doing something C-ish")
        await asyncio.sleep(0.02)
        return StepCCompleteEvent(result=ev.query)

    @step
    async def step_three(
        self,
        ctx: Context,
        ev: StepACompleteEvent | StepBCompleteEvent | StepCCompleteEvent,
    ) -> StopEvent:
        print("Received event ", ev.result)

        # wait until we receive 3 events
        got = ctx.collect_events(
            ev,
            [StepCCompleteEvent, StepACompleteEvent, StepBCompleteEvent],
        )
        if got is None:
            return None

        # do something with all 3 results together
        collected.append([type(e).__name__ for e in got])
        return StopEvent(result="Done")


async def test_first_query_to_finish_stops_the_run() -> None:
    running.clear()
    assert await ParallelFlow(timeout=20).run() == "Query 2"
    assert sorted(running) == ["Query 1", "Query 2", "Query 3"]  # all three ran at once


async def test_collect_events_waits_for_all_three_in_arrival_order() -> None:
    collected.clear()
    assert await ConcurrentFlow(timeout=20).run() == "Done"
    assert collected == [["Query 2", "Query 3", "Query 1"]]


async def test_collect_events_returns_in_requested_type_order(capsys: pytest.CaptureFixture[str]) -> None:
    collected.clear()
    assert await MixedFlow(timeout=20).run() == "Done"
    assert collected == [["StepCCompleteEvent", "StepACompleteEvent", "StepBCompleteEvent"]]
    out = capsys.readouterr().out
    # arrival order is B (no sleep), C, A; the collected list is in the order asked for
    assert out.index("Received event  Query 2") < out.index("Received event  Query 3") < out.index(
        "Received event  Query 1"
    )


async def test_random_sleep_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's ``await asyncio.sleep(random.randint(0, 5))``, with randint scripted to 0."""
    monkeypatch.setattr(random, "randint", lambda a, b: 0)

    class AsWritten(Workflow):
        @step
        async def start(self, ctx: Context, ev: StartEvent) -> StepTwoEvent | None:
            ctx.send_event(StepTwoEvent(query="Query 1"))
            ctx.send_event(StepTwoEvent(query="Query 2"))

        @step(num_workers=4)
        async def step_two(self, ev: StepTwoEvent) -> StopEvent:
            await asyncio.sleep(random.randint(0, 5))
            return StopEvent(result=ev.query)

    assert await AsWritten(timeout=20).run() in ("Query 1", "Query 2")
