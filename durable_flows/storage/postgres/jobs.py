"""The SQL of every :class:`~.store.PostgresStore` write, run by the writer task.

Each method is a writer job (see ``writer.py``): it gets the write
connection, inside a transaction, and an undo list. It reads and locks what it
needs, raises its refusal *before* its first write, then writes. Times come
from the server's clock (``NOW``), so that stores on machines whose clocks
disagree still agree on when a lease expires.

Rows of ``runs`` are locked ``FOR NO KEY UPDATE`` (not ``FOR UPDATE``): that
serialises the writers of one run (owner, claimers, senders) without blocking
the foreign-key checks of inserts into ``journal`` and ``inbox``.

The lease jobs (claim, release, renew) and the set of leases held are in
``leases.py``, a mixin of :class:`PgJobs`; the bulk row writing of a group
append in ``appends.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import (
    DurableFlowsError,
    ForkPointError,
    InboxConsumeError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    StaleLeaseError,
)
from .._fork import SNAPSHOT_KIND, fork_cut, fork_snapshot_seq
from ..chain import chain_hashes, chain_key, rechain
from ..rows import (
    FAILED,
    FINISHED_STATUSES,
    RUNNING,
    JournalEntry,
    Lease,
    NewRun,
)
from ..store_helpers import check_entries
from .appends import (
    ENTRY_ROWS,
    JOURNAL_COLUMNS,
    AppendItem,
    RunAppends,
    entry_args,
    entry_sql,
    write_appends,
)
from .leases import NOW, PgLeaseJobs
from .writer import UndoList

_FINISHED = sorted(FINISHED_STATUSES)


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
        #: HMAC key of the hash chain (None: key-less SHA-256), read at open.
        self.key = chain_key()

    # -- runs and journal ----------------------------------------------------------

    async def create_run(
        self, conn: Any, undo: UndoList, run: NewRun, entries: Sequence[JournalEntry]
    ) -> Lease:
        check_entries(run.run_id, entries, 1)
        hashes = chain_hashes(None, entries, self.key)
        sql = entry_sql(
            "WITH r AS ("
            "  INSERT INTO runs (run_id, workflow, status, created_at, updated_at, last_seq, "
            "  owner, lease_token, lease_expires, fingerprint, waiting_for, parent_run_id, "
            "  forked_at_seq, chain_head) "
            f"  SELECT $1, $2, '{RUNNING}', n.now, n.now, $3, $4, 1, n.now + $5, $6, '[]', $7, $8, "
            f"  $10 FROM (SELECT {NOW} AS now) n "
            "  ON CONFLICT (run_id) DO NOTHING RETURNING run_id, lease_expires"
            "), j AS ("
            f"  INSERT INTO journal ({JOURNAL_COLUMNS}) "
            f"  SELECT r.run_id, e.* FROM r, {ENTRY_ROWS}"
            ") SELECT lease_expires, pg_notify($9, run_id) FROM r",
            11,
        )
        row = await conn.fetchrow(
            sql,
            run.run_id, run.workflow, len(entries), self.owner_id, self.lease_ttl,
            run.fingerprint, run.parent_run_id, run.forked_at_seq, self.runs_channel,
            hashes[-1] if hashes else None, *entry_args(entries, hashes),
        )  # fmt: skip
        if row is None:  # ON CONFLICT: nothing was written
            raise RunExistsError(run.run_id)
        self._hold(run.run_id, 1, undo)
        return Lease(run.run_id, self.owner_id, 1, row[0])

    async def append_many(self, conn: Any, undo: UndoList, items: list[Any]) -> list[Any]:
        """Append for many leases at once (a group job, see ``writer.GroupFn``).

        Locks the runs' rows (in run id order, so two stores never lock two
        rows in opposite orders), checks every item in queue order as if the
        earlier ones had been applied, then writes the journal rows, run rows
        and inbox rows of the accepted items with one statement per table.

        Args:
            items: :class:`AppendItem` objects, in the order they were queued.

        Returns:
            One outcome per item: None, or the exception refusing it.
        """
        run_ids = sorted({item.lease.run_id for item in items})
        runs = {
            r[0]: RunAppends(r[1], r[2], r[3])
            for r in await conn.fetch(
                "SELECT run_id, lease_token, last_seq, chain_head FROM runs "
                "WHERE run_id = ANY($1::text[]) "
                'ORDER BY run_id COLLATE "C" FOR NO KEY UPDATE',
                run_ids,
            )
        }
        pending: dict[int, str] = {}
        wanted = [i for item in items for i in item.inbox_ids]
        if wanted:
            # A statement of its own, after the locks: it sees every send that
            # committed before we locked the rows (senders lock them too).
            pending = {
                r[0]: r[1]
                for r in await conn.fetch(
                    "SELECT id, run_id FROM inbox WHERE id = ANY($1::bigint[]) "
                    "AND consumed_seq IS NULL",
                    wanted,
                )
            }
        outcomes: list[Exception | None] = []
        for item in items:
            try:
                self._accept_append(item, runs, pending, undo)
            except (DurableFlowsError, ValueError) as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
        await write_appends(conn, runs, self.lease_ttl, self.runs_channel)
        return outcomes

    def _accept_append(
        self,
        item: AppendItem,
        runs: dict[str, RunAppends],
        pending: dict[int, str],
        undo: UndoList,
    ) -> None:
        """Check one append against the runs as changed so far, then apply it to them."""
        run_id = item.lease.run_id
        run = runs.get(run_id)
        if run is None:
            raise RunNotFoundError(run_id)
        if run.token != item.lease.token:
            if self.held.get(run_id) == item.lease.token:
                del self.held[run_id]  # lost for good: stop renewing it
            raise StaleLeaseError(run_id, item.lease.token)
        check_entries(run_id, item.entries, run.last_seq + 1)
        ids = item.inbox_ids
        bad = [i for i in ids if pending.get(i) != run_id or ids.count(i) > 1]
        if bad:  # unknown, another run's, taken (maybe earlier in this group), or twice
            raise InboxConsumeError(run_id, bad)
        if item.entries:
            run.last_seq = item.entries[-1].seq
            hashes = chain_hashes(run.head, item.entries, self.key)
            run.head = hashes[-1]
            run.hashes.extend(hashes)
        run.entries.extend(item.entries)
        run.touched = True
        update = item.update
        if update is not None:
            run.changes.update(update.row_changes())
            if update.release_lease:
                run.release = True
                self._let_go(item.lease, undo)
        for i in ids:
            del pending[i]
            run.consumed[i] = run.last_seq

    async def fork(self, conn: Any, undo: UndoList, run_id: str, at_seq: int, new_id: str) -> int:
        """Create ``new_id`` from ``run_id``'s journal up to ``at_seq``; returns the seq used."""
        row = await conn.fetchrow(
            "SELECT workflow, status, last_seq, fingerprint, outcome, error, snapshot_seq "
            "FROM runs WHERE run_id = $1 FOR KEY SHARE",
            run_id,
        )
        if row is None:
            raise RunNotFoundError(run_id)
        workflow, status, last_seq, fingerprint, outcome, error, snapshot_seq = row
        if not 1 <= at_seq <= last_seq:
            raise ForkPointError(run_id, at_seq, last_seq)
        if await conn.fetchval("SELECT 1 FROM runs WHERE run_id = $1", new_id):
            raise RunExistsError(new_id)
        cut = await _fork_cut(conn, run_id, at_seq)
        if not (cut == last_seq and status in FINISHED_STATUSES):
            status, outcome, error = RUNNING, None, None
        snapshot_seq = fork_snapshot_seq(snapshot_seq, cut)
        if snapshot_seq is None:
            snapshot_seq = await conn.fetchval(
                "SELECT max(seq) FROM journal WHERE run_id = $1 AND seq <= $2 AND kind = $3",
                run_id, cut, SNAPSHOT_KIND,
            )  # fmt: skip
        inserted = await conn.fetchval(
            "INSERT INTO runs (run_id, workflow, status, created_at, updated_at, last_seq, "
            "owner, lease_token, lease_expires, fingerprint, waiting_for, outcome, error, "
            "parent_run_id, forked_at_seq, snapshot_seq) "
            f"SELECT $1, $2, $3, n.now, n.now, $4, NULL, 0, NULL, $5, '[]', $6, $7, $8, $4, $9 "
            f"FROM (SELECT {NOW} AS now) n ON CONFLICT (run_id) DO NOTHING RETURNING 1",
            new_id, workflow, status, cut, fingerprint, outcome, error, run_id, snapshot_seq,
        )  # fmt: skip
        if inserted is None:  # created by another process since our check
            raise RunExistsError(new_id)
        # The copy is a new chain: its entries name the new run, so they hash anew.
        rows = await conn.fetch(
            "SELECT run_id, seq, kind, step, event_type, payload, ts, codec FROM journal "
            "WHERE run_id = $1 AND seq <= $2 ORDER BY seq",
            run_id,
            cut,
        )
        copied, head = rechain(new_id, (JournalEntry(*r) for r in rows), self.key)
        await conn.execute(
            f"INSERT INTO journal ({JOURNAL_COLUMNS}) SELECT $1, e.* FROM {entry_sql(ENTRY_ROWS, 2)}",
            new_id,
            *entry_args([e for e, _ in copied], [h for _, h in copied]),
        )
        await conn.execute("UPDATE runs SET chain_head = $1 WHERE run_id = $2", head, new_id)
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
        self,
        conn: Any,
        undo: UndoList,
        run_id: str,
        event_type: str,
        payload: str,
        codec: str,
        origin: str | None = None,
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
            "INSERT INTO inbox (run_id, event_type, payload, codec, created_at, origin) "
            f"VALUES ($1, $2, $3, $4, {NOW}, $6) RETURNING id, pg_notify($5, $1)",
            run_id, event_type, payload, codec, self.inbox_channel, origin,
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
