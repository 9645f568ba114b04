"""Upstream parity (issue 14): context lifecycle errors and memory of finished runs."""

from __future__ import annotations

import asyncio
import gc
import warnings
import weakref

import pytest

from durable_flows import Context, StartEvent, StopEvent, Workflow, step
from durable_flows.context import InMemoryStateStore
from durable_flows.errors import ContextStateError, WorkflowRuntimeError
from durable_flows.events import Event, WorkflowFailedEvent
from durable_flows.retry_policy import retry_policy, stop_after_attempt, wait_fixed
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


class HandlerOnlyFromAStep(Workflow):
    @step
    async def probe(self, ctx: Context, ev: StartEvent) -> StopEvent:
        seen = []
        for _name, call in [
            ("to_dict", lambda: ctx.to_dict()),
            ("stream_events", lambda: ctx.stream_events()),
            ("get_result", lambda: ctx.get_result()),
            ("streaming_queue", lambda: ctx.streaming_queue),
        ]:
            try:
                call()
            except ContextStateError as exc:
                seen.append(str(exc))
        try:
            await ctx.running_steps()
        except ContextStateError as exc:
            seen.append(str(exc))
        return StopEvent(result=seen)


async def test_handler_only_methods_from_a_step() -> None:
    """Pins: to_dict() inside a step used to succeed, and its dict restored to before the step (losing
    the step's store edits the dict showed); upstream 2.26.1 raises for it and for these other
    handler-only methods (found by the durable_workflows docs example, tests/docs_examples)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        seen = await HandlerOnlyFromAStep().run()
    names = ["to_dict", "stream_events", "get_result", "streaming_queue", "running_steps"]
    assert [m.split(" ")[0] for m in seen] == names
    assert all("is only available from handler code, not from within steps." in m for m in seen)
    assert "wf.resume(run_id)" in seen[0]


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


# -- small fidelity items (issue 14 item 7) ---------------------------------------------


def test_stop_event_repr_lists_extras_fields_then_result() -> None:
    from durable_flows.events import StopEvent as Stop

    class Answer(Stop):
        score: int = 1

    assert repr(Stop(result=42, foo="foo")) == "StopEvent(foo='foo', result=42)"
    assert repr(Answer(result=2, note="n")) == "Answer(note='n', score=1, result=2)"


def test_retry_if_exception_message_uses_upstream_messages() -> None:
    from durable_flows.retry_policy import retry_if_exception_message

    with pytest.raises(TypeError, match=r"^retry_if_exception_message\(\) missing 1 required argument 'message' or 'match'$"):
        retry_if_exception_message()
    with pytest.raises(TypeError, match=r"^retry_if_exception_message\(\) takes either 'message' or 'match', not both$"):
        retry_if_exception_message(message="a", match="b")


def test_public_module_paths_and_generic_handler() -> None:
    from durable_flows import WorkflowHandler
    from durable_flows.context.utils import get_qualified_name, import_module_from_qualified_name
    from durable_flows.types import RunResultT, StopEventT

    assert WorkflowHandler[str].__origin__ is WorkflowHandler
    assert StopEventT.__bound__ is StopEvent and RunResultT is not None
    assert get_qualified_name(Note()) == f"{__name__}.Note"
    assert import_module_from_qualified_name(f"{__name__}.Note") is Note
    with pytest.raises(AttributeError, match="^Object foo does not have required attributes"):
        get_qualified_name("foo")
    with pytest.raises(ValueError, match="^Qualified name must be in format 'module.attribute'$"):
        import_module_from_qualified_name("nodot")
    with pytest.raises(ImportError, match="^Failed to import module __nope: "):
        import_module_from_qualified_name("__nope.x")


async def test_resource_config_accepts_a_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typing import Annotated

    from pydantic import BaseModel

    from durable_flows.resource import ResourceConfig

    class Settings(BaseModel):
        name: str

    config = tmp_path / "settings.json"
    config.write_text('{"name": "from-file"}')

    class Configured(Workflow):
        @step
        async def only(self, ev: StartEvent, settings: Annotated[Settings, ResourceConfig(config)]) -> StopEvent:
            return StopEvent(result=settings.name)

    assert await Configured().run() == "from-file"


async def test_step_state_changed_names_input_and_output_of_a_finished_step() -> None:
    from durable_flows.events import StepState, StepStateChanged

    handler = Slow().run()
    changes = [
        (e.step_state, e.input_event_name, e.output_event_name)
        async for e in handler.stream_events(expose_internal=True)
        if isinstance(e, StepStateChanged)
    ]
    await handler
    assert changes == [
        (StepState.RUNNING, "StartEvent", None),
        (StepState.NOT_RUNNING, "StartEvent", "StopEvent"),
    ]


# -- values that are not JSON (issue 14 item 8) --------------------------------------------


class Opaque:
    pass


async def test_stop_event_result_that_is_not_json_names_the_field_and_the_fix() -> None:
    from durable_flows.errors import EventNotSerializableError

    class Returns(Workflow):
        @step
        async def only(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result=Opaque())

    with pytest.raises(EventNotSerializableError) as info:
        await Returns().run()
    message = str(info.value)
    assert "event durable_flows.events.StopEvent field 'result' cannot be stored as JSON (Opaque" in message
    assert "serializer=JsonPickleSerializer(allowed=[Opaque])" in message
    assert info.value.field == "result"


async def test_json_pickle_serializer_journals_the_object() -> None:
    from durable_flows.context import JsonPickleSerializer

    class Returns(Workflow):
        @step
        async def only(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result=Opaque())

    assert isinstance(await Returns(serializer=JsonPickleSerializer(allowed=[Opaque])).run(), Opaque)


def test_pickle_serializer_is_refused_at_construction() -> None:
    from durable_flows.context import PickleSerializer
    from durable_flows.errors import WorkflowConfigurationError

    with pytest.raises(WorkflowConfigurationError, match=r"^Workflow\(serializer=PickleSerializer\(\)\) is not supported: .*JsonPickleSerializer\(allowed="):
        Slow(serializer=PickleSerializer())


async def test_in_memory_state_store_on_its_own() -> None:
    from pydantic import BaseModel

    from durable_flows.context import DictState, InMemoryStateStore

    store: InMemoryStateStore[DictState] = InMemoryStateStore(DictState())
    await store.set("nested", {"key": "value"})
    assert await store.get("nested.key") == "value"
    async with store.edit_state() as state:
        state["counter"] = 1
    assert await store.get("counter") == 1
    await store.clear()
    assert await store.get("counter", default=None) is None

    class Typed(BaseModel):
        n: int = 0

    typed = InMemoryStateStore(Typed())
    await typed.set("n", 3)
    assert (await typed.get_state()).n == 3
    # a run's context holds one too
    assert isinstance(Context(Slow()).store, InMemoryStateStore)


class FailsTwice(Workflow):
    @step(retry_policy=retry_policy(wait=wait_fixed(0.05), stop=stop_after_attempt(2)))
    async def only(self, ev: StartEvent) -> StopEvent:
        raise ValueError("still down")


async def test_failed_event_elapsed_seconds_live_and_after_resume() -> None:
    """Pins: WorkflowFailedEvent.elapsed_seconds was None; it is first attempt to final failure,
    from the journal's times, so a resumed finished run reports the same figure."""
    wf = FailsTwice()
    handler = wf.run()
    live = [ev async for ev in handler.stream_events()][-1]
    with pytest.raises(ValueError):
        await handler
    assert isinstance(live, WorkflowFailedEvent)
    assert live.attempts == 2
    assert live.elapsed_seconds is not None and 0.05 <= live.elapsed_seconds < 5
    again = FailsTwice().resume(handler.run_id)
    replayed = [ev async for ev in again.stream_events()][-1]
    with pytest.raises(ValueError):
        await again
    assert isinstance(replayed, WorkflowFailedEvent)
    assert replayed.elapsed_seconds == live.elapsed_seconds
