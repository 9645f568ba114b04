"""``durable-flows resume RUN_ID... --workflow MODULE:CLASS``: continue runs in the foreground."""

from __future__ import annotations

import click

from ..ops.timeline import short_type
from ..storage import FINISHED_STATUSES, JournalStore, RunInfo
from ..storage.run_state import ALL_STATES
from ..views.format import run_dict, status_text, table
from ..views.state_text import blame_text, outside_event_blamed
from ._common import (
    EXIT_RUN_UNSUCCESSFUL,
    CliError,
    Progress,
    db_option,
    echo_json,
    json_option,
    load_workflow,
    run_with_store,
)
from ._errors import shell_message
from ._select import make_selection, select_runs, selection_options
from .running import _describe, _Followed, follow_all, show_followed


@click.command("resume")
@click.argument("run_ids", metavar="[RUN_ID]...", nargs=-1)
@click.option("--workflow", "workflow_spec", required=True, metavar="MODULE:CLASS", help="The runs' workflow class.")
@selection_options(states=sorted(ALL_STATES - FINISHED_STATUSES), workflow=False)
@click.option("--dry-run", is_flag=True, help="Only list the runs that would be resumed.")
@click.option("--skip-event", "skip", type=int, multiple=True, metavar="INBOX_ID",
              help="Drop this event sent to the run (not yet taken in; `show` lists them) before "
              "resuming it (repeatable; one run only).")
@click.option("--reset-recoveries", is_flag=True,
              help="Start the count of process deaths over; continues a run that max_recoveries failed.")
@db_option
@json_option
def resume_command(
    run_ids: tuple[str, ...], workflow_spec: str, states: tuple[str, ...], before: str | None,
    dry_run: bool, skip: tuple[int, ...], reset_recoveries: bool, db: str, as_json: bool,
) -> None:  # fmt: skip
    """Continue runs from their journals in this process, in the foreground,
    until each finishes or waits for input (progress is shown on a terminal):
    the runs named (full ids or unique prefixes) and/or every unfinished run
    of the workflow matching --status and --before. Exits 3 when a run ends
    failed, timed out or cancelled."""
    sel = make_selection(run_ids, states, None, before)
    if sel.empty():
        raise click.UsageError("name the runs to resume (RUN_ID...) or filter them (--status, --before)")
    single = len(run_ids) == 1 and not sel.filtered
    if skip and not single:
        raise click.UsageError("--skip-event needs exactly one RUN_ID (and no filters)")

    async def work(store: JournalStore) -> list[_Followed] | list[RunInfo]:
        wf = load_workflow(workflow_spec, store)
        chosen = await select_runs(store, sel, finished=False)
        if sel.filtered and not run_ids:
            names = {wf.workflow_name, *wf._legacy_names()}
            chosen = [info for info in chosen if info.workflow in names]
        if dry_run:
            return chosen
        skip_failed = await _drop_events(store, chosen[0], skip) if skip else False
        handlers = [
            wf.resume(info.run_id, reset_recoveries=reset_recoveries, skip_failed=skip_failed) for info in chosen
        ]
        return await follow_all(store, handlers, "resume", Progress())

    found = run_with_store(db, work, write=not dry_run)
    if dry_run:
        infos = [f for f in found if isinstance(f, RunInfo)]
        if as_json:
            echo_json([run_dict(info) for info in infos])
        else:
            rows = [[i.run_id, i.workflow, i.state] for i in infos]
            click.echo(table(["WOULD RESUME", "WORKFLOW", "STATE"], rows, styles={2: status_text}))
        return
    seen = [f for f in found if isinstance(f, _Followed)]
    if not seen:
        raise CliError("no unfinished run of this workflow matches: nothing was resumed")
    if single:
        [one] = seen
        if one.error is not None:
            raise CliError(shell_message(one.error))
        assert one.info is not None
        if as_json:
            echo_json({**run_dict(one.info), "failed_on_outside_event": one.blamed})
        else:
            click.echo(_describe(one.info))
            if one.blamed is not None:
                click.echo(blame_text(one.run_id, one.blamed), err=True)
    else:
        show_followed(seen, as_json)
    if any(s.info is not None and s.info.status in FINISHED_STATUSES - {"completed"} for s in seen):
        raise SystemExit(EXIT_RUN_UNSUCCESSFUL)


async def _drop_events(store: JournalStore, info: RunInfo, inbox_ids: tuple[int, ...]) -> bool:
    """Drop inbox events of a run nobody holds; True when one of them is the event a
    failed step took (the run is then continued without that step's failure).

    Events not yet taken in are discarded (the run claimed for the moment, then
    let go); the event a failed run choked on is already in its journal, so the
    resume drops that failed execution instead.
    """
    pending = {item.id: item for item in await store.read_inbox(info.run_id)}
    blamed = None
    if info.status == "failed":
        blamed = outside_event_blamed(await store.history(info.run_id))
    failed_on = blamed["payload"].get("inbox") if blamed is not None else None
    unknown = [i for i in inbox_ids if i not in pending and i != failed_on]
    if unknown:
        raise CliError(
            f"inbox #{unknown[0]} is not an event waiting to be taken in by run {info.run_id}, nor "
            f"the one a failed step took; `durable-flows show {info.run_id}` lists those"
        )
    skip_failed = failed_on is not None and failed_on in inbox_ids
    inbox_ids = tuple(i for i in inbox_ids if i in pending)
    if skip_failed:
        click.echo(f"run {info.run_id} goes on without inbox #{failed_on}, which its failed step took", err=True)
    if not inbox_ids:
        return skip_failed
    lease = await store.claim_lease(info.run_id)
    try:
        dropped = await store.discard_inbox(lease, inbox_ids)
    finally:
        await store.release_lease(lease)
    for i in dropped:
        click.echo(f"dropped inbox #{i} ({short_type(pending[i].event_type)}) of run {info.run_id}", err=True)
    return skip_failed


COMMANDS = [resume_command]
