"""The default journal store: one SQLite file in WAL mode.

Writes go through one writer thread that commits queued jobs in batches (see
``writer.py``); reads use a separate aiosqlite connection, which in WAL mode
sees a consistent snapshot and never waits behind the writer. Several store
objects, in one process or many, may share a file: each write transaction
starts with ``BEGIN IMMEDIATE`` and waits up to ``busy_timeout`` for the lock.

This module holds the store's lifecycle (open, pragmas via the writer, lease
renewal, close) and its writes; the read queries are in ``reads.py``, the
inbox and its signal in ``inbox.py``, the audit methods in ``audit.py``.
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

from ...errors import StoreClosedError, StoreError, StoreOpenError, StoreReadOnlyError
from ..base import JournalStore
from ..deaths import SqliteDeaths
from ..owners import make_owner_id
from ..rows import (
    FINISHED_STATUSES,
    JournalEntry,
    Lease,
    NewRun,
    RunUpdate,
)
from ..store_helpers import check_update, delete_in_batches
from .audit import SqliteAudit
from .inbox import SqliteInbox
from .jobs import WriteJobs
from .journal_check import check_journal_file, read_only_uri
from .reads import SqliteReads
from .writer import JobFn, Writer

log = logging.getLogger(__name__)

_SYNCHRONOUS = ("FULL", "NORMAL", "EXTRA")


class SqliteStore(SqliteReads, SqliteInbox, SqliteAudit, SqliteDeaths, JournalStore):
    """A :class:`JournalStore` on one SQLite file.

    The store opens lazily: every method opens it on first use, so it can be
    handed around unopened. It is bound to the event loop that opened it. While
    open it renews the leases it holds every ``lease_ttl / 3`` seconds, and
    :meth:`close` releases them so another process can claim those runs at once.

    Args:
        path: The database file; created (with the schema) if missing.
        lease_ttl: Seconds a lease lasts without renewal.
        synchronous: ``"FULL"`` (default): everything acknowledged to a
            caller (a returned result or run id, a sent event, a lease) is on
            disk first, but the engine may start a step once the record that
            starts it is written to the WAL, before the fsync (a power loss
            then re-runs steps after the last sync, as a crash re-runs steps in
            flight; a process crash loses nothing written). ``"EXTRA"``: every
            commit is fsynced before anything acts on it, steps included
            (slower for sequential runs). ``"NORMAL"``: nothing waits for the
            disk; a power loss may lose the last commits, acknowledged or not
            (never on a process crash).
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

    async def _write(self, fn: JobFn[Any], durable: bool = True, inline: bool = False) -> Any:
        if self.read_only:
            raise StoreReadOnlyError(self.path)
        if self._writer is None or self._closed:
            await self.open()
        assert self._writer is not None
        return await self._writer.submit(fn, durable, inline)

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

    async def create_run(
        self, run: NewRun, entries: Sequence[JournalEntry], *, durable: bool = True
    ) -> Lease:
        """Create a run owned by this store (token 1) with its first entries.

        Entries must be numbered 1, 2, ... Nothing is written if any check fails.
        ``durable``: as for :meth:`append`.

        Raises:
            RunExistsError: a run with that id exists (it is left untouched).
            JournalSeqError: the entries are not numbered from 1 without gaps.
        """
        job = partial(self._jobs.create_run, run=run, entries=tuple(entries))
        lease: Lease = await self._write(job, durable, inline=True)
        return lease

    async def append(
        self,
        lease: Lease,
        entries: Sequence[JournalEntry],
        update: RunUpdate | None = None,
        consumed_inbox: Sequence[int] = (),
        *,
        durable: bool = True,
    ) -> None:
        """Append entries (numbered on from the run's ``last_seq``); durable on return.

        ``durable=False``: return once the entries are committed to the WAL
        (ordered before every later write, safe from a process crash), perhaps
        before they are synced to disk (at ``synchronous="FULL"``).

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
        check_update(update)
        job = partial(
            self._jobs.append,
            lease=lease,
            entries=tuple(entries),
            update=update,
            inbox_ids=list(consumed_inbox),
        )
        await self._write(job, durable, inline=True)

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
