"""``show --follow``: print a run's journal entries as they commit, from any process, until it ends.

Each look opens the journal afresh, read-only: a journal that no process had
open when one look began is read as it was then, and the next look sees what
a process wrote since (see ``storage/sqlite/journal_check.read_only_uri``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from ..ops.timeline import short_type
from ..storage import FINISHED_STATUSES, JournalStore, RunInfo
from ..views.format import entry_detail, time_of_day
from ._common import existing_store


def entry_line(entry: dict[str, Any], width: int) -> str:
    """One journal entry as a fixed-width line (the columns of ``show``'s table)."""
    return (
        f"{entry['seq']:<6} {time_of_day(entry['ts']):<13} {entry['kind']:<12} {(entry['step'] or '')[:24]:<24} "
        f"{short_type(entry['event_type'])[:28]:<28} {entry_detail(entry, width)}"
    ).rstrip()


async def _look(db: str, run_id: str, after: int) -> tuple[RunInfo | None, list[dict[str, Any]]]:
    store: JournalStore = existing_store(db)
    try:
        await store.open()
        info = await store.get_run(run_id)
        entries = [e for e in await store.history(run_id) if e["seq"] > after] if info else []
        return info, entries
    finally:
        await store.close()


def follow_run(db: str, run_id: str, after: int, width: int, as_json: bool, interval: float = 0.25) -> RunInfo | None:
    """Print entries of ``run_id`` after seq ``after`` as they commit; return the final row.

    Ends when the run is finished and every entry is printed, or on Ctrl-C.
    """

    async def main() -> RunInfo | None:
        seq, info = after, None
        while True:
            info, entries = await _look(db, run_id, seq)
            for entry in entries:
                click.echo(json.dumps(entry, ensure_ascii=False, default=str) if as_json else entry_line(entry, width))
                seq = entry["seq"]
            if info is None or (info.status in FINISHED_STATUSES and info.last_seq <= seq):
                return info
            await asyncio.sleep(interval)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return None
