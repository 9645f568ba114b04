"""Collection streams (llama-index-workflows 2.26): ``list[E]`` returns released into ``list[E]`` parameters.

Upstream's rules pinned here: a returned list opens a stream; a collect step
(``events: list[E]``) is released once when the stream closes (every member,
and everything it led to, is done) with all members that reached it, or at
the ``n``-th member with ``Collect(Take(n))`` (fewer if the stream closes
first); ``return []`` releases it with ``[]``; ``return None`` opens no stream;
a nested stream's collect output continues the enclosing stream; events sent
with ``ctx.send_event`` never become members. Durable part: a stream half done
when the process stops is rebuilt by replay and released once on resume.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import pytest

from durable_flows import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    SqliteStore,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)
from durable_flows.collect import Collect, Take
from durable_flows.events import WorkflowIdleEvent

pytestmark = pytest.mark.timeout(30)


class Item(Event):
    i: int


class Done(Event):
    i: int


class Group(Event):
    g: int


class Summed(Event):
    total: int


class Gather(Workflow):
    @step
    async def scatter(self, ev: StartEvent) -> list[Item] | None:
        if ev.get("none"):
            return None
        return [Item(i=i) for i in range(ev.get("n", 3))]

    @step(num_workers=3)
    async def work(self, ev: Item) -> Done:
        await asyncio.sleep(0.01 * (3 - ev.i % 3))  # finish out of order
        return Done(i=ev.i * 10)

    @step
    async def gather(self, done: list[Done]) -> StopEvent:
        return StopEvent(result=sorted(d.i for d in done))


async def test_collect_step_is_released_once_with_every_member(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    handler = Gather(store=store).run(n=5)
    assert await handler == [0, 10, 20, 30, 40]
    history = await store.history(handler.run_id)
    assert sum(e["kind"] == "accepted" and e["step"] == "gather" for e in history) == 1
    completed = [e for e in history if e["kind"] == "completed" and e["step"] == "scatter"]
    assert completed[0]["payload"]["fan_out"] == 5
    await store.close()


async def test_empty_list_releases_the_collect_step_with_nothing() -> None:
    assert await Gather().run(n=0) == []


async def test_none_opens_no_stream() -> None:
    with pytest.raises(Exception, match="timed out|Timeout"):
        await Gather(timeout=0.5).run(none=True)


class Fastest(Workflow):
    @step
    async def scatter(self, ev: StartEvent) -> list[Item]:
        return [Item(i=i) for i in range(ev.get("n", 4))]

    @step(num_workers=4)
    async def work(self, ctx: Context, ev: Item) -> Done:
        await asyncio.sleep(0.02 * ev.i)
        await ctx.store.set(f"ran_{ev.i}", True)
        return Done(i=ev.i)

    @step
    async def first_two(self, done: Annotated[list[Done], Collect(Take(2))]) -> StopEvent:
        return StopEvent(result=[d.i for d in done])


async def test_take_releases_at_the_nth_member() -> None:
    assert await Fastest().run() == [0, 1]


async def test_take_releases_with_fewer_when_the_stream_closes_first() -> None:
    assert await Fastest().run(n=1) == [0]


class Nested(Workflow):
    """Groups of items: the inner collect sums each group; the outer one gathers the sums."""

    @step
    async def groups(self, ev: StartEvent) -> list[Group]:
        return [Group(g=g) for g in range(3)]

    @step(num_workers=3)
    async def items(self, ev: Group) -> list[Item]:
        return [Item(i=ev.g * 10 + k) for k in range(ev.g + 1)]

    @step(num_workers=2)
    async def work(self, ev: Item) -> Done:
        await asyncio.sleep(0.001 * (ev.i % 4))
        return Done(i=ev.i)

    @step
    async def per_group(self, done: list[Done]) -> Summed:
        return Summed(total=sum(d.i for d in done))

    @step
    async def overall(self, sums: list[Summed]) -> StopEvent:
        return StopEvent(result=sorted(s.total for s in sums))


async def test_nested_streams_release_inner_collects_then_the_outer_one() -> None:
    # group 0: [0]; group 1: [10, 11]; group 2: [20, 21, 22]
    assert await Nested().run() == [0, 21, 63]


class SendsStrays(Workflow):
    @step
    async def scatter(self, ctx: Context, ev: StartEvent) -> list[Done]:
        ctx.send_event(Done(i=-1))  # sent, not returned: never a member
        return [Done(i=1), Done(i=2)]

    @step
    async def gather(self, done: list[Done]) -> StopEvent:
        return StopEvent(result=sorted(d.i for d in done))


async def test_sent_events_do_not_become_members() -> None:
    assert await SendsStrays().run() == [1, 2]


class Ask(InputRequiredEvent):
    i: int


class Answer(HumanResponseEvent):
    i: int


class AsksMidStream(Workflow):
    """One member needs a human answer: the stream stays open across processes."""

    @step
    async def scatter(self, ev: StartEvent) -> list[Item]:
        return [Item(i=i) for i in range(3)]

    @step(num_workers=3)
    async def work(self, ctx: Context, ev: Item) -> Done:
        if ev.i == 1:
            answer = await ctx.wait_for_event(Answer, waiter_event=Ask(i=1), requirements={"i": 1})
            return Done(i=answer.i * 100)
        return Done(i=ev.i)

    @step
    async def gather(self, done: list[Done]) -> StopEvent:
        return StopEvent(result=sorted(d.i for d in done))


async def test_open_stream_survives_the_process_and_is_released_once_on_resume(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    handler = AsksMidStream(store=store).run()
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, WorkflowIdleEvent):
            break
    run_id = handler.run_id
    await store.close()

    store2 = SqliteStore(str(db_path))  # a new process, as far as the journal can tell
    await store2.send_event(run_id, Answer(i=1, response="ok"))
    assert await AsksMidStream(store=store2).resume(run_id) == [0, 2, 100]
    history = await store2.history(run_id)
    assert sum(e["kind"] == "accepted" and e["step"] == "gather" for e in history) == 1
    await store2.close()


def test_collect_step_in_the_graph() -> None:
    from durable_flows.representation import get_workflow_graph

    graph = get_workflow_graph(Nested)
    label = {n.id: n.label for n in graph.nodes}
    edges = {(label[e.source], label[e.target], e.label) for e in graph.edges}
    assert ("Done", "per_group", None) in edges and ("items", "Item", "list") in edges
    for flow in (Gather, Fastest, Nested, SendsStrays, AsksMidStream):
        flow().validate()


def test_collect_step_without_a_list_producer_is_refused() -> None:
    """As upstream: list[E] fan-in consumes only streams of list returns, not ctx.send_event."""
    from durable_flows.errors import WorkflowValidationError

    class SendOnly(Workflow):
        @step
        async def scatter(self, ctx: Context, ev: StartEvent) -> Done | None:
            ctx.send_event(Done(i=1))
            return None

        @step
        async def gather(self, done: list[Done]) -> StopEvent:
            return StopEvent(result=len(done))

    with pytest.raises(WorkflowValidationError, match="no returned-list producer creates a stream"):
        SendOnly().validate()
