"""The SQLite writer's memory of each run's chain head, so an append need not read it.

An append hashes its entries from the run's newest hash (``runs.chain_head``).
The writer remembers the head it last wrote per run; the append's UPDATE
checks it (``chain_head IS ?``), so a head another process wrote since is
noticed and read afresh. Changes pair with undo actions, like the writer's
leases, in case their transaction does not commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


class ChainHeads:
    """run_id -> (last_seq, chain_head) as this store last wrote them."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[int, str | None]] = {}

    def head(self, conn: sqlite3.Connection, run_id: str, seq: int, fresh: bool) -> str | None:
        """The chain head of ``run_id`` when its last seq is ``seq``: remembered, or read."""
        known = None if fresh else self._known.get(run_id)
        if known is not None and known[0] == seq:
            return known[1]
        row = conn.execute("SELECT chain_head FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row[0] if row else None

    def remember(
        self, run_id: str, seq: int, head: str | None, undo: list[Callable[[], None]]
    ) -> None:
        """``head`` is the run's newest hash at ``seq``, unless the transaction rolls back."""
        before = self._known.get(run_id)
        self._known[run_id] = (seq, head)

        def restore() -> None:
            if before is None:
                self._known.pop(run_id, None)
            else:
                self._known[run_id] = before

        undo.append(restore)

    def forget(self, run_id: str) -> None:
        """Drop what is remembered of ``run_id`` (a miss only costs a read)."""
        self._known.pop(run_id, None)
