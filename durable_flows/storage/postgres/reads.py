"""The reading half of :class:`~.store.PostgresStore`: journal, inbox and run rows.

Reads go through the store's pool of read connections (``_fetch``), never
through the writer, so they don't wait behind group commits. Each statement
sees everything committed before it started (READ COMMITTED): a caller whose
append returned reads it back at once.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from ..rows import InboxItem, JournalEntry, RunInfo, RunSummary

_RUN_COLUMNS = (
    "run_id, workflow, status, created_at, updated_at, last_seq, owner, lease_token, "
    "lease_expires, fingerprint, waiting_for, outcome, error, parent_run_id, forked_at_seq, "
    "snapshot_seq"
)
_ENTRY_COLUMNS = "run_id, seq, kind, step, event_type, payload, ts, codec"


class PgReads:
    """Read methods of the :class:`~durable_flows.storage.base.JournalStore` protocol."""

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def read(self, run_id: str, after_seq: int = 0) -> list[JournalEntry]:
        """Entries of a run with ``seq > after_seq``, in order ([] for an unknown run)."""
        rows = await self._fetch(
            f"SELECT {_ENTRY_COLUMNS} FROM journal WHERE run_id = $1 AND seq > $2 ORDER BY seq",
            run_id,
            after_seq,
        )
        return [JournalEntry(*row) for row in rows]

    async def read_inbox(self, run_id: str) -> list[InboxItem]:
        """Inbox items of a run not yet taken into its journal, oldest first."""
        rows = await self._fetch(
            "SELECT id, run_id, event_type, payload, codec, created_at, origin FROM inbox "
            "WHERE run_id = $1 AND consumed_seq IS NULL ORDER BY id",
            run_id,
        )
        return [InboxItem(*row) for row in rows]

    async def get_run(self, run_id: str) -> RunInfo | None:
        """The run's row, or None."""
        rows = await self._fetch(f"SELECT {_RUN_COLUMNS} FROM runs WHERE run_id = $1", run_id)
        return _run_info(rows[0]) if rows else None

    async def list_runs(
        self, status: str | None = None, workflow: str | None = None
    ) -> list[RunInfo]:
        """Runs, newest first (ties by run id), optionally filtered."""
        rows = await self._fetch(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE ($1::text IS NULL OR status = $1) "
            'AND ($2::text IS NULL OR workflow = $2) ORDER BY created_at DESC, run_id COLLATE "C"',
            status,
            workflow,
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
        wanted = None if workflow is None else workflow.replace(":", ".")
        rows = await self._fetch(
            f"SELECT {_RUN_COLUMNS}, (SELECT count(DISTINCT j.payload::jsonb ->> 'exec') "
            "FROM journal j WHERE j.run_id = runs.run_id AND j.kind = 'accepted') FROM runs "
            "WHERE ($1::text[] IS NULL OR status = ANY($1::text[])) "
            "AND ($2::text IS NULL OR workflow = $2 OR right(workflow, length($2) + 1) = '.' || $2) "
            "AND ($3::float8 IS NULL OR created_at >= $3) "
            'ORDER BY created_at DESC, run_id COLLATE "C" LIMIT $4',
            None if statuses is None else sorted(statuses),
            wanted,
            since,
            limit,
        )
        return [RunSummary(_run_info(row[:-1]), row[-1]) for row in rows]


def _run_info(row: Sequence[Any]) -> RunInfo:
    values = list(row)
    values[10] = json.loads(values[10]) if values[10] else []  # waiting_for
    return RunInfo(*values)
