"""``durable-flows gc``: delete old (or chosen) finished runs and their journals."""

from __future__ import annotations

import time

import click

from ..audit import archive_and_delete
from ..storage import FINISHED_STATUSES, JournalStore
from ..views.format import clock, parse_when
from ._common import Progress, db_option, echo_json, json_option, run_with_store
from ._select import make_selection, select_runs, selection_options


@click.command("gc")
@click.argument("run_ids", metavar="[RUN_ID]...", nargs=-1)
@click.option("--finished-before", "when", metavar="WHEN",
              help="ISO date/time (2024-05-01, 2024-05-01T12:00Z) or an age (7d, 12h, 30m, 2w).")
@selection_options(states=sorted(FINISHED_STATUSES))
@click.option("--dry-run", is_flag=True, help="Only list the runs that would be deleted.")
@click.option("--batch-size", type=click.IntRange(min=1), default=100, show_default=True,
              help="Runs deleted per transaction.")
@click.option("--archive", "archive_path", default=None, metavar="PATH",
              help="First write the runs to this new compressed archive (see import-archive); "
              "nothing is deleted if it cannot be written.")
@db_option
@json_option
def gc_command(
    run_ids: tuple[str, ...], when: str | None, states: tuple[str, ...], workflow_filter: str | None,
    before: str | None, dry_run: bool, batch_size: int, archive_path: str | None, db: str, as_json: bool,
) -> None:  # fmt: skip
    """Delete finished runs (completed, failed, cancelled, timed out) with
    their journals and inboxes, in bounded transactions: those that finished
    before WHEN, narrowed to the RUN_IDs (full or unique prefixes) and to
    --status, --workflow and --before when given. Running and waiting runs are
    never deleted."""
    if when is None and not run_ids:
        raise click.UsageError("give --finished-before WHEN, or the RUN_IDs of finished runs to delete")
    cutoff = parse_when(when) if when else time.time() + 1
    sel = make_selection(run_ids, states, workflow_filter, before)

    async def work(store: JournalStore) -> list[str]:
        only = {info.run_id for info in await select_runs(store, sel, finished=True)} if not sel.empty() else None
        progress = Progress()

        def show(done: int, total: int) -> None:
            progress.update(f"gc: deleted {done}/{total} runs")

        def show_step(what: str, done: int, total: int) -> None:
            progress.update(f"gc: {what} {done}/{total} runs")

        try:
            if archive_path is not None and not dry_run:
                return await archive_and_delete(
                    store, cutoff, archive_path, batch_size=batch_size, progress=show_step, only=only
                )
            return await store.delete_runs(cutoff, dry_run, batch_size=batch_size, progress=show, only=only)
        finally:
            progress.close()

    ids = run_with_store(db, work, write=not dry_run)
    if as_json:
        echo_json({"finished_before": cutoff, "dry_run": dry_run, "run_ids": ids, "count": len(ids),
                   "archive": archive_path})  # fmt: skip
        return
    verb = "would delete" if dry_run else "deleted"
    where = f" (archived to {archive_path} first)" if archive_path and not dry_run else ""
    click.echo(f"{verb} {len(ids)} run(s)" + (f" finished before {clock(cutoff)}" if when else "") + where)
    if dry_run:
        for run_id in ids:
            click.echo(f"  {run_id}")


COMMANDS = [gc_command]
