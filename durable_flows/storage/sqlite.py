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
import uuid
import weakref
from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import Any

import aiosqlite

from ..errors import StoreClosedError, StoreError, StoreOpenError, StoreReadOnlyError
from ._discard import discard_sqlite
from ._journal_check import check_journal_file, read_only_uri
from ._sqlite_audit import SqliteAudit
from ._write_jobs import ENTRY_COLUMNS, WriteJobs
from ._writer import JobFn, Writer
from .base import JournalStore, _check_update, delete_in_batches
from .deaths import SqliteDeaths
from .owners import make_owner_id
from .rows import (
    FINISHED_STATUSES,
    InboxItem,
    JournalEntry,
    Lease,
    NewRun,
    RunInfo,
    RunSummary,
    RunUpdate,
)

log = logging.getLogger(__name__)

_RUN_COLUMNS = (
    "run_id, workflow, status, created_at, updated_at, last_seq, owner, lease_token, "
    "lease_expires, fingerprint, waiting_for, outcome, error, parent_run_id, forked_at_seq, "
    "snapshot_seq"
)
_SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")


class SqliteStore(SqliteAudit, SqliteDeaths, JournalStore):
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
        read_only: Only read: the file is opened read-only (never created,
            migrated or changed; a file that is not a durable_flows journal of
            this schema version is refused) and every write raises
            :class:`~durable_flows.errors.StoreReadOnlyError`.
        create: Create the file, or turn an empty or foreign SQLite file into
            a journal, when needed (default). ``False``: only open an existing
            journal (migrating it if it is older).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lease_ttl: float = 30.0,
        synchronous: str = "FULL",
        busy_timeout: float = 30.0,
        read_only: bool = False,
        create: bool = True,
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
        self.read_only = read_only
        self._create = create
        self._writer: Writer | None = None
        self._reader: aiosqlite.Connection | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._open_lock = asyncio.Lock()
        self._closed = False
        # The SQL of each write, and the leases held (touched only by the writer thread).
        self._jobs = WriteJobs(self.owner_id, lease_ttl)
        self._signals: weakref.WeakValueDictionary[str, asyncio.Event] = (
            weakref.WeakValueDictionary()
        )
        self._poller: asyncio.Task[None] | None = None
        #: Seconds between looks for events other processes sent to watched runs.
        self.inbox_poll = 0.25

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
            if self.read_only or not self._create:
                await asyncio.to_thread(check_journal_file, self.path, outdated_ok=not self.read_only)
            if self.read_only:
                self._reader = await self._connect_reader(read_only_uri(self.path), uri=True)
                return
            writer = Writer(
                self.path,
                synchronous=self._synchronous,
                busy_timeout=self._busy_timeout,
                background=self._jobs.indexer,
            )
            await writer.start()
            try:
                reader = await self._connect_reader(self.path)
            except StoreOpenError:
                await writer.stop()
                raise
            self._writer, self._reader = writer, reader
            self._renewer = asyncio.get_running_loop().create_task(
                self._renew_leases(), name=f"durable_flows lease renewal {self.path}"
            )

    async def _connect_reader(self, target: str, uri: bool = False) -> aiosqlite.Connection:
        try:
            pending = aiosqlite.connect(
                target, timeout=self._busy_timeout, isolation_level=None, uri=uri
            )
            # aiosqlite's thread is not a daemon: a store the user forgot to
            # close would hang interpreter exit. It only reads, so it may die.
            with contextlib.suppress(AttributeError, RuntimeError):
                pending._thread.daemon = True
            reader = await pending
            await reader.execute("PRAGMA query_only=ON")
        except sqlite3.Error as exc:
            raise StoreOpenError(self.path, f"cannot open a read connection ({exc})") from exc
        return reader

    async def close(self) -> None:
        """Commit queued writes, release held leases, stop the threads; idempotent."""
        async with self._open_lock:
            if self._closed:
                return
            self._closed = True
            if self._poller is not None:
                self._poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._poller
            if self._renewer is not None:
                self._renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._renewer
            if self._writer is not None and self._jobs.held:
                try:
                    await self._writer.submit(self._jobs.release_all)
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
        if not self.read_only and not os.access(folder, os.W_OK):
            raise StoreOpenError(
                self.path,
                f"directory {folder!r} is not writable (WAL mode creates -wal and -shm files there)",
            )

    async def _write(self, fn: JobFn[Any]) -> Any:
        if self.read_only:
            raise StoreReadOnlyError(self.path)
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
            if not self._jobs.held or self._writer is None:
                continue
            try:
                await self._writer.submit(self._jobs.renew)
            except StoreClosedError:
                return
            except Exception:  # keep renewing: the leases may still hold next round
                log.exception("%s: lease renewal failed", self.path)

    # -- writing -----------------------------------------------------------------

    async def create_run(self, run: NewRun, entries: Sequence[JournalEntry]) -> Lease:
        """Create a run owned by this store (token 1) with its first entries.

        Entries must be numbered 1, 2, ... Nothing is written if any check fails.

        Raises:
            RunExistsError: a run with that id exists (it is left untouched).
            JournalSeqError: the entries are not numbered from 1 without gaps.
        """
        job = partial(self._jobs.create_run, run=run, entries=tuple(entries))
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
        Cancelling the call does not withdraw the append: it may still commit.

        Raises:
            StaleLeaseError: the lease's token is no longer the run's.
            RunNotFoundError: no such run.
            JournalSeqError: an entry's seq is a duplicate or leaves a gap.
            InboxConsumeError: an inbox id is not a pending item of this run.
            StoreWriteError: the transaction failed (e.g. locked past busy_timeout).
            (In every case nothing at all is written.)
        """
        _check_update(update)
        job = partial(
            self._jobs.append,
            lease=lease,
            entries=tuple(entries),
            update=update,
            inbox_ids=list(consumed_inbox),
        )
        await self._write(job)

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
        lease: Lease = await self._write(partial(self._jobs.claim, run_id=run_id))
        return lease

    @property
    def _held_leases(self) -> dict[str, int]:
        return self._jobs.held

    async def release_lease(self, lease: Lease) -> None:
        """Give a run up so it can be claimed at once; a stale lease is a no-op."""
        await self._write(partial(self._jobs.release, lease=lease))

    async def set_failed(self, run_id: str, reason: str) -> None:
        """Mark a run failed with ``reason``, whatever its status; the journal is untouched.

        Raises:
            RunNotFoundError: no such run.
        """
        await self._write(partial(self._jobs.set_failed, run_id=run_id, reason=reason))

    async def fork(self, run_id: str, at_seq: int, new_id: str | None = None) -> str:
        """See :meth:`JournalStore.fork`; one transaction copies the prefix in SQL."""
        new_id = new_id or uuid.uuid4().hex
        job = partial(self._jobs.fork, run_id=run_id, at_seq=at_seq, new_id=new_id)
        await self._write(job)
        return new_id

    async def delete_runs(
        self,
        finished_before: float,
        dry_run: bool = False,
        *,
        batch_size: int = 100,
        progress: Callable[[int, int], None] | None = None,
        only: Collection[str] | None = None,
    ) -> list[str]:
        """See :meth:`JournalStore.delete_runs`; one writer job per ``batch_size`` runs."""
        rows = await self._read(
            "SELECT run_id FROM runs WHERE status IN (SELECT value FROM json_each(?)) "
            "AND updated_at < ? ORDER BY updated_at, run_id",
            (json.dumps(sorted(FINISHED_STATUSES)), finished_before),
        )
        candidates = [row[0] for row in rows]
        if only is not None:
            candidates = [run_id for run_id in candidates if run_id in only]
        if dry_run:
            return candidates

        async def delete(chunk: list[str]) -> list[str]:
            return await self._write(
                partial(self._jobs.delete_runs, run_ids=chunk, finished_before=finished_before)
            )

        return await delete_in_batches(candidates, batch_size, delete, progress)

    async def send_to_inbox(
        self,
        run_id: str,
        event_type: str,
        payload: str,
        codec: str = "json",
        origin: str | None = None,
    ) -> int:
        """Durably queue an event for a run; committed when this returns.

        Also sets this process's :meth:`inbox_signal` event for the run.

        Raises:
            RunNotFoundError: no such run.
            RunFinishedError: the run has finished.
        """
        job = partial(
            self._jobs.send_to_inbox,
            run_id=run_id,
            event_type=event_type,
            payload=payload,
            codec=codec,
            origin=origin,
        )
        inbox_id: int = await self._write(job)
        signal = self._signals.get(run_id)
        if signal is not None:
            signal.set()
        return inbox_id

    async def discard_inbox(self, lease: Lease, inbox_ids: Sequence[int]) -> list[int]:
        """See :meth:`JournalStore.discard_inbox`."""
        dropped: list[int] = await self._write(partial(discard_sqlite, lease=lease, inbox_ids=list(inbox_ids)))
        return dropped

    def inbox_signal(self, run_id: str) -> asyncio.Event:
        """An ``asyncio.Event`` set when ``run_id``'s inbox has something new.

        Set at once by sends through this store object; sends from other
        processes are found by one poller per store (one query every
        ``inbox_poll`` seconds for all runs that hold a signal, however many).
        Keep a reference to it while waiting; clear it before re-reading the inbox.
        """
        signal = self._signals.get(run_id)
        if signal is None:
            signal = asyncio.Event()
            self._signals[run_id] = signal
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll_inbox())
        return signal

    async def _poll_inbox(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.inbox_poll)
            watched = list(self._signals.keys())
            if not watched or self._closed:
                continue
            try:
                rows = await self._read(
                    "SELECT DISTINCT run_id FROM inbox WHERE consumed_seq IS NULL "
                    "AND run_id IN (SELECT value FROM json_each(?))",
                    (json.dumps(watched),),
                )
            except Exception as exc:  # noqa: BLE001 - a failed poll is retried next time
                log.debug("%s: inbox poll failed: %s", self.path, exc)
                continue
            for (run_id,) in rows:
                signal = self._signals.get(run_id)
                if signal is not None:
                    signal.set()

    # -- reading -----------------------------------------------------------------

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
