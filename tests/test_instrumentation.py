"""llama-index-instrumentation spans and tags around runs and steps, and their span events (issue 14 item 9)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("llama_index_instrumentation")

from llama_index_instrumentation import get_dispatcher  # noqa: E402
from llama_index_instrumentation.base import BaseEvent  # noqa: E402
from llama_index_instrumentation.dispatcher import active_instrument_tags  # noqa: E402
from llama_index_instrumentation.event_handlers import BaseEventHandler  # noqa: E402
from llama_index_instrumentation.span_handlers import SimpleSpanHandler  # noqa: E402

from durable_flows import Context, StartEvent, StopEvent, Workflow, step  # noqa: E402
from durable_flows.errors import WorkflowCancelledByUser  # noqa: E402
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


class _Events(BaseEventHandler):
    seen: list[BaseEvent] = []

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.seen.append(event)

    def named(self, name: str) -> list[Any]:
        return [e for e in self.seen if e.class_name() == name]


@pytest.fixture
def events() -> Iterator[_Events]:
    handler = _Events(seen=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    try:
        yield handler
    finally:
        root.event_handlers.remove(handler)


class Fails(Workflow):
    @step
    async def boom(self, ev: StartEvent) -> StopEvent:
        raise ValueError("boom")


def _run_span(spans: list[Any]) -> Any:
    [run] = [s for s in spans if ".run-" in s.id_]
    return run


def _names(spans: list[Any]) -> list[str]:
    return sorted(s.id_.rsplit("-", 5)[0] for s in spans)


async def test_each_step_runs_in_a_span_with_the_run_id_tag(spans: SimpleSpanHandler) -> None:
    handler = Traced().run()
    tags = await handler
    assert tags["llamaindex.run_id"] == handler.run_id
    assert tags["llamaindex.step.input_event"] == "Middle"
    assert tags["llamaindex.step.input_summary"] == "Middle()"
    assert _names(spans.completed_spans) == ["Traced.first", "Traced.run", "Traced.second"]
    assert spans.dropped_spans == []


async def test_a_step_parked_on_wait_for_event_is_not_a_dropped_span(spans: SimpleSpanHandler) -> None:
    handler = Asks().run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            handler.ctx.send_event(HumanResponseEvent(response="yes"))
    assert await handler == "yes"
    assert spans.dropped_spans == []
    assert _names(spans.completed_spans).count("Asks.ask") >= 1


async def test_a_run_is_one_span_parenting_its_steps(spans: SimpleSpanHandler, events: _Events) -> None:
    """Issue 14 item 9: upstream wraps each run in a span (``<Class>.run-<uuid>``) with the
    start event's summary, and dispatches each step's and the run's output summarized."""
    handler = Traced().run(topic="x")
    await handler
    run = _run_span(spans.completed_spans)
    assert run.id_.startswith("Traced.run-") and run.parent_id is None
    assert run.tags["llamaindex.start_event"] == "StartEvent(topic='x')"
    assert run.tags["llamaindex.run_id"] == handler.run_id
    steps = [s for s in spans.completed_spans if s is not run]
    assert len(steps) == 2 and {s.parent_id for s in steps} == {run.id_}
    assert [e.output for e in events.named("step.output")] == ["Middle()", events.named("workflow.output")[0].output]
    [out] = events.named("workflow.output")
    assert out.output.startswith("StopEvent(result={")


async def test_a_cancelled_run_exits_its_span_without_error(spans: SimpleSpanHandler, events: _Events) -> None:
    handler = Asks().run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    await handler.cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    assert _run_span(spans.completed_spans).id_.startswith("Asks.run-")
    assert spans.dropped_spans == []
    assert [e.reason for e in events.named("SpanCancelledEvent")] == ["workflow cancelled by user"]


async def test_a_failed_run_drops_its_span(spans: SimpleSpanHandler, events: _Events) -> None:
    with pytest.raises(ValueError, match="boom"):
        await Fails().run()
    run = _run_span(spans.dropped_spans)
    assert run.id_.startswith("Fails.run-")
    assert [e.span_id for e in events.named("SpanDropEvent") if e.span_id == run.id_] == [run.id_]
    assert events.named("workflow.output") == []


async def test_each_hosting_of_a_run_is_a_span(spans: SimpleSpanHandler, db_path: Any) -> None:
    """A run waiting for input, dropped by one process and resumed later, gets one span per hosting."""
    from durable_flows.storage import SqliteStore

    store = SqliteStore(str(db_path))
    first = Asks(store=store).run()
    async for ev in first.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    await store.send_event(first.run_id, HumanResponseEvent(response="later"))
    assert await first == "later"
    again = Asks(store=store).resume(first.run_id)  # finished: settles from the journal
    assert await again == "later"
    runs = [s for s in spans.completed_spans if ".run-" in s.id_]
    assert len(runs) == 2 and all(s.id_.startswith("Asks.run-") for s in runs)
    await store.close()


class Sleeps(Workflow):
    @step
    async def sleep_step(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(3600)
        return StopEvent(result="unreachable")


async def test_a_step_cancelled_with_its_run_exits_its_span(spans: SimpleSpanHandler, events: _Events) -> None:
    """As upstream's test_spans cancel test: step and run spans exit (not dropped), with SpanCancelledEvents."""
    handler = Sleeps().run()
    for _ in range(200):
        if await handler.ctx.running_steps():
            break
        await asyncio.sleep(0.01)
    await handler.cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    assert spans.dropped_spans == []
    assert _names(spans.completed_spans) == ["Sleeps.run", "Sleeps.sleep_step"]
    reasons = sorted(e.reason for e in events.named("SpanCancelledEvent"))
    assert reasons == ["step cancelled", "workflow cancelled by user"]
