"""The read queries of :class:`~.store.SqliteStore`: journal entries, inbox items and
run rows, through the store's read-only connection (a WAL snapshot per query)."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from ..rows import InboxItem, JournalEntry, RunInfo, RunSummary
from .jobs import ENTRY_COLUMNS

_RUN_COLUMNS = (
    "run_id, workflow, status, created_at, updated_at, last_seq, owner, lease_token, "
    "lease_expires, fingerprint, waiting_for, outcome, error, parent_run_id, forked_at_seq, "
    "snapshot_seq"
)


class SqliteReads:
    """Mixed into ``SqliteStore``: needs its ``_read``."""

    async def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        raise NotImplementedError

    async def read(self, run_id: str, after_seq: int = 0) -> list[JournalEntry]:
        """Entries of a run with ``seq > after_seq``, in order ([] for an unknown run)."""
        rows = await self._read(
            f"SELECT {ENTRY_COLUMNS} FROM journal WHERE run_id = ? AND seq > ? ORDER BY seq",
            (run_id, after_seq),
        )
        return [JournalEntry(*row) for row in rows]

    async def read_inbox(self, run_id: str) -> list[InboxItem]:
        """Inbox items of a run not yet taken into its journal, oldest first."""
        rows = await self._read(
            "SELECT id, run_id, event_type, payload, codec, created_at, origin FROM inbox "
            "WHERE run_id = ? AND consumed_seq IS NULL ORDER BY id",
            (run_id,),
        )
        return [InboxItem(*row) for row in rows]

    async def get_run(self, run_id: str) -> RunInfo | None:
        """The run's row, or None."""
        rows = await self._read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        return _run_info(rows[0]) if rows else None

    async def list_runs(
        self, status: str | None = None, workflow: str | None = None
    ) -> list[RunInfo]:
        """Runs, newest first (ties by run id), optionally filtered."""
        where, params = [], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if workflow is not None:
            where.append("workflow = ?")
            params.append(workflow)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self._read(
            f"SELECT {_RUN_COLUMNS} FROM runs{clause} ORDER BY created_at DESC, run_id", params
        )
        return [_run_info(row) for row in rows]

    async def summarize_runs(
        self,
        statuses: Collection[str] | None = None,
        workflow: str | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[RunSummary]:
        """See :meth:`JournalStore.summarize_runs`; one query, step counts in SQL."""
        where: list[str] = []
        params: list[Any] = []
        if statuses is not None:
            where.append("status IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(sorted(statuses)))
        if workflow is not None:
            wanted = workflow.replace(":", ".")
            where.append("(workflow = ? OR substr(workflow, -(length(?) + 1)) = '.' || ?)")
            params += [wanted, wanted, wanted]
        if since is not None:
            where.append("created_at >= ?")
            params.append(since)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        tail = " LIMIT ?" if limit is not None else ""
        if limit is not None:
            params.append(limit)
        rows = await self._read(
            f"SELECT {_RUN_COLUMNS}, (SELECT count(DISTINCT json_extract(j.payload, '$.exec')) "
            "FROM journal j WHERE j.run_id = runs.run_id AND j.kind = 'accepted') "
            f"FROM runs{clause} ORDER BY created_at DESC, run_id{tail}",
            params,
        )
        return [RunSummary(_run_info(row[:-1]), row[-1]) for row in rows]


def _run_info(row: Sequence[Any]) -> RunInfo:
    values = list(row)
    values[10] = json.loads(values[10]) if values[10] else []  # waiting_for
    return RunInfo(*values)
