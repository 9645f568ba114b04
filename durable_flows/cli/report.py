"""``durable-flows report RUN_ID -o run.html``: a run's story on one self-contained page."""

from __future__ import annotations

from pathlib import Path

import click

from ..audit.diff import diff_histories
from ..ops.timeline import build_timeline
from ..representation import get_workflow_graph
from ..views.report_page import report_html
from ..views.run_graph import graph_for_run, overlay
from ._common import (
    CliError,
    check_output_dir,
    db_option,
    echo_json,
    import_object,
    json_option,
    run_with_store,
)
from ._diff_page import diff_section
from .show import load_run


@click.command("report")
@click.argument("run_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="The HTML file to write.")
@click.option("--workflow", "workflow_spec", metavar="MODULE:CLASS",
              help="Draw the graph from this workflow's code (resources, retry policies); "
              "default: from the fingerprint the run journaled, importing nothing.")
@click.option("--compare", "other_run", metavar="RUN_ID", default=None,
              help="Add a side-by-side view of this run beside another one (see `diff`).")
@db_option
@json_option
def report_command(
    run_id: str, output: Path, workflow_spec: str | None, other_run: str | None, db: str, as_json: bool
) -> None:
    """Write one self-contained HTML file (no network needed to view it) with
    the run's graph and the path it took, a timeline with a lane per step
    showing each execution, retry and wait, the steps' totals and the event
    list."""
    check_output_dir(output)
    info, history, inbox = run_with_store(db, lambda store: load_run(store, run_id))
    extra = ""
    if other_run is not None:
        other = run_with_store(db, lambda store: store.history(other_run))
        extra = diff_section(diff_histories(run_id, history, other_run, other))
    tl = build_timeline(history)
    if workflow_spec:
        graph = get_workflow_graph(import_object(workflow_spec, "workflow"))
    else:
        graph = graph_for_run(info, history)
    path = overlay(graph, history, tl)
    try:
        output.write_text(report_html(info, history, inbox, tl, graph, path, extra), encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {str(output)!r}: {exc.strerror or exc}") from exc
    if as_json:
        echo_json({"run_id": info.run_id, "output": str(output), "entries": len(history),
                   "executions": len(tl.executions)})  # fmt: skip
        return
    click.echo(f"wrote {output} ({len(history)} journal entries, {len(tl.executions)} step executions)")


COMMANDS = [report_command]
