"""Page "Human in the Loop" (human_in_the_loop.md). ``input()`` is replaced by scripted answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .lib import (
    Context,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)

answers: list[str] = []
asked: list[str] = []


def fake_input(prefix: str) -> str:
    asked.append(prefix)
    return answers.pop(0)


@pytest.fixture(autouse=True)
def _script() -> None:
    answers[:] = ["42"]
    asked.clear()


class HumanInTheLoopWorkflow(Workflow):
    @step
    async def step1(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="Enter a number: ")

    @step
    async def step2(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result=ev.response)


async def test_answer_while_streaming() -> None:
    workflow = HumanInTheLoopWorkflow()

    handler = workflow.run()
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            response = fake_input(event.prefix)
            handler.ctx.send_event(HumanResponseEvent(response=response))

    final_result = await handler
    assert final_result == "42"
    assert asked == ["Enter a number: "]


async def test_stop_and_resume_between_responses() -> None:
    workflow = HumanInTheLoopWorkflow()

    handler = workflow.run()
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            # Serialize the context, store it anywhere as a JSON blob
            ctx_dict = handler.ctx.to_dict()
            await handler.cancel_run()
            break

    response = fake_input(event.prefix)

    restored_ctx = Context.from_dict(workflow, ctx_dict)
    handler = workflow.run(ctx=restored_ctx)

    # Send the event to resume the workflow
    handler.ctx.send_event(HumanResponseEvent(response=response))

    # now we resume the workflow streaming with our restored context
    async for event in handler.stream_events():  # noqa: B007 (as the page writes it)
        continue

    final_result = await handler
    assert final_result == "42"


async def test_stop_and_resume_through_json() -> None:
    """"store it anywhere as a JSON blob": the dict survives json.dumps/loads."""
    workflow = HumanInTheLoopWorkflow()
    handler = workflow.run()
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            blob = json.dumps(handler.ctx.to_dict())
            await handler.cancel_run()
            break

    handler = HumanInTheLoopWorkflow().run(ctx=Context.from_dict(workflow, json.loads(blob)))
    handler.ctx.send_event(HumanResponseEvent(response="7"))
    async for _ in handler.stream_events():
        pass
    assert await handler == "7"


class WaitForEventWorkflow(Workflow):
    @step
    async def ask_user(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reached.append(1)
        response = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=InputRequiredEvent(prefix="Enter a number: "),
            waiter_id="get_number",
        )
        return StopEvent(result=response.response)


reached: list[int] = []


async def test_wait_for_event() -> None:
    reached.clear()
    handler = WaitForEventWorkflow().run()
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            handler.ctx.send_event(HumanResponseEvent(response=fake_input(event.prefix)))
    assert await handler == "42"
    # the code before the waiter ran at least once (the page: "must be idempotent")
    assert len(reached) >= 1


class Ask(InputRequiredEvent):
    question: str


class Answer(HumanResponseEvent):
    score: int


class CustomPayloads(Workflow):
    """"you can also subclass these two events to add custom payloads"."""

    @step
    async def ask(self, ev: StartEvent) -> Ask:
        return Ask(prefix="> ", question="How sure are you?")

    @step
    async def done(self, ev: Answer) -> StopEvent:
        return StopEvent(result=(ev.response, ev.score))


async def test_subclassed_events_with_payloads() -> None:
    handler = CustomPayloads().run()
    async for event in handler.stream_events():
        if isinstance(event, Ask):
            assert event.question == "How sure are you?"
            handler.ctx.send_event(Answer(response="very", score=9))
    assert tuple(await handler) == ("very", 9)


async def test_resume_from_the_blob_against_another_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """"store it anywhere": the dict is restored where the first run's journal is not (another machine)."""
    monkeypatch.setenv("DURABLE_FLOWS_DB", str(tmp_path / "first.db"))
    workflow = HumanInTheLoopWorkflow()
    handler = workflow.run()
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            blob = json.dumps(handler.ctx.to_dict())
            await handler.cancel_run()
            break

    monkeypatch.setenv("DURABLE_FLOWS_DB", str(tmp_path / "elsewhere.db"))
    elsewhere = HumanInTheLoopWorkflow()
    handler = elsewhere.run(ctx=Context.from_dict(elsewhere, json.loads(blob)))
    handler.ctx.send_event(HumanResponseEvent(response="9"))
    async for _ in handler.stream_events():
        pass
    assert await handler == "9"
