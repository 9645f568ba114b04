"""Draw a :class:`~durable_flows.representation.FlowGraph` as SVG.

The drawing uses only SVG shapes and text with inline attributes: no fonts,
scripts, images or links to fetch, so it can be inlined in a self-contained
HTML page. With ``counts`` given, it highlights the path a run took: nodes
and edges the run used are drawn strong and labelled with how often, the rest
is faded.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from itertools import pairwise
from typing import TYPE_CHECKING

from .layout import Point, layered_layout

if TYPE_CHECKING:
    from .model import FlowGraph, GraphNode

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
#: (fill, stroke, text colour) per node kind.
STYLES = {
    "step": ("#e8f0fe", "#3b6fd8", "#1e3a8a"),
    "event": ("#fff7e6", "#d99a00", "#7c4a03"),
    "start": ("#e6f6ea", "#2e9e4f", "#14532d"),
    "stop": ("#fde8e8", "#c53030", "#7f1d1d"),
    "input_required": ("#f3e8ff", "#8b5cf6", "#4c1d95"),
    "human_response": ("#f3e8ff", "#8b5cf6", "#4c1d95"),
    "human": ("#faf5ff", "#8b5cf6", "#4c1d95"),
    "outside": ("#f8fafc", "#94a3b8", "#334155"),
    "resource": ("#eef2f7", "#64748b", "#1e293b"),
}
LEGEND = {
    "start": "start event",
    "step": "step",
    "event": "event",
    "input_required": "human input",
    "human": "human / outside",
    "resource": "resource",
    "stop": "stop event",
}
_DASHED_EDGES = frozenset({"uses", "asks", "answers", "sends", "fails"})


def esc(text: object) -> str:
    """Escape text for HTML or SVG; ``://`` is written as an entity so no URL appears."""
    return html.escape(str(text), quote=True).replace("://", ":&#47;&#47;")


def text_width(text: str, size: float = 12.0, bold: bool = False) -> float:
    """A rough rendered width of ``text`` in a sans-serif font (no font metrics needed)."""
    return len(text) * size * (0.62 if bold else 0.58)


def _sub_label(node: GraphNode, counts: Mapping[str, int] | None, failures: Mapping[str, int]) -> str:
    if counts is not None:
        n = counts.get(node.id, 0)
        if not n:
            return ""
        text = f"×{n}"
        if failures.get(node.id):
            text += f" · {failures[node.id]} failed"
        return text
    if node.kind == "step" and node.detail.get("catch_error_for"):
        return "catches errors"
    if node.kind == "resource" and node.detail.get("parameter"):
        return f"as {node.detail['parameter']}"
    return ""


def _node_size(node: GraphNode, sub: str) -> tuple[float, float]:
    bold = node.kind == "step"
    width = max(text_width(node.label, 12.5, bold), text_width(sub, 10.5)) + 28
    height = 30.0 if node.kind != "step" else 34.0
    if sub:
        height += 12
    if node.kind in ("human", "outside"):
        width += 10
    return max(width, 54.0), height


def render_graph_svg(
    graph: FlowGraph,
    *,
    direction: str = "LR",
    standalone: bool = True,
    counts: Mapping[str, int] | None = None,
    edge_counts: Mapping[tuple[str, str], int] | None = None,
    failures: Mapping[str, int] | None = None,
    id_prefix: str = "g",
) -> str:
    """The graph as one ``<svg>`` element.

    Args:
        direction: ``"LR"`` or ``"TB"``.
        standalone: Add the SVG namespace (needed for a ``.svg`` file).
        counts: Highlight mode: times each node id was used by a run.
        edge_counts: Times each ``(source, target)`` edge was used.
        failures: Failed attempts per step node id (shown with the count).
        id_prefix: Prefix for marker ids, unique per page.
    """
    failures = failures or {}
    subs = {n.id: _sub_label(n, counts, failures) for n in graph.nodes}
    sizes = {n.id: _node_size(n, subs[n.id]) for n in graph.nodes}
    anchored = frozenset(n.id for n in graph.nodes if n.kind == "start")
    layout = layered_layout(
        [(n.id, *sizes[n.id]) for n in graph.nodes],
        [(e.source, e.target) for e in graph.edges],
        direction=direction,
        anchored=anchored,
    )
    width, height = layout.width, layout.height
    # Edges that close a loop run back along their own lane below (LR) or to
    # the right of (TB) the drawing, so they never cut through nodes.
    loops = sorted(layout.reversed)
    lane_base = height if direction == "LR" else width
    if direction == "LR":
        height += 14.0 * len(loops) + (6.0 if loops else 0.0)
    else:
        width += 14.0 * len(loops) + (6.0 if loops else 0.0)
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    parts = [
        f'<svg{ns} width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="{FONT}" role="img" aria-label="{esc(graph.name)}">',
        "<defs>",
        _marker(f"{id_prefix}-arrow", "#475569"),
        _marker(f"{id_prefix}-arrow-dim", "#cbd5e1"),
        "</defs>",
    ]
    for i, edge in enumerate(graph.edges):
        pts = layout.edges[i]
        if len(pts) < 2:
            continue
        used = None if edge_counts is None else edge_counts.get((edge.source, edge.target), 0)
        if i in layout.reversed:
            lane = lane_base + 4.0 + 14.0 * loops.index(i)
            d, mid = _loop_path(
                layout.centres[edge.source], sizes[edge.source],
                layout.centres[edge.target], sizes[edge.target], lane, direction,
            )  # fmt: skip
            parts.append(_edge(d, mid, edge.kind, used, True, id_prefix))
        else:
            d = _curve(pts, 0 if direction == "LR" else 1)
            a, b = pts[len(pts) // 2 - 1], pts[len(pts) // 2]
            parts.append(_edge(d, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2), edge.kind, used, False, id_prefix))
    for node in graph.nodes:
        cx, cy = layout.centres[node.id]
        used = None if counts is None else counts.get(node.id, 0)
        parts.append(_node(node, cx, cy, sizes[node.id], subs[node.id], used))
    parts.append("</svg>")
    return "\n".join(parts)


def _marker(marker_id: str, colour: str) -> str:
    return (
        f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
    )


def _curve(pts: list[Point], along: int) -> str:
    """A smooth path through ``pts``, leaving and entering each point along the ranks."""
    d = f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"
    for (x0, y0), (x1, y1) in pairwise(pts):
        if along == 0:
            mid = (x1 - x0) / 2
            c1, c2 = (x0 + mid, y0), (x1 - mid, y1)
        else:
            mid = (y1 - y0) / 2
            c1, c2 = (x0, y0 + mid), (x1, y1 - mid)
        d += f" C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {x1:.1f},{y1:.1f}"
    return d


def _loop_path(
    src: Point, src_size: tuple[float, float], dst: Point, dst_size: tuple[float, float], lane: float, direction: str
) -> tuple[str, Point]:
    """A rounded path from ``src`` out to the loop lane, along it, and into ``dst``."""
    r = 7.0
    if direction == "TB":  # mirror the LR routing: lanes run down the right side
        d, (mx, my) = _loop_path(
            (src[1], src[0]), (src_size[1], src_size[0]), (dst[1], dst[0]), (dst_size[1], dst_size[0]), lane, "LR"
        )
        swapped = re.sub(r"(-?\d+\.?\d*),(-?\d+\.?\d*)", lambda m: f"{m[2]},{m[1]}", d)
        return swapped, (my, mx)
    sx, sy = src[0], src[1] + src_size[1] / 2
    tx, ty = dst[0], dst[1] + dst_size[1] / 2
    sign = 1.0 if tx > sx else -1.0
    d = (
        f"M{sx:.1f},{sy:.1f} L{sx:.1f},{lane - r:.1f} Q{sx:.1f},{lane:.1f} {sx + sign * r:.1f},{lane:.1f} "
        f"L{tx - sign * r:.1f},{lane:.1f} Q{tx:.1f},{lane:.1f} {tx:.1f},{lane - r:.1f} L{tx:.1f},{ty:.1f}"
    )
    return d, ((sx + tx) / 2, lane)


def _edge(d: str, mid: Point, kind: str, used: int | None, loop: bool, prefix: str) -> str:
    if used is None:
        colour, width, marker, opacity = "#64748b", 1.3, f"{prefix}-arrow", 1.0
    elif used:
        colour, width, marker, opacity = "#334155", 2.0, f"{prefix}-arrow", 1.0
    else:
        colour, width, marker, opacity = "#cbd5e1", 1.0, f"{prefix}-arrow-dim", 0.8
    dash = ' stroke-dasharray="5 4"' if kind in _DASHED_EDGES or loop else ""
    path = (
        f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{width}"'
        f'{dash} opacity="{opacity}" marker-end="url(#{marker})"><title>{esc(kind)}</title></path>'
    )
    if used and used > 1:
        mx, my = mid
        label = f"×{used}"
        w = text_width(label, 10) + 8
        path += (
            f'<rect x="{mx - w / 2:.1f}" y="{my - 7:.1f}" width="{w:.1f}" height="14" rx="7" '
            f'fill="#ffffff" stroke="#cbd5e1"/><text x="{mx:.1f}" y="{my + 3.5:.1f}" '
            f'font-size="10" text-anchor="middle" fill="#334155">{esc(label)}</text>'
        )
    return path


def _node(
    node: GraphNode, cx: float, cy: float, size: tuple[float, float], sub: str, used: int | None
) -> str:
    fill, stroke, ink = STYLES.get(node.kind, STYLES["event"])
    w, h = size
    x, y = cx - w / 2, cy - h / 2
    faded = used == 0
    opacity = ' opacity="0.35"' if faded else ""
    stroke_width = 2.2 if used else 1.3
    dash = ' stroke-dasharray="4 3"' if node.kind == "outside" else ""
    if node.kind in ("human", "outside"):
        shape = f'<ellipse cx="{cx:.1f}" cy="{cy:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}"'
    elif node.kind in ("input_required", "human_response"):
        k = min(10.0, h / 2)
        pts = [(x + k, y), (x + w - k, y), (x + w, cy), (x + w - k, y + h), (x + k, y + h), (x, cy)]
        shape = '<polygon points="' + " ".join(f"{px:.1f},{py:.1f}" for px, py in pts) + '"'
    else:
        radius = {"step": 6.0, "resource": 3.0}.get(node.kind, h / 2)
        shape = (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{radius:.1f}"'
        )
    shape += f' fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"{dash}/>'
    weight = ' font-weight="600"' if node.kind == "step" else ""
    label_y = cy + 4 - (6 if sub else 0)
    title = node.detail.get("type") or node.label
    facts = ", ".join(f"{k}: {v}" for k, v in node.detail.items() if k != "type")
    tooltip = f"{node.kind}: {title}" + (f" ({facts})" if facts else "")
    out = (
        f'<g{opacity}><title>{esc(tooltip)}</title>{shape}'
        f'<text x="{cx:.1f}" y="{label_y:.1f}" font-size="12.5" text-anchor="middle" '
        f'fill="{ink}"{weight}>{esc(node.label)}</text>'
    )
    if sub:
        out += (
            f'<text x="{cx:.1f}" y="{label_y + 14:.1f}" font-size="10.5" text-anchor="middle" '
            f'fill="{ink}" opacity="0.85">{esc(sub)}</text>'
        )
    return out + "</g>"


def legend_svg(kinds: list[str]) -> str:
    """A one-row legend for the node kinds present (inline SVG)."""
    x, items = 4.0, []
    for kind in [k for k in LEGEND if k in kinds]:
        fill, stroke, _ = STYLES[kind]
        label = LEGEND[kind]
        items.append(
            f'<rect x="{x:.0f}" y="4" width="14" height="14" rx="4" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{x + 19:.0f}" y="15" font-size="11.5" fill="#334155">{esc(label)}</text>'
        )
        x += 28 + text_width(label, 11.5)
    return (
        f'<svg width="{x:.0f}" height="22" font-family="{FONT}" aria-label="legend">'
        + "".join(items)
        + "</svg>"
    )
