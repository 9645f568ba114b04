"""``durable-flows show RUN_ID``: a run's timeline, step totals, outcome and waits."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from ..ops.timeline import RunTimeline, build_timeline, short_type
from ..storage import InboxItem, RunInfo
from ..views.format import (
    clock,
    duration,
    entry_detail,
    error_text,
    outcome_text,
    parse_json_text,
    resume_lines,
    run_dict,
    status_text,
    table,
    time_of_day,
)
from ..views.lookup import load_run
from ..views.state_text import blame_text, how_to_continue, outside_event_blamed, workflow_spec
from ._common import db_option, echo_json, json_option, run_with_store
from ._follow import entry_line, follow_run


@click.command("show")
@click.argument("run_id")
@click.option("--tail", type=click.IntRange(min=1), help="Only the last N journal entries.")
@click.option("--width", type=click.IntRange(min=20), default=70, show_default=True, help="Width of the detail column.")
@click.option("--follow", "-f", is_flag=True,
              help="Print journal entries as they commit (from any process) until the run ends; "
              "with --json, one JSON object per line.")
@db_option
@json_option
def show_command(run_id: str, tail: int | None, width: int, follow: bool, db: str, as_json: bool) -> None:
    """Show a run's story: every journal entry (seq, time, kind, step, event
    type, detail), per-step durations and attempts, the outcome or the error
    with its traceback, and what the run waits for. With --follow, tail a
    live run instead."""
    info, history, inbox = run_with_store(db, lambda store: load_run(store, run_id))
    if follow:
        _follow(db, info, history, tail, width, as_json)
        return
    tl = build_timeline(history)
    if as_json:
        echo_json(show_json(info, history, inbox, tl))
        return
    click.echo(header(info, tl))
    entries = history[-tail:] if tail else history
    multi_day = tl.last - tl.started > 86400
    rows = [
        [
            e["seq"],
            time_of_day(e["ts"], multi_day),
            e["kind"],
            e["step"] or "",
            short_type(e["event_type"]),
            entry_detail(e, width),
        ]
        for e in entries
    ]
    click.echo()
    if tail and len(history) > tail:
        click.echo(f"(last {tail} of {len(history)} entries)")
    click.echo(table(["SEQ", "TIME", "KIND", "STEP", "EVENT", "DETAIL"], rows, widths={3: 24, 4: 28}))
    if tl.steps:
        click.echo()
        click.echo(steps_table(tl))
    deaths = resumes_text(history)
    if deaths:
        click.echo()
        click.echo(deaths)
    click.echo()
    click.echo(ending(info, tl, inbox))
    blamed = outside_event_blamed(history) if info.status == "failed" else None
    if blamed is not None:
        click.echo(click.style("note: ", bold=True) + blame_text(info.run_id, blamed))


def _follow(db: str, info: RunInfo, history: list[dict[str, Any]], tail: int | None, width: int, as_json: bool) -> None:
    shown = history[-(tail or 10) :]
    if not as_json:
        click.echo(header(info, build_timeline(history)))
    for entry in shown:
        click.echo(json.dumps(entry, ensure_ascii=False, default=str) if as_json else entry_line(entry, width))
    last = follow_run(db, info.run_id, history[-1]["seq"] if history else 0, width, as_json)
    if last is not None and not as_json:
        click.echo(f"run {last.run_id} ended {status_text(last.status)}")


def header(info: RunInfo, tl: RunTimeline) -> str:
    """The lines above the timeline: identity, status, times, lineage."""
    span = (tl.last - tl.started) if tl.started else 0.0
    lines = [
        click.style(f"run {info.run_id}", bold=True) + f"  {info.workflow}  " + status_text(info.state)
        + (f" (journal status {info.status})" if info.state != info.status else ""),
        f"started {clock(info.created_at)} · last activity {clock(info.updated_at)} · "
        f"journal span {duration(span)} · {info.last_seq} entries",
    ]
    if info.parent_run_id:
        lines.append(f"forked from run {info.parent_run_id} at seq {info.forked_at_seq}")
    if info.snapshot_seq:
        lines.append(f"latest snapshot at seq {info.snapshot_seq} (a resume replays from there)")
    if info.owner:
        lines.append(f"owner {info.owner}")
    return "\n".join(lines)


def resumes_text(history: list[dict[str, Any]]) -> str:
    """Each resume that took the run from a dead (or lapsed) owner, and how that owner ended."""
    lines = [
        f"#{entry['seq']} {clock(entry['ts'])} previous owner {entry['payload']['died'].get('owner')}: {how}"
        for entry, how in resume_lines(history)
    ]
    return "\n".join([click.style("resumed after:", bold=True), *("  " + line for line in lines)]) if lines else ""


def steps_table(tl: RunTimeline) -> str:
    """Per-step totals: executions, attempts, failures, waits and time."""
    rows = [
        [
            st.step,
            st.executions,
            st.attempts,
            st.failures,
            st.waits,
            len(st.workers),
            duration(st.busy),
            duration(st.mean) if st.attempts else "-",
            duration(st.longest) if st.attempts else "-",
        ]
        for st in tl.steps.values()
    ]
    headers = ["STEP", "EXECUTIONS", "ATTEMPTS", "FAILED", "WAITS", "WORKERS", "TOTAL", "MEAN", "LONGEST"]
    return table(headers, rows)


def ending(info: RunInfo, tl: RunTimeline, inbox: list[InboxItem]) -> str:
    """How the run ended, or what it waits for now."""
    lines = []
    if info.status == "completed":
        lines.append(click.style("outcome: ", bold=True) + outcome_text(info))
    elif info.status in ("failed", "timed_out", "cancelled"):
        line, traceback = error_text(info)
        lines.append(click.style("error: ", bold=True, fg="red") + line)
        if traceback:
            lines.extend("    " + t for t in traceback.rstrip().splitlines())
    else:
        waits = tl.open_waits()
        if waits:
            for w in waits:
                lines.append(
                    click.style("waiting for: ", bold=True)
                    + f"{short_type(w.event_type)} (step {w.step}, waiter {w.waiter_id}, since {clock(w.since)})"
                )
        elif info.status == "waiting":
            wanted = ", ".join(short_type(t) for t in info.waiting_for) or "outside input"
            lines.append(click.style("waiting for: ", bold=True) + f"{wanted} (since {clock(info.updated_at)})")
        else:
            running = [a for a in tl.attempts if a.outcome == "running"]
            names = ", ".join(sorted({a.step for a in running})) or "nothing in flight"
            lines.append(click.style("running: ", bold=True) + names)
        hint = how_to_continue(info)
        if hint:
            lines.append(click.style("next: ", bold=True) + hint)
    if inbox:
        types = ", ".join(f"#{i.id} {short_type(i.event_type)}" for i in inbox)
        lines.append(f"inbox: {len(inbox)} event(s) not yet taken in: {types}")
        if info.status not in ("completed", "failed", "timed_out", "cancelled"):
            lines.append(
                f"drop one the run cannot take with: durable-flows resume {info.run_id} "
                f"--workflow {workflow_spec(info.workflow)} --skip-event {inbox[0].id}"
            )
    return "\n".join(lines)


def show_json(
    info: RunInfo, history: list[dict[str, Any]], inbox: list[InboxItem], tl: RunTimeline
) -> dict[str, Any]:
    """Everything ``show`` prints, as data."""
    return {
        "run": run_dict(info),
        "entries": history,
        "steps": [
            {**asdict(st), "workers": sorted(st.workers), "mean": st.mean} for st in tl.steps.values()
        ],
        "executions": [
            {
                "exec": ex.exec,
                "step": ex.step,
                "event_type": ex.event_type,
                "started": ex.started,
                "ended": ex.ended,
                "outcome": ex.outcome,
                "attempts": ex.attempt_count,
                "busy": ex.busy,
            }
            for ex in tl.executions
        ],
        "waiting_for": [
            {"event_type": w.event_type, "step": w.step, "waiter_id": w.waiter_id, "since": w.since}
            for w in tl.open_waits()
        ]
        or [{"event_type": t} for t in info.waiting_for],
        "resumed_after": [
            {"seq": entry["seq"], "ts": entry["ts"], "died": entry["payload"]["died"], "how": how}
            for entry, how in resume_lines(history)
        ],
        "failed_on_outside_event": (
            outside_event_blamed(history) if info.status == "failed" else None
        ),
        "pending_inbox": [
            {"id": i.id, "event_type": i.event_type, "payload": parse_json_text(i.payload), "created_at": i.created_at}
            for i in inbox
        ],
    }


COMMANDS = [show_command]
