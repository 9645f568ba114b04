"""The sections of a run report: summary, path taken, timeline, steps, events, journal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..graph.svg import esc, legend_svg, render_graph_svg
from ..ops.timeline import RunTimeline, short_type
from ..representation import FlowGraph
from ..storage import InboxItem, RunInfo
from .format import clock, compact, duration, entry_detail, error_text, outcome_text, time_of_day
from .page import page
from .run_graph import RunPath
from .timeline_svg import OUTCOME_COLOURS, OUTCOME_LABELS, timeline_svg


def report_html(
    info: RunInfo,
    history: list[dict[str, Any]],
    inbox: list[InboxItem],
    tl: RunTimeline,
    graph: FlowGraph,
    path: RunPath,
    extra: str = "",
) -> str:
    """The whole report page; ``extra`` is HTML of more sections (``--compare``)."""
    body = "\n".join([*report_sections(info, history, inbox, tl, graph, path), extra])
    return page(f"run {info.run_id} · {info.workflow}", body)


def report_sections(
    info: RunInfo,
    history: list[dict[str, Any]],
    inbox: list[InboxItem],
    tl: RunTimeline,
    graph: FlowGraph,
    path: RunPath,
) -> list[str]:
    """The report's sections in order (summary first), as HTML fragments; the
    server's live run page shows them too."""
    step_order = [n.label for n in graph.nodes if n.kind == "step"]
    return [
        _summary(info, tl, inbox),
        _graph_section(graph, path),
        _timeline_section(info, tl, step_order),
        _steps_section(tl),
        _events_section(tl),
        _journal_section(history, tl),
    ]


def _fact(name: str, value: object) -> str:
    return f"<div><b>{esc(name)}</b>{esc(value)}</div>"


def _summary(info: RunInfo, tl: RunTimeline, inbox: list[InboxItem]) -> str:
    attempts = sum(st.attempts for st in tl.steps.values())
    failures = sum(st.failures for st in tl.steps.values())
    facts = [
        _fact("started", clock(info.created_at)),
        _fact("last activity", clock(info.updated_at)),
        _fact("journal span", duration(tl.last - tl.started if tl.started else 0)),
        _fact("entries", info.last_seq),
        _fact("step executions", len(tl.executions)),
        _fact("attempts", attempts),
        _fact("failed attempts", failures),
        _fact("events", sum(1 for e in tl.events if e.kind != "stream")),
        _fact("waits", len(tl.waits)),
        _fact("resumes", len(tl.resumes)),
    ]
    lines = [
        f'<h1>Run {esc(info.run_id)} <span class="badge {esc(info.status)}">{esc(info.status)}</span></h1>',
        f'<p class="sub">workflow <code>{esc(info.workflow)}</code></p>',
    ]
    if info.parent_run_id:
        lines.append(
            f'<p class="sub">forked from run <code>{esc(info.parent_run_id)}</code> at seq {esc(info.forked_at_seq)}</p>'
        )
    lines.append(f'<div class="facts">{"".join(facts)}</div>')
    out = ['<section>', *lines, _ending(info, tl, inbox), "</section>"]
    return "\n".join(out)


def _ending(info: RunInfo, tl: RunTimeline, inbox: list[InboxItem]) -> str:
    if info.status == "completed":
        return f"<p><b>Outcome:</b> <code>{esc(outcome_text(info))}</code></p>"
    if info.status in ("failed", "timed_out", "cancelled"):
        line, traceback = error_text(info)
        html = f'<p class="error">{esc(line)}</p>'
        if traceback:
            html += f"<details open><summary>Traceback</summary><pre>{esc(traceback.rstrip())}</pre></details>"
        return html
    parts = []
    for w in tl.open_waits():
        parts.append(
            f"<p><b>Waiting for</b> <code>{esc(short_type(w.event_type))}</code> "
            f"(step {esc(w.step)}, waiter {esc(w.waiter_id)}, since {esc(clock(w.since))})</p>"
        )
    if not parts and info.waiting_for:
        wanted = ", ".join(short_type(t) for t in info.waiting_for)
        parts.append(f"<p><b>Waiting for</b> <code>{esc(wanted)}</code> since {esc(clock(info.updated_at))}</p>")
    if not parts:
        parts.append(f"<p><b>Status:</b> {esc(info.status)}</p>")
    if inbox:
        types = ", ".join(short_type(i.event_type) for i in inbox)
        parts.append(f"<p>Inbox: {len(inbox)} event(s) not yet taken in: {esc(types)}</p>")
    return "".join(parts)


def _graph_section(graph: FlowGraph, path: RunPath) -> str:
    svg = render_graph_svg(
        graph,
        standalone=False,
        counts=path.nodes,
        edge_counts=path.edges,
        failures=path.failures,
        id_prefix="run",
    )
    return (
        "<section><h2>Path taken</h2>"
        f'<div class="legend">{legend_svg([n.kind for n in graph.nodes])}'
        "<span>strong: used by this run, with how often (×n); faded: not used</span></div>"
        f'<div class="scroll">{svg}</div></section>'
    )


def _timeline_section(info: RunInfo, tl: RunTimeline, step_order: list[str]) -> str:
    used = {a.outcome for a in tl.attempts}
    swatches = "".join(
        f'<span><i class="sw" style="background:{OUTCOME_COLOURS[o]}"></i>{esc(OUTCOME_LABELS[o])}</span>'
        for o in OUTCOME_COLOURS
        if o in used
    )
    if tl.waits:
        swatches += (
            '<span><i class="sw" style="background:repeating-linear-gradient(45deg,#ede9fe 0 3px,#c4b5fd 3px 5px)"></i>'
            "waiting for an event</span>"
        )
    if "retry" in used:
        swatches += '<span><i class="sw" style="border-top:2px dashed #f59e0b;height:0"></i>retry delay</span>'
    svg = timeline_svg(tl, step_order, end_status=info.status)
    return (
        "<section><h2>Timeline</h2>"
        f'<div class="legend">{swatches}<span>one lane per step, one row per worker; hover a bar for details</span></div>'
        f'<div class="scroll">{svg}</div></section>'
    )


def _steps_section(tl: RunTimeline) -> str:
    rows = []
    for st in tl.steps.values():
        cells = [
            f"<td>{esc(st.step)}</td>",
            *(
                f'<td class="num">{esc(v)}</td>'
                for v in (st.executions, st.attempts, st.failures, st.retries, st.waits, len(st.workers))
            ),
            *(
                f'<td class="num">{esc(v)}</td>'
                for v in (duration(st.busy), duration(st.mean) if st.attempts else "-", duration(st.longest) if st.attempts else "-")
            ),
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(
        f"<th>{h}</th>"
        for h in ("step", "executions", "attempts", "failed", "retried", "waits", "workers", "total", "mean", "longest")
    )
    return f'<section><h2>Steps</h2><table><tr>{head}</tr>{"".join(rows)}</table></section>'


def _events_section(tl: RunTimeline) -> str:
    rows = []
    start = tl.started
    for ev in tl.events:
        if ev.kind == "stream":
            origin, to = ev.from_step or "", "stream"
        elif ev.kind == "produced":
            origin, to = ev.from_step or "", "(routed)"
        else:
            origin = ev.from_step or ev.source
            to = ev.target or "(routed)"
        rows.append(
            f'<tr><td class="num">{ev.seq}</td><td class="mono">{esc(time_of_day(ev.ts))}</td>'
            f'<td class="num">+{esc(duration(ev.ts - start))}</td><td>{esc(ev.kind)}</td>'
            f"<td><code>{esc(short_type(ev.event_type))}</code></td><td>{esc(origin)}</td><td>{esc(to)}</td>"
            f'<td class="mono">{esc(compact(ev.event, 140))}</td></tr>'
        )
    head = "".join(f"<th>{h}</th>" for h in ("seq", "time", "offset", "kind", "event", "from", "to", "data"))
    return (
        f"<section><h2>Events ({len(tl.events)})</h2>{_event_types(tl)}"
        f'<div class="tall"><table><tr>{head}</tr>{"".join(rows)}</table></div></section>'
    )


def _event_types(tl: RunTimeline) -> str:
    """One row per event type: how many, from where, taken by which steps, when."""
    by_type: dict[str, dict[str, Any]] = {}
    for ev in tl.events:
        if ev.kind == "stream" or not ev.event_type:
            continue
        row = by_type.setdefault(ev.event_type, {"n": 0, "from": {}, "first": ev.ts, "last": ev.ts})
        row["n"] += 1
        origin = ev.from_step or ev.source
        row["from"][origin] = row["from"].get(origin, 0) + 1
        row["last"] = ev.ts
    taken: dict[str, dict[str, int]] = {}
    for ex in tl.executions:
        if ex.event_type:
            steps = taken.setdefault(ex.event_type, {})
            steps[ex.step] = steps.get(ex.step, 0) + 1
    for wait in tl.waits:
        if wait.until is not None:
            steps = taken.setdefault(wait.event_type, {})
            steps[wait.step + " (wait)"] = steps.get(wait.step + " (wait)", 0) + 1

    def counts(found: dict[str, int]) -> str:
        return ", ".join(f"{k} ×{v}" if v > 1 else k for k, v in found.items()) or "-"

    rows = "".join(
        f"<tr><td><code>{esc(short_type(t))}</code></td><td class=\"num\">{r['n']}</td>"
        f"<td>{esc(counts(r['from']))}</td><td>{esc(counts(taken.get(t, {})))}</td>"
        f"<td class=\"num\">+{esc(duration(r['first'] - tl.started))}</td>"
        f"<td class=\"num\">+{esc(duration(r['last'] - tl.started))}</td></tr>"
        for t, r in by_type.items()
    )
    head = "".join(f"<th>{h}</th>" for h in ("event type", "count", "from", "taken by", "first", "last"))
    return f'<table style="margin-bottom:14px"><tr>{head}</tr>{rows}</table>'



def _journal_section(history: Sequence[Mapping[str, Any]], tl: RunTimeline) -> str:
    multi_day = tl.last - tl.started > 86400
    rows = [
        f'<tr><td class="num">{e["seq"]}</td><td class="mono">{esc(time_of_day(e["ts"], multi_day))}</td>'
        f'<td>{esc(e["kind"])}</td><td>{esc(e.get("step") or "")}</td>'
        f'<td><code>{esc(short_type(e.get("event_type")))}</code></td>'
        f'<td class="mono">{esc(entry_detail(e, 160))}</td></tr>'
        for e in history
    ]
    head = "".join(f"<th>{h}</th>" for h in ("seq", "time", "kind", "step", "event", "detail"))
    return (
        f"<section><details><summary>Full journal ({len(history)} entries)</summary>"
        f'<div class="tall"><table><tr>{head}</tr>{"".join(rows)}</table></div></details></section>'
    )
