"""``durable-flows check --workflow MODULE:CLASS``: can this code continue the stored runs?"""

from __future__ import annotations

import click

from ..ops.check import CheckResult, check_runs
from ..storage import JournalStore
from ._common import db_option, echo_json, json_option, load_workflow, one_line, run_with_store

#: Exit status when at least one run does not replay with the current code.
EXIT_MISMATCH = 1
#: Exit status when no run was found to judge (unless --allow-empty).
EXIT_NOTHING_CHECKED = 4


@click.command("check")
@click.option("--workflow", "workflow_spec", required=True, metavar="MODULE:CLASS",
              help="The workflow as the code to deploy defines it (class or instance).")
@click.option("--active-only", is_flag=True,
              help="Only check running and waiting runs (the ones the code must continue).")
@click.option("--allow-empty", is_flag=True,
              help="Exit 0 when there are no runs to check (default: exit 4, so a deploy "
              "gate pointed at the wrong journal or workflow does not pass by accident).")
@db_option
@json_option
def check_command(workflow_spec: str, active_only: bool, allow_empty: bool, db: str, as_json: bool) -> None:
    """Replay every stored run of a workflow against the current code, without
    running any step or writing anything. Prints each run as ok or with its
    first mismatch; exits 1 when any run does not replay, and 4 when it found
    no run to judge unless --allow-empty (for deploy pipelines)."""

    async def work(store: JournalStore) -> tuple[str, list[CheckResult]]:
        wf = load_workflow(workflow_spec, store)
        return wf.workflow_name, await check_runs(wf, store, active_only=active_only)

    name, results = run_with_store(db, work)
    bad = [r for r in results if not r.ok]
    if as_json:
        echo_json(
            {
                "workflow": name,
                "checked": len(results),
                "mismatches": len(bad),
                "runs": [
                    {"run_id": r.run_id, "status": r.status, "entries": r.entries, "ok": r.ok,
                     "problem": r.problem, "seq": r.seq, "message": r.message or None,
                     "snapshot_seq": r.snapshot_seq}
                    for r in results
                ],
            }
        )
    else:
        if not results:
            click.echo(
                f"no {'active ' if active_only else ''}runs of {name} in this journal: nothing was checked",
                err=not allow_empty,
            )
        for r in results:
            if r.ok:
                since = f" from the snapshot at seq {r.snapshot_seq}" if r.snapshot_seq else ""
                click.echo(f"ok        {r.run_id} ({r.status}, {r.entries} entries{since})")
            else:
                where = f" at seq={r.seq}" if r.seq is not None else ""
                click.echo(f"MISMATCH  {r.run_id} ({r.status}){where}: {one_line(r.message)}")
        if results:
            verdict = "all replay" if not bad else f"{len(bad)} of {len(results)} do not replay"
            click.echo(f"{len(results)} run(s) of {name} checked: {verdict}", err=bool(bad))
    if bad:
        raise SystemExit(EXIT_MISMATCH)
    if not results and not allow_empty:
        raise SystemExit(EXIT_NOTHING_CHECKED)


COMMANDS = [check_command]
