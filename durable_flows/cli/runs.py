"""``durable-flows runs``: list runs with where each stands."""

from __future__ import annotations

import time

import click

from ..ops.timeline import short_type
from ..storage import FINISHED_STATUSES, RUNNING, WAITING, JournalStore, RunSummary
from ..storage.run_state import ALL_STATES, ORPHANED, PARKED, QUEUED
from ..views.format import ago, clock, parse_when, run_dict, status_text, table
from ._common import db_option, echo_json, find_run, json_option, run_with_store

_STATUS_CHOICES = sorted(ALL_STATES) + ["active", "finished"]
#: The stored status behind each state.
_STORED = {QUEUED: RUNNING, ORPHANED: RUNNING, PARKED: WAITING}


@click.command("runs")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(_STATUS_CHOICES),
    help="Only runs in this state (repeatable): running/waiting (a live process holds it), "
    "queued, orphaned, parked (nobody does), or a final status; 'active' = any unfinished, "
    "'finished' = the four final statuses.",
)
@click.option("--workflow", help="Only runs of this workflow (full name, or its class name).")
@click.option("--since", "since", metavar="WHEN", help="Only runs started since WHEN (ISO date/time or 7d, 12h, 30m).")
@click.option("--until", "until", metavar="WHEN", help="Only runs started before WHEN.")
@click.option("--error", "error_text", metavar="TEXT", help="Only runs whose error contains TEXT (any case).")
@click.option("--after", "after", metavar="RUN_ID",
              help="Start after this run in the listing (the cursor the previous page printed).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Show at most N runs.")
@db_option
@json_option
def runs_command(
    statuses: tuple[str, ...], workflow: str | None, since: str | None, until: str | None,
    error_text: str | None, after: str | None, limit: int, db: str, as_json: bool,
) -> None:  # fmt: skip
    """List runs, newest first: state, start, last activity, steps run, and
    the input a waiting run needs. STATUS is where each run stands now:
    running or waiting while a live process holds it; queued (never
    started), orphaned (its process is gone) or parked (waits for input) when
    none does; `show RUN` says how to continue it."""
    wanted: set[str] | None = None
    if statuses:
        wanted = set()
        for s in statuses:
            wanted |= {"active": ALL_STATES - FINISHED_STATUSES, "finished": FINISHED_STATUSES}.get(s, {s})
    since_ts = parse_when(since) if since else None
    stored = {_STORED.get(s, s) for s in wanted} if wanted is not None else None
    by_state = wanted is not None and not wanted <= FINISHED_STATUSES
    until_ts = parse_when(until) if until else None
    post = by_state or until_ts is not None or error_text is not None or after is not None

    def keep(summary: RunSummary) -> bool:
        info = summary.info
        if by_state and wanted is not None and info.state not in wanted:
            return False
        if until_ts is not None and info.created_at >= until_ts:
            return False
        return error_text is None or error_text.lower() in (info.error or "").lower()

    async def work(store: JournalStore) -> list[RunSummary]:
        found = await store.summarize_runs(stored, workflow, since_ts, None if post else limit)
        if after is not None:
            cursor = (await find_run(store, after)).run_id
            ids = [s.info.run_id for s in found]
            found = found[ids.index(cursor) + 1 :] if cursor in ids else []
        return [s for s in found if keep(s)][:limit]

    found = run_with_store(db, work)
    if as_json:
        echo_json([run_dict(s.info, s.steps_run) for s in found])
        return
    if not found:
        click.echo("no runs match" if (wanted or workflow or since or post) else "no runs in this journal")
        return
    now = time.time()
    rows = []
    for summary in found:
        info = summary.info
        waiting = ", ".join(short_type(t) for t in info.waiting_for) if info.status == WAITING else ""
        fork = f" (fork of {info.parent_run_id[:8]}…@{info.forked_at_seq})" if info.parent_run_id else ""
        rows.append(
            [
                info.run_id + fork,
                info.workflow,
                info.state,
                clock(info.created_at),
                ago(info.updated_at, now),
                summary.steps_run,
                waiting,
            ]
        )
    text = table(
        ["ID", "WORKFLOW", "STATUS", "STARTED", "LAST ACTIVITY", "STEPS", "WAITING FOR"],
        rows,
        widths={1: 40, 6: 40},
        styles={2: status_text},
    )
    click.echo(text)
    if len(found) == limit:
        click.echo(f"(showing {limit}; next page: --after {found[-1].info.run_id})", err=True)


COMMANDS = [runs_command]
