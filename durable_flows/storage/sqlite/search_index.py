"""Moving journal entries into SQLite's full-text index, in batches.

A trigger (migrations/0005_audit.sql) records every new searchable entry in
``journal_search_pending`` in the transaction that journals it. FTS5 pays a
fixed cost for each transaction that touches the index (it writes a new
segment), so the writer thread moves pending entries into ``journal_fts``
between jobs, in transactions of their own: when its queue has been empty a
moment, or when a few hundred entries wait, and before it closes. Search
reads the index and scans the pending entries, so it sees every committed
entry whatever the index's progress.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from .._search_text import UNINDEXED_KINDS
from ..rows import JournalEntry

#: Index as soon as this many entries wait, idle or not.
THRESHOLD = 256
#: Entries moved per transaction while jobs wait (keeps their latency low) and when idle.
BUSY_BATCH = 512
IDLE_BATCH = 5000
#: Seconds to wait after a failed batch before the next try.
RETRY_AFTER = 5.0

BODY_SQL = (
    "j.kind || ' ' || coalesce(j.step, '') || ' ' || coalesce(j.event_type, '') || ' ' || j.payload"
)


class SearchIndexer:
    """The writer's background work for the search index (see ``writer.BackgroundWork``).

    Only the writer thread calls it. ``pending`` counts entries that may be
    waiting; it starts at 1 so that entries a crashed process left pending
    are indexed once the writer is idle.
    """

    def __init__(self) -> None:
        self.pending = 1
        self._retry_at = 0.0

    def noted(self, entries: Sequence[JournalEntry]) -> None:
        """Entries were journaled (maybe rolled back later: then the batch finds fewer)."""
        self.pending += sum(1 for e in entries if e.kind not in UNINDEXED_KINDS)

    def note_count(self, count: int) -> None:
        """``count`` rows were journaled outside :meth:`noted` (imports)."""
        self.pending += count

    def due(self, idle: bool) -> bool:
        if self.pending <= 0 or time.monotonic() < self._retry_at:
            return False
        return idle or self.pending >= THRESHOLD

    def run(self, conn: sqlite3.Connection, idle: bool) -> None:
        self._retry_at = time.monotonic() + RETRY_AFTER  # cleared below on success
        limit = IDLE_BATCH if idle else BUSY_BATCH
        top = conn.execute("SELECT coalesce(max(doc), 0) FROM journal_docs").fetchone()[0]
        moved = conn.execute(
            "INSERT INTO journal_docs (run_id, seq) SELECT run_id, seq FROM journal_search_pending "
            "ORDER BY run_id, seq LIMIT ?",
            (limit,),
        ).rowcount
        conn.execute(
            f"INSERT INTO journal_fts (rowid, body) SELECT d.doc, {BODY_SQL} FROM journal_docs d "
            "JOIN journal j ON j.run_id = d.run_id AND j.seq = d.seq WHERE d.doc > ?",
            (top,),
        )
        conn.execute(
            "DELETE FROM journal_search_pending WHERE (run_id, seq) IN "
            "(SELECT run_id, seq FROM journal_docs WHERE doc > ?)",
            (top,),
        )
        # Fewer than asked for: none are left (this thread is the only one
        # adding them here). A full batch may have left more: stay due.
        self.pending = limit if moved == limit else 0
        self._retry_at = 0.0
