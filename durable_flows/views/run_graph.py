"""The path a run took, laid over its workflow graph.

From a run's history this counts how often each step ran, each event type
occurred and each edge was used, and adds what the static graph cannot know:
events a step sent with ``ctx.send_event`` without declaring them, waits in
``wait_for_event`` and the human or outside input that answered them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..graph.model import HUMAN_ID, OUTSIDE_ID, FlowGraph, GraphNode, event_id, step_id
from ..ops.timeline import RunTimeline, short_type
from ..representation import graph_from_fingerprint
from ..storage import RunInfo

_OUTSIDE_SOURCES = frozenset({"inbox", "handler"})


@dataclass
class RunPath:
    """Use counts of nodes and edges, and failed attempts per step node."""

    nodes: Counter[str] = field(default_factory=Counter)
    edges: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)


def graph_for_run(info: RunInfo, history: Sequence[Mapping[str, Any]]) -> FlowGraph:
    """The run's workflow graph from the fingerprint it journaled (no code imported)."""
    fingerprint: Mapping[str, Any] = {}
    kinds: dict[str, str] = {}
    for entry in history:
        payload = entry.get("payload") or {}
        if entry["kind"] == "run_started":
            fingerprint = payload.get("fingerprint") or {}
        elif entry["kind"] == "sent" and payload.get("source") == "start" and entry.get("event_type"):
            kinds[entry["event_type"]] = "start"
    if info.status == "completed" and info.outcome:
        try:
            kinds[json.loads(info.outcome)["type"]] = "stop"
        except (ValueError, KeyError, TypeError):
            pass
    return graph_from_fingerprint(info.workflow, fingerprint, kinds)


def overlay(graph: FlowGraph, history: Sequence[Mapping[str, Any]], tl: RunTimeline) -> RunPath:
    """Count the run's use of ``graph`` (adding nodes and edges it lacks)."""
    path = RunPath()
    exec_step = {ex.exec: ex.step for ex in tl.executions}
    for ex in tl.executions:
        path.nodes[step_id(ex.step)] += 1
        _ensure_step(graph, ex.step)
        if ex.event_type:
            _ensure_event(graph, ex.event_type)
            _use(graph, path, event_id(ex.event_type), step_id(ex.step), "accepts")
        for att in ex.attempts:
            if att.outcome in ("retry", "failed"):
                path.failures[step_id(ex.step)] += 1
    streamed: Counter[str] = Counter()
    for ev in tl.events:
        if not ev.event_type:
            continue
        node = _ensure_event(graph, ev.event_type)
        if ev.kind == "stream":
            if node.kind == "input_required" and ev.from_step:
                streamed[node.id] += 1
                _use(graph, path, step_id(ev.from_step), node.id, "returns")
            continue
        path.nodes[node.id] += 1
        if ev.kind == "produced" and ev.from_step:
            _use(graph, path, step_id(ev.from_step), node.id, "returns")
        elif ev.source == "step" and ev.exec in exec_step:
            _use(graph, path, step_id(exec_step[ev.exec]), node.id, "returns")
        elif ev.source in _OUTSIDE_SOURCES:
            source = HUMAN_ID if node.kind == "human_response" else OUTSIDE_ID
            graph.add_node(GraphNode(source, source, "human" if source == HUMAN_ID else "outside"))
            path.nodes[source] += 1
            _use(graph, path, source, node.id, "answers" if source == HUMAN_ID else "sends")
        elif ev.source == "catch" and ev.exec in exec_step:
            _use(graph, path, step_id(exec_step[ev.exec]), node.id, "fails")
        if node.kind == "input_required":
            graph.add_node(GraphNode(HUMAN_ID, "human", "human"))
            _use(graph, path, node.id, HUMAN_ID, "asks")
    for node_id, n in streamed.items():  # a waiter's prompt: streamed, never produced
        if not path.nodes[node_id]:
            path.nodes[node_id] = n
            graph.add_node(GraphNode(HUMAN_ID, "human", "human"))
            _use(graph, path, node_id, HUMAN_ID, "asks", n)
    for wait in tl.waits:
        node = _ensure_event(graph, wait.event_type)
        _use(graph, path, node.id, step_id(wait.step), "waits", 1 if wait.until is not None else 0)
    for entry in history:
        if entry["kind"] == "resource":
            key = (entry.get("payload") or {}).get("key")
            if entry.get("step") and graph.node(f"resource:{key}") is not None:
                path.nodes[f"resource:{key}"] += 1
                path.edges[(f"resource:{key}", step_id(entry["step"]))] += 1
    return path


def _ensure_step(graph: FlowGraph, name: str) -> None:
    graph.add_node(GraphNode(step_id(name), name, "step"))


def _ensure_event(graph: FlowGraph, type_name: str) -> GraphNode:
    found = graph.node(event_id(type_name))
    if found is not None:
        return found
    kind = "event"
    if type_name.endswith("HumanResponseEvent"):
        kind = "human_response"
    elif type_name.endswith("InputRequiredEvent"):
        kind = "input_required"
    label = short_type(type_name)
    return graph.add_node(GraphNode(event_id(type_name), label, kind, {"type": type_name, "seen only in this run": True}))


def _use(graph: FlowGraph, path: RunPath, source: str, target: str, kind: str, n: int = 1) -> None:
    if not any(e.source == source and e.target == target for e in graph.edges):
        graph.add_edge(source, target, kind)
    path.edges[(source, target)] += n
