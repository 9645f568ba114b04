"""Moving journal entries into SQLite's full-text index, in batches.

FTS5 pays a fixed cost for each transaction that touches the index (it
writes a new segment), so the writer thread moves entries into
``journal_fts`` between jobs, in transactions of their own: when its queue
has been empty a moment, or when a few hundred entries wait, and before it
closes. Entries wait in two places (migrations/0007_search_marks.sql):

- the searchable entries of each run past its ``runs.search_upto`` (the
  runs with ``last_seq > search_upto``, listed by the partial index
  ``runs_search_behind``): every entry journaled since version 7, found
  without any write of its own on the commit path;
- ``journal_search_pending``: entries listed by the trigger of version 5
  before the upgrade, and entries edited by hand.

Search reads the index and scans both, so it sees every committed entry
whatever the index's progress.
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

#: UNINDEXED_KINDS as an SQL list.
UNINDEXED_SQL = "(" + ", ".join(f"'{k}'" for k in sorted(UNINDEXED_KINDS)) + ")"

#: Searchable entries of the runs past their mark (``runs_search_behind``), in
#: key order; ``{cut}`` narrows them to those up to the batch's last one.
BEHIND_SQL = (
    "SELECT j.run_id, j.seq FROM runs r CROSS JOIN journal j "
    "ON j.run_id = r.run_id AND j.seq > r.search_upto "
    f"WHERE r.last_seq > r.search_upto AND j.kind NOT IN {UNINDEXED_SQL}{{cut}} "
    "ORDER BY r.run_id, j.seq"
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
        listed = "SELECT run_id, seq FROM journal_search_pending ORDER BY run_id, seq LIMIT ?"
        taken = conn.execute(f"SELECT count(*) FROM ({listed})", (limit,)).fetchone()[0]
        conn.execute(f"INSERT INTO journal_docs (run_id, seq) {listed}", (limit,))
        conn.execute(
            f"DELETE FROM journal_search_pending WHERE (run_id, seq) IN ({listed})", (taken,)
        )
        room = limit - taken
        last = None
        if room:
            # The batch's last entry; none when fewer than `room` wait.
            last = conn.execute(
                BEHIND_SQL.format(cut="") + " LIMIT 1 OFFSET ?", (room - 1,)
            ).fetchone()
            cut = "" if last is None else " AND (j.run_id < ? OR (j.run_id = ? AND j.seq <= ?))"
            # OR IGNORE: an entry edited by hand past its run's mark was also
            # listed (and just moved); one past a mark a delete lowered may be indexed.
            conn.execute(
                f"INSERT OR IGNORE INTO journal_docs (run_id, seq) {BEHIND_SQL.format(cut=cut)}",
                () if last is None else (last[0], *last),
            )
            # Runs before the last entry's are caught up, its run up to it.
            conn.execute(
                "UPDATE runs SET search_upto = last_seq WHERE last_seq > search_upto"
                + ("" if last is None else " AND run_id < ?"),
                () if last is None else (last[0],),
            )
            if last is not None:
                conn.execute(
                    "UPDATE runs SET search_upto = ? WHERE run_id = ? AND search_upto < ?",
                    (last[1], last[0], last[1]),
                )
        conn.execute(
            f"INSERT INTO journal_fts (rowid, body) SELECT d.doc, {BODY_SQL} FROM journal_docs d "
            "JOIN journal j ON j.run_id = d.run_id AND j.seq = d.seq WHERE d.doc > ?",
            (top,),
        )
        # A full batch may have left more (this thread is the only one
        # indexing here): stay due. Fewer than asked for: none are left.
        self.pending = limit if taken == limit or last is not None else 0
        self._retry_at = 0.0
