"""Tests for durable_flows.spec.validation: upstream's workflow rules and their messages.

Workflows are given as ``{name: StepConfig}`` dicts, so nothing here depends on
the Workflow class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from durable_flows.decorators import CatchErrorHandler, StepConfig
from durable_flows.errors import WorkflowConfigurationError, WorkflowValidationError
from durable_flows.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)
from durable_flows.resource import Resource, ResourceConfig, ResourceDefinition, ResourceManager
from durable_flows.spec.validation import (
    accepts_event_type,
    catch_error_routes,
    check_graph,
    check_graph_check_names,
    infer_start_event_class,
    infer_stop_event_class,
    type_matches,
    validate_resource_configs,
    validate_resources,
    validate_workflow,
    workflow_event_types,
)

NONE = type(None)


class EvA(Event):
    pass


class EvB(Event):
    pass


class EvC(Event):
    pass


class SubA(EvA):
    pass


class MyStart(StartEvent):
    pass


class OtherStart(StartEvent):
    pass


class MyStop(StopEvent):
    pass


class OtherStop(StopEvent):
    pass


class AskHuman(InputRequiredEvent):
    pass


class Answer(HumanResponseEvent):
    pass


def cfg(accepts: list[Any], returns: list[Any], **kw: Any) -> StepConfig:
    return StepConfig(
        accepted_events=accepts,
        event_name="ev",
        return_types=returns,
        context_parameter=None,
        num_workers=kw.pop("num_workers", 4),
        retry_policy=None,
        resources=kw.pop("resources", []),
        **kw,
    )


def handler(returns: list[Any], for_steps: list[str] | None = None, **kw: Any) -> StepConfig:
    return cfg(
        [StepFailedEvent],
        returns,
        role="catch_error",
        catch_error_for_steps=for_steps,
        num_workers=1,
        **kw,
    )


def graph_error(*lines: str) -> str:
    return "Graph validation failed:\n" + "\n".join(lines)


# --- a sound workflow ------------------------------------------------------------------


def test_linear_workflow_is_valid() -> None:
    steps = {
        "start": cfg([StartEvent], [EvA]),
        "middle": cfg([EvA], [EvB, NONE]),
        "end": cfg([EvB], [StopEvent]),
    }
    result = validate_workflow(steps, workflow_name="Flow")
    assert result.start_event_class is StartEvent
    assert result.stop_event_class is StopEvent
    assert result.uses_hitl is False
    assert result.catch_error_handlers == {}
    assert result.catch_error_routes == {}


def test_custom_start_and_stop_subclasses_are_returned() -> None:
    steps = {"only": cfg([MyStart], [MyStop])}
    result = validate_workflow(steps)
    assert (result.start_event_class, result.stop_event_class) == (MyStart, MyStop)


def test_loops_and_branches_are_valid() -> None:
    steps = {
        "start": cfg([StartEvent], [EvA]),
        "loop": cfg([EvA, EvB], [EvB, EvC]),
        "end": cfg([EvC], [StopEvent]),
    }
    validate_workflow(steps)


# --- steps, start and stop -------------------------------------------------------------


def test_no_steps() -> None:
    with pytest.raises(WorkflowConfigurationError) as info:
        validate_workflow({}, workflow_name="Empty")
    assert str(info.value) == (
        "Workflow 'Empty' has no configured steps. Did you forget to annotate methods "
        "with @step or to register free-function steps via @step(workflow=...)?"
    )


def test_no_start_event_is_reported_before_stop_event() -> None:
    with pytest.raises(WorkflowConfigurationError) as info:
        validate_workflow({"a": cfg([EvA], [EvB])}, workflow_name="Flow")
    assert str(info.value) == (
        "At least one Event of type StartEvent must be received by any step. "
        "(Workflow 'Flow' has no @step that accepts StartEvent.)"
    )


def test_two_start_events() -> None:
    steps = {"a": cfg([MyStart], [StopEvent]), "b": cfg([OtherStart], [StopEvent])}
    with pytest.raises(WorkflowConfigurationError) as info:
        validate_workflow(steps, workflow_name="Flow")
    assert str(info.value) == (
        "Only one type of StartEvent is allowed per workflow, found 2: "
        f"{{{MyStart!r}, {OtherStart!r}}} in workflow 'Flow'."
    )


def test_no_stop_event() -> None:
    with pytest.raises(WorkflowConfigurationError) as info:
        validate_workflow({"a": cfg([StartEvent], [NONE])}, workflow_name="Flow")
    assert str(info.value) == (
        "At least one Event of type StopEvent must be returned by any step. "
        "(Workflow 'Flow' has no @step that returns StopEvent.)"
    )


def test_two_stop_events() -> None:
    steps = {"a": cfg([StartEvent], [MyStop, OtherStop])}
    with pytest.raises(WorkflowConfigurationError) as info:
        validate_workflow(steps, workflow_name="Flow")
    assert str(info.value) == (
        "Only one type of StopEvent is allowed per workflow, found 2: "
        f"{{{MyStop!r}, {OtherStop!r}}} in workflow 'Flow'."
    )


def test_infer_helpers_work_without_full_validation() -> None:
    """The workflow needs start/stop classes even with disable_validation=True."""
    steps = {"a": cfg([MyStart], [EvA, MyStop]), "dangling": cfg([EvC], [EvB])}
    assert infer_start_event_class(steps, "Flow") is MyStart
    assert infer_stop_event_class(steps, "Flow") is MyStop
    assert workflow_event_types(steps) == [MyStart, EvA, MyStop, EvC, EvB]


# --- event connectivity ------------------------------------------------------------------


def test_step_accepting_stop_event() -> None:
    steps = {"start": cfg([StartEvent], [StopEvent]), "after": cfg([StopEvent], [NONE])}
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(steps)
    assert str(info.value) == (
        "Step 'after' cannot accept StopEvent. StopEvent signals the end of the workflow. "
        "Use a different Event type instead."
    )


def test_steps_accepting_stop_event_plural() -> None:
    steps = {
        "start": cfg([StartEvent], [MyStop]),
        "x": cfg([MyStop], [NONE]),
        "y": cfg([EvA, StopEvent], [NONE]),
    }
    with pytest.raises(WorkflowValidationError, match="^Steps 'x', 'y' cannot accept StopEvent."):
        validate_workflow(steps)


def test_consumed_but_never_produced() -> None:
    steps = {
        "start": cfg([StartEvent], [StopEvent]),
        "orphan": cfg([EvB, EvA], [StopEvent]),
    }
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(steps)
    assert str(info.value) == "The following events are consumed but never produced: EvA, EvB"


def test_event_sent_only_with_send_event_must_be_declared() -> None:
    """ctx.send_event is invisible to validation, as upstream: the step must declare it."""
    hidden = {"start": cfg([StartEvent], [StopEvent]), "worker": cfg([EvA], [NONE])}
    with pytest.raises(WorkflowValidationError, match="consumed but never produced: EvA"):
        validate_workflow(hidden)
    declared = {"start": cfg([StartEvent], [StopEvent, EvA, NONE]), "worker": cfg([EvA], [NONE])}
    validate_workflow(declared)


def test_produced_but_never_consumed() -> None:
    steps = {"start": cfg([StartEvent], [StopEvent, EvC, EvB])}
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(steps)
    assert str(info.value) == "The following events are produced but never consumed: EvB, EvC"


def test_non_event_return_type_is_never_consumed() -> None:
    steps = {"start": cfg([StartEvent], [StopEvent, str])}
    with pytest.raises(WorkflowValidationError, match="produced but never consumed: str"):
        validate_workflow(steps)


def test_human_in_the_loop_boundary_events() -> None:
    steps = {
        "ask": cfg([StartEvent], [AskHuman]),
        "answer": cfg([Answer], [StopEvent]),
    }
    result = validate_workflow(steps)
    assert result.uses_hitl is True


def test_uses_hitl_from_human_response_alone() -> None:
    steps = {"start": cfg([StartEvent], [StopEvent]), "answer": cfg([Answer], [StopEvent])}
    assert validate_workflow(steps).uses_hitl is True


def test_subclass_routing_satisfies_connectivity() -> None:
    exact = {"start": cfg([StartEvent], [SubA]), "base": cfg([EvA], [StopEvent])}
    with pytest.raises(WorkflowValidationError, match="consumed but never produced: EvA"):
        validate_workflow(exact)
    broad = {
        "start": cfg([StartEvent], [SubA]),
        "base": cfg([EvA], [StopEvent], accept_event_subclasses=True),
    }
    validate_workflow(broad)


def test_broad_event_acceptor_does_not_swallow_stop_event() -> None:
    steps = {
        "start": cfg([StartEvent], [EvA]),
        "any": cfg([Event], [StopEvent], accept_event_subclasses=True),
    }
    validate_workflow(steps)
    graph = check_graph(steps, StartEvent)
    assert graph == []


# --- catch_error ---------------------------------------------------------------------------


def test_catch_error_handler_is_reachable_and_routed() -> None:
    steps = {
        "fetch": cfg([StartEvent], [EvA]),
        "parse": cfg([EvA], [StopEvent]),
        "on_fetch": handler([EvA], for_steps=["fetch"], catch_error_max_recoveries=2),
        "fallback": handler([StopEvent]),
    }
    result = validate_workflow(steps)
    assert result.catch_error_handlers == {
        "on_fetch": CatchErrorHandler("on_fetch", ["fetch"], 2),
        "fallback": CatchErrorHandler("fallback", None, 1),
    }
    assert result.catch_error_routes == {"fetch": "on_fetch", "parse": "fallback"}


def test_catch_error_handler_with_own_subgraph_is_reachable() -> None:
    steps = {
        "work": cfg([StartEvent], [StopEvent]),
        "recover": handler([EvB]),
        "retry_later": cfg([EvB], [StopEvent]),
    }
    validate_workflow(steps)


def test_catch_error_unknown_step() -> None:
    steps = {"work": cfg([StartEvent], [StopEvent]), "h": handler([StopEvent], ["nope"])}
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(steps)
    assert str(info.value) == "@catch_error handler 'h' lists unknown step 'nope' in for_steps."


def test_catch_error_two_wildcards() -> None:
    steps = {
        "work": cfg([StartEvent], [StopEvent]),
        "h2": handler([StopEvent]),
        "h1": handler([StopEvent]),
    }
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(steps)
    assert str(info.value) == (
        "Only one wildcard @catch_error handler is allowed per workflow, found 2: h1, h2"
    )


def test_catch_error_cannot_cover_a_handler() -> None:
    steps = {
        "work": cfg([StartEvent], [StopEvent]),
        "h1": handler([StopEvent], ["h2"]),
        "h2": handler([StopEvent], ["h2"]),
    }
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(steps)
    assert str(info.value) == (
        "@catch_error handler 'h1' cannot cover another handler step 'h2'.\n"
        "@catch_error handler 'h2' cannot cover another handler step 'h2'."
    )


def test_catch_error_step_claimed_twice() -> None:
    steps = {
        "work": cfg([StartEvent], [StopEvent]),
        "first": handler([StopEvent], ["work"]),
        "second": handler([StopEvent], ["work"]),
    }
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(steps)
    assert str(info.value) == (
        "Step 'work' is claimed by two @catch_error handlers: 'first' and 'second'."
    )


def test_catch_error_problems_reported_together() -> None:
    steps = {
        "work": cfg([StartEvent], [StopEvent]),
        "a": handler([StopEvent]),
        "b": handler([StopEvent]),
        "c": handler([StopEvent], ["missing"]),
    }
    with pytest.raises(WorkflowValidationError) as info:
        catch_error_routes(steps)
    assert str(info.value).splitlines() == [
        "Only one wildcard @catch_error handler is allowed per workflow, found 2: a, b",
        "@catch_error handler 'c' lists unknown step 'missing' in for_steps.",
    ]


@pytest.mark.parametrize("value", [0, True, "2"])
def test_catch_error_max_recoveries_checked_again(value: Any) -> None:
    steps = {
        "work": cfg([StartEvent], [StopEvent]),
        "h": handler([StopEvent], catch_error_max_recoveries=value),
    }
    with pytest.raises(WorkflowValidationError) as info:
        catch_error_routes(steps)
    assert str(info.value) == (
        f"@catch_error handler 'h' has max_recoveries={value!r}; must be an integer >= 1."
    )


def test_step_failed_event_needs_no_producer() -> None:
    steps = {"work": cfg([StartEvent], [StopEvent]), "h": handler([StopEvent], ["work"])}
    validate_workflow(steps)


# --- graph checks -----------------------------------------------------------------------------


def island() -> dict[str, StepConfig]:
    """A valid start->stop path plus a loop of two steps nothing reaches."""
    return {
        "start": cfg([StartEvent], [StopEvent]),
        "x": cfg([EvA], [EvB]),
        "y": cfg([EvB], [EvA]),
    }


def test_unreachable_and_dead_end_steps_reported_together() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(island())
    assert str(info.value) == graph_error(
        "  - [reachability] Unreachable steps: x, y",
        "    Steps must be reachable from StartEvent or HumanResponseEvent.",
        "  - [dead_end] Dead-end steps: x, y",
        "    Steps must have a path to StopEvent or InputRequiredEvent.",
    )


def test_workflow_level_skip() -> None:
    validate_workflow(island(), skip_graph_checks={"reachability", "dead_end"})
    with pytest.raises(WorkflowValidationError, match=r"\[dead_end\]"):
        validate_workflow(island(), skip_graph_checks={"reachability"})


def test_step_level_skip() -> None:
    steps = island()
    for name in ("x", "y"):
        steps[name].skip_graph_checks = ["reachability", "dead_end"]
    validate_workflow(steps)
    steps["y"].skip_graph_checks = ["reachability"]
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(steps)
    assert str(info.value) == graph_error(
        "  - [dead_end] Dead-end steps: y",
        "    Steps must have a path to StopEvent or InputRequiredEvent.",
    )


def test_unknown_graph_check_names() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(island(), skip_graph_checks={"reachabilty", "cycles"})
    assert str(info.value) == (
        "Unknown graph check names: cycles, reachabilty. "
        "Valid names are: dead_end, reachability, terminal_event"
    )
    check_graph_check_names({"terminal_event"})


def test_dead_end_loop_reachable_from_start() -> None:
    steps = {
        "start": cfg([StartEvent], [EvA, StopEvent]),
        "b": cfg([EvA, EvC], [EvB]),
        "c": cfg([EvB], [EvC]),
    }
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(steps)
    assert str(info.value) == graph_error(
        "  - [dead_end] Dead-end steps: b, c",
        "    Steps must have a path to StopEvent or InputRequiredEvent.",
    )


def test_terminal_event_check() -> None:
    """HumanResponseEvent may leave a step unconsumed for connectivity, not for the graph."""
    steps = {"start": cfg([StartEvent], [StopEvent, Answer])}
    with pytest.raises(WorkflowValidationError) as info:
        validate_workflow(steps)
    assert str(info.value) == graph_error(
        "  - [terminal_event] Events produced but never consumed: Answer",
        "    Only StopEvent and InputRequiredEvent may be terminal.",
    )
    validate_workflow(steps, skip_graph_checks={"terminal_event"})


def test_human_response_seeds_reachability() -> None:
    steps = {
        "start": cfg([StartEvent], [AskHuman, StopEvent]),
        "resume": cfg([Answer], [EvA]),
        "finish": cfg([EvA], [StopEvent]),
    }
    validate_workflow(steps)


def test_input_required_is_a_valid_end() -> None:
    steps = {"start": cfg([StartEvent], [EvA, StopEvent]), "ask": cfg([EvA], [AskHuman])}
    validate_workflow(steps)


def test_check_graph_returns_issues() -> None:
    issues = check_graph(island(), StartEvent)
    assert [(i.check, i.step_names) for i in issues] == [
        ("reachability", ["x", "y"]),
        ("dead_end", ["x", "y"]),
    ]
    assert check_graph(island(), StartEvent, skip_checks={"reachability", "dead_end"}) == []


# --- matching helpers ----------------------------------------------------------------------------


def test_matching_helpers() -> None:
    assert type_matches(EvA, EvA, allow_subclasses=False)
    assert not type_matches(SubA, EvA, allow_subclasses=False)
    assert type_matches(SubA, EvA, allow_subclasses=True)
    assert not type_matches(list[int], EvA, allow_subclasses=True)
    assert accepts_event_type(cfg([EvA, EvB], [NONE]), EvB)
    assert not accepts_event_type(cfg([EvA], [NONE]), SubA)
    assert accepts_event_type(cfg([EvA], [NONE], accept_event_subclasses=True), SubA)


# --- resources ------------------------------------------------------------------------------------


class Settings(BaseModel):
    name: str


def broken_factory() -> str:
    raise RuntimeError("needs API key")


def ok_factory() -> str:
    return "ok"


def loop_one(x: Annotated[str, Resource(loop_two)]) -> str:
    return x


def loop_two(x: Annotated[str, Resource(loop_one)]) -> str:
    return x


def resource_step(**resources: Any) -> StepConfig:
    defs = []
    for name, descriptor in resources.items():
        descriptor.set_type_annotation(Settings)
        defs.append(ResourceDefinition(name=name, resource=descriptor, type_annotation=Settings))
    return cfg([StartEvent], [StopEvent], resources=defs)


def test_validate_resource_configs(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"name": "n"}))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"other": 1}))
    missing = str(tmp_path / "missing.json")
    steps = {
        "s": resource_step(
            good=ResourceConfig(str(good)),
            bad=ResourceConfig(str(bad)),
            missing=ResourceConfig(missing),
            factory=Resource(broken_factory),  # factories are not called here
        )
    }
    errors = validate_resource_configs(steps)
    assert len(errors) == 2
    assert errors[0].startswith("In step 's', parameter 'bad': 1 validation error for Settings")
    assert errors[1] == f"In step 's', parameter 'missing': No such file: {missing}"


def test_validate_resource_configs_names_dependency_chain(tmp_path: Path) -> None:
    missing = str(tmp_path / "nested.json")

    def client(cfg: Annotated[Settings, ResourceConfig(missing)]) -> str:
        return cfg.name

    descriptor = Resource(client)
    descriptor.set_localns({"missing": missing})
    steps = {"s": cfg([StartEvent], [StopEvent], resources=[ResourceDefinition("c", descriptor)])}
    assert validate_resource_configs(steps) == [
        f"In step 's', parameter 'c' ({descriptor.name} -> {missing}): No such file: {missing}"
    ]


async def test_validate_resources_runs_factories() -> None:
    steps = {
        "s": resource_step(
            ok=Resource(ok_factory), broken=Resource(broken_factory), loop=Resource(loop_one)
        )
    }
    errors = await validate_resources(steps, ResourceManager())
    one, two = "loop_one", "loop_two"
    assert errors == [
        "In step 's', parameter 'broken': needs API key",
        f"In step 's', parameter 'loop': Circular resource dependency detected: "
        f"{one} -> {two} -> {one}",
    ]
