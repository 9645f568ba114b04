"""Workflows the CLI tests run; importable as ``flows`` by subprocesses (PYTHONPATH=tests/cli).

Steps are deterministic functions of their input (and of ``Flaky.fail_first``),
so a fork resumed from any point ends with the same result as the original.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from durable_flows import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    Resource,
    StartEvent,
    StopEvent,
    Workflow,
    catch_error,
    step,
)
from durable_flows.events import StepFailedEvent
from durable_flows.retry_policy import retry_policy, stop_after_attempt, wait_fixed


class Counted(Event):
    n: int


class Scaled(Event):
    n: int


class Chain(Workflow):
    """start(n) -> one -> two -> three: result (n + 1) * 10 + 2 (the steps that counted)."""

    @step
    async def one(self, ctx: Context, ev: StartEvent) -> Counted:
        await ctx.store.set("seen", 1)
        return Counted(n=ev.n + 1)

    @step
    async def two(self, ctx: Context, ev: Counted) -> Scaled:
        await ctx.store.set("seen", await ctx.store.get("seen") + 1)
        return Scaled(n=ev.n * 10)

    @step
    async def three(self, ctx: Context, ev: Scaled) -> StopEvent:
        return StopEvent(result=ev.n + await ctx.store.get("seen"))


class Item(Event):
    i: int


class Squared(Event):
    i: int
    square: int


class FanOut(Workflow):
    """split sends ``count`` items, four workers square them, gather sums them."""

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Item | None:
        await ctx.store.set("count", ev.count)
        for i in range(ev.count):
            ctx.send_event(Item(i=i))
        return None

    @step(num_workers=4)
    async def work(self, ev: Item) -> Squared:
        await asyncio.sleep(0.002)
        return Squared(i=ev.i, square=ev.i * ev.i)

    @step
    async def gather(self, ctx: Context, ev: Squared) -> StopEvent | None:
        got = ctx.collect_events(ev, [Squared] * await ctx.store.get("count"))
        if got is None:
            return None
        return StopEvent(result=sum(s.square for s in got))


class Flaky(Workflow):
    """Fails ``fail_first`` times, retried with a short delay, then succeeds."""

    fail_first = 2
    calls = 0

    @step(retry_policy=retry_policy(wait=wait_fixed(0.02), stop=stop_after_attempt(4)))
    async def flaky(self, ev: StartEvent) -> StopEvent:
        Flaky.calls += 1
        if Flaky.calls <= Flaky.fail_first:
            raise ConnectionError(f"upstream unavailable (call {Flaky.calls})")
        return StopEvent(result="ok")


class Broken(Workflow):
    """Always fails: two attempts, then the run fails with the step's error."""

    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(2)))
    async def parse(self, ev: StartEvent) -> StopEvent:
        raise ValueError(f"cannot parse {ev.get('text', '')!r}")


class AskName(Workflow):
    """Asks a human for a name (InputRequiredEvent) and greets them."""

    @step
    async def ask(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="your name?")

    @step
    async def greet(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result=f"hello {ev.response}")


class Approval(Workflow):
    """A step that waits in ctx.wait_for_event for a human's approval."""

    @step
    async def review(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=InputRequiredEvent(prefix="approve?"),
            waiter_id="approval",
        )
        return StopEvent(result=f"approved: {reply.response}")


class Slow(Workflow):
    """Sleeps long enough to be cancelled while it runs."""

    @step
    async def nap(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(float(ev.get("seconds", 30)))
        return StopEvent(result="woke up")


def make_client() -> dict[str, str]:
    """A resource factory (a stand-in for an API client)."""
    return {"client": "fake"}


class Tools(Workflow):
    """Uses a resource and recovers from failures in a @catch_error handler."""

    @step
    async def call(self, ev: StartEvent, client: Annotated[dict, Resource(make_client)]) -> StopEvent:
        if ev.get("fail"):
            raise RuntimeError("tool failed")
        return StopEvent(result=client["client"])

    @catch_error
    async def recover(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result=f"recovered from {ev.step_name}")
