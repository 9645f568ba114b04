"""Tests for @step and @catch_error: the StepConfig they attach and the errors they raise.

The module uses ``from __future__ import annotations`` on purpose: every
annotation below is a string that the decorators must resolve, including names
that only exist inside a test function.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Generic, Optional, TypeVar, Union

import pytest
from pydantic import BaseModel

from durable_flows.decorators import StepConfig, catch_error, step
from durable_flows.errors import WorkflowValidationError
from durable_flows.events import Event, StartEvent, StepFailedEvent, StopEvent
from durable_flows.resource import Resource, ResourceDefinition
from durable_flows.spec.signature import is_free_function

S = TypeVar("S")


class Context(Generic[S]):
    """Stand-in for durable_flows.context.Context: detection is by class name."""


class MyState(BaseModel):
    count: int = 0


class EvA(Event):
    pass


class EvB(Event):
    pass


class Thing:
    pass


def get_thing() -> Thing:
    return Thing()


class Registry:
    """Stand-in for Workflow: records what @step(workflow=...) adds."""

    added: list[Any] = []

    @classmethod
    def add_step(cls, func: Any) -> None:
        cls.added.append(func)


def config_of(func: Any) -> StepConfig:
    cfg = func._step_config
    assert isinstance(cfg, StepConfig)
    return cfg


# --- @step: what the config says ------------------------------------------------------


def test_bare_step_on_method_builds_config_and_returns_function() -> None:
    class Flow:
        async def plain(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

        decorated = step(plain)

    assert Flow.decorated is Flow.plain
    cfg = config_of(Flow.decorated)
    assert cfg == StepConfig(
        accepted_events=[StartEvent],
        event_name="ev",
        return_types=[StopEvent],
        context_parameter=None,
        num_workers=4,
        retry_policy=None,
        resources=[],
    )
    assert cfg.role == "step"
    assert cfg.skip_graph_checks == []
    assert cfg.catch_error_for_steps is None
    assert cfg.catch_error_max_recoveries == 1
    assert cfg.accept_event_subclasses is False
    assert cfg.context_state_type is None


def test_step_options_are_stored() -> None:
    policy: Any = object()

    class Flow:
        @step(
            num_workers=2,
            retry_policy=policy,
            skip_graph_checks=["reachability", "dead_end"],
            accept_event_subclasses=True,
        )
        async def work(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

    cfg = config_of(Flow.work)
    assert cfg.num_workers == 2
    assert cfg.retry_policy is policy
    assert cfg.skip_graph_checks == ["reachability", "dead_end"]
    assert cfg.accept_event_subclasses is True


def test_union_and_optional_event_parameters_are_expanded() -> None:
    class Flow:
        @step
        async def union(self, ev: Union[EvA, EvB]) -> StopEvent:
            return StopEvent()

        @step
        async def pipe(self, ev: EvA | EvB | None) -> StopEvent:
            return StopEvent()

        @step
        async def optional(self, ev: Optional[EvA] = None) -> StopEvent:
            return StopEvent()

    assert config_of(Flow.union).accepted_events == [EvA, EvB]
    assert config_of(Flow.pipe).accepted_events == [EvA, EvB]
    assert config_of(Flow.optional).accepted_events == [EvA]


def test_return_types_expand_unions_and_keep_none() -> None:
    class Flow:
        @step
        async def union(self, ev: StartEvent) -> EvA | EvB | StopEvent:
            return StopEvent()

        @step
        async def optional(self, ev: StartEvent) -> Optional[EvA]:
            return None

        @step
        async def nothing(self, ev: StartEvent) -> None:
            return None

        @step
        async def nested(self, ev: StartEvent) -> Union[EvA, Union[EvB, EvA], None]:
            return None

    assert config_of(Flow.union).return_types == [EvA, EvB, StopEvent]
    assert config_of(Flow.optional).return_types == [EvA, type(None)]
    assert config_of(Flow.nothing).return_types == [type(None)]
    assert config_of(Flow.nested).return_types == [EvA, EvB, type(None)]


def test_context_parameter_detected_by_annotation_with_and_without_state() -> None:
    class Flow:
        @step
        async def bare(self, context: Context, ev: StartEvent) -> StopEvent:
            return StopEvent()

        @step
        async def typed(self, ev: StartEvent, my_ctx: Context[MyState]) -> StopEvent:
            return StopEvent()

        @step
        async def none(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

    bare, typed, none = config_of(Flow.bare), config_of(Flow.typed), config_of(Flow.none)
    assert (bare.context_parameter, bare.context_state_type) == ("context", None)
    assert (typed.context_parameter, typed.context_state_type) == ("my_ctx", MyState)
    assert typed.event_name == "ev"
    assert (none.context_parameter, none.context_state_type) == (None, None)


def test_context_typevar_argument_is_not_a_state_type() -> None:
    class Flow:
        @step
        async def generic(self, ctx: Context[S], ev: StartEvent) -> StopEvent:
            return StopEvent()

    cfg = config_of(Flow.generic)
    assert (cfg.context_parameter, cfg.context_state_type) == ("ctx", None)


def test_real_context_class_is_detected() -> None:
    context_module = pytest.importorskip("durable_flows.context")
    real_context = context_module.Context

    class Flow:
        @step
        async def work(self, ctx: real_context[MyState], ev: StartEvent) -> StopEvent:  # type: ignore[valid-type]
            return StopEvent()

    cfg = config_of(Flow.work)
    assert (cfg.context_parameter, cfg.context_state_type) == ("ctx", MyState)


def test_resource_parameters_become_definitions() -> None:
    descriptor = Resource(get_thing, cache=False)

    class Flow:
        @step
        async def work(
            self,
            ev: StartEvent,
            thing: Annotated[Thing, descriptor],
            other: Annotated[Thing, Resource(get_thing)],
        ) -> StopEvent:
            return StopEvent()

    resources = config_of(Flow.work).resources
    assert [r.name for r in resources] == ["thing", "other"]
    assert resources[0] == ResourceDefinition(
        name="thing", resource=descriptor, type_annotation=Thing
    )
    assert resources[1].resource.name == f"{__name__}.get_thing"
    assert resources[1].resource.cache is True


def test_annotated_event_with_other_metadata_is_still_the_event() -> None:
    class Flow:
        @step
        async def work(self, ev: Annotated[EvA, "doc"]) -> StopEvent:
            return StopEvent()

    assert config_of(Flow.work).accepted_events == [EvA]


def test_other_parameters_are_ignored() -> None:
    class Flow:
        @step
        async def work(self, ev: StartEvent, limit: int = 3, *args: Any, **kw: Any) -> StopEvent:
            return StopEvent()

    cfg = config_of(Flow.work)
    assert cfg.event_name == "ev"
    assert cfg.accepted_events == [StartEvent]


def test_event_parameter_may_have_any_name_and_position() -> None:
    class Flow:
        @step
        async def work(self, ctx: Context, incoming: EvA) -> StopEvent:
            return StopEvent()

    cfg = config_of(Flow.work)
    assert (cfg.event_name, cfg.accepted_events, cfg.context_parameter) == (
        "incoming",
        [EvA],
        "ctx",
    )


def test_base_event_class_is_accepted() -> None:
    class Flow:
        @step
        async def anything(self, ev: Event) -> StopEvent:
            return StopEvent()

    assert config_of(Flow.anything).accepted_events == [Event]


# --- string annotations naming local names ----------------------------------------------


def test_string_annotations_resolve_names_local_to_the_test() -> None:
    class LocalStart(StartEvent):
        pass

    class LocalStop(StopEvent):
        pass

    class LocalState(BaseModel):
        x: int = 0

    def local_factory() -> Thing:
        return Thing()

    class Flow:
        @step
        async def bare(self, ev: LocalStart, ctx: Context[LocalState]) -> LocalStop:
            return LocalStop()

        @step(num_workers=1)
        async def with_options(
            self, ev: LocalStart, t: Annotated[Thing, Resource(local_factory)]
        ) -> LocalStop | None:
            return None

    bare, opts = config_of(Flow.bare), config_of(Flow.with_options)
    assert bare.accepted_events == [LocalStart]
    assert bare.return_types == [LocalStop]
    assert bare.context_state_type is LocalState
    assert opts.return_types == [LocalStop, type(None)]
    assert opts.resources[0].resource.name.endswith("local_factory")


def test_string_annotations_resolve_names_of_the_class_body_and_outer_class() -> None:
    class Outer:
        class Inner(Event):
            pass

        class Flow:
            class Body(Event):
                pass

            @step
            async def work(self, ev: Body) -> Inner:  # type: ignore[name-defined]  # noqa: F821
                raise NotImplementedError

    cfg = config_of(Outer.Flow.work)
    assert cfg.accepted_events == [Outer.Flow.Body]
    assert cfg.return_types == [Outer.Inner]


def test_unresolvable_annotation_message() -> None:
    with pytest.raises(WorkflowValidationError) as info:

        class Flow:
            @step
            async def work(self, ev: NotDefinedAnywhere) -> StopEvent:  # type: ignore[name-defined] # noqa: F821
                return StopEvent()

    message = str(info.value)
    assert message.startswith("Failed to resolve type annotations for ")
    assert "Flow.work. Missing name: NotDefinedAnywhere." in message
    assert "'from __future__ import annotations'" in message


# --- @step: errors ---------------------------------------------------------------------


@pytest.mark.parametrize("num_workers", [0, -1, "2", 1.5, None])
def test_num_workers_must_be_positive_int(num_workers: Any) -> None:
    with pytest.raises(
        WorkflowValidationError, match="^num_workers must be an integer greater than 0$"
    ):

        class Flow:
            @step(num_workers=num_workers)
            async def work(self, ev: StartEvent) -> StopEvent:
                return StopEvent()


def test_missing_event_parameter() -> None:
    with pytest.raises(WorkflowValidationError) as info:

        class Flow:
            @step
            async def work(self, ctx: Context, x: int) -> StopEvent:
                return StopEvent()

    assert str(info.value) == (
        "Step signature must have at least one parameter annotated as type Event"
    )


def test_unannotated_event_parameter_is_missing_too() -> None:
    with pytest.raises(WorkflowValidationError, match="at least one parameter annotated"):

        class Flow:
            @step
            async def work(self, ev) -> StopEvent:  # type: ignore[no-untyped-def]
                return StopEvent()


def test_missing_return_annotation() -> None:
    with pytest.raises(WorkflowValidationError) as info:

        class Flow:
            @step
            async def work(self, ev: StartEvent):  # type: ignore[no-untyped-def]
                return StopEvent()

    assert str(info.value) == (
        "Return types of workflows step functions must be annotated with their type."
    )


def test_several_event_parameters_make_a_join_step() -> None:
    class Flow:
        @step
        async def join(self, a: EvA, b: EvB) -> StopEvent:
            return StopEvent()

    cfg = config_of(Flow.join)
    assert cfg.collect_params == [("a", EvA), ("b", EvB)]
    assert cfg.accepted_events == [EvA, EvB]
    assert cfg.event_name == "a"


def test_join_parameter_with_a_union_is_refused() -> None:
    with pytest.raises(WorkflowValidationError, match=r"parameter 'b' declares 2"):

        class Flow:
            @step
            async def join(self, a: EvA, b: EvA | EvB) -> StopEvent:
                return StopEvent()


def test_list_return_unwraps_to_its_element_types() -> None:
    class Flow:
        @step
        async def fan_out(self, ev: StartEvent) -> list[EvA] | StopEvent:
            return StopEvent()

    cfg = config_of(Flow.fan_out)
    assert cfg.return_types == [EvA, StopEvent]
    assert cfg.is_fan_out is True
    assert cfg.bare_return_types == (StopEvent,)


def test_list_parameter_makes_a_collect_step() -> None:
    class Flow:
        @step
        async def fan_in(self, evs: list[EvA | EvB]) -> StopEvent:
            return StopEvent()

    cfg = config_of(Flow.fan_in)
    assert cfg.collection_param == ("evs", (EvA, EvB))
    assert cfg.accepted_events == [EvA, EvB] and cfg.collection_take == 0


def test_list_parameter_beside_another_event_parameter_is_refused() -> None:
    with pytest.raises(WorkflowValidationError, match="cannot be combined with other event parameters"):

        class Flow:
            @step
            async def fan_in(self, evs: list[EvA], other: EvB) -> StopEvent:
                return StopEvent()


def test_async_generator_step_is_refused() -> None:
    with pytest.raises(WorkflowValidationError, match="^Async-iterator fan-out"):

        class Flow:
            @step
            async def gen(self, ev: StartEvent) -> Any:
                yield EvA()


def test_async_iterator_return_is_refused() -> None:
    with pytest.raises(WorkflowValidationError, match="^Async-iterator fan-out"):

        class Flow:
            @step
            async def gen(self, ev: StartEvent) -> AsyncIterator[EvA]:
                raise NotImplementedError


def test_free_function_without_workflow() -> None:
    with pytest.raises(WorkflowValidationError) as info:

        @step
        async def lonely(ev: StartEvent) -> StopEvent:
            return StopEvent()

    assert str(info.value) == (
        "To decorate lonely please pass a workflow class to the @step decorator."
    )


def test_free_function_with_workflow_is_added() -> None:
    Registry.added = []

    @step(workflow=Registry, num_workers=3)
    async def helper(ev: EvA) -> StopEvent:
        return StopEvent()

    assert Registry.added == [helper]
    assert config_of(helper).num_workers == 3


def test_workflow_argument_ignored_for_methods() -> None:
    Registry.added = []

    class Flow:
        @step(workflow=Registry)
        async def work(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

    assert Registry.added == []


def test_add_step_errors_propagate() -> None:
    class Refusing:
        @classmethod
        def add_step(cls, func: Any) -> None:
            raise WorkflowValidationError(
                f"A step {func.__name__} is already part of this workflow"
            )

    with pytest.raises(WorkflowValidationError, match="already part"):

        @step(workflow=Refusing)
        async def dup(ev: StartEvent) -> StopEvent:
            return StopEvent()


@pytest.mark.parametrize(
    ("qualname", "free"),
    [
        ("f", True),
        ("outer.<locals>.f", True),
        ("a.<locals>.b.<locals>.f", True),
        ("C.f", False),
        ("outer.<locals>.C.f", False),
        ("C.D.f", False),
    ],
)
def test_is_free_function(qualname: str, free: bool) -> None:
    assert is_free_function(qualname) is free


def test_is_free_function_rejects_empty() -> None:
    with pytest.raises(ValueError, match="The qualified name cannot be empty"):
        is_free_function("")


# --- @catch_error -----------------------------------------------------------------------


def test_bare_catch_error() -> None:
    class Flow:
        @catch_error
        async def recover(self, ctx: Context, ev: StepFailedEvent) -> StopEvent:
            return StopEvent()

    cfg = config_of(Flow.recover)
    assert cfg.role == "catch_error"
    assert cfg.accepted_events == [StepFailedEvent]
    assert cfg.catch_error_for_steps is None
    assert cfg.catch_error_max_recoveries == 1
    assert cfg.num_workers == 1
    assert cfg.retry_policy is None
    assert cfg.context_parameter == "ctx"


def test_catch_error_with_options() -> None:
    scope = ["fetch", "parse"]

    class Flow:
        @catch_error(for_steps=scope, max_recoveries=3)
        async def recover(self, ev: StepFailedEvent) -> EvA | StopEvent:
            return StopEvent()

    cfg = config_of(Flow.recover)
    assert cfg.catch_error_for_steps == ["fetch", "parse"]
    assert cfg.catch_error_for_steps is not scope
    assert cfg.catch_error_max_recoveries == 3
    assert cfg.return_types == [EvA, StopEvent]


def test_catch_error_resolves_local_string_annotations() -> None:
    class Fallback(Event):
        pass

    class Flow:
        @catch_error(for_steps=["x"])
        async def recover(self, ev: StepFailedEvent) -> Fallback:
            return Fallback()

    assert config_of(Flow.recover).return_types == [Fallback]


@pytest.mark.parametrize("annotation", ["EvA", "Union[StepFailedEvent, EvA]", "Event"])
def test_catch_error_must_accept_step_failed_event(annotation: str) -> None:
    namespace: dict[str, Any] = {}
    exec(  # build the signature from a string so the bad annotation varies
        "async def recover(self, ev: " + annotation + ") -> StopEvent: ...",
        globals(),
        namespace,
    )
    with pytest.raises(WorkflowValidationError) as info:
        catch_error(namespace["recover"])
    assert str(info.value) == (
        "@catch_error handler 'recover' must accept StepFailedEvent as its event parameter."
    )


@pytest.mark.parametrize("value", [0, -2, "1", 1.0, None])
def test_catch_error_max_recoveries_validated(value: Any) -> None:
    with pytest.raises(
        WorkflowValidationError, match="^@catch_error max_recoveries must be an integer >= 1$"
    ):
        catch_error(max_recoveries=value)


@pytest.mark.parametrize("value", ["fetch", ("fetch",), ["fetch", 3]])
def test_catch_error_for_steps_validated(value: Any) -> None:
    with pytest.raises(
        WorkflowValidationError,
        match="^@catch_error for_steps must be None or a list of step name strings$",
    ):
        catch_error(for_steps=value)
