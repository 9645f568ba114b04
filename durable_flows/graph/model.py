"""The workflow graph's model: nodes, edges and the graph that holds them.

Plain data, built by :mod:`durable_flows.representation` (from a workflow
class or a journaled fingerprint) and drawn by :mod:`.mermaid` and :mod:`.svg`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Node kinds, in the order a legend lists them.
NODE_KINDS = (
    "start",
    "step",
    "event",
    "input_required",
    "human",
    "human_response",
    "outside",
    "resource",
    "stop",
)
HUMAN_ID = "human"
OUTSIDE_ID = "outside"


@dataclass
class GraphNode:
    """One node.

    Attributes:
        id: Unique id: ``step:<name>``, ``event:<qualified type>``,
            ``resource:<key>``, ``human`` or ``outside``.
        label: Short text to show (step name, event class name, ...).
        kind: One of :data:`NODE_KINDS`.
        detail: Extra facts (a step's ``num_workers`` and retry policy, an
            event's qualified type, a resource's factory), JSON-compatible.
    """

    id: str
    label: str
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class GraphEdge:
    """A directed edge ``source -> target`` (node ids) of a given kind."""

    source: str
    target: str
    kind: str
    label: str | None = None


@dataclass
class FlowGraph:
    """Nodes and edges of one workflow, in a stable order (declaration order).

    The graph ``durable-flows draw``/``report`` and the web view draw. Upstream's
    pydantic graph (``durable_flows.representation.WorkflowGraph``) is a different
    type, built by :func:`durable_flows.representation.get_workflow_representation`.
    """

    name: str
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)

    def node(self, node_id: str) -> GraphNode | None:
        """The node with this id, or None."""
        return next((n for n in self.nodes if n.id == node_id), None)

    def add_node(self, node: GraphNode) -> GraphNode:
        """Add ``node`` unless a node with its id exists; returns the node kept."""
        found = self.node(node.id)
        if found is not None:
            return found
        self.nodes.append(node)
        return node

    def add_edge(self, source: str, target: str, kind: str, label: str | None = None) -> None:
        """Add an edge unless the same (source, target, kind) exists."""
        for e in self.edges:
            if (e.source, e.target, e.kind) == (source, target, kind):
                return
        self.edges.append(GraphEdge(source, target, kind, label))

    def to_dict(self) -> dict[str, Any]:
        """The graph as JSON-compatible data."""
        return {
            "name": self.name,
            "nodes": [
                {"id": n.id, "label": n.label, "kind": n.kind, "detail": n.detail}
                for n in self.nodes
            ],
            "edges": [
                {"source": e.source, "target": e.target, "kind": e.kind, "label": e.label}
                for e in self.edges
            ],
        }

    def to_mermaid(self) -> str:
        """The graph as a Mermaid flowchart (paste into any Mermaid renderer)."""
        from .mermaid import to_mermaid

        return to_mermaid(self)

    def to_svg(self, direction: str = "LR", standalone: bool = True) -> str:
        """The graph drawn as SVG with a small layered layout (no external resources).

        Args:
            direction: ``"LR"`` (left to right) or ``"TB"`` (top to bottom).
            standalone: Include the XML namespace, for a ``.svg`` file; leave
                it out for SVG inlined in HTML.
        """
        from .svg import render_graph_svg

        return render_graph_svg(self, direction=direction, standalone=standalone)


def step_id(name: str) -> str:
    """The node id of a step."""
    return f"step:{name}"


def event_id(type_name: str) -> str:
    """The node id of an event type (qualified name)."""
    return f"event:{type_name}"
