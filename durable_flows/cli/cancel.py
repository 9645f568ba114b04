"""``durable-flows cancel RUN_ID... | --status/--workflow/--before``: cancel one run or many."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import click

from ..errors import RunFinishedError
from ..storage import FINISHED_STATUSES, JournalStore, RunInfo
from ..storage.run_state import ALL_STATES
from ..views.format import status_text, table
from ._common import CliError, db_option, echo_json, json_option, run_with_store
from ._select import make_selection, select_runs, selection_options


async def _cancel_one(store: JournalStore, run_id: str, reason: str, wait_seconds: float) -> tuple[str, RunInfo]:
    outcome = await store.cancel(run_id, reason)
    info = await store.get_run(run_id)
    assert info is not None
    deadline = time.monotonic() + wait_seconds
    while outcome == "requested" and info.status not in FINISHED_STATUSES and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        info = await store.get_run(run_id) or info
    return outcome, info


@click.command("cancel")
@click.argument("run_ids", metavar="[RUN_ID]...", nargs=-1)
@selection_options(states=sorted(ALL_STATES - FINISHED_STATUSES))
@click.option("--reason", default="cancelled by user", show_default=True, help="Recorded in the journal.")
@click.option("--wait", "wait_seconds", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Seconds to wait for a live owner to stop the run (0: don't wait).")
@click.option("--dry-run", is_flag=True, help="Only list the runs that would be cancelled.")
@db_option
@json_option
def cancel_command(
    run_ids: tuple[str, ...], states: tuple[str, ...], workflow_filter: str | None, before: str | None,
    reason: str, wait_seconds: float, dry_run: bool, db: str, as_json: bool,
) -> None:  # fmt: skip
    """Cancel runs: the ones named (full ids or unique prefixes) and/or every
    unfinished run matching --status, --workflow and --before. A run no live
    process owns is marked cancelled at once; a run a live process owns gets a
    cancellation request in its inbox and that process journals the
    cancellation and stops it."""
    sel = make_selection(run_ids, states, workflow_filter, before)
    if sel.empty():
        raise click.UsageError("name the runs to cancel (RUN_ID...) or filter them (--status, --workflow, --before)")
    single = len(run_ids) == 1 and not sel.filtered

    async def work(store: JournalStore) -> list[tuple[RunInfo, str, RunInfo]]:
        chosen = await select_runs(store, sel, finished=False)
        if dry_run:
            return [(info, "would cancel", info) for info in chosen]
        done = []
        for info in chosen:
            try:
                outcome, after = await _cancel_one(store, info.run_id, reason, wait_seconds)
            except RunFinishedError:
                if single:
                    raise
                outcome, after = "already finished", info
            done.append((info, outcome, after))
        return done

    results = run_with_store(db, work, write=not dry_run)
    if single and not dry_run:
        _say_one(*results[0], as_json=as_json)
        return
    if as_json:
        echo_json([{"run_id": b.run_id, "action": o, "status": a.status, "state": a.state} for b, o, a in results])
        return
    if not results:
        raise CliError("no unfinished run matches: nothing was cancelled")
    rows: list[list[Any]] = [[b.run_id, b.workflow, o, a.state] for b, o, a in results]
    click.echo(table(["ID", "WORKFLOW", "ACTION", "STATE"], rows, styles={3: status_text}))


def _say_one(before: RunInfo, outcome: str, info: RunInfo, as_json: bool) -> None:
    run_id = info.run_id
    if as_json:
        echo_json({"run_id": run_id, "action": outcome, "status": info.status, "state": info.state})
    elif outcome == "cancelled":
        click.echo(f"run {run_id} {status_text('cancelled')} (nobody was running it)")
    elif info.status in FINISHED_STATUSES:
        click.echo(f"run {run_id} stopped by its owner: now {status_text(info.status)}")
    else:
        click.echo(
            f"cancellation requested for run {run_id}; its owner {info.owner} will stop it "
            "when it next reads its inbox"
        )




COMMANDS = [cancel_command]
