"""Page "Customizing entry and exit points" (customizing_entry_exit_points.md).

The page's start event carries a ``Path``, a LlamaCloud index and an OpenAI
client; here a ``Path``, a tiny index and ``FakeLLM``. An index or an LLM
client is not JSON, so under durable_flows (which journals the start event)
that start event needs a serializer that allows those classes: a deliberate
difference listed in the README.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .fake_llm import Completion, FakeLLM
from .lib import UPSTREAM, Event, StartEvent, StopEvent, Workflow, step


class QueryEngine:
    def __init__(self, llm: FakeLLM) -> None:
        self.llm = llm

    async def aquery(self, question: str) -> str:
        return str(await self.llm.acomplete(question))


class TinyIndex:
    """Stands in for LlamaCloudIndex: ``as_query_engine(llm=...)``."""

    def as_query_engine(self, llm: FakeLLM) -> QueryEngine:
        return QueryEngine(llm)


class MyCustomStartEvent(StartEvent):
    a_string_field: str
    a_path_to_somewhere: Path
    an_index: TinyIndex
    an_llm: FakeLLM


class JokeEvent(Event):
    joke: str


class MyStopEvent(StopEvent):
    critique: Completion


class JokeFlow(Workflow):
    llm = FakeLLM([])

    @step
    async def generate_joke_from_index(self, ev: MyCustomStartEvent) -> JokeEvent:
        # Build a query engine using the index and the llm from the start event
        query_engine = ev.an_index.as_query_engine(llm=ev.an_llm)
        topic = await query_engine.aquery(f"What is the closest topic to {ev.a_string_field}")
        # Use the llm attached to the start event to instruct the model
        prompt = f"Write your best joke about {topic}."
        response = await ev.an_llm.acomplete(prompt)
        # Dump the response on disk using the Path object from the event
        ev.a_path_to_somewhere.write_text(str(response))
        # Finally, pass the JokeEvent along
        return JokeEvent(joke=str(response))

    @step
    async def critique_joke(self, ev: JokeEvent) -> MyStopEvent:
        joke = ev.joke

        prompt = f"Give a thorough analysis and critique of the following joke: {joke}"
        response = await self.llm.acomplete(prompt)
        return MyStopEvent(critique=response)


def _flow(**kwargs: Any) -> Any:
    """``JokeFlow(timeout=60, verbose=False)``, plus (durable_flows) the serializer its start event needs."""
    if UPSTREAM:
        return JokeFlow(timeout=60, verbose=False, **kwargs)
    from durable_flows.context import JsonPickleSerializer

    return JokeFlow(
        timeout=60,
        verbose=False,
        serializer=JsonPickleSerializer(allowed=[MyCustomStartEvent, JokeEvent, MyStopEvent, TinyIndex, FakeLLM, Completion]),
        **kwargs,
    )


async def test_custom_start_and_stop_event(tmp_path: Path) -> None:
    JokeFlow.llm = FakeLLM(["Solid."])
    an_llm = FakeLLM(["pirates", "Why arr pirates ...?"])
    custom_start_event = MyCustomStartEvent(
        a_string_field="sea robbers",
        a_path_to_somewhere=tmp_path / "joke.txt",
        an_index=TinyIndex(),
        an_llm=an_llm,
    )
    w = _flow()
    result = await w.run(start_event=custom_start_event)
    # the result of a run is the custom stop event itself
    assert isinstance(result, MyStopEvent)
    assert result.critique.text == "Solid."
    assert (tmp_path / "joke.txt").read_text() == "Why arr pirates ...?"
    prompts = ["What is the closest topic to sea robbers", "Write your best joke about pirates."]
    # Deliberate difference (README): a durable_flows step gets its own copy of its input
    # event, so the client the caller put in the event is not the one the step used.
    assert an_llm.prompts == (prompts if UPSTREAM else [])


@pytest.mark.skipif(UPSTREAM, reason="upstream keeps the start event in memory and has no serializer to pick")
async def test_non_json_start_event_needs_a_serializer(tmp_path: Path) -> None:
    """Deliberate difference: the start event is journaled, so an LLM client in it must be allowed explicitly."""
    from durable_flows.errors import DurableFlowsError

    start = MyCustomStartEvent(
        a_string_field="x", a_path_to_somewhere=tmp_path / "j.txt", an_index=TinyIndex(), an_llm=FakeLLM([])
    )
    with pytest.raises(DurableFlowsError, match="JsonPickleSerializer"):
        await JokeFlow(timeout=60).run(start_event=start)


class PlainStart(StartEvent):
    a_string_field: str
    a_path_to_somewhere: Path


class PlainFlow(Workflow):
    @step
    async def write(self, ev: PlainStart) -> MyStopEvent:
        ev.a_path_to_somewhere.write_text(ev.a_string_field)
        return MyStopEvent(critique=Completion(text=ev.a_string_field.upper()))


async def test_json_friendly_custom_events_run_unchanged(tmp_path: Path) -> None:
    """A custom start event of JSON-friendly fields (str, Path) needs nothing extra anywhere."""
    result = await PlainFlow().run(start_event=PlainStart(a_string_field="ahoy", a_path_to_somewhere=tmp_path / "a"))
    assert isinstance(result, MyStopEvent)
    assert result.critique.text == "AHOY"
    assert (tmp_path / "a").read_text() == "ahoy"


async def test_custom_start_fields_as_keyword_arguments(tmp_path: Path) -> None:
    """"We could still pass the fields of MyCustomStartEvent as keyword arguments to run"."""
    result = await PlainFlow().run(a_string_field="kw", a_path_to_somewhere=tmp_path / "b")
    assert result.critique.text == "KW"
