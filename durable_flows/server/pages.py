"""HTML of the web view: the runs list and a run's page, drawn from the journal.

The run page reuses the report's sections (graph with the path taken,
timeline, steps, events, journal) and adds what a live page needs: the
pending waits with a form to answer them, and cancel/fork buttons. Pages link
one style sheet and one script from ``/static`` (shipped in the wheel; no
CDN, no build step); the script keeps them live.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from ..graph.svg import esc
from ..ops.timeline import RunTimeline, build_timeline, short_type
from ..storage.rows import ACTIVE_STATUSES, ALL_STATUSES, RunInfo
from ..views.format import clock
from ..views.page import CSS
from ..views.report_page import report_sections
from ..views.run_graph import graph_for_run, overlay

#: Runs per page of the list (``?per=`` changes it).
PAGE_SIZE = 25
#: The list's "since" choices: label -> seconds back (None: any time).
SINCE = {"any time": None, "last hour": 3600, "last day": 86400, "last week": 7 * 86400}


def document(title: str, body: str, live: str) -> str:
    """A page with the shared styles, the web view's sheet and script; ``live`` is its SSE URL."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style>"
        '<link rel="stylesheet" href="/static/web.css">'
        '<script src="/static/web.js" defer></script></head>\n'
        f'<body data-live="{esc(live)}"><main>\n'
        '<nav><a href="/">durable_flows · runs</a><span id="live-state" class="live">connecting…</span></nav>\n'
        f"{body}\n</main></body></html>\n"
    )


# -- the runs list ---------------------------------------------------------------------


def list_filters(query: dict[str, str], workflows: Sequence[str]) -> dict[str, Any]:
    """The list's filters from the query string, with bad values dropped."""
    status = query.get("status", "")
    workflow = query.get("workflow", "")
    since = query.get("since", "any time")
    return {
        "status": status if status in ALL_STATUSES else "",
        "workflow": workflow if workflow in workflows else "",
        "since": since if since in SINCE else "any time",
        "page": _number(query.get("page"), 1, 1, 10**6),
        "per": _number(query.get("per"), PAGE_SIZE, 1, 500),
    }


def _number(text: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(high, max(low, int(text))) if text else default
    except ValueError:
        return default


def select_runs(runs: list[RunInfo], names: dict[str, str], filters: dict[str, Any]) -> tuple[list[RunInfo], int]:
    """This page's runs (newest first) and how many match in all."""
    back = SINCE[filters["since"]]
    floor = None if back is None else time.time() - back
    kept = [
        r for r in runs
        if (not filters["status"] or r.status == filters["status"])
        and (not filters["workflow"] or names.get(r.workflow) == filters["workflow"])
        and (floor is None or r.created_at >= floor)
    ]
    start = (filters["page"] - 1) * filters["per"]
    return kept[start : start + filters["per"]], len(kept)


def _options(values: Sequence[str], chosen: str, blank: str | None) -> str:
    opts = [f'<option value="">{esc(blank)}</option>'] if blank is not None else []
    for v in values:
        sel = " selected" if v == chosen else ""
        opts.append(f'<option value="{esc(v)}"{sel}>{esc(v)}</option>')
    return "".join(opts)


def runs_table(page_runs: list[RunInfo], total: int, names: dict[str, str], filters: dict[str, Any]) -> str:
    """The table of runs and the paging links (the part the live script refreshes)."""
    rows = []
    for r in page_runs:
        waits = ", ".join(short_type(t) for t in r.waiting_for) if r.status == "waiting" else ""
        rows.append(
            f'<tr class="run-row" data-run="{esc(r.run_id)}"><td class="mono"><a href="/runs/{esc(r.run_id)}">'
            f"{esc(r.run_id)}</a></td><td>{esc(names.get(r.workflow, r.workflow))}</td>"
            f'<td><span class="badge {esc(r.status)}">{esc(r.status)}</span></td>'
            f"<td>{esc(clock(r.created_at))}</td><td>{esc(clock(r.updated_at))}</td>"
            f'<td class="num">{r.last_seq}</td><td>{esc(waits)}</td></tr>'
        )
    if not rows:
        rows.append('<tr><td colspan="7" class="empty">no runs match</td></tr>')
    pages = max(1, -(-total // filters["per"]))
    links = []
    for label, number in (("← newer", filters["page"] - 1), ("older →", filters["page"] + 1)):
        if 1 <= number <= pages:
            query = urlencode({**{k: v for k, v in filters.items() if v}, "page": number})
            links.append(f'<a class="pager" href="/?{esc(query)}">{label}</a>')
    return (
        '<table id="runs"><thead><tr><th>run</th><th>workflow</th><th>status</th><th>started</th>'
        '<th>last activity</th><th class="num">entries</th><th>waiting for</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<p class="paging">page {filters["page"]} of {pages} · {total} run(s) {"".join(links)}</p>'
    )


def runs_page(table: str, workflows: Sequence[str], filters: dict[str, Any]) -> str:
    """The runs list page around ``table``."""
    form = (
        '<form id="filters" method="get" action="/" class="filters">'
        f'<label>status <select name="status">{_options(sorted(ALL_STATUSES), filters["status"], "any")}</select></label>'
        f'<label>workflow <select name="workflow">{_options(list(workflows), filters["workflow"], "any")}</select></label>'
        f'<label>started <select name="since">{_options(list(SINCE), filters["since"], None)}</select></label>'
        '<button type="submit">filter</button></form>'
    )
    query = urlencode({k: v for k, v in filters.items() if v})
    body = (
        f"<section><h1>Runs</h1>{form}"
        f'<div id="live-body" data-fragment="/ui/fragments/runs?{esc(query)}">{table}</div></section>'
    )
    return document("durable_flows · runs", body, "/ui/live/runs")


# -- a run's page ------------------------------------------------------------------------


def awaited_types(info: RunInfo, tl: RunTimeline) -> list[str]:
    """Event types the run waits for, from its open waits and its row."""
    found: list[str] = []
    for t in [w.event_type for w in tl.open_waits()] + list(info.waiting_for):
        if t and t not in found:
            found.append(t)
    return found if info.status in ACTIVE_STATUSES else []


def _wait_form(type_name: str) -> str:
    short = short_type(type_name)
    if short == "HumanResponseEvent":
        field = '<input name="response" class="response" placeholder="your answer" required>'
    else:
        field = '<textarea name="value" class="value" rows="3">{}</textarea>'
    return (
        f'<form class="send-form" data-type="{esc(type_name)}">'
        f"<b>{esc(short)}</b> {field} <button type=\"submit\">send</button></form>"
    )


def _actions(info: RunInfo, tl: RunTimeline) -> str:
    parts = ["<section id=\"actions\"><h2>Act on this run</h2>"]
    waits = awaited_types(info, tl)
    if waits:
        parts.append('<div class="waits"><p>Waiting for input: send the awaited event.</p>')
        parts += [_wait_form(t) for t in waits]
        parts.append("</div>")
    buttons = []
    if info.status in ACTIVE_STATUSES:
        buttons.append('<button id="cancel-run" class="danger">cancel run</button>')
    buttons.append(
        f'<span>fork at seq <input id="fork-at" type="number" min="1" max="{info.last_seq}" '
        f'value="{info.last_seq}"> <button id="fork-run">fork</button></span>'
    )
    parts.append(f'<div class="buttons">{" ".join(buttons)}</div><p id="action-result"></p></section>')
    return "".join(parts)


def run_fragment(info: RunInfo, history: list[dict[str, Any]], inbox: list[Any], served_as: str | None) -> str:
    """Everything on a run's page that changes as the run goes on."""
    tl = build_timeline(history)
    graph = graph_for_run(info, history)
    path = overlay(graph, history, tl)
    head = f'<p class="sub">served as <code>{esc(served_as)}</code></p>' if served_as else ""
    summary, *rest = report_sections(info, history, inbox, tl, graph, path)
    if head and summary.endswith("</section>"):
        summary = summary[: -len("</section>")] + head + "</section>"
    return (
        f'<div id="run-state" data-status="{esc(info.status)}" data-seq="{info.last_seq}"></div>'
        f"{summary}{_actions(info, tl)}{''.join(rest)}"
    )


def run_page(run_id: str, fragment: str) -> str:
    """A run's page around its live ``fragment``."""
    body = f'<div id="live-body" data-run="{esc(run_id)}" data-fragment="/ui/fragments/runs/{esc(run_id)}">{fragment}</div>'
    return document(f"run {run_id}", body, f"/ui/live/runs/{run_id}")
