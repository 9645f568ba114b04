"""Join steps (several event parameters) and ``list[E]`` returns, as llama-index-workflows 2.26 runs them.

Upstream's observable rules: a join step runs once one event per parameter has
arrived, bound by parameter name; events that arrive before their partners
wait in arrival order (they are queued, not replaced by later ones), and each
set takes the earliest event of each slot. A ``list[E]`` return dispatches
every element on its own; a bare event the annotation declares only inside
a list, or a list holding a non-event, fails the step. Durable parts: a
partial join survives the process, and a list return is journaled in the
same append as the step's completion.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step
from durable_flows.errors import WorkflowRuntimeError
from durable_flows.events import WorkflowIdleEvent
from durable_flows.storage.rows import JournalEntry

pytestmark = pytest.mark.timeout(30)


class Left(Event):
    v: int


class Right(Event):
    v: int


class Item(Event):
    i: int


class Done(Event):
    i: int


class Pair(Event):
    left: int
    right: int


class JoinInOrder(Workflow):
    """Sends lefts first, then rights: each join takes the earliest of each."""

    @step
    async def fork(self, ctx: Context, ev: StartEvent) -> Left | Right | None:
        for v in (1, 2, 3):
            ctx.send_event(Left(v=v))
        for v in (10, 20, 30):
            ctx.send_event(Right(v=v))

    @step(num_workers=1)
    async def join(self, ctx: Context, left: Left, right: Right) -> Pair:
        return Pair(left=left.v, right=right.v)

    @step
    async def gather(self, ctx: Context, ev: Pair) -> StopEvent | None:
        got = ctx.collect_events(ev, [Pair] * 3)
        if got is None:
            return None
        return StopEvent(result=[(p.left, p.right) for p in got])


async def test_join_binds_one_event_per_parameter_in_arrival_order(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    handler = JoinInOrder(store=store).run()
    assert await handler == [(1, 10), (2, 20), (3, 30)]
    history = await store.history(handler.run_id)
    joins = [e for e in history if e["kind"] == "accepted" and e["step"] == "join"]
    assert len(joins) == 3  # one execution per complete set, none per partial arrival
    await store.close()


class SameTypeTwice(Workflow):
    @step
    async def fork(self, ctx: Context, ev: StartEvent) -> list[Left]:
        return [Left(v=v) for v in (1, 2, 3, 4)]

    @step(num_workers=1)
    async def join(self, first: Left, second: Left) -> Pair:
        return Pair(left=first.v, right=second.v)

    @step
    async def gather(self, ctx: Context, ev: Pair) -> StopEvent | None:
        got = ctx.collect_events(ev, [Pair] * 2)
        return None if got is None else StopEvent(result=sorted((p.left, p.right) for p in got))


async def test_join_of_one_type_pairs_consecutive_events() -> None:
    assert await SameTypeTwice().run() == [(1, 2), (3, 4)]


class FanOut(Workflow):
    @step
    async def scatter(self, ev: StartEvent) -> list[Item]:
        return [Item(i=i) for i in range(ev.get("n", 3))]

    @step(num_workers=2)
    async def work(self, ev: Item) -> Done:
        return Done(i=ev.i * 10)

    @step
    async def gather(self, ctx: Context, ev: Done) -> StopEvent | None:
        got = ctx.collect_events(ev, [Done] * 3)
        return None if got is None else StopEvent(result=sorted(d.i for d in got))


class AppendLog(SqliteStore):
    """Records the kinds of the entries of each append call (one call = one transaction)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.appends: list[list[tuple[str, str | None]]] = []

    async def append(self, lease: Any, entries: Sequence[JournalEntry], *args: Any, **kw: Any) -> None:
        await super().append(lease, entries, *args, **kw)
        self.appends.append([(e.kind, e.step) for e in entries])


async def test_list_return_dispatches_each_event_in_the_completions_append(db_path: Path) -> None:
    store = AppendLog(str(db_path))
    handler = FanOut(store=store).run()
    assert await handler == [0, 10, 20]
    scatter = [a for a in store.appends if ("completed", "scatter") in a]
    assert len(scatter) == 1
    kinds = [kind for kind, s in scatter[0] if s == "scatter"]
    assert kinds.count("produced") == 3 and kinds.index("completed") > max(
        i for i, kind in enumerate(kinds) if kind == "produced"
    )
    produced = [e for e in await store.history(handler.run_id) if e["kind"] == "produced" and e["step"] == "scatter"]
    assert [e["event_type"].rsplit(".", 1)[-1] for e in produced] == ["Item"] * 3
    await store.close()


class BareWhereListDeclared(Workflow):
    @step
    async def scatter(self, ev: StartEvent) -> list[Item]:
        return Item(i=1)  # type: ignore[return-value]

    @step
    async def work(self, ev: Item) -> StopEvent:
        return StopEvent()


class ListHoldingJunk(Workflow):
    @step
    async def scatter(self, ev: StartEvent) -> list[Item]:
        return [Item(i=1), "junk"]  # type: ignore[list-item]

    @step
    async def work(self, ev: Item) -> StopEvent:
        return StopEvent()


class ListWithoutListAnnotation(Workflow):
    @step
    async def scatter(self, ev: StartEvent) -> Item:
        return [Item(i=1)]  # type: ignore[return-value]

    @step
    async def work(self, ev: Item) -> StopEvent:
        return StopEvent()


@pytest.mark.parametrize(
    ("flow", "message"),
    [
        (BareWhereListDeclared, "returned a bare Item but its return annotation declares that type only inside a list"),
        (ListHoldingJunk, "returned a list containing str instead of an Event instance"),
        (ListWithoutListAnnotation, "returned list instead of an Event instance"),
    ],
)
async def test_wrong_returns_fail_the_step(flow: type[Workflow], message: str) -> None:
    with pytest.raises(WorkflowRuntimeError, match=message):
        await flow().run()


class MixedReturn(Workflow):
    @step
    async def scatter(self, ev: StartEvent) -> list[Item] | Done:
        if ev.get("bare"):
            return Done(i=-1)
        return [Item(i=1)]

    @step
    async def work(self, ev: Item) -> Done:
        return Done(i=ev.i)

    @step
    async def end(self, ev: Done) -> StopEvent:
        return StopEvent(result=ev.i)


async def test_bare_member_of_a_mixed_return_is_ordinary_dispatch() -> None:
    assert await MixedReturn().run(bare=True) == -1
    assert await MixedReturn().run() == 1


class WaitsForRight(Workflow):
    """The left arrives from a step; the right only from outside the run."""

    @step
    async def start(self, ev: StartEvent) -> Left | Right:  # Right: declared, sent from outside
        return Left(v=ev.get("v", 1))

    @step
    async def join(self, ctx: Context, left: Left, right: Right) -> StopEvent:
        return StopEvent(result=left.v + right.v)


async def _park(wf: Workflow, **kw: Any) -> str:
    handler = wf.run(**kw)
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, WorkflowIdleEvent):
            return handler.run_id
    raise AssertionError("the run finished instead of waiting")


async def test_partial_join_survives_the_process_and_completes_on_resume(db_path: Path) -> None:
    store = SqliteStore(str(db_path))
    run_id = await _park(WaitsForRight(store=store), v=5)
    await store.close()

    store2 = SqliteStore(str(db_path))  # a new process, as far as the journal can tell
    await store2.send_event(run_id, Right(v=100))
    assert await WaitsForRight(store=store2).resume(run_id) == 105
    history = await store2.history(run_id)
    assert [e["step"] for e in history if e["kind"] == "accepted"] == ["start", "join"]
    await store2.close()


def test_join_and_list_steps_in_the_graph() -> None:
    """A join step has an edge from each input type, labelled with its parameter; a list return
    produces its element type (edge labelled "list")."""
    from durable_flows.representation import get_workflow_graph

    def edges(flow: type[Workflow]) -> set[tuple[str, str, str | None]]:
        graph = get_workflow_graph(flow)
        label = {n.id: n.label for n in graph.nodes}
        return {(label[e.source], label[e.target], e.label) for e in graph.edges}

    assert {("Left", "join", "left"), ("Right", "join", "right")} <= edges(JoinInOrder)
    assert ("scatter", "Item", "list") in edges(FanOut)
    assert ("scatter", "Done", None) in edges(MixedReturn)


def test_join_and_fan_out_workflows_validate() -> None:
    for flow in (JoinInOrder, SameTypeTwice, FanOut, MixedReturn, WaitsForRight):
        flow().validate()


async def test_join_events_consumed_once_with_concurrent_producers() -> None:
    """Many lefts and rights produced concurrently: every event is in exactly one pair."""

    class Many(Workflow):
        @step
        async def fork(self, ev: StartEvent) -> list[Item]:
            return [Item(i=i) for i in range(8)]

        @step(num_workers=4)
        async def split(self, ev: Item) -> Left | Right:
            await asyncio.sleep(0.001 * (ev.i % 3))
            return Left(v=ev.i) if ev.i % 2 else Right(v=ev.i)

        @step(num_workers=2)
        async def join(self, left: Left, right: Right) -> Pair:
            return Pair(left=left.v, right=right.v)

        @step
        async def gather(self, ctx: Context, ev: Pair) -> StopEvent | None:
            got = ctx.collect_events(ev, [Pair] * 4)
            return None if got is None else StopEvent(result=got)

    pairs = await Many().run()
    assert sorted(p.left for p in pairs) == [1, 3, 5, 7]
    assert sorted(p.right for p in pairs) == [0, 2, 4, 6]


def test_collect_markers_import_as_upstream_has_them_and_are_checked() -> None:
    from typing import Annotated

    from durable_flows.collect import All, Collect, Take
    from durable_flows.errors import WorkflowValidationError

    assert Collect().cardinality == All() and Collect(Take(2)).cardinality.n == 2  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="integer n >= 1"):
        Take(0)
    with pytest.raises(WorkflowValidationError, match="carries a Collect marker but is not annotated as list"):

        class NotAList(Workflow):
            @step
            async def fastest(self, ev: Annotated[Item, Collect(Take(1))]) -> StopEvent:
                return StopEvent()

    with pytest.raises(WorkflowValidationError, match="at most one list"):

        class TwoLists(Workflow):
            @step
            async def both(self, a: list[Item], b: list[Done]) -> StopEvent:
                return StopEvent()
