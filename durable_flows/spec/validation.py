"""Static checks of a workflow's steps, with llama-index-workflows' messages.

Everything here works on ``{step name: StepConfig}`` and never runs a step.
:func:`validate_workflow` runs the checks in upstream's order, so the most
actionable error surfaces first:

1. there are steps at all;
2. exactly one ``StartEvent`` type is accepted, one ``StopEvent`` type returned;
3. no step accepts ``StopEvent``; every accepted event is produced somewhere
   and every produced event is accepted somewhere (boundary events excepted);
4. ``@catch_error`` handlers are consistent;
5. the graph: every step is reachable, no event dangles, no step is a dead end.

Events a step only emits through ``ctx.send_event`` are invisible here, as
upstream: declare them in the step's return annotation (``-> A | B | None``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, get_args

from ..errors import WorkflowConfigurationError, WorkflowValidationError
from ..events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)
from ..resource import ResourceDescriptor, ResourceManager, _dependencies, _ResourceConfig
from .collection import check_collect_producers
from .event_matching import (
    _NONE_TYPE,
    _type_name,
    accepts_event_type,
    is_subclass,
    type_matches,
)
from .graph_checks import GraphIssue as GraphIssue
from .graph_checks import check_graph
from .step_config import CatchErrorHandler, StepConfig, WorkflowGraphCheck

# Events that may be accepted without any step producing them: they come from
# outside the run (a human, the failure router) or are rejected separately.
_BOUNDARY_IN = (InputRequiredEvent, HumanResponseEvent, StopEvent, StepFailedEvent)
# Events that may be produced without any step accepting them: they leave the run.
_BOUNDARY_OUT = (InputRequiredEvent, HumanResponseEvent, StopEvent)


def _types_display(found: Iterable[type]) -> str:
    """Render a set of classes like ``repr(set)``, in a deterministic order."""
    ordered = sorted(found, key=lambda t: (t.__module__, t.__qualname__))
    return "{" + ", ".join(repr(t) for t in ordered) + "}"


# --- start, stop, events ----------------------------------------------------------


def infer_start_event_class(steps: dict[str, StepConfig], workflow_name: str) -> type[StartEvent]:
    """Return the one ``StartEvent`` subclass the steps accept.

    Raises:
        WorkflowConfigurationError: None, or more than one, is accepted.
    """
    found = {t for cfg in steps.values() for t in cfg.accepted_events if is_subclass(t, StartEvent)}
    if not found:
        raise WorkflowConfigurationError(
            "At least one Event of type StartEvent must be received by any step. "
            f"(Workflow '{workflow_name}' has no @step that accepts StartEvent.)"
        )
    if len(found) > 1:
        raise WorkflowConfigurationError(
            f"Only one type of StartEvent is allowed per workflow, found {len(found)}: "
            f"{_types_display(found)} in workflow '{workflow_name}'."
        )
    return found.pop()


def infer_stop_event_class(steps: dict[str, StepConfig], workflow_name: str) -> type[StopEvent]:
    """Return the one ``StopEvent`` subclass the steps return.

    Raises:
        WorkflowConfigurationError: None, or more than one, is returned.
    """
    found = {t for cfg in steps.values() for t in cfg.return_types if is_subclass(t, StopEvent)}
    if not found:
        raise WorkflowConfigurationError(
            "At least one Event of type StopEvent must be returned by any step. "
            f"(Workflow '{workflow_name}' has no @step that returns StopEvent.)"
        )
    if len(found) > 1:
        raise WorkflowConfigurationError(
            f"Only one type of StopEvent is allowed per workflow, found {len(found)}: "
            f"{_types_display(found)} in workflow '{workflow_name}'."
        )
    return found.pop()


def workflow_event_types(steps: dict[str, StepConfig]) -> list[type[Event]]:
    """Every ``Event`` class the steps accept or return, in first-seen order."""
    seen: dict[type[Event], None] = {}
    for cfg in steps.values():
        for t in [*cfg.accepted_events, *cfg.return_types]:
            if is_subclass(t, Event):
                seen.setdefault(t, None)
    return list(seen)


def check_graph_check_names(checks: Collection[str]) -> None:
    """Refuse workflow-level ``skip_graph_checks`` names that do not exist.

    Raises:
        WorkflowValidationError: Some names are unknown.
    """
    valid = set(get_args(WorkflowGraphCheck))
    unknown = set(checks) - valid
    if unknown:
        raise WorkflowValidationError(
            f"Unknown graph check names: {', '.join(sorted(unknown))}. "
            f"Valid names are: {', '.join(sorted(valid))}"
        )


def check_event_connectivity(
    steps: dict[str, StepConfig], start_event_class: type[StartEvent]
) -> bool:
    """Check that events are produced where accepted and accepted where produced.

    Returns:
        True when the workflow uses human-in-the-loop (an ``InputRequiredEvent``
        is produced or a ``HumanResponseEvent`` accepted).

    Raises:
        WorkflowValidationError: A step accepts ``StopEvent``; an accepted event
            is never produced; a produced event is never accepted.
    """
    produced: set[Any] = {start_event_class}
    consumed: set[Any] = set()
    stop_acceptors: list[str] = []
    for name, cfg in steps.items():
        if any(is_subclass(t, StopEvent) for t in cfg.accepted_events):
            stop_acceptors.append(name)
        consumed.update(cfg.accepted_events)
        produced.update(t for t in cfg.return_types if t is not _NONE_TYPE)

    if stop_acceptors:
        plural = "" if len(stop_acceptors) == 1 else "s"
        names = "', '".join(stop_acceptors)
        raise WorkflowValidationError(
            f"Step{plural} '{names}' cannot accept StopEvent. "
            "StopEvent signals the end of the workflow. Use a different Event type instead."
        )

    never_produced = {
        accepted
        for cfg in steps.values()
        for accepted in cfg.accepted_events
        if not is_subclass(accepted, _BOUNDARY_IN)
        and not any(
            type_matches(p, accepted, allow_subclasses=cfg.accept_event_subclasses)
            for p in produced
        )
    }
    if never_produced:
        names = ", ".join(sorted(_type_name(t) for t in never_produced))
        raise WorkflowValidationError(
            f"The following events are consumed but never produced: {names}"
        )

    never_consumed = {
        p
        for p in produced
        if not is_subclass(p, _BOUNDARY_OUT)
        and not any(accepts_event_type(cfg, p) for cfg in steps.values())
    }
    if never_consumed:
        names = ", ".join(sorted(_type_name(t) for t in never_consumed))
        raise WorkflowValidationError(
            f"The following events are produced but never consumed: {names}"
        )

    return any(is_subclass(p, InputRequiredEvent) for p in produced) or any(
        is_subclass(c, HumanResponseEvent) for c in consumed
    )


# --- catch_error --------------------------------------------------------------------


def catch_error_routes(
    steps: dict[str, StepConfig],
) -> tuple[dict[str, CatchErrorHandler], dict[str, str]]:
    """Check the ``@catch_error`` handlers and decide which one handles each step.

    The runtime needs this even when validation is disabled: failure routing
    must be unambiguous.

    Returns:
        ``(handlers by name, handler name by covered step name)``. Scoped
        handlers claim the steps they list; the wildcard handler (if any)
        covers every other step except handlers themselves.

    Raises:
        WorkflowValidationError: A handler has an invalid ``max_recoveries``,
            there are two wildcard handlers, a ``for_steps`` entry names an
            unknown step or a handler, or two handlers claim one step. All
            problems are reported together, one per line.
    """
    handlers: list[CatchErrorHandler] = []
    for name, cfg in steps.items():
        if cfg.role != "catch_error":
            continue
        recoveries = cfg.catch_error_max_recoveries
        if isinstance(recoveries, bool) or not isinstance(recoveries, int) or recoveries < 1:
            raise WorkflowValidationError(
                f"@catch_error handler '{name}' has max_recoveries={recoveries!r}; "
                "must be an integer >= 1."
            )
        for_steps = cfg.catch_error_for_steps
        handlers.append(
            CatchErrorHandler(
                step_name=name,
                for_steps=list(for_steps) if for_steps is not None else None,
                max_recoveries=recoveries,
            )
        )

    errors: list[str] = []
    wildcards = [h for h in handlers if h.for_steps is None]
    if len(wildcards) > 1:
        errors.append(
            "Only one wildcard @catch_error handler is allowed per workflow, found "
            f"{len(wildcards)}: {', '.join(sorted(h.step_name for h in wildcards))}"
        )
    handler_names = {h.step_name for h in handlers}
    routes: dict[str, str] = {}
    for handler in handlers:
        for target in handler.for_steps or []:
            if target not in steps:
                errors.append(
                    f"@catch_error handler '{handler.step_name}' lists unknown step "
                    f"'{target}' in for_steps."
                )
            elif target in handler_names:
                errors.append(
                    f"@catch_error handler '{handler.step_name}' cannot cover another "
                    f"handler step '{target}'."
                )
            elif target in routes:
                errors.append(
                    f"Step '{target}' is claimed by two @catch_error handlers: "
                    f"'{routes[target]}' and '{handler.step_name}'."
                )
            else:
                routes[target] = handler.step_name
    if errors:
        raise WorkflowValidationError("\n".join(errors))

    if wildcards:
        for name in steps:
            if name not in handler_names and name not in routes:
                routes[name] = wildcards[0].step_name
    return {h.step_name: h for h in handlers}, routes


# --- the whole workflow -----------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowValidationResult:
    """What validation learned about a sound workflow.

    Attributes:
        start_event_class: The ``StartEvent`` subclass the workflow accepts.
        stop_event_class: The ``StopEvent`` subclass it returns.
        uses_hitl: True when it produces ``InputRequiredEvent`` or accepts
            ``HumanResponseEvent`` (upstream's ``Workflow.validate()`` result).
        catch_error_handlers: ``@catch_error`` handlers by step name.
        catch_error_routes: Handler step name by covered step name.
    """

    start_event_class: type[StartEvent]
    stop_event_class: type[StopEvent]
    uses_hitl: bool
    catch_error_handlers: dict[str, CatchErrorHandler] = field(default_factory=dict)
    catch_error_routes: dict[str, str] = field(default_factory=dict)


def validate_workflow(
    steps: dict[str, StepConfig],
    *,
    workflow_name: str = "Workflow",
    skip_graph_checks: Collection[str] = (),
) -> WorkflowValidationResult:
    """Run every structural check on a workflow's steps, in upstream's order.

    Resources are not touched; see :func:`validate_resource_configs` and
    :func:`validate_resources`.

    Args:
        steps: Step name -> config, methods and free-function steps together.
        workflow_name: Class name used in messages.
        skip_graph_checks: Workflow-level graph checks to skip.

    Returns:
        The start/stop event classes, the HITL flag and the catch_error routing.

    Raises:
        WorkflowConfigurationError: No steps, or not exactly one StartEvent /
            StopEvent type.
        WorkflowValidationError: Any other rule; graph problems are reported
            together under ``Graph validation failed:``.
    """
    check_graph_check_names(skip_graph_checks)
    if not steps:
        raise WorkflowConfigurationError(
            f"Workflow '{workflow_name}' has no configured steps. Did you forget to "
            "annotate methods with @step or to register free-function steps via "
            "@step(workflow=...)?"
        )
    start = infer_start_event_class(steps, workflow_name)
    stop = infer_stop_event_class(steps, workflow_name)
    uses_hitl = check_event_connectivity(steps, start)
    check_collect_producers(steps)
    handlers, routes = catch_error_routes(steps)
    issues = check_graph(steps, start, skip_graph_checks, list(handlers))
    if issues:
        detail = "\n".join(f"  - [{i.check}] {i.message}\n    {i.hint}" for i in issues)
        raise WorkflowValidationError(f"Graph validation failed:\n{detail}")
    return WorkflowValidationResult(
        start_event_class=start,
        stop_event_class=stop,
        uses_hitl=uses_hitl,
        catch_error_handlers=handlers,
        catch_error_routes=routes,
    )


# --- resources ----------------------------------------------------------------------------


def validate_resource_configs(steps: dict[str, StepConfig]) -> list[str]:
    """Load every ``ResourceConfig`` the steps use, directly or as a dependency.

    Returns:
        One message per config that fails to load (missing file, bad path
        selector, data not fitting the model), prefixed with where it is used;
        empty when all load. Factories are not called.
    """
    errors: list[str] = []
    seen: set[str] = set()
    # (descriptor, step, parameter, chain of keys from the step's resource)
    stack: list[tuple[ResourceDescriptor, str, str, list[str]]] = [
        (d.resource, step_name, d.name, [d.resource.name])
        for step_name, cfg in steps.items()
        for d in cfg.resources
    ]
    stack.reverse()
    while stack:
        descriptor, step_name, param, chain = stack.pop()
        if descriptor.name in seen:
            continue
        seen.add(descriptor.name)
        for _, dep, _ in reversed(_dependencies(descriptor)):
            stack.append((dep, step_name, param, [*chain, dep.name]))
        if isinstance(descriptor, _ResourceConfig):
            location = f"step '{step_name}', parameter '{param}'"
            if len(chain) > 1:
                location += f" ({' -> '.join(chain)})"
            try:
                descriptor.call()
            except Exception as exc:
                errors.append(f"In {location}: {exc}")
    return errors


async def validate_resources(steps: dict[str, StepConfig], manager: ResourceManager) -> list[str]:
    """Resolve every resource the steps use through ``manager`` (factories run).

    Returns:
        One message per resource that fails (factory error, circular
        dependency), prefixed with step and parameter; empty when all resolve.
    """
    errors: list[str] = []
    for step_name, cfg in steps.items():
        for definition in cfg.resources:
            try:
                await manager.get(definition.resource)
            except Exception as exc:
                errors.append(f"In step '{step_name}', parameter '{definition.name}': {exc}")
    return errors
