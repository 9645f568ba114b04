"""``durable-flows export RUN_ID``: a run's full history with payloads decoded."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import IO, Any

import click

from ..storage import JournalStore, RunInfo
from ..views.format import run_dict
from ._common import Progress, check_output_dir, db_option, find_run, run_with_store


def _stable(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry without what differs between two runs of the same story.

    A snapshot's payload goes too: it repeats what the entries before it say
    (with times in it), and where snapshots fall depends on payload sizes.
    """
    out = {k: v for k, v in entry.items() if k not in ("run_id", "ts")}
    if entry.get("kind") == "snapshot":
        out["payload"] = None
    elif isinstance(out.get("payload"), dict) and "trace" in out["payload"]:
        # the OpenTelemetry context journaled by durable_flows.otel differs per run
        out["payload"] = {k: v for k, v in out["payload"].items() if k != "trace"}
    return out


@click.command("export")
@click.argument("run_ids", metavar="RUN_ID...", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json"]), default="jsonl", show_default=True,
              help="jsonl: one entry per line; json: one document {run, journal} per run (a list for several).")
@click.option("--stable", is_flag=True, help="Leave out run ids, times and snapshot payloads, so exports of two runs diff cleanly.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout.")
@db_option
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
def export_command(
    run_ids: tuple[str, ...], fmt: str, stable: bool, output: Path | None, db: str, as_json: bool
) -> None:
    """Write the full history of one or more runs, payloads decoded, for
    archiving or for diffing two runs (`diff <(durable-flows export --stable A)
    <(durable-flows export --stable B)`)."""
    fmt = "json" if as_json else fmt
    check_output_dir(output)

    async def work(store: JournalStore) -> list[tuple[RunInfo, list[dict[str, Any]]]]:
        progress = Progress()
        out = []
        for n, run_id in enumerate(run_ids, 1):
            info = await find_run(store, run_id)
            if len(run_ids) > 1:
                progress.update(f"export: {n}/{len(run_ids)} runs")
            out.append((info, await store.export(info.run_id)))
        progress.close()
        return out

    exported = run_with_store(db, work)
    with contextlib.ExitStack() as files:
        stream = files.enter_context(output.open("w", encoding="utf-8")) if output else sys.stdout
        _write(stream, exported, fmt, stable)


def _write(output: IO[str], exported: list[tuple[RunInfo, list[dict[str, Any]]]], fmt: str, stable: bool) -> None:
    if fmt == "jsonl":
        for _, history in exported:
            for entry in history:
                output.write(json.dumps(_stable(entry) if stable else entry, ensure_ascii=False) + "\n")
        return
    documents = []
    for info, history in exported:
        run = run_dict(info)
        if stable:
            run = {k: v for k, v in run.items() if k in ("workflow", "status", "outcome", "error", "last_seq")}
        documents.append({"run": run, "journal": [_stable(e) if stable else e for e in history]})
    value: Any = documents[0] if len(documents) == 1 else documents
    output.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


COMMANDS = [export_command]
