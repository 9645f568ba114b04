"""Auditing commands: ``verify`` hash chains, ``search`` across runs, ``diff``
two runs, and ``import-archive`` (``gc --archive`` writes archives)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import click

from ..audit import diff_histories, read_archive, verify_archive, verify_runs
from ..audit.diff import RunDiff
from ..audit.verify import ChainReport
from ..storage import JournalStore, open_store
from ..storage.rows import ALL_STATUSES, SearchHit, SearchQuery
from ..views.format import clock, entry_detail, parse_when, shorten, table
from ._common import CliError, db_file, db_option, echo_json, json_option, run_with_store
from ._diff_page import diff_html


@click.command("verify")
@click.argument("run_ids", nargs=-1)
@click.option("--archive", "archive_path", default=None, metavar="PATH",
              help="Verify the runs in this archive file instead of the journal.")
@db_option
@json_option
def verify_command(run_ids: tuple[str, ...], archive_path: str | None, db: str, as_json: bool) -> None:
    """Recompute the hash chains of RUN_IDS (all runs when none) and report the
    first entry altered, deleted, inserted or reordered. Exit status 1 on any
    break. Keyed chains need DURABLE_FLOWS_JOURNAL_KEY set."""
    if archive_path is not None:
        reports = verify_archive(read_archive(archive_path))
        if run_ids:
            reports = [r for r in reports if r.run_id in run_ids]
    else:
        async def work(store: JournalStore) -> list[ChainReport]:
            return await verify_runs(store, list(run_ids) or None)

        reports = run_with_store(db, work)
    broken = [r for r in reports if not r.ok]
    if as_json:
        echo_json({"ok": not broken, "runs": [r.as_dict() for r in reports]})
    else:
        for r in reports:
            click.echo(_report_line(r))
        click.echo(f"{len(reports)} run(s) checked, {len(broken)} broken")
    if broken:
        sys.exit(1)


def _report_line(r: ChainReport) -> str:
    if not r.ok:
        return click.style(f"BROKEN  {r.run_id}: {r.problem}", fg="red")
    note = f" (unchained up to seq {r.unchained_upto})" if r.unchained_upto else ""
    return f"ok      {r.run_id}: {r.entries} entries{note}"


@click.command("search")
@click.argument("query")
@click.option("--workflow", default=None, help="Only runs of this workflow (name or module.Name).")
@click.option("--status", "statuses", multiple=True, type=click.Choice(sorted(ALL_STATUSES)),
              help="Only runs with this status (repeatable).")
@click.option("--since", default=None, metavar="WHEN", help="Only entries written at or after WHEN (ISO time or age: 7d).")
@click.option("--until", default=None, metavar="WHEN", help="Only entries written before WHEN.")
@click.option("--kind", "kinds", multiple=True, help="Only entries of this kind: sent, failed, state, ... (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@db_option
@json_option
def search_command(
    query: str, workflow: str | None, statuses: tuple[str, ...], since: str | None,
    until: str | None, kinds: tuple[str, ...], limit: int, db: str, as_json: bool,
) -> None:  # fmt: skip
    """Find journal entries of any run holding every word of QUERY (event
    payloads, state changes, errors, outside input), best match first."""
    wanted = SearchQuery(
        query, workflow, statuses, parse_when(since) if since else None,
        parse_when(until) if until else None, kinds, limit,
    )  # fmt: skip

    async def work(store: JournalStore) -> list[SearchHit]:
        return await store.search(wanted)

    hits = run_with_store(db, work)
    if as_json:
        echo_json([_hit_dict(h) for h in hits])
        return
    if not hits:
        click.echo(f"no entries match {query!r}")
        return
    rows = [(h.run_id, h.seq, h.kind, clock(h.ts), h.status, h.snippet) for h in hits]
    click.echo(table(["RUN", "SEQ", "KIND", "WHEN", "STATUS", "MATCH"], rows, widths={0: 24, 5: 90}))


def _hit_dict(h: SearchHit) -> dict[str, Any]:
    return {"run_id": h.run_id, "seq": h.seq, "kind": h.kind, "ts": h.ts, "workflow": h.workflow,
            "status": h.status, "snippet": h.snippet, "rank": h.rank}  # fmt: skip


@click.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--all", "show_all", is_flag=True, help="Show every aligned entry, not only around the divergence.")
@click.option("--width", type=int, default=60, show_default=True, help="Width of each side.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the two runs side by side to this self-contained HTML file.")
@db_option
@json_option
def diff_command(
    run_a: str, run_b: str, show_all: bool, width: int, html_path: Path | None, db: str, as_json: bool
) -> None:
    """Align the journals of RUN_A and RUN_B by step and event and show where
    they diverge first (a fork and its origin, a run before and after a code
    change, two runs of the same input)."""

    async def work(store: JournalStore) -> RunDiff:
        return diff_histories(run_a, await store.history(run_a), run_b, await store.history(run_b))

    diff = run_with_store(db, work)
    if html_path is not None:
        html_path.write_text(diff_html(diff), encoding="utf-8")
    if as_json:
        echo_json(diff.as_dict())
        return
    click.echo(diff_text(diff, show_all, width))
    if html_path is not None:
        click.echo(f"wrote {html_path}")


_MARK = {"same": " ", "changed": "~", "only_a": "<", "only_b": ">"}


def diff_text(diff: RunDiff, show_all: bool = False, width: int = 60) -> str:
    """The side-by-side terminal form of a diff."""
    if diff.first is None:
        return f"{diff.run_a} and {diff.run_b} have the same history ({len(diff.rows)} entries)"
    lines = [
        f"{diff.run_a} and {diff.run_b} share {diff.common} entries, then diverge:",
        f"  {'':1} {diff.run_a[:width].ljust(width)} | {diff.run_b[:width]}",
    ]
    start = 0 if show_all else max(0, diff.first - 3)
    stop = len(diff.rows) if show_all else min(len(diff.rows), diff.first + 12)
    if start:
        lines.append(f"  … {start} identical entries")
    for tag, a, b in diff.rows[start:stop]:
        left = _side(a, width)
        right = _side(b, width)
        line = f"  {_MARK[tag]} {left.ljust(width)} | {right}"
        lines.append(click.style(line, fg=None if tag == "same" else "yellow"))
    if stop < len(diff.rows):
        lines.append(f"  … {len(diff.rows) - stop} more (--all shows them)")
    return "\n".join(lines)


def _side(entry: dict[str, Any] | None, width: int) -> str:
    if entry is None:
        return ""
    step = f" {entry['step']}" if entry.get("step") else ""
    return shorten(f"{entry['seq']:>4} {entry['kind']}{step}: {entry_detail(entry, width)}", width)


@click.command("import-archive")
@click.argument("path")
@db_option
@json_option
def import_archive_command(path: str, db: str, as_json: bool) -> None:
    """Load the runs of an archive written by `gc --archive` into the journal
    at --db (SQLite or PostgreSQL), all or none. Unlike other commands it
    creates a missing SQLite file: restoring into a new journal is its use."""
    runs = read_archive(path)  # a bad archive fails before any journal is created

    async def work() -> list[str]:
        store = open_store(db)
        try:
            await store.load_runs(runs)
        finally:
            await store.close()
        return [run.run["run_id"] for run in runs]

    folder = os.path.dirname(db_file(db) or "") or "."
    if not os.path.isdir(folder):
        raise CliError(f"--db {db!r}: the folder {folder!r} does not exist (nothing was created)")
    ids = asyncio.run(work())
    if as_json:
        echo_json({"archive": path, "run_ids": ids, "count": len(ids)})
        return
    click.echo(f"imported {len(ids)} run(s) from {path}")


COMMANDS = [verify_command, search_command, diff_command, import_archive_command]
