"""A journal store on PostgreSQL, for workers on many machines sharing one journal.

Same protocol, same contract tests and same guarantees as
:class:`~..sqlite.SqliteStore`; only the database differs. One store object
keeps three things open on the server:

- one *write* connection, on which a writer task commits queued writes in
  batches (group commit, see ``writer.py``);
- a small pool of *read* connections (reads never wait behind the writer);
- one *LISTEN* connection, through which sends and new runs wake the process
  that owns a run, or an idle worker, whichever machine they came from
  (``notify.py``).

Install the driver with ``pip install durable_flows[postgres]`` (asyncpg).

This module holds the store's settings and writes; opening, closing and the
query doors are in ``connection.py``, the inbox and the signals in
``inbox.py``, the reads in ``reads.py``, the audit methods in ``audit.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import Any

try:
    import asyncpg  # noqa: F401 - fail here, with the hint, before the modules that use it
except ImportError as exc:  # pragma: no cover - exercised through open_store
    raise ImportError(
        "PostgresStore needs the asyncpg driver: pip install durable_flows[postgres]"
    ) from exc

from ...errors import StoreReadOnlyError
from .._pg_url import redact, split_schema
from ..base import JournalStore
from ..deaths import PgDeaths
from ..owners import make_owner_id
from ..rows import FINISHED_STATUSES, JournalEntry, Lease, NewRun, RunUpdate
from ..store_helpers import check_update, delete_in_batches
from .appends import AppendItem
from .audit import PgAudit
from .connection import PgConnection
from .inbox import PgInbox
from .jobs import PgJobs
from .notify import Notifier
from .reads import PgReads
from .writer import PgWriter


class PostgresStore(PgConnection, PgInbox, PgAudit, PgDeaths, PgReads, JournalStore):
    """A :class:`JournalStore` on a PostgreSQL database (9.5+; tested on 15).

    The store opens lazily: every method opens it on first use, creating the
    schema's tables if needed. It is bound to the event loop that opened it.
    While open it renews the leases it holds every ``lease_ttl / 3`` seconds,
    and :meth:`close` releases them so another worker can claim those runs at
    once. Lease expiry is judged by the database server's clock.

    Args:
        dsn: ``postgresql://user[:password]@host[:port]/database[?options]``
            (``postgres://`` too). A ``schema=NAME`` option is taken out of
            the URL and used as ``schema``; other options go to asyncpg
            (``sslmode=require``, or server settings).
        lease_ttl: Seconds a lease lasts without renewal.
        schema: Keep the journal in this schema (created if missing) instead
            of the connection's default (``public``); many journals can then
            share one database.
        lock_timeout: Seconds a write waits for a row lock held by another
            session before it fails with
            :class:`~durable_flows.errors.StoreWriteError`.
        pool_size: Most read connections open at once.
        max_batch: Most writes committed in one transaction.
        read_only: Only read: no migration, no writer, read-only sessions; a
            schema without a journal of this version is refused and every
            write raises :class:`~durable_flows.errors.StoreReadOnlyError`.
        create_schema: Create a missing schema and the journal's tables
            (default). ``False``: only open an existing journal (migrating it).
        **connect_options: Passed on to ``asyncpg.connect`` (``ssl``,
            ``password``, ``server_settings``, ``statement_cache_size=0``
            behind PgBouncer in transaction mode, ...).
    """

    def __init__(
        self,
        dsn: str,
        *,
        lease_ttl: float = 30.0,
        schema: str | None = None,
        lock_timeout: float = 30.0,
        pool_size: int = 8,
        max_batch: int = 500,
        read_only: bool = False,
        create_schema: bool = True,
        **connect_options: Any,
    ) -> None:
        if lease_ttl <= 0:
            raise ValueError(f"lease_ttl must be positive, not {lease_ttl!r}")
        if lock_timeout <= 0:
            raise ValueError(f"lock_timeout must be positive, not {lock_timeout!r}")
        if pool_size < 1 or max_batch < 1:
            raise ValueError("pool_size and max_batch must be at least 1")
        dsn, url_schema = split_schema(dsn)
        self.dsn = dsn
        self.schema = schema or url_schema
        self.path = redact(dsn) + (f"?schema={self.schema}" if self.schema else "")
        self.lease_ttl = lease_ttl
        self.owner_id = make_owner_id()
        self._lock_timeout = lock_timeout
        self._pool_size = pool_size
        self._max_batch = max_batch
        self.read_only = read_only
        self._create_schema = create_schema
        self._connect_options = connect_options
        self._writer: PgWriter | None = None
        self._pool: Any = None
        self._renewer: asyncio.Task[None] | None = None
        self._open_lock = asyncio.Lock()
        self._closed = False
        # The SQL of each write and the leases held; the NOTIFY channels depend
        # on the schema, known for sure only once connected.
        self._jobs = PgJobs(self.owner_id, lease_ttl, "", "")
        self._notifier = Notifier(self._connect, "", "", self.path)

    def __repr__(self) -> str:
        return f"PostgresStore({self.path!r})"

    # -- writing -----------------------------------------------------------------

    async def create_run(
        self, run: NewRun, entries: Sequence[JournalEntry], *, durable: bool = True
    ) -> Lease:
        """Create a run owned by this store (token 1) with its first entries.

        Entries must be numbered 1, 2, ... Nothing is written if any check
        fails. Notifies the runs channel (see :meth:`run_signal`).

        Raises:
            RunExistsError: a run with that id exists (it is left untouched).
            JournalSeqError: the entries are not numbered from 1 without gaps.
        """
        job = partial(self._jobs.create_run, run=run, entries=tuple(entries))
        lease: Lease = await self._write(job)
        self._notifier.runs_changed()
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
        """Append entries (numbered on from the run's ``last_seq``); durable on return
        (whatever ``durable`` says: every COMMIT here waits for the server's flush).

        Same contract as :meth:`SqliteStore.append <.sqlite.SqliteStore.append>`:
        the row's ``last_seq``, ``updated_at`` and lease expiry move with it,
        ``update``'s non-None fields are set, ``consumed_inbox`` items get the
        seq of the last entry. Cancelling the call does not withdraw the append.

        Raises:
            StaleLeaseError: the lease's token is no longer the run's.
            RunNotFoundError: no such run.
            JournalSeqError: an entry's seq is a duplicate or leaves a gap.
            InboxConsumeError: an inbox id is not a pending item of this run.
            StoreWriteError: the transaction failed (e.g. a lock held past
                ``lock_timeout``, the server went away).
            (In every case nothing at all is written.)
        """
        check_update(update)
        item = AppendItem(lease, tuple(entries), update, list(consumed_inbox))
        if self.read_only:
            raise StoreReadOnlyError(self.path)
        if self._writer is None or self._closed:
            await self.open()
        assert self._writer is not None
        await self._writer.submit_grouped(self._jobs.append_many, item)

    async def claim_lease(self, run_id: str) -> Lease:
        """Take over a run: its token grows by one and this store becomes the owner.

        Allowed when nobody owns the run, the lease expired (server clock),
        the owner process is dead (same host), or this store owns it but
        handed out no lease that is still unreleased. A finished run can be
        claimed too (the caller then only reads its outcome).

        Raises:
            RunNotFoundError: no such run.
            LeaseHeldError: a live owner (possibly this store) holds it.
        """
        lease: Lease = await self._write(partial(self._jobs.claim, run_id=run_id))
        return lease

    async def claim_runs(self, workflows: Sequence[str], limit: int) -> list[tuple[Lease, str]]:
        """Claim up to ``limit`` runs that no live process executes, for a worker.

        Candidates are active runs of ``workflows`` (stored names) whose lease
        is free, expired or held by a dead process on this host, oldest first;
        a waiting run that its owner released only once its inbox has items
        (one whose owner died or lapsed at once: it may have died mid-step).
        Rows that
        another worker is claiming at this moment are skipped (``FOR UPDATE
        SKIP LOCKED``), so many workers can claim at once without waiting on
        each other or taking a run twice.

        Returns:
            ``(lease, workflow name)`` pairs, oldest run first.
        """
        if limit < 1 or not workflows:
            return []
        job = partial(self._jobs.claim_runs, workflows=list(workflows), limit=limit)
        claimed: list[tuple[Lease, str]] = await self._write(job)
        return claimed

    @property
    def _held_leases(self) -> dict[str, int]:
        return self._jobs.held

    async def release_lease(self, lease: Lease) -> None:
        """Give a run up so it can be claimed at once; a stale lease is a no-op.

        Releasing an active run notifies the runs channel (idle workers wake).
        """
        await self._write(partial(self._jobs.release, lease=lease))
        self._notifier.runs_changed()

    async def set_failed(self, run_id: str, reason: str) -> None:
        """Mark a run failed with ``reason``, whatever its status; the journal is untouched.

        Raises:
            RunNotFoundError: no such run.
        """
        await self._write(partial(self._jobs.set_failed, run_id=run_id, reason=reason))

    async def fork(self, run_id: str, at_seq: int, new_id: str | None = None) -> str:
        """See :meth:`JournalStore.fork`; one transaction copies the prefix in SQL."""
        new_id = new_id or uuid.uuid4().hex
        await self._write(partial(self._jobs.fork, run_id=run_id, at_seq=at_seq, new_id=new_id))
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
        rows = await self._fetch(
            "SELECT run_id FROM runs WHERE status = ANY($1::text[]) AND updated_at < $2 "
            'ORDER BY updated_at, run_id COLLATE "C"',
            sorted(FINISHED_STATUSES),
            finished_before,
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
