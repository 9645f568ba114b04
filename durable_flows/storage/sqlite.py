"""The default journal store: one SQLite file in WAL mode.

Writes go through one writer thread that commits queued jobs in batches (see
``_writer.py``); reads use a separate aiosqlite connection, which in WAL mode
sees a consistent snapshot and never waits behind the writer. Several store
objects, in one process or many, may share a file: each write transaction
starts with ``BEGIN IMMEDIATE`` and waits up to ``busy_timeout`` for the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import time
import weakref
from collections.abc import Sequence
from typing import Any

import aiosqlite

from ..errors import (
    InboxConsumeError,
    JournalCorruptError,
    LeaseHeldError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    StaleLeaseError,
    StoreClosedError,
    StoreError,
    StoreOpenError,
)
from ._writer import JobFn, UndoList, Writer
from .base import (
    FAILED,
    FINISHED_STATUSES,
    RUNNING,
    InboxItem,
    JournalEntry,
    JournalStore,
    Lease,
    NewRun,
    RunInfo,
    RunUpdate,
    _check_entries,
    _check_update,
    make_owner_id,
    owner_is_dead,
)

log = logging.getLogger(__name__)

_RUN_COLUMNS = (
    "run_id, workflow, status, created_at, updated_at, last_seq, owner, lease_token, "
    "lease_expires, fingerprint, waiting_for, outcome, error, parent_run_id, forked_at_seq"
)
_ENTRY_COLUMNS = "run_id, seq, kind, step, event_type, payload, ts, codec"
_SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")


class SqliteStore(JournalStore):
    """A :class:`JournalStore` on one SQLite file.

    The store opens lazily: every method opens it on first use, so it can be
    handed around unopened. It is bound to the event loop that opened it. While
    open it renews the leases it holds every ``lease_ttl / 3`` seconds, and
    :meth:`close` releases them so another process can claim those runs at once.

    Args:
        path: The database file; created (with the schema) if missing.
        lease_ttl: Seconds a lease lasts without renewal.
        synchronous: ``"FULL"`` (default) makes every commit survive power
            loss; ``"NORMAL"`` is faster but may lose the last commits on power
            loss (never on a process crash); ``"EXTRA"`` is stricter than FULL.
        busy_timeout: Seconds to wait for another process's write lock before
            a write fails with :class:`~durable_flows.errors.StoreWriteError`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lease_ttl: float = 30.0,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
    ) -> None:
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {_SYNCHRONOUS}, not {synchronous!r}")
        if lease_ttl <= 0:
            raise ValueError(f"lease_ttl must be positive, not {lease_ttl!r}")
        self.path = os.fspath(path)
        self.lease_ttl = lease_ttl
        self.owner_id = make_owner_id()
        self._synchronous = synchronous.upper()
        self._busy_timeout = busy_timeout
        self._writer: Writer | None = None
        self._reader: aiosqlite.Connection | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._open_lock = asyncio.Lock()
        self._closed = False
        # run_id -> token of the leases this store handed out and has not
        # released. Read and changed only in the writer thread (by jobs), so
        # claims and renewals see it in commit order.
        self._held: dict[str, int] = {}
        self._signals: weakref.WeakValueDictionary[str, asyncio.Event] = (
            weakref.WeakValueDictionary()
        )

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    # -- lifecycle ---------------------------------------------------------------

    async def open(self) -> None:
        """Open the file (creating and migrating it if needed); idempotent.

        Raises:
            StoreOpenError: the directory is missing or not writable, or the
                file is not an SQLite database (it is left untouched).
            SchemaVersionError: the file was written by a newer durable_flows.
            StoreClosedError: the store was closed.
        """
        if self._reader is not None and not self._closed:
            return
        async with self._open_lock:
            if self._closed:
                raise StoreClosedError(self.path)
            if self._reader is not None:
                return
            self._check_path()
            writer = Writer(
                self.path, synchronous=self._synchronous, busy_timeout=self._busy_timeout
            )
            await writer.start()
            try:
                reader = await aiosqlite.connect(
                    self.path, timeout=self._busy_timeout, isolation_level=None
                )
                await reader.execute("PRAGMA query_only=ON")
            except sqlite3.Error as exc:
                await writer.stop()
                raise StoreOpenError(self.path, f"cannot open a read connection ({exc})") from exc
            self._writer, self._reader = writer, reader
            self._renewer = asyncio.get_running_loop().create_task(
                self._renew_leases(), name=f"durable_flows lease renewal {self.path}"
            )

    async def close(self) -> None:
        """Commit queued writes, release held leases, stop the threads; idempotent."""
        async with self._open_lock:
            if self._closed:
                return
            self._closed = True
            if self._renewer is not None:
                self._renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._renewer
            if self._writer is not None and self._held:
                try:
                    await self._writer.submit(self._release_all_job)
                except StoreError as exc:
                    log.warning("%s: could not release leases on close: %s", self.path, exc)
            if self._writer is not None:
                await self._writer.stop()
            if self._reader is not None:
                await self._reader.close()

    def _check_path(self) -> None:
        if self.path == ":memory:" or self.path.startswith("file:"):
            raise StoreOpenError(
                self.path, "SqliteStore needs a file path; use MemoryStore for a database in memory"
            )
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise StoreOpenError(self.path, f"directory {folder!r} does not exist")
        if os.path.isdir(self.path):
            raise StoreOpenError(self.path, "it is a directory")
        if not os.access(folder, os.W_OK):
            raise StoreOpenError(
                self.path,
                f"directory {folder!r} is not writable (WAL mode creates -wal and -shm files there)",
            )

    async def _write(self, fn: JobFn[Any]) -> Any:
        if self._writer is None or self._closed:
            await self.open()
        assert self._writer is not None
        return await self._writer.submit(fn)

    async def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        if self._reader is None or self._closed:
            await self.open()
        assert self._reader is not None
        return list(await self._reader.execute_fetchall(sql, params))

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            if not self._held or self._writer is None:
                continue
            try:
                await self._writer.submit(self._renew_job)
            except StoreClosedError:
                return
            except StoreError as exc:  # try again next round; the lease may still hold
                log.warning("%s: lease renewal failed: %s", self.path, exc)

    # -- writer jobs (run in the writer thread) -----------------------------------

    def _hold(self, run_id: str, token: int, undo: UndoList) -> None:
        before = self._held.get(run_id)
        self._held[run_id] = token
        undo.append(lambda: self._restore_hold(run_id, before))

    def _restore_hold(self, run_id: str, token: int | None) -> None:
        if token is None:
            self._held.pop(run_id, None)
        else:
            self._held[run_id] = token

    def _held_json(self) -> str:
        return json.dumps(list(self._held))

    def _renew_job(self, conn: sqlite3.Connection, undo: UndoList) -> int:
        cur = conn.execute(
            "UPDATE runs SET lease_expires = ? WHERE owner = ? "
            "AND run_id IN (SELECT value FROM json_each(?))",
            (time.time() + self.lease_ttl, self.owner_id, self._held_json()),
        )
        return cur.rowcount

    def _release_all_job(self, conn: sqlite3.Connection, undo: UndoList) -> None:
        conn.execute(
            "UPDATE runs SET owner = NULL, lease_expires = NULL WHERE owner = ? "
            "AND run_id IN (SELECT value FROM json_each(?))",
            (self.owner_id, self._held_json()),
        )
        self._held.clear()

    @staticmethod
    def _insert_entries(
        conn: sqlite3.Connection, run_id: str, entries: Sequence[JournalEntry]
    ) -> None:
        try:
            conn.executemany(
                f"INSERT INTO journal ({_ENTRY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (e.run_id, e.seq, e.kind, e.step, e.event_type, e.payload, e.ts, e.codec)
                    for e in entries
                ],
            )
        except sqlite3.IntegrityError as exc:
            # _check_entries passed, so runs.last_seq disagrees with the journal.
            raise JournalCorruptError(
                run_id, entries[0].seq, f"an entry at this seq already exists ({exc})"
            ) from exc

    # -- writing -----------------------------------------------------------------

    async def create_run(self, run: NewRun, entries: Sequence[JournalEntry]) -> Lease:
        """Create a run owned by this store (token 1) with its first entries.

        Entries must be numbered 1, 2, ... Nothing is written if any check fails.

        Raises:
            RunExistsError: a run with that id exists (it is left untouched).
            JournalSeqError: the entries are not numbered from 1 without gaps.
        """
        entries = tuple(entries)

        def job(conn: sqlite3.Connection, undo: UndoList) -> Lease:
            if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run.run_id,)).fetchone():
                raise RunExistsError(run.run_id)
            _check_entries(run.run_id, entries, 1)
            now = time.time()
            expires = now + self.lease_ttl
            conn.execute(
                "INSERT INTO runs (run_id, workflow, status, created_at, updated_at, last_seq, "
                "owner, lease_token, lease_expires, fingerprint, waiting_for, parent_run_id, "
                "forked_at_seq) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, '[]', ?, ?)",
                (run.run_id, run.workflow, RUNNING, now, now, len(entries), self.owner_id,
                 expires, run.fingerprint, run.parent_run_id, run.forked_at_seq),
            )  # fmt: skip
            if entries:
                self._insert_entries(conn, run.run_id, entries)
            self._hold(run.run_id, 1, undo)
            return Lease(run.run_id, self.owner_id, 1, expires)

        lease: Lease = await self._write(job)
        return lease

    async def append(
        self,
        lease: Lease,
        entries: Sequence[JournalEntry],
        update: RunUpdate | None = None,
        consumed_inbox: Sequence[int] = (),
    ) -> None:
        """Append entries (numbered on from the run's ``last_seq``); durable on return.

        The run row's ``last_seq``, ``updated_at`` and lease expiry are updated,
        plus every field of ``update`` that is not None; inbox items in
        ``consumed_inbox`` get ``consumed_seq`` = the seq of the last entry.

        Raises:
            StaleLeaseError: the lease's token is no longer the run's.
            RunNotFoundError: no such run.
            JournalSeqError: an entry's seq is a duplicate or leaves a gap.
            InboxConsumeError: an inbox id is not a pending item of this run.
            (In every case nothing at all is written.)
        """
        _check_update(update)
        entries = tuple(entries)
        inbox_ids = list(consumed_inbox)
        run_id = lease.run_id

        def job(conn: sqlite3.Connection, undo: UndoList) -> None:
            row = conn.execute(
                "SELECT lease_token, last_seq FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise RunNotFoundError(run_id)
            token, last_seq = row
            if token != lease.token:
                if self._held.get(run_id) == lease.token:
                    del self._held[run_id]  # lost for good: stop renewing it
                raise StaleLeaseError(run_id, lease.token)
            _check_entries(run_id, entries, last_seq + 1)
            if entries:
                self._insert_entries(conn, run_id, entries)
                last_seq = entries[-1].seq
            now = time.time()
            sets = "last_seq = ?, updated_at = ?, lease_expires = ?"
            params: list[Any] = [last_seq, now, now + self.lease_ttl]
            if update is not None:
                for column, value in (
                    ("status", update.status),
                    ("waiting_for", None if update.waiting_for is None else json.dumps(update.waiting_for)),
                    ("outcome", update.outcome),
                    ("error", update.error),
                ):  # fmt: skip
                    if value is not None:
                        sets += f", {column} = ?"
                        params.append(value)
            conn.execute(f"UPDATE runs SET {sets} WHERE run_id = ?", (*params, run_id))
            if inbox_ids:
                self._consume_inbox(conn, run_id, inbox_ids, last_seq)

        await self._write(job)

    @staticmethod
    def _consume_inbox(
        conn: sqlite3.Connection, run_id: str, inbox_ids: list[int], seq: int
    ) -> None:
        pending = {
            row[0]
            for row in conn.execute(
                "SELECT id FROM inbox WHERE run_id = ? AND consumed_seq IS NULL "
                "AND id IN (SELECT value FROM json_each(?))",
                (run_id, json.dumps(inbox_ids)),
            )
        }
        if len(pending) != len(inbox_ids):  # unknown, foreign, taken, or listed twice
            bad = [i for i in inbox_ids if i not in pending or inbox_ids.count(i) > 1]
            raise InboxConsumeError(run_id, bad)
        conn.executemany(
            "UPDATE inbox SET consumed_seq = ? WHERE id = ?", [(seq, i) for i in inbox_ids]
        )

    async def claim_lease(self, run_id: str) -> Lease:
        """Take over a run: its token grows by one and this store becomes the owner.

        Allowed when nobody owns the run, the lease expired, the owner process
        is dead (same host), or this store owns it but handed out no lease that
        is still unreleased. A finished run can be claimed too (the caller then
        only reads its outcome).

        Raises:
            RunNotFoundError: no such run.
            LeaseHeldError: a live owner (possibly this store) holds it.
        """

        def job(conn: sqlite3.Connection, undo: UndoList) -> Lease:
            row = conn.execute(
                "SELECT owner, lease_token, lease_expires FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise RunNotFoundError(run_id)
            owner, token, expires = row
            now = time.time()
            if owner is not None and expires is not None and expires > now:
                if owner == self.owner_id:
                    if run_id in self._held:
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
            return Lease(run_id, self.owner_id, token, expires)

        lease: Lease = await self._write(job)
        return lease

    async def release_lease(self, lease: Lease) -> None:
        """Give a run up so it can be claimed at once; a stale lease is a no-op."""

        def job(conn: sqlite3.Connection, undo: UndoList) -> None:
            conn.execute(
                "UPDATE runs SET owner = NULL, lease_expires = NULL "
                "WHERE run_id = ? AND lease_token = ? AND owner = ?",
                (lease.run_id, lease.token, lease.owner),
            )
            if self._held.get(lease.run_id) == lease.token:
                del self._held[lease.run_id]
                undo.append(lambda: self._restore_hold(lease.run_id, lease.token))

        await self._write(job)

    async def set_failed(self, run_id: str, reason: str) -> None:
        """Mark a run failed with ``reason``, whatever its status; the journal is untouched.

        Raises:
            RunNotFoundError: no such run.
        """

        def job(conn: sqlite3.Connection, undo: UndoList) -> None:
            cur = conn.execute(
                "UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE run_id = ?",
                (FAILED, reason, time.time(), run_id),
            )
            if cur.rowcount == 0:
                raise RunNotFoundError(run_id)

        await self._write(job)

    async def send_to_inbox(
        self, run_id: str, event_type: str, payload: str, codec: str = "json"
    ) -> int:
        """Durably queue an event for a run; committed when this returns.

        Also sets this process's :meth:`inbox_signal` event for the run.

        Raises:
            RunNotFoundError: no such run.
            RunFinishedError: the run has finished.
        """

        def job(conn: sqlite3.Connection, undo: UndoList) -> int:
            row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFoundError(run_id)
            if row[0] in FINISHED_STATUSES:
                raise RunFinishedError(run_id, row[0])
            cur = conn.execute(
                "INSERT INTO inbox (run_id, event_type, payload, codec, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (run_id, event_type, payload, codec, time.time()),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

        inbox_id: int = await self._write(job)
        signal = self._signals.get(run_id)
        if signal is not None:
            signal.set()
        return inbox_id

    def inbox_signal(self, run_id: str) -> asyncio.Event:
        """An ``asyncio.Event`` set when this store sends to ``run_id``'s inbox.

        Keep a reference to it while waiting; clear it before re-reading the
        inbox. Sends from other processes do not set it (poll for those).
        """
        signal = self._signals.get(run_id)
        if signal is None:
            signal = asyncio.Event()
            self._signals[run_id] = signal
        return signal

    # -- reading -----------------------------------------------------------------

    async def read(self, run_id: str, after_seq: int = 0) -> list[JournalEntry]:
        """Entries of a run with ``seq > after_seq``, in order ([] for an unknown run)."""
        rows = await self._read(
            f"SELECT {_ENTRY_COLUMNS} FROM journal WHERE run_id = ? AND seq > ? ORDER BY seq",
            (run_id, after_seq),
        )
        return [JournalEntry(*row) for row in rows]

    async def read_inbox(self, run_id: str) -> list[InboxItem]:
        """Inbox items of a run not yet taken into its journal, oldest first."""
        rows = await self._read(
            "SELECT id, run_id, event_type, payload, codec, created_at FROM inbox "
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


def _run_info(row: Sequence[Any]) -> RunInfo:
    values = list(row)
    values[10] = json.loads(values[10]) if values[10] else []  # waiting_for
    return RunInfo(*values)
