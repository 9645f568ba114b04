"""llama-index-instrumentation spans and tags around steps (issue 14 item 9)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("llama_index_instrumentation")

from llama_index_instrumentation import get_dispatcher  # noqa: E402
from llama_index_instrumentation.dispatcher import active_instrument_tags  # noqa: E402
from llama_index_instrumentation.span_handlers import SimpleSpanHandler  # noqa: E402

from durable_flows import Context, StartEvent, StopEvent, Workflow, step  # noqa: E402
from durable_flows.events import Event, HumanResponseEvent, InputRequiredEvent  # noqa: E402


class Middle(Event):
    pass


class Traced(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Middle:
        return Middle()

    @step
    def second(self, ctx: Context, ev: Middle) -> StopEvent:  # a sync step runs in a thread
        return StopEvent(result=dict(active_instrument_tags.get()))


class Asks(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        answer = await ctx.wait_for_event(HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="?"), timeout=10)
        return StopEvent(result=answer.response)


@pytest.fixture
def spans() -> Iterator[SimpleSpanHandler]:
    handler = SimpleSpanHandler()
    root = get_dispatcher()
    root.add_span_handler(handler)
    try:
        yield handler
    finally:
        root.span_handlers.remove(handler)


def _names(spans: list[Any]) -> list[str]:
    return sorted(s.id_.rsplit("-", 5)[0] for s in spans)


async def test_each_step_runs_in_a_span_with_the_run_id_tag(spans: SimpleSpanHandler) -> None:
    handler = Traced().run()
    tags = await handler
    assert tags["llamaindex.run_id"] == handler.run_id
    assert tags["llamaindex.step.input_event"] == "Middle"
    assert _names(spans.completed_spans) == ["Traced.first", "Traced.second"]
    assert spans.dropped_spans == []


async def test_a_step_parked_on_wait_for_event_is_not_a_dropped_span(spans: SimpleSpanHandler) -> None:
    handler = Asks().run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            handler.ctx.send_event(HumanResponseEvent(response="yes"))
    assert await handler == "yes"
    assert spans.dropped_spans == []
    assert _names(spans.completed_spans).count("Asks.ask") >= 1


async def test_with_only_null_handlers_the_span_is_skipped_and_the_tags_stay() -> None:
    """Pins the skipped span (issue 12 perf): with only the library's null handlers a step
    runs without a span (no span id in its context) but still sees the run's tags; a
    handler registered later gets its spans from the next step on."""
    from llama_index_instrumentation.dispatcher import active_span_id

    from durable_flows import instrumentation

    class Peek(Workflow):
        @step
        async def first(self, ev: StartEvent) -> Middle:
            return Middle()

        @step
        async def second(self, ctx: Context, ev: Middle) -> StopEvent:
            return StopEvent(result=(dict(active_instrument_tags.get()), active_span_id.get()))

    assert not instrumentation.listened(instrumentation._dispatcher)
    handler = Peek().run()
    tags, span_id = await asyncio.wait_for(handler, 10)
    assert tags["llamaindex.run_id"] == handler.run_id
    assert span_id is None
    listening = SimpleSpanHandler()
    get_dispatcher().add_span_handler(listening)
    try:
        assert instrumentation.listened(instrumentation._dispatcher)
        _, span_id = await asyncio.wait_for(Peek().run(), 10)
        assert span_id is not None and span_id.startswith("Peek.second-")
        assert _names(listening.completed_spans) == ["Peek.first", "Peek.second"]
    finally:
        get_dispatcher().span_handlers.remove(listening)
