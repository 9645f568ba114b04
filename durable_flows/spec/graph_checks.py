"""Graph checks: every step reachable, no event left dangling, no dead-end step.

The graph links each event type to the steps that accept it and each step to
the event types it returns. :func:`check_graph` runs the checks and reports
every problem as a :class:`GraphIssue`; :func:`durable_flows.spec.validation.validate_workflow`
runs it last, after the checks that need no graph.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..events import HumanResponseEvent, InputRequiredEvent, StopEvent
from .event_matching import _NONE_TYPE, _type_name, is_subclass, type_matches
from .step_config import StepConfig, WorkflowGraphCheck

_OUTPUT_EVENTS = (StopEvent, InputRequiredEvent)

_GraphNode = str | type  # step names and event classes


@dataclass(frozen=True)
class GraphIssue:
    """One failed graph check.

    Attributes:
        check: Which check failed.
        message: What is wrong (names the steps or events).
        hint: What the check requires.
        step_names: Steps involved, if the check is about steps.
    """

    check: WorkflowGraphCheck
    message: str
    hint: str
    step_names: list[str] = field(default_factory=list)


def _reachable(seeds: Iterable[Any], edges: dict[Any, list[Any]]) -> set[Any]:
    seen: set[Any] = set()
    stack = list(seeds)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(edges.get(node, []))
    return seen


@dataclass
class StepGraph:
    """The step/event graph of a workflow, as adjacency lists.

    Nodes are step names (``str``) and event classes (``type``). An edge
    ``event -> step`` means the step accepts the event; ``step -> event`` that
    the step returns it.

    Attributes:
        outgoing: Each node's successors (nodes without any are absent).
        event_types: Every event class some step accepts or returns.
        step_names: Every step.
        forward_reachable: Nodes reachable from the start event, a
            ``HumanResponseEvent`` type or a ``@catch_error`` handler.
        reverse_reachable: Nodes from which a ``StopEvent`` or
            ``InputRequiredEvent`` type can be reached.
    """

    outgoing: dict[_GraphNode, list[_GraphNode]] = field(default_factory=dict)
    event_types: set[type] = field(default_factory=set)
    step_names: set[str] = field(default_factory=set)
    forward_reachable: set[_GraphNode] = field(default_factory=set)
    reverse_reachable: set[_GraphNode] = field(default_factory=set)


def build_step_graph(
    steps: dict[str, StepConfig],
    start_event_class: type,
    catch_error_steps: Collection[str] | None = None,
) -> StepGraph:
    """Link each event type to the steps accepting it and each step to what it returns.

    A step's ``accept_event_subclasses`` makes it accept subclasses of its
    parameter's type, except ``StopEvent`` ones (a returned StopEvent ends the
    run). A step returning only ``None`` has no outgoing edge.
    """
    edges: dict[_GraphNode, list[_GraphNode]] = {}
    event_types: set[Any] = set()
    for name, cfg in steps.items():
        for returned in cfg.return_types:
            if returned is not _NONE_TYPE:
                event_types.add(returned)
                edges.setdefault(name, []).append(returned)
        event_types.update(cfg.accepted_events)
    for ev_type in event_types | {start_event_class}:
        for name, cfg in steps.items():
            broad = cfg.accept_event_subclasses and not is_subclass(ev_type, StopEvent)
            if any(type_matches(ev_type, a, allow_subclasses=broad) for a in cfg.accepted_events):
                edges.setdefault(ev_type, []).append(name)

    seeds: list[Any] = [start_event_class]
    seeds += [t for t in event_types if is_subclass(t, HumanResponseEvent)]
    seeds += list(catch_error_steps or ())
    reverse_edges: dict[Any, list[Any]] = {}
    for source, targets in edges.items():
        for target in targets:
            reverse_edges.setdefault(target, []).append(source)
    outputs = [t for t in event_types if is_subclass(t, _OUTPUT_EVENTS)]
    return StepGraph(
        outgoing=edges,
        event_types=event_types,
        step_names=set(steps),
        forward_reachable=_reachable(seeds, edges),
        reverse_reachable=_reachable(outputs, reverse_edges),
    )


def check_graph(
    steps: dict[str, StepConfig],
    start_event_class: type,
    skip_checks: Collection[str] = (),
    catch_error_steps: Collection[str] = (),
) -> list[GraphIssue]:
    """Run the graph checks and return every problem found (empty when sound).

    The graph links each event type to the steps accepting it and each step to
    the types it returns. Checks:

    - ``reachability``: every step is reachable from the start event, a
      ``HumanResponseEvent`` type, or a ``@catch_error`` handler;
    - ``terminal_event``: every event type some step accepts or returns is
      accepted by a step, unless it is a ``StopEvent``/``InputRequiredEvent``;
    - ``dead_end``: every step returning an event has a path to a
      ``StopEvent`` or ``InputRequiredEvent``.

    Workflow-level ``skip_checks`` disable a check; a step's own
    ``skip_graph_checks`` exempt it from ``reachability``/``dead_end``.
    """
    graph = build_step_graph(steps, start_event_class, catch_error_steps)
    edges, event_types = graph.outgoing, graph.event_types | {start_event_class}
    forward, backward = graph.forward_reachable, graph.reverse_reachable

    def exempt(check: str) -> set[str]:
        return {name for name, cfg in steps.items() if check in cfg.skip_graph_checks}

    issues: list[GraphIssue] = []
    if "reachability" not in skip_checks:
        unreachable = sorted(n for n in set(steps) - exempt("reachability") if n not in forward)
        if unreachable:
            issues.append(
                GraphIssue(
                    check="reachability",
                    message=f"Unreachable steps: {', '.join(unreachable)}",
                    hint="Steps must be reachable from StartEvent or HumanResponseEvent.",
                    step_names=unreachable,
                )
            )
    if "terminal_event" not in skip_checks:
        dangling = sorted(
            _type_name(t)
            for t in event_types
            if not is_subclass(t, _OUTPUT_EVENTS)
            and not any(target in steps for target in edges.get(t, []))
        )
        if dangling:
            issues.append(
                GraphIssue(
                    check="terminal_event",
                    message=f"Events produced but never consumed: {', '.join(dangling)}",
                    hint="Only StopEvent and InputRequiredEvent may be terminal.",
                )
            )
    if "dead_end" not in skip_checks:
        producers = {n for n in steps if any(isinstance(t, type) for t in edges.get(n, []))}
        dead_ends = sorted(n for n in producers - exempt("dead_end") if n not in backward)
        if dead_ends:
            issues.append(
                GraphIssue(
                    check="dead_end",
                    message=f"Dead-end steps: {', '.join(dead_ends)}",
                    hint="Steps must have a path to StopEvent or InputRequiredEvent.",
                    step_names=dead_ends,
                )
            )
    return issues


#: Upstream's name for one failed graph check (``workflows.representation.validate``).
GraphValidationError = GraphIssue


def validate_graph(
    steps: dict[str, StepConfig],
    start_event_class: type,
    skip_checks: Collection[str] | None = None,
    catch_error_steps: Collection[str] | None = None,
) -> list[GraphIssue]:
    """Upstream's spelling of :func:`check_graph`: every failed check, empty when sound."""
    return check_graph(steps, start_event_class, skip_checks or (), catch_error_steps or ())
