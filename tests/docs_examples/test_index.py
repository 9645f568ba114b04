"""Page "Introduction" (index.md): the joke workflow and the single async entry point."""

from __future__ import annotations

import asyncio

from .fake_llm import FakeLLM
from .lib import Event, StartEvent, StopEvent, Workflow, step


class JokeEvent(Event):
    joke: str


class JokeFlow(Workflow):
    llm = FakeLLM(["Why did the pirate ...? Arr.", "A solid pun; the timing lands."])

    @step
    async def generate_joke(self, ev: StartEvent) -> JokeEvent:
        topic = ev.topic

        prompt = f"Write your best joke about {topic}."
        response = await self.llm.acomplete(prompt)
        return JokeEvent(joke=str(response))

    @step
    async def critique_joke(self, ev: JokeEvent) -> StopEvent:
        joke = ev.joke

        prompt = f"Give a thorough analysis and critique of the following joke: {joke}"
        response = await self.llm.acomplete(prompt)
        return StopEvent(result=str(response))


async def test_joke_flow_generates_then_critiques() -> None:
    JokeFlow.llm = FakeLLM(["Why did the pirate ...? Arr.", "A solid pun; the timing lands."])
    w = JokeFlow(timeout=60, verbose=False)
    result = await w.run(topic="pirates")
    assert str(result) == "A solid pun; the timing lands."
    assert JokeFlow.llm.prompts == [
        "Write your best joke about pirates.",
        "Give a thorough analysis and critique of the following joke: Why did the pirate ...? Arr.",
    ]


def test_single_async_entry_point() -> None:
    """The tip's script shape: ``asyncio.run(main())`` with no loop running beforehand."""

    async def main() -> object:
        JokeFlow.llm = FakeLLM(["joke", "critique"])
        w = JokeFlow(timeout=60, verbose=False)
        return await w.run(topic="sailors")

    assert asyncio.run(main()) == "critique"


async def test_missing_start_attribute_raises_and_get_does_not() -> None:
    """``ev.topic`` raises when the attribute is absent; ``ev.get("topic")`` gives None."""

    class GetFlow(Workflow):
        @step
        async def start(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result=ev.get("topic"))

    assert await GetFlow().run() is None
    JokeFlow.llm = FakeLLM([])
    try:
        await JokeFlow(timeout=10).run()
    except AttributeError:
        pass
    else:
        raise AssertionError("a StartEvent without 'topic' should fail on ev.topic")
