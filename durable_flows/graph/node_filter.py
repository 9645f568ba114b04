"""Simplify a :class:`~.representation_types.WorkflowGraph` by removing node kinds.

Removing the event nodes of ``step_a -> EventX -> step_b`` leaves the edge
``step_a -> step_b``: paths through removed nodes shrink to one edge between
the kept nodes at their ends. Such an edge takes the label of the first removed
node on its path (the event's name, say); an edge that was direct keeps its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .representation_types import WorkflowGraph, WorkflowGraphEdge


def without_node_types(graph: WorkflowGraph, node_types: set[str]) -> WorkflowGraph:
    """A new graph without the nodes whose ``node_type`` is in ``node_types``."""
    from .representation_types import WorkflowGraph, WorkflowGraphEdge

    removed = {n.id: n for n in graph.nodes if n.node_type in node_types}
    kept = [n for n in graph.nodes if n.id not in removed]
    kept_ids = {n.id for n in kept}
    leaving: dict[str, list[WorkflowGraphEdge]] = {}
    for edge in graph.edges:
        leaving.setdefault(edge.source, []).append(edge)

    edges: list[WorkflowGraphEdge] = []
    seen: set[tuple[str, str]] = set()
    for node in kept:
        # (node id, label of the first removed node passed, or None while direct)
        stack: list[tuple[str, str | None]] = [(node.id, None)]
        passed: set[str] = set()
        while stack:
            at, via = stack.pop()
            for edge in reversed(leaving.get(at, [])):
                if edge.target in kept_ids:
                    pair = (node.id, edge.target)
                    if pair not in seen:
                        seen.add(pair)
                        label = via if via is not None else edge.label
                        edges.append(WorkflowGraphEdge(source=node.id, target=edge.target, label=label))
                elif edge.target in removed and edge.target not in passed:
                    passed.add(edge.target)
                    stack.append((edge.target, via if via is not None else removed[edge.target].label))
    return WorkflowGraph(name=graph.name, nodes=kept, edges=edges, description=graph.description)
