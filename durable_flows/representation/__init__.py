"""A workflow's shape as a graph: steps, events, start and stop, human input, resources.

Two graphs. Upstream's: :func:`get_workflow_representation` returns a pydantic
:class:`WorkflowGraph` (node classes ``WorkflowStepNode``, ``WorkflowEventNode``,
...; ``filter_by_node_type``), and :mod:`.validate` holds the graph checks run
when a workflow is defined. durable_flows' drawing graph:

:func:`get_workflow_graph` reads a workflow class (or instance) and returns a
:class:`FlowGraph` of plain nodes and edges; ``durable-flows draw`` and
``durable-flows report`` render it. :func:`graph_from_fingerprint` builds the
same kind of graph from the fingerprint a run journaled when it started, so a
run can be drawn without importing its code.

Edges say how work flows: an event is *accepted* by a step, a step *returns*
an event, a resource is *used* by a step, an ``InputRequiredEvent`` *asks* a
human who *answers* with a ``HumanResponseEvent``, input the workflow does not
produce itself is *sent* from outside, and a failing step hands a
``StepFailedEvent`` to its ``@catch_error`` handler (*fails*).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from ..codec.names import qualified_name
from ..events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)
from ..graph.model import (
    HUMAN_ID,
    OUTSIDE_ID,
    FlowGraph,
    GraphEdge,
    GraphNode,
    event_id,
    step_id,
)
from ..graph.representation_build import build_representation
from ..graph.representation_types import (
    WorkflowEventNode,
    WorkflowExternalNode,
    WorkflowGenericNode,
    WorkflowGraph,
    WorkflowGraphEdge,
    WorkflowGraphNode,
    WorkflowNodeBase,
    WorkflowResourceConfigNode,
    WorkflowResourceNode,
    WorkflowStepNode,
)

__all__ = [
    # upstream's graph types and builder
    "WorkflowEventNode",
    "WorkflowExternalNode",
    "WorkflowGenericNode",
    "WorkflowGraph",
    "WorkflowGraphEdge",
    "WorkflowGraphNode",
    "WorkflowNodeBase",
    "WorkflowResourceConfigNode",
    "WorkflowResourceNode",
    "WorkflowStepNode",
    "get_workflow_representation",
    # durable_flows' drawing graph
    "FlowGraph",
    "GraphEdge",
    "GraphNode",
    "get_workflow_graph",
    "graph_from_fingerprint",
]


def get_workflow_representation(workflow: Any) -> WorkflowGraph:
    """Upstream's graph of a workflow class or instance: steps, events, resources.

    The class's ``@step`` methods give a node each, as do the event classes they
    accept and return, the resources and resource configs they take, and an
    ``external_step`` node when a step asks a human (``InputRequiredEvent``).
    ``graph.filter_by_node_type("event")`` gives the step-to-step view.

    Raises:
        TypeError: ``workflow`` is not a Workflow class or instance.
    """
    from ..workflow import Workflow

    cls = workflow if isinstance(workflow, type) else type(workflow)
    if not (isinstance(cls, type) and issubclass(cls, Workflow)):
        raise TypeError(f"expected a Workflow class or instance, got {workflow!r}")
    return build_representation(cls.__name__, inspect.getdoc(cls), cls._class_steps())

# -- from workflow code --------------------------------------------------------------


def get_workflow_graph(workflow: Any) -> FlowGraph:
    """Build the graph of a workflow class or instance from its step configs.

    Raises:
        TypeError: ``workflow`` is not a Workflow class or instance.
    """
    from ..workflow import Workflow

    cls = workflow if isinstance(workflow, type) else type(workflow)
    if not (isinstance(cls, type) and issubclass(cls, Workflow)):
        raise TypeError(f"expected a Workflow class or instance, got {workflow!r}")
    configs = {name: fn._step_config for name, fn in cls._class_steps().items()}
    name = workflow.workflow_name if isinstance(workflow, Workflow) else qualified_name(cls)
    graph = FlowGraph(name)
    produced: set[type] = set()
    accepted: set[type] = set()
    for step_name, cfg in configs.items():
        detail: dict[str, Any] = {"num_workers": cfg.num_workers}
        if cfg.retry_policy is not None:
            detail["retry_policy"] = type(cfg.retry_policy).__name__
        if cfg.role == "catch_error":
            detail["catch_error_for"] = cfg.catch_error_for_steps or "all steps"
        graph.add_node(GraphNode(step_id(step_name), step_name, "step", detail))
        slots = {t: p for p, t in reversed(cfg.collect_params or [])}  # a join: edge label = parameter
        for ev in _event_types(cfg.accepted_events):
            if cfg.role != "catch_error":
                accepted.add(ev)
            _add_event(graph, ev)
            graph.add_edge(event_id(qualified_name(ev)), step_id(step_name), "accepts", slots.get(ev))
        bare = set(cfg.bare_return_types)
        for ev in _event_types(cfg.return_types):
            produced.add(ev)
            _add_event(graph, ev)
            label = "list" if cfg.is_fan_out and ev not in bare else None
            graph.add_edge(step_id(step_name), event_id(qualified_name(ev)), "returns", label)
        for rd in cfg.resources:
            key = str(getattr(rd.resource, "name", rd.name))
            factory = getattr(rd.resource, "factory", None)
            label = getattr(factory, "__name__", None) or getattr(rd.resource, "label", None)
            res_detail = {"key": key, "parameter": rd.name}
            graph.add_node(GraphNode(f"resource:{key}", str(label or key), "resource", res_detail))
            graph.add_edge(f"resource:{key}", step_id(step_name), "uses", rd.name)
    for cfg in configs.values():
        if cfg.role == "catch_error":
            covered = cfg.catch_error_for_steps or [
                n for n, c in configs.items() if c.role != "catch_error"
            ]
            failed = event_id(qualified_name(StepFailedEvent))
            for covered_step in covered:
                graph.add_edge(step_id(covered_step), failed, "fails")
    _add_outside(graph, produced, accepted)
    return graph


def _event_types(types: Iterable[Any]) -> list[type[Event]]:
    return [t for t in types if isinstance(t, type) and issubclass(t, Event)]


def _event_kind(cls: type) -> str:
    if issubclass(cls, StartEvent):
        return "start"
    if issubclass(cls, StopEvent):
        return "stop"
    if issubclass(cls, InputRequiredEvent):
        return "input_required"
    if issubclass(cls, HumanResponseEvent):
        return "human_response"
    return "event"


def _add_event(graph: FlowGraph, cls: type[Event]) -> None:
    name = qualified_name(cls)
    graph.add_node(GraphNode(event_id(name), cls.__name__, _event_kind(cls), {"type": name}))


def _add_outside(graph: FlowGraph, produced: set[type], accepted: set[type]) -> None:
    """Connect human input and events only the outside world sends."""
    kinds = {n.id: n.kind for n in graph.nodes}
    for node_id, kind in list(kinds.items()):
        if kind == "input_required":
            graph.add_node(GraphNode(HUMAN_ID, "human", "human"))
            graph.add_edge(node_id, HUMAN_ID, "asks")
        elif kind == "human_response":
            graph.add_node(GraphNode(HUMAN_ID, "human", "human"))
            graph.add_edge(HUMAN_ID, node_id, "answers")
    for cls in sorted(accepted - produced, key=qualified_name):
        if _event_kind(cls) == "event" and not issubclass(cls, StepFailedEvent):
            graph.add_node(GraphNode(OUTSIDE_ID, "outside", "outside"))
            graph.add_edge(OUTSIDE_ID, event_id(qualified_name(cls)), "sends")


# -- from a journaled fingerprint -------------------------------------------------------


def graph_from_fingerprint(
    name: str, fingerprint: Mapping[str, Any], kinds: Mapping[str, str] | None = None
) -> FlowGraph:
    """Build the graph of a run's workflow from the fingerprint it journaled.

    No user code is imported. An event type's kind (start, stop, human input)
    comes from ``kinds`` (type name -> kind, e.g. from the run's journal),
    else from its class when its module is already imported, else from where
    it sits: accepted by no step means stop, returned by none means start
    (when its name says so) or outside input.

    Args:
        name: The workflow name to show.
        fingerprint: ``{"steps": {name: {"accepts": [...], "returns": [...],
            "num_workers": n}}}`` as in a ``run_started`` entry.
        kinds: Known kinds of event types by qualified name.
    """
    kinds = dict(kinds or {})
    steps: Mapping[str, Any] = fingerprint.get("steps") or {}
    accepts_all = {t for spec in steps.values() for t in spec.get("accepts", ())}
    returns_all = {t for spec in steps.values() for t in spec.get("returns", ()) if t != "None"}

    def kind_of(type_name: str) -> str:
        if type_name in kinds:
            return kinds[type_name]
        cls = _loaded_class(type_name)
        if cls is not None:
            return _event_kind(cls)
        if type_name not in accepts_all:
            return "input_required" if type_name.endswith("InputRequiredEvent") else "stop"
        if type_name not in returns_all:
            if type_name.endswith("StartEvent"):
                return "start"
            if type_name.endswith("HumanResponseEvent"):
                return "human_response"
        return "event"

    graph = FlowGraph(name)
    for step_name, spec in steps.items():
        detail = {"num_workers": spec.get("num_workers")}
        graph.add_node(GraphNode(step_id(step_name), step_name, "step", detail))
        for t in spec.get("accepts", ()):
            graph.add_node(GraphNode(event_id(t), t.rsplit(".", 1)[-1], kind_of(t), {"type": t}))
            graph.add_edge(event_id(t), step_id(step_name), "accepts")
        for t in spec.get("returns", ()):
            if t == "None":
                continue
            graph.add_node(GraphNode(event_id(t), t.rsplit(".", 1)[-1], kind_of(t), {"type": t}))
            graph.add_edge(step_id(step_name), event_id(t), "returns")
    for node in list(graph.nodes):
        if node.kind == "input_required":
            graph.add_node(GraphNode(HUMAN_ID, "human", "human"))
            graph.add_edge(node.id, HUMAN_ID, "asks")
        elif node.kind == "human_response":
            graph.add_node(GraphNode(HUMAN_ID, "human", "human"))
            graph.add_edge(HUMAN_ID, node.id, "answers")
        elif (
            node.kind == "event"
            and node.detail.get("type") not in returns_all
            and not _is_failure_event(str(node.detail.get("type")))
        ):
            graph.add_node(GraphNode(OUTSIDE_ID, "outside", "outside"))
            graph.add_edge(OUTSIDE_ID, node.id, "sends")
    return graph


def _is_failure_event(type_name: str) -> bool:
    """Whether ``type_name`` is a StepFailedEvent: a @catch_error handler's input."""
    cls = _loaded_class(type_name)
    return cls is not None and issubclass(cls, StepFailedEvent)


def _loaded_class(type_name: str) -> type | None:
    """The Event class named ``type_name`` if its module is already imported (no import)."""
    parts = type_name.split(".")
    for used in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:used]))
        if module is None:
            continue
        obj: Any = module
        for attr in parts[used:]:
            obj = getattr(obj, attr, None)
        if isinstance(obj, type) and issubclass(obj, Event):
            return obj
        return None
    return None
