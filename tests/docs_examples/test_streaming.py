"""Page "Streaming events" (streaming.mdx), with a scripted LLM streaming tokens."""

from __future__ import annotations

import asyncio

import pytest

from .fake_llm import FakeLLM, tokens
from .lib import (
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowTimedOutEvent,
    WorkflowTimeoutError,
    step,
)

MOBY = "Call me Ishmael. Some years ago - never mind how long precisely - having little money"


class FirstEvent(Event):
    first_output: str


class SecondEvent(Event):
    second_output: str
    response: str


class ProgressEvent(Event):
    msg: str


llm = FakeLLM([])


class MyWorkflow(Workflow):
    @step
    async def step_one(self, ctx: Context, ev: StartEvent) -> FirstEvent:
        ctx.write_event_to_stream(ProgressEvent(msg="Step one is happening"))
        return FirstEvent(first_output="First step complete.")

    @step
    async def step_two(self, ctx: Context, ev: FirstEvent) -> SecondEvent:
        generator = await llm.astream_complete(
            "Please give me the first 3 paragraphs of Moby Dick, a book in the public domain."
        )
        full_resp = ""
        async for response in generator:
            # Allow the workflow to stream this piece of response
            ctx.write_event_to_stream(ProgressEvent(msg=response.delta))
            full_resp += response.delta

        return SecondEvent(
            second_output="Second step complete, full response attached",
            response=full_resp,
        )

    @step
    async def step_three(self, ctx: Context, ev: SecondEvent) -> StopEvent:
        ctx.write_event_to_stream(ProgressEvent(msg="Step three is happening"))
        return StopEvent(result="Workflow complete.")


async def test_progress_and_tokens_stream_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.llm", FakeLLM([MOBY]))
    w = MyWorkflow(timeout=30, verbose=True)
    handler = w.run(first_input="Start the workflow.")

    msgs = []
    async for ev in handler.stream_events():
        if isinstance(ev, ProgressEvent):
            msgs.append(ev.msg)

    final_result = await handler
    assert final_result == "Workflow complete."
    assert msgs == ["Step one is happening", *tokens(MOBY), "Step three is happening"]


async def test_tokens_arrive_live_before_the_step_finishes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each token reaches the consumer while step_two is still streaming the rest."""
    fake = FakeLLM([MOBY], token_pause=0.02)
    monkeypatch.setattr(f"{__name__}.llm", fake)
    handler = MyWorkflow(timeout=30).run(first_input="Start the workflow.")
    got = 0
    async for ev in handler.stream_events():
        if isinstance(ev, ProgressEvent) and ev.msg == tokens(MOBY)[0]:
            got += 1
            assert not handler.is_done()
    assert got == 1
    assert await handler == "Workflow complete."


class Slow(Workflow):
    @step
    async def nap(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(10)
        return StopEvent()


class Broken(Workflow):
    @step
    async def explode(self, ev: StartEvent) -> StopEvent:
        raise ValueError("boom")


async def test_timeout_publishes_timed_out_event() -> None:
    handler = Slow(timeout=0.2).run()
    seen = [ev async for ev in handler.stream_events()]
    assert isinstance(seen[-1], WorkflowTimedOutEvent)
    assert seen[-1].timeout == 0.2
    assert seen[-1].active_steps == ["nap"]
    with pytest.raises(WorkflowTimeoutError):
        await handler


async def test_cancel_publishes_cancelled_event() -> None:
    handler = Slow(timeout=30).run()
    seen: list[object] = []

    async def consume() -> None:
        async for ev in handler.stream_events():
            seen.append(ev)

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.1)
    await handler.cancel_run()
    await asyncio.wait_for(consumer, 10)
    assert isinstance(seen[-1], WorkflowCancelledEvent)


async def test_failure_publishes_failed_event() -> None:
    """Pins: durable_flows' WorkflowFailedEvent had ``elapsed_seconds=None`` (upstream gives the seconds)."""
    handler = Broken(timeout=30).run()
    seen = [ev async for ev in handler.stream_events()]
    last = seen[-1]
    assert isinstance(last, WorkflowFailedEvent)
    assert (last.step_name, last.attempts) == ("explode", 1)
    assert "boom" in str(last.exception)
    assert last.elapsed_seconds >= 0
    with pytest.raises(ValueError, match="boom"):
        await handler
