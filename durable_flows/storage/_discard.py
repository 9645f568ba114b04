"""Dropping events sent to a run that were never taken into its journal.

An operator who sent a run an event it cannot take (``send --no-check``, or
code that changed since) may drop it before the run is continued:
``durable-flows resume RUN --skip-event INBOX_ID``. The inbox row stays, with
``consumed_seq = 0`` ("taken by no journal entry"): nothing is deleted, the
journal is untouched, and the run never sees the event. Only the holder of
the run's lease may do it, so a live owner never loses an event it is about
to take in; the write is fenced by the lease's token like an append.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from ..errors import StaleLeaseError
from .rows import Lease

#: ``inbox.consumed_seq`` of an event dropped by an operator.
DISCARDED_SEQ = 0


def discard_sqlite(conn: sqlite3.Connection, undo: list[Any], lease: Lease, inbox_ids: Sequence[int]) -> list[int]:
    """Writer job of :meth:`SqliteStore.discard_inbox <.sqlite.SqliteStore.discard_inbox>`."""
    row = conn.execute("SELECT lease_token, owner FROM runs WHERE run_id = ?", (lease.run_id,)).fetchone()
    if row is None or row[0] != lease.token or row[1] != lease.owner:
        raise StaleLeaseError(lease.run_id, lease.token)
    dropped = []
    for inbox_id in inbox_ids:
        cur = conn.execute(
            "UPDATE inbox SET consumed_seq = ? WHERE id = ? AND run_id = ? AND consumed_seq IS NULL",
            (DISCARDED_SEQ, inbox_id, lease.run_id),
        )
        if cur.rowcount:
            dropped.append(inbox_id)
    return dropped


async def discard_pg(conn: Any, undo: list[Any], lease: Lease, inbox_ids: Sequence[int]) -> list[int]:
    """Writer job of ``PostgresStore.discard_inbox``."""
    row = await conn.fetchrow(
        "SELECT lease_token, owner FROM runs WHERE run_id = $1 FOR UPDATE", lease.run_id
    )
    if row is None or row[0] != lease.token or row[1] != lease.owner:
        raise StaleLeaseError(lease.run_id, lease.token)
    rows = await conn.fetch(
        "UPDATE inbox SET consumed_seq = $1 WHERE run_id = $2 AND id = ANY($3::bigint[]) "
        "AND consumed_seq IS NULL RETURNING id",
        DISCARDED_SEQ, lease.run_id, list(inbox_ids),
    )  # fmt: skip
    return sorted(int(r[0]) for r in rows)
