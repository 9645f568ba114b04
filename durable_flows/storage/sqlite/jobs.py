"""The SQL of every :class:`~.store.SqliteStore` write, run in the writer thread.

Each method is a writer job: it gets the write connection (a transaction is
open) and an undo list, and either returns its result or raises, in which case
the writer takes back its writes. A job may run twice: when another job of its
batch fails, the batch is rolled back and undone and runs again (writer.py), so
every change a job makes outside the database pairs with an undo action (or
is harmless to repeat). Methods check before they write where they can, so a
refused write usually costs one SELECT.

The set of leases this store holds lives here and is read and changed only in
the writer thread, so claims and renewals see it in commit order; a change is
paired with an undo action in case its transaction does not commit.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from ...errors import (
    ForkPointError,
    InboxConsumeError,
    JournalCorruptError,
    LeaseHeldError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    StaleLeaseError,
)
from .._fork import SNAPSHOT_KIND, fork_cut, fork_snapshot_seq
from ..chain import chain_hashes, chain_key, rechain
from ..owners import owner_is_dead
from ..rows import FAILED, FINISHED_STATUSES, RUNNING, JournalEntry, Lease, NewRun, RunUpdate
from ..store_helpers import check_entries
from .chain_heads import ChainHeads
from .search_index import SearchIndexer
from .writer import UndoList

ENTRY_COLUMNS = "run_id, seq, kind, step, event_type, payload, ts, codec"


class WriteJobs:
    """Writer jobs of one store object (``owner_id``), and the leases it holds."""

    def __init__(self, owner_id: str, lease_ttl: float) -> None:
        self.owner_id = owner_id
        self.lease_ttl = lease_ttl
        #: run_id -> token of each lease handed out and not released.
        self.held: dict[str, int] = {}
        #: HMAC key of the hash chain (None: key-less SHA-256), read at open.
        self.key = chain_key()
        self.heads = ChainHeads()  # each run's newest hash, as last written here
        #: Moves journaled entries into the search index between jobs.
        self.indexer = SearchIndexer()

    # -- runs and journal ----------------------------------------------------------

    def create_run(
        self, conn: sqlite3.Connection, undo: UndoList, run: NewRun, entries: Sequence[JournalEntry]
    ) -> Lease:
        if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)).fetchone():
            raise RunExistsError(run.run_id)
        check_entries(run.run_id, entries, 1)
        now = time.time()
        expires = now + self.lease_ttl
        hashes = chain_hashes(None, entries, self.key)
        head = hashes[-1] if hashes else None
        conn.execute(
            "INSERT INTO runs (run_id, workflow, status, created_at, updated_at, last_seq, "
            "owner, lease_token, lease_expires, fingerprint, waiting_for, parent_run_id, "
            "forked_at_seq, chain_head) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, '[]', ?, ?, ?)",
            (run.run_id, run.workflow, RUNNING, now, now, len(entries), self.owner_id,
             expires, run.fingerprint, run.parent_run_id, run.forked_at_seq, head),
        )  # fmt: skip
        _insert_entries(conn, run.run_id, entries, hashes, self.indexer)
        self.heads.remember(run.run_id, len(entries), head, undo)
        self._hold(run.run_id, 1, undo)
        return Lease(run.run_id, self.owner_id, 1, expires)

    def append(
        self,
        conn: sqlite3.Connection,
        undo: UndoList,
        lease: Lease,
        entries: Sequence[JournalEntry],
        update: RunUpdate | None,
        inbox_ids: list[int],
    ) -> None:
        run_id = lease.run_id
        for fresh in (False, True):
            hashes = self._try_append(conn, lease, entries, update, fresh)
            if hashes is not None:
                break
        else:  # pragma: no cover - the head was read in this transaction
            raise AssertionError("append refused for no reason")
        if entries:
            check_entries(run_id, entries, entries[0].seq)
            _insert_entries(conn, run_id, entries, hashes, self.indexer)
            self.heads.remember(run_id, entries[-1].seq, hashes[-1], undo)
        if inbox_ids:
            row = conn.execute("SELECT last_seq FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            _consume_inbox(conn, run_id, inbox_ids, row[0])
        if update is not None and update.release_lease:
            self._let_go(lease, undo)

    def _try_append(
        self,
        conn: sqlite3.Connection,
        lease: Lease,
        entries: Sequence[JournalEntry],
        update: RunUpdate | None,
        fresh: bool,
    ) -> list[str] | None:
        """Update the run row for an append; returns the entries' chain hashes.

        One statement: token, seq continuity and the chain head hashed from
        are its WHERE clause; only when it matches no row do we look at why.
        None: only the head differed from memory (call again, ``fresh``).
        """
        run_id = lease.run_id
        now = time.time()
        release = update is not None and update.release_lease
        if release:
            sets = "updated_at = ?, owner = NULL, lease_expires = NULL"
            params: list[Any] = [now]
        else:
            sets = "updated_at = ?, lease_expires = ?"
            params = [now, now + self.lease_ttl]
        hashes: list[str] = []
        prev: str | None = None
        if entries:
            sets += ", last_seq = ?, chain_head = ?"
            prev = self.heads.head(conn, run_id, entries[0].seq - 1, fresh)
            hashes = chain_hashes(prev, entries, self.key)
            params += [entries[-1].seq, hashes[-1]]
        if update is not None:
            for column, value in update.row_changes().items():
                sets += f", {column} = ?"
                params.append(value)
        where = "run_id = ? AND lease_token = ?"
        params += [run_id, lease.token]
        if entries:
            where += " AND last_seq = ? AND chain_head IS ?"
            params += [entries[0].seq - 1, prev]
        if conn.execute(f"UPDATE runs SET {sets} WHERE {where}", params).rowcount != 1:
            self.heads.forget(run_id)
            self._refuse_append(conn, lease, entries)
            return None
        return hashes

    def _refuse_append(
        self, conn: sqlite3.Connection, lease: Lease, entries: Sequence[JournalEntry]
    ) -> None:
        """The append's UPDATE matched nothing: raise the reason (unknown run, stale
        token, bad seq); return when there is none (the chain head was stale)."""
        run_id = lease.run_id
        row = conn.execute(
            "SELECT lease_token, last_seq FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise RunNotFoundError(run_id)
        token, last_seq = row
        if token != lease.token:
            if self.held.get(run_id) == lease.token:
                del self.held[run_id]  # lost for good: stop renewing it
            raise StaleLeaseError(run_id, lease.token)
        check_entries(run_id, entries, last_seq + 1)
        # Token and seq are right: the chain head differed from what we remembered.

    def fork(
        self, conn: sqlite3.Connection, undo: UndoList, run_id: str, at_seq: int, new_id: str
    ) -> int:
        """Create ``new_id`` from ``run_id``'s journal up to ``at_seq``; returns the seq used."""
        row = conn.execute(
            "SELECT workflow, status, last_seq, fingerprint, outcome, error, snapshot_seq "
            "FROM runs WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            raise RunNotFoundError(run_id)
        workflow, status, last_seq, fingerprint, outcome, error, snapshot_seq = row
        if not 1 <= at_seq <= last_seq:
            raise ForkPointError(run_id, at_seq, last_seq)
        if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (new_id,)).fetchone():
            raise RunExistsError(new_id)
        cut = fork_cut(
            conn.execute(
                "SELECT seq, kind, payload FROM journal WHERE run_id = ? AND seq <= ? "
                "ORDER BY seq DESC",
                (run_id, at_seq),
            )
        )
        if not (cut == last_seq and status in FINISHED_STATUSES):
            status, outcome, error = RUNNING, None, None
        snapshot_seq = fork_snapshot_seq(snapshot_seq, cut)
        if snapshot_seq is None:
            snapshot_seq = conn.execute(
                "SELECT max(seq) FROM journal WHERE run_id = ? AND seq <= ? AND kind = ?",
                (run_id, cut, SNAPSHOT_KIND),
            ).fetchone()[0]
        now = time.time()
        # The copy is a new chain: its entries name the new run, so they hash anew.
        copied, head = rechain(
            new_id,
            (
                JournalEntry(*row)
                for row in conn.execute(
                    f"SELECT {ENTRY_COLUMNS} FROM journal WHERE run_id = ? AND seq <= ? "
                    "ORDER BY seq",
                    (run_id, cut),
                )
            ),
            self.key,
        )
        conn.execute(
            "INSERT INTO runs (run_id, workflow, status, created_at, updated_at, last_seq, "
            "owner, lease_token, lease_expires, fingerprint, waiting_for, outcome, error, "
            "parent_run_id, forked_at_seq, snapshot_seq, chain_head) "
            "VALUES (?, ?, ?, ?, ?, ?, NULL, 0, NULL, ?, '[]', ?, ?, ?, ?, ?, ?)",
            (new_id, workflow, status, now, now, cut, fingerprint, outcome, error, run_id, cut,
             snapshot_seq, head),
        )  # fmt: skip
        _insert_entries(conn, new_id, [e for e, _ in copied], [h for _, h in copied], self.indexer)
        return cut

    def delete_runs(
        self,
        conn: sqlite3.Connection,
        undo: UndoList,
        run_ids: list[str],
        finished_before: float,
    ) -> list[str]:
        """Delete those of ``run_ids`` still finished before the cut-off; returns them."""
        finished = json.dumps(sorted(FINISHED_STATUSES))
        doomed = [
            r[0]
            for r in conn.execute(
                "SELECT run_id FROM runs WHERE run_id IN (SELECT value FROM json_each(?)) "
                "AND status IN (SELECT value FROM json_each(?)) AND updated_at < ? "
                "ORDER BY updated_at, run_id",
                (json.dumps(run_ids), finished, finished_before),
            )
        ]
        ids = json.dumps(doomed)
        for table in ("journal", "inbox", "runs"):  # children first: foreign keys are on
            conn.execute(
                f"DELETE FROM {table} WHERE run_id IN (SELECT value FROM json_each(?))", (ids,)
            )
        return doomed

    def set_failed(
        self, conn: sqlite3.Connection, undo: UndoList, run_id: str, reason: str
    ) -> None:
        cur = conn.execute(
            "UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE run_id = ?",
            (FAILED, reason, time.time(), run_id),
        )
        if cur.rowcount == 0:
            raise RunNotFoundError(run_id)

    def send_to_inbox(
        self,
        conn: sqlite3.Connection,
        undo: UndoList,
        run_id: str,
        event_type: str,
        payload: str,
        codec: str,
        origin: str | None = None,
    ) -> int:
        row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFoundError(run_id)
        if row[0] in FINISHED_STATUSES:
            raise RunFinishedError(run_id, row[0])
        cur = conn.execute(
            "INSERT INTO inbox (run_id, event_type, payload, codec, created_at, origin) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, event_type, payload, codec, time.time(), origin),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    # -- leases ------------------------------------------------------------------

    def claim(self, conn: sqlite3.Connection, undo: UndoList, run_id: str) -> Lease:
        row = conn.execute(
            "SELECT owner, lease_token, lease_expires FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise RunNotFoundError(run_id)
        owner, token, expires = row
        now = time.time()
        if owner is not None and expires is not None and expires > now:
            # A live lease: ours only if we handed no unreleased lease out;
            # someone else's only if that process is gone.
            if owner == self.owner_id:
                if run_id in self.held:
                    raise LeaseHeldError(run_id, owner, expires - now)
            elif not owner_is_dead(owner):
                raise LeaseHeldError(run_id, owner, expires - now)
        token += 1
        expires = now + self.lease_ttl
        conn.execute(
            "UPDATE runs SET owner = ?, lease_token = ?, lease_expires = ? WHERE run_id = ?",
            (self.owner_id, token, expires, run_id),
        )
        self._hold(run_id, token, undo)
        return Lease(run_id, self.owner_id, token, expires, owner)

    def release(self, conn: sqlite3.Connection, undo: UndoList, lease: Lease) -> None:
        # Let go first and for good: a lease its holder gave up is never renewed
        # again, even when this UPDATE does not commit (it then lapses).
        self._let_go(lease, [])
        conn.execute(
            "UPDATE runs SET owner = NULL, lease_expires = NULL "
            "WHERE run_id = ? AND lease_token = ? AND owner = ?",
            (lease.run_id, lease.token, lease.owner),
        )

    def renew(self, conn: sqlite3.Connection, undo: UndoList) -> int:
        """Push every held lease's expiry to now + ttl in one UPDATE; returns rows renewed."""
        cur = conn.execute(
            "UPDATE runs SET lease_expires = ? WHERE owner = ? "
            "AND run_id IN (SELECT value FROM json_each(?))",
            (time.time() + self.lease_ttl, self.owner_id, json.dumps(list(self.held))),
        )
        return cur.rowcount

    def release_all(self, conn: sqlite3.Connection, undo: UndoList) -> None:
        conn.execute(
            "UPDATE runs SET owner = NULL, lease_expires = NULL WHERE owner = ? "
            "AND run_id IN (SELECT value FROM json_each(?))",
            (self.owner_id, json.dumps(list(self.held))),
        )
        before = dict(self.held)
        self.held.clear()
        undo.append(lambda: self.held.update(before))

    def _let_go(self, lease: Lease, undo: UndoList) -> None:
        """Stop holding (and renewing) ``lease``, unless its transaction rolls back."""
        self.heads.forget(lease.run_id)
        if self.held.get(lease.run_id) == lease.token:
            del self.held[lease.run_id]
            undo.append(lambda: self._restore(lease.run_id, lease.token))

    def _hold(self, run_id: str, token: int, undo: UndoList) -> None:
        before = self.held.get(run_id)
        self.held[run_id] = token
        undo.append(lambda: self._restore(run_id, before))

    def _restore(self, run_id: str, token: int | None) -> None:
        if token is None:
            self.held.pop(run_id, None)
        else:
            self.held[run_id] = token


def _insert_entries(
    conn: sqlite3.Connection,
    run_id: str,
    entries: Sequence[JournalEntry],
    hashes: Sequence[str | None],
    indexer: SearchIndexer,
) -> None:
    if not entries:
        return
    indexer.noted(entries)
    try:
        # A JournalEntry is a tuple in ENTRY_COLUMNS order: it binds as it is.
        conn.executemany(
            f"INSERT INTO journal ({ENTRY_COLUMNS}, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*e, h) for e, h in zip(entries, hashes, strict=True)],
        )
    except sqlite3.IntegrityError as exc:
        # The seq check passed, so runs.last_seq disagrees with the journal.
        raise JournalCorruptError(
            run_id, entries[0].seq, f"an entry at this seq already exists ({exc})"
        ) from exc


def _consume_inbox(conn: sqlite3.Connection, run_id: str, inbox_ids: list[int], seq: int) -> None:
    pending = {
        row[0]
        for row in conn.execute(
            "SELECT id FROM inbox WHERE run_id = ? AND consumed_seq IS NULL "
            "AND id IN (SELECT value FROM json_each(?))",
            (run_id, json.dumps(inbox_ids)),
        )
    }
    if len(pending) != len(inbox_ids):  # unknown, another run's, taken, or listed twice
        bad = [i for i in inbox_ids if i not in pending or inbox_ids.count(i) > 1]
        raise InboxConsumeError(run_id, bad)
    conn.executemany(
        "UPDATE inbox SET consumed_seq = ? WHERE id = ?", [(seq, i) for i in inbox_ids]
    )
