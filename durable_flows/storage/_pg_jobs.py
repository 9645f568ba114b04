"""The SQL of every :class:`~.postgres.PostgresStore` write, run by the writer task.

Each method is a writer job (see ``_pg_writer.py``): it gets the write
connection, inside a transaction, and an undo list. It reads and locks what it
needs, raises its refusal *before* its first write, then writes. Times come
from the server's clock (``NOW``), so that stores on machines whose clocks
disagree still agree on when a lease expires.

Rows of ``runs`` are locked ``FOR NO KEY UPDATE`` (not ``FOR UPDATE``): that
serialises the writers of one run (owner, claimers, senders) without blocking
the foreign-key checks of inserts into ``journal`` and ``inbox``.

The lease jobs (claim, release, renew) and the set of leases held are in
``_pg_leases.py``, a mixin of :class:`PgJobs`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from ..errors import (
    ForkPointError,
    InboxConsumeError,
    JournalCorruptError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    StaleLeaseError,
)
from ._fork import fork_cut
from ._pg_leases import NOW, PgLeaseJobs
from ._pg_writer import UndoList
from .base import (
    FAILED,
    FINISHED_STATUSES,
    RUNNING,
    JournalEntry,
    Lease,
    NewRun,
    RunUpdate,
    _check_entries,
)

_FINISHED = sorted(FINISHED_STATUSES)

# unnest() of the entries' columns, as the rows of the journal (run_id aside).
_ENTRY_ROWS = (
    "unnest($E1::bigint[], $E2::text[], $E3::text[], $E4::text[], $E5::text[], "
    "$E6::float8[], $E7::text[]) AS e (seq, kind, step, event_type, payload, ts, codec)"
)


def _entry_sql(sql: str, first: int) -> str:
    """``sql`` with the placeholders $E1..$E7 numbered from ``first``."""
    for i in range(7, 0, -1):
        sql = sql.replace(f"$E{i}", f"${first + i - 1}")
    return sql


def _entry_args(entries: Sequence[JournalEntry]) -> list[list[Any]]:
    return [
        [e.seq for e in entries],
        [e.kind for e in entries],
        [e.step for e in entries],
        [e.event_type for e in entries],
        [e.payload for e in entries],
        [e.ts for e in entries],
        [e.codec for e in entries],
    ]


class PgJobs(PgLeaseJobs):
    """Writer jobs of one store object (``owner_id``), and the leases it holds.

    Args:
        owner_id: This store's owner name.
        lease_ttl: Seconds a lease lasts without renewal.
        inbox_channel: NOTIFY channel told the run id of each inbox send.
        runs_channel: NOTIFY channel told the id of each run that may have
            become claimable (created, released, forked).
    """

    def __init__(
        self, owner_id: str, lease_ttl: float, inbox_channel: str, runs_channel: str
    ) -> None:
        self.owner_id = owner_id
        self.lease_ttl = lease_ttl
        self.inbox_channel = inbox_channel
        self.runs_channel = runs_channel
        #: run_id -> token of each lease handed out and not released.
        self.held: dict[str, int] = {}

    # -- runs and journal ----------------------------------------------------------

    async def create_run(
        self, conn: Any, undo: UndoList, run: NewRun, entries: Sequence[JournalEntry]
    ) -> Lease:
        _check_entries(run.run_id, entries, 1)
        sql = _entry_sql(
            "WITH r AS ("
            "  INSERT INTO runs (run_id, workflow, status, created_at, updated_at, last_seq, "
            "  owner, lease_token, lease_expires, fingerprint, waiting_for, parent_run_id, "
            "  forked_at_seq) "
            f"  SELECT $1, $2, '{RUNNING}', n.now, n.now, $3, $4, 1, n.now + $5, $6, '[]', $7, $8 "
            f"  FROM (SELECT {NOW} AS now) n "
            "  ON CONFLICT (run_id) DO NOTHING RETURNING run_id, lease_expires"
            "), j AS ("
            "  INSERT INTO journal (run_id, seq, kind, step, event_type, payload, ts, codec) "
            f"  SELECT r.run_id, e.* FROM r, {_ENTRY_ROWS}"
            ") SELECT lease_expires, pg_notify($9, run_id) FROM r",
            10,
        )
        row = await conn.fetchrow(
            sql,
            run.run_id, run.workflow, len(entries), self.owner_id, self.lease_ttl,
            run.fingerprint, run.parent_run_id, run.forked_at_seq, self.runs_channel,
            *_entry_args(entries),
        )  # fmt: skip
        if row is None:  # ON CONFLICT: nothing was written
            raise RunExistsError(run.run_id)
        self._hold(run.run_id, 1, undo)
        return Lease(run.run_id, self.owner_id, 1, row[0])

    async def append(
        self,
        conn: Any,
        undo: UndoList,
        lease: Lease,
        entries: Sequence[JournalEntry],
        update: RunUpdate | None,
        inbox_ids: list[int],
    ) -> None:
        run_id = lease.run_id
        row = await conn.fetchrow(
            "SELECT lease_token, last_seq FROM runs WHERE run_id = $1 FOR NO KEY UPDATE", run_id
        )
        if row is None:
            raise RunNotFoundError(run_id)
        token, last_seq = row
        if token != lease.token:
            if self.held.get(run_id) == lease.token:
                del self.held[run_id]  # lost for good: stop renewing it
            raise StaleLeaseError(run_id, lease.token)
        _check_entries(run_id, entries, last_seq + 1)
        if inbox_ids:
            # A statement of its own, after the lock: it sees every send that
            # committed before we locked the row (senders lock it too).
            pending = {
                r[0]
                for r in await conn.fetch(
                    "SELECT id FROM inbox WHERE run_id = $1 AND consumed_seq IS NULL "
                    "AND id = ANY($2::bigint[])",
                    run_id,
                    inbox_ids,
                )
            }
            if len(pending) != len(inbox_ids):  # unknown, another run's, taken, or twice
                bad = [i for i in inbox_ids if i not in pending or inbox_ids.count(i) > 1]
                raise InboxConsumeError(run_id, bad)
        if entries:
            last_seq = entries[-1].seq
        waiting = None
        if update is not None and update.waiting_for is not None:
            waiting = json.dumps(update.waiting_for)
        u = update or RunUpdate()
        sql = _entry_sql(
            "WITH u AS ("
            f"  UPDATE runs SET last_seq = $2, updated_at = n.now, lease_expires = n.now + $3, "
            "  status = coalesce($4, status), waiting_for = coalesce($5, waiting_for), "
            "  outcome = coalesce($6, outcome), error = coalesce($7, error) "
            f"  FROM (SELECT {NOW} AS now) n WHERE run_id = $1"
            "), i AS ("
            "  UPDATE inbox SET consumed_seq = $2 WHERE id = ANY($8::bigint[])"
            ") INSERT INTO journal (run_id, seq, kind, step, event_type, payload, ts, codec) "
            f"SELECT $1, e.* FROM {_ENTRY_ROWS}",
            9,
        )
        try:
            await conn.execute(
                sql,
                run_id, last_seq, self.lease_ttl, u.status, waiting, u.outcome, u.error,
                inbox_ids, *_entry_args(entries),
            )  # fmt: skip
        except asyncpg.UniqueViolationError as exc:
            # The seq check passed, so runs.last_seq disagrees with the journal.
            raise JournalCorruptError(
                run_id, entries[0].seq, f"an entry at this seq already exists ({exc})"
            ) from exc

    async def fork(self, conn: Any, undo: UndoList, run_id: str, at_seq: int, new_id: str) -> int:
        """Create ``new_id`` from ``run_id``'s journal up to ``at_seq``; returns the seq used."""
        row = await conn.fetchrow(
            "SELECT workflow, status, last_seq, fingerprint, outcome, error "
            "FROM runs WHERE run_id = $1 FOR KEY SHARE",
            run_id,
        )
        if row is None:
            raise RunNotFoundError(run_id)
        workflow, status, last_seq, fingerprint, outcome, error = row
        if not 1 <= at_seq <= last_seq:
            raise ForkPointError(run_id, at_seq, last_seq)
        if await conn.fetchval("SELECT 1 FROM runs WHERE run_id = $1", new_id):
            raise RunExistsError(new_id)
        cut = await _fork_cut(conn, run_id, at_seq)
        if not (cut == last_seq and status in FINISHED_STATUSES):
            status, outcome, error = RUNNING, None, None
        inserted = await conn.fetchval(
            "INSERT INTO runs (run_id, workflow, status, created_at, updated_at, last_seq, "
            "owner, lease_token, lease_expires, fingerprint, waiting_for, outcome, error, "
            "parent_run_id, forked_at_seq) "
            f"SELECT $1, $2, $3, n.now, n.now, $4, NULL, 0, NULL, $5, '[]', $6, $7, $8, $4 "
            f"FROM (SELECT {NOW} AS now) n ON CONFLICT (run_id) DO NOTHING RETURNING 1",
            new_id, workflow, status, cut, fingerprint, outcome, error, run_id,
        )  # fmt: skip
        if inserted is None:  # created by another process since our check
            raise RunExistsError(new_id)
        await conn.execute(
            "INSERT INTO journal (run_id, seq, kind, step, event_type, payload, ts, codec) "
            "SELECT $1, seq, kind, step, event_type, payload, ts, codec FROM journal "
            "WHERE run_id = $2 AND seq <= $3",
            new_id,
            run_id,
            cut,
        )
        if status == RUNNING:
            await conn.execute("SELECT pg_notify($1, $2)", self.runs_channel, new_id)
        return cut

    async def delete_runs(
        self, conn: Any, undo: UndoList, run_ids: list[str], finished_before: float
    ) -> list[str]:
        """Delete those of ``run_ids`` still finished before the cut-off; returns them."""
        doomed = [
            r[0]
            for r in await conn.fetch(
                "SELECT run_id FROM runs WHERE run_id = ANY($1::text[]) "
                "AND status = ANY($2::text[]) AND updated_at < $3 "
                'ORDER BY updated_at, run_id COLLATE "C" FOR UPDATE',
                run_ids,
                _FINISHED,
                finished_before,
            )
        ]
        for table in ("journal", "inbox", "runs"):  # children first: foreign keys
            await conn.execute(f"DELETE FROM {table} WHERE run_id = ANY($1::text[])", doomed)
        return doomed

    async def set_failed(self, conn: Any, undo: UndoList, run_id: str, reason: str) -> None:
        found = await conn.fetchval(
            f"UPDATE runs SET status = $1, error = $2, updated_at = {NOW} "
            "WHERE run_id = $3 RETURNING 1",
            FAILED,
            reason,
            run_id,
        )
        if found is None:
            raise RunNotFoundError(run_id)

    async def send_to_inbox(
        self, conn: Any, undo: UndoList, run_id: str, event_type: str, payload: str, codec: str
    ) -> int:
        # Locking the run's row serialises the senders of one run with each
        # other and with its owner: inbox ids of a run then become visible in
        # increasing order (the runtime skips ids at or below the last one it
        # took in), and no event lands in a run whose finish is committing.
        status = await conn.fetchval(
            "SELECT status FROM runs WHERE run_id = $1 FOR NO KEY UPDATE", run_id
        )
        if status is None:
            raise RunNotFoundError(run_id)
        if status in FINISHED_STATUSES:
            raise RunFinishedError(run_id, status)
        inbox_id: int = await conn.fetchval(
            "INSERT INTO inbox (run_id, event_type, payload, codec, created_at) "
            f"VALUES ($1, $2, $3, $4, {NOW}) RETURNING id, pg_notify($5, $1)",
            run_id, event_type, payload, codec, self.inbox_channel,
        )  # fmt: skip
        return inbox_id


async def _fork_cut(conn: Any, run_id: str, at_seq: int) -> int:
    """:func:`fork_cut` over the journal below ``at_seq``, read in growing chunks.

    ``fork_cut`` reads back only as far as the open group reaches (usually a
    few entries); a chunk that it used up whole is read again twice as long.
    """
    size = 64
    while True:
        rows = await conn.fetch(
            "SELECT seq, kind, payload FROM journal WHERE run_id = $1 AND seq <= $2 "
            "ORDER BY seq DESC LIMIT $3",
            run_id,
            at_seq,
            size,
        )
        cut = fork_cut((r[0], r[1], r[2]) for r in rows)
        if len(rows) < size or cut >= rows[-1][0]:
            return cut
        size *= 2
