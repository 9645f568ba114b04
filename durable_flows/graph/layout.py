"""A small layered (Sugiyama-style) layout for drawing directed graphs.

Steps: reverse the edges that close cycles (found by a depth-first search),
give every node a rank by longest path, split edges that skip ranks with
zero-size dummy nodes, order each rank by barycenters (a few sweeps down and
up), then place nodes across the ranks at the mean of their neighbours while
keeping order and spacing (an isotonic regression, solved exactly by pooling
adjacent violators). The result is coordinates only; drawing is the caller's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

Point = tuple[float, float]


@dataclass
class Layout:
    """Node centres, edge polylines (one per input edge) and the drawing size."""

    centres: dict[str, Point] = field(default_factory=dict)
    edges: list[list[Point]] = field(default_factory=list)
    reversed: set[int] = field(default_factory=set)
    width: float = 0.0
    height: float = 0.0


def layered_layout(
    nodes: Sequence[tuple[str, float, float]],
    edges: Sequence[tuple[str, str]],
    *,
    direction: str = "LR",
    rank_gap: float = 56.0,
    node_gap: float = 16.0,
    margin: float = 12.0,
    anchored: frozenset[str] = frozenset(),
) -> Layout:
    """Lay a directed graph out in ranks.

    Args:
        nodes: ``(id, width, height)`` in a preferred order (it breaks ties).
        edges: ``(source, target)`` ids; unknown ids and self-loops are skipped.
        direction: ``"LR"`` puts ranks left to right, ``"TB"`` top to bottom.
        anchored: Sources that keep rank 0 (others are pulled next to the
            nodes they feed).
    """
    if direction not in ("LR", "TB"):
        raise ValueError(f"direction must be 'LR' or 'TB', not {direction!r}")
    size = {n: (w, h) for n, w, h in nodes}
    order = [n for n, _, _ in nodes]
    valid = [(i, s, t) for i, (s, t) in enumerate(edges) if s in size and t in size and s != t]
    back = _back_edges(order, [(s, t) for _, s, t in valid])
    dag: list[tuple[int, str, str]] = []
    out = Layout()
    for k, (i, s, t) in enumerate(valid):
        if k in back:
            out.reversed.add(i)
            s, t = t, s
        dag.append((i, s, t))
    rank = _ranks(order, [(s, t) for _, s, t in dag], anchored)
    # Split rank-skipping edges into chains through dummy nodes.
    chains: dict[int, list[str]] = {}
    for i, s, t in dag:
        chain = [s]
        for r in range(rank[s] + 1, rank[t]):
            dummy = f"\0{i}:{r}"
            rank[dummy] = r
            size[dummy] = (0.0, 0.0)
            chain.append(dummy)
        chain.append(t)
        chains[i] = chain
    links = [(a, b) for chain in chains.values() for a, b in pairwise(chain)]
    layers = _order_layers(order, rank, links)
    along, across = (0, 1) if direction == "LR" else (1, 0)
    thickness = [max((size[n][along] for n in layer), default=0.0) for layer in layers]
    rank_pos: list[float] = []
    pos = margin
    for thick in thickness:
        rank_pos.append(pos + thick / 2)
        pos += thick + rank_gap
    cross = _cross_positions(layers, size, links, across, node_gap)
    low = min((cross[n] - size[n][across] / 2 for n in cross), default=0.0)
    for n in cross:
        cross[n] += margin - low
    extent = max((cross[n] + size[n][across] / 2 for n in cross), default=0.0) + margin
    length = pos - rank_gap + margin if layers else 2 * margin

    def point(n: str) -> Point:
        a, c = rank_pos[rank[n]], cross[n]
        return (a, c) if direction == "LR" else (c, a)

    for n in order:
        out.centres[n] = point(n)
    out.width, out.height = (length, extent) if direction == "LR" else (extent, length)
    out.edges = [[] for _ in edges]
    for i, chain in chains.items():
        pts = [point(n) for n in chain]
        # Start and end on the node borders facing along the ranks.
        pts[0] = _shift(pts[0], size[chain[0]][along] / 2, along)
        pts[-1] = _shift(pts[-1], -size[chain[-1]][along] / 2, along)
        out.edges[i] = pts[::-1] if i in out.reversed else pts
    return out


def _shift(p: Point, by: float, axis: int) -> Point:
    return (p[0] + by, p[1]) if axis == 0 else (p[0], p[1] + by)


def _back_edges(order: list[str], edges: list[tuple[str, str]]) -> set[int]:
    """Indexes of edges that close a cycle in a depth-first search from ``order``."""
    succ: dict[str, list[tuple[int, str]]] = defaultdict(list)
    indeg: dict[str, int] = defaultdict(int)
    for k, (s, t) in enumerate(edges):
        succ[s].append((k, t))
        indeg[t] += 1
    roots = [n for n in order if not indeg[n]] + [n for n in order if indeg[n]]
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    back: set[int] = set()
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, it = stack[-1]
            step = next(it, None)
            if step is None:
                state[node] = 2
                stack.pop()
                continue
            k, t = step
            if state.get(t) == 1:
                back.add(k)
            elif t not in state:
                state[t] = 1
                stack.append((t, iter(succ[t])))
    return back


def _ranks(order: list[str], edges: list[tuple[str, str]], anchored: frozenset[str]) -> dict[str, int]:
    """Longest-path ranks; free sources then move up to just before their first target."""
    succ: dict[str, list[str]] = defaultdict(list)
    pred: dict[str, list[str]] = defaultdict(list)
    for s, t in edges:
        succ[s].append(t)
        pred[t].append(s)
    indeg = {n: len(pred[n]) for n in order}
    ready = [n for n in order if not indeg[n]]
    rank = {n: 0 for n in order}
    topo: list[str] = []
    while ready:
        n = ready.pop(0)
        topo.append(n)
        for t in succ[n]:
            rank[t] = max(rank[t], rank[n] + 1)
            indeg[t] -= 1
            if not indeg[t]:
                ready.append(t)
    for n in reversed(topo):
        if not pred[n] and succ[n] and n not in anchored:
            rank[n] = max(rank[n], min(rank[t] for t in succ[n]) - 1)
    return rank


def _order_layers(
    order: list[str], rank: dict[str, int], links: list[tuple[str, str]]
) -> list[list[str]]:
    """Nodes per rank, ordered by barycenter sweeps (dummies follow their edge)."""
    depth = max(rank.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(depth)]
    preference = {n: i for i, n in enumerate(order)}
    for n in sorted(rank, key=lambda n: (preference.get(n, len(order)), n)):
        layers[rank[n]].append(n)
    up: dict[str, list[str]] = defaultdict(list)
    down: dict[str, list[str]] = defaultdict(list)
    for a, b in links:
        down[a].append(b)
        up[b].append(a)
    for _ in range(6):
        for r in range(1, depth):
            _sort_by_barycenter(layers[r], layers[r - 1], up)
        for r in range(depth - 2, -1, -1):
            _sort_by_barycenter(layers[r], layers[r + 1], down)
    return layers


def _sort_by_barycenter(layer: list[str], fixed: list[str], neighbours: dict[str, list[str]]) -> None:
    index = {n: i for i, n in enumerate(fixed)}
    keys = {}
    for i, n in enumerate(layer):
        near = [index[m] for m in neighbours[n] if m in index]
        keys[n] = (sum(near) / len(near) if near else float(i), i)
    layer.sort(key=lambda n: keys[n])


def _cross_positions(
    layers: list[list[str]],
    size: dict[str, tuple[float, float]],
    links: list[tuple[str, str]],
    across: int,
    gap: float,
) -> dict[str, float]:
    """Centres across the ranks: near the mean of neighbours, in order, never overlapping."""
    up: dict[str, list[str]] = defaultdict(list)
    down: dict[str, list[str]] = defaultdict(list)
    for a, b in links:
        down[a].append(b)
        up[b].append(a)
    pos: dict[str, float] = {}
    for layer in layers:
        edge = 0.0
        for n in layer:
            half = size[n][across] / 2
            pos[n] = edge + half
            edge += 2 * half + gap
    for sweep in range(8):
        for layer in layers if sweep % 2 == 0 else layers[::-1]:
            wanted = []
            for n in layer:
                near = [pos[m] for m in up[n]] + [pos[m] for m in down[n]]
                wanted.append(sum(near) / len(near) if near else pos[n])
            seps = [0.0]
            for a, b in pairwise(layer):
                seps.append(seps[-1] + (size[a][across] + size[b][across]) / 2 + gap)
            placed = _isotonic([w - s for w, s in zip(wanted, seps, strict=True)])
            for n, y, s in zip(layer, placed, seps, strict=True):
                pos[n] = y + s
    return pos


def _isotonic(values: list[float]) -> list[float]:
    """The non-decreasing sequence closest to ``values`` (least squares), by pooling."""
    blocks: list[list[float]] = []  # [mean, weight]
    for v in values:
        blocks.append([v, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2 = blocks.pop()
            m1, w1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2])
    out: list[float] = []
    for mean, weight in blocks:
        out.extend([mean] * int(weight))
    return out
