"""``durable-flows export RUN_ID``: a run's full history with payloads decoded."""

from __future__ import annotations

import json
from typing import IO, Any

import click

from ..errors import RunNotFoundError
from ..storage import JournalStore, RunInfo
from ._common import Progress, db_option, run_with_store
from ._format import run_dict


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
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="Write to FILE instead of stdout.")
@db_option
def export_command(run_ids: tuple[str, ...], fmt: str, stable: bool, output: IO[str], db: str) -> None:
    """Write the full history of one or more runs, payloads decoded, for
    archiving or for diffing two runs (`diff <(durable-flows export --stable A)
    <(durable-flows export --stable B)`)."""

    async def work(store: JournalStore) -> list[tuple[RunInfo, list[dict[str, Any]]]]:
        progress = Progress()
        out = []
        for n, run_id in enumerate(run_ids, 1):
            info = await store.get_run(run_id)
            if info is None:
                raise RunNotFoundError(run_id)
            if len(run_ids) > 1:
                progress.update(f"export: {n}/{len(run_ids)} runs")
            out.append((info, await store.export(run_id)))
        progress.close()
        return out

    exported = run_with_store(db, work)
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
