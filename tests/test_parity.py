"""Upstream parity (issue 14): context lifecycle errors and memory of finished runs."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from durable_flows import Context, StartEvent, StopEvent, Workflow, step
from durable_flows.context import InMemoryStateStore
from durable_flows.errors import ContextStateError, WorkflowRuntimeError
from durable_flows.events import Event
from durable_flows.testing import WorkflowTestRunner


class Slow(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(0.05)
        return StopEvent(result="done")


class Note(Event):
    text: str = ""


async def test_misuse_before_a_run_raises_context_state_error() -> None:
    ctx = Context(Slow())
    with pytest.raises(ContextStateError, match=r"^running_steps requires a running workflow\. Call workflow\.run\(\) first\.$"):
        await ctx.running_steps()
    with pytest.raises(ContextStateError, match="^to_dict requires a running workflow"):
        ctx.to_dict()
    with pytest.raises(ContextStateError, match="^stream_events requires a running workflow"):
        ctx.stream_events()  # at call time, not at the first iteration
    with pytest.raises(ContextStateError, match=r"^send_event\(\) called before workflow started"):
        ctx.send_event(Note())
    with pytest.raises(ContextStateError, match="^write_event_to_stream requires a running workflow"):
        ctx.write_event_to_stream(Note())
    # the store works before a run (it seeds the run's state), as upstream's
    assert isinstance(ctx.store, InMemoryStateStore)
    await ctx.store.set("k", 1)
    assert await ctx.store.get("k") == 1
    # still a WorkflowRuntimeError, which these misuses raised before
    assert issubclass(ContextStateError, WorkflowRuntimeError)


async def test_step_only_methods_from_handler_code() -> None:
    wf = Slow()
    handler = wf.run()
    with pytest.raises(ContextStateError, match="^write_event_to_stream is only available from within step functions"):
        handler.ctx.write_event_to_stream(Note())
    with pytest.raises(ContextStateError, match="^collect_events is only available from within step functions"):
        handler.ctx.collect_events(Note(), [Note])
    assert await handler == "done"


async def test_second_run_on_a_running_context_is_refused() -> None:
    wf = Slow()
    ctx = Context(wf)
    first = wf.run(ctx=ctx)
    with pytest.raises(ContextStateError, match="^Cannot start a new run while context is already running"):
        wf.run(ctx=ctx)
    assert await first == "done"
    # once it finished, the context may run again (state carried over)
    assert await wf.run(ctx=ctx) == "done"


async def test_timer_left_by_a_step_does_not_keep_the_workflow_alive() -> None:
    handles: list[asyncio.TimerHandle] = []

    class Tiny(Workflow):
        @step
        async def only(self, ev: StartEvent) -> StopEvent:
            assert Context.get_step_context() is not None
            # call_later copies the context variables, the step's scope included
            handles.append(asyncio.get_running_loop().call_later(3600, lambda: None))
            return StopEvent(result="done")

    refs = []
    try:
        for _ in range(3):
            wf = Tiny()
            refs.append(weakref.ref(wf))
            result = await WorkflowTestRunner(wf).run()
            assert result.result == "done"
            del wf, result
        gc.collect()
        assert [r() for r in refs] == [None, None, None]
    finally:
        for h in handles:
            h.cancel()
