"""Mermaid flowchart text for a :class:`~durable_flows.representation.FlowGraph`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import FlowGraph

#: Mermaid shape (opening, closing bracket) per node kind.
_SHAPES = {
    "step": ('["', '"]'),
    "event": ('(["', '"])'),
    "start": ('(["', '"])'),
    "stop": ('(["', '"])'),
    "input_required": ('{{"', '"}}'),
    "human_response": ('{{"', '"}}'),
    "human": ('(("', '"))'),
    "outside": ('(("', '"))'),
    "resource": ('[("', '")]'),
}
_CLASSES = {
    "step": "fill:#e8f0fe,stroke:#3b6fd8,color:#1e3a8a",
    "event": "fill:#fff7e6,stroke:#d99a00,color:#7c4a03",
    "start": "fill:#e6f6ea,stroke:#2e9e4f,color:#14532d",
    "stop": "fill:#fde8e8,stroke:#c53030,color:#7f1d1d",
    "input_required": "fill:#f3e8ff,stroke:#8b5cf6,color:#4c1d95",
    "human_response": "fill:#f3e8ff,stroke:#8b5cf6,color:#4c1d95",
    "human": "fill:#faf5ff,stroke:#8b5cf6,color:#4c1d95",
    "outside": "fill:#f8fafc,stroke:#94a3b8,color:#334155,stroke-dasharray:4 3",
    "resource": "fill:#eef2f7,stroke:#64748b,color:#1e293b",
}
_ARROWS = {"fails": "-.->", "uses": "-.->", "asks": "-.->", "answers": "-.->", "sends": "-.->"}


def to_mermaid(graph: FlowGraph) -> str:
    """The graph as ``flowchart TD`` text, one line per node and edge."""
    ids = {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = [f"%% {graph.name}", "flowchart TD"]
    for node in graph.nodes:
        opening, closing = _SHAPES.get(node.kind, _SHAPES["event"])
        lines.append(f"    {ids[node.id]}{opening}{_text(node.label)}{closing}")
    for edge in graph.edges:
        if edge.source not in ids or edge.target not in ids:
            continue
        arrow = _ARROWS.get(edge.kind, "-->")
        label = f"|{_text(edge.label)}|" if edge.label else ""
        lines.append(f"    {ids[edge.source]} {arrow}{label} {ids[edge.target]}")
    used = sorted({node.kind for node in graph.nodes})
    for kind in used:
        if kind in _CLASSES:
            lines.append(f"    classDef {kind} {_CLASSES[kind]}")
    for kind in used:
        members = ",".join(ids[n.id] for n in graph.nodes if n.kind == kind)
        lines.append(f"    class {members} {kind}")
    return "\n".join(lines) + "\n"


def _text(label: str) -> str:
    """A label safe inside Mermaid quotes."""
    return label.replace('"', "#quot;").replace("\n", " ")
