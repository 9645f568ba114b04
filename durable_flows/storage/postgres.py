"""A journal store on PostgreSQL, for workers on many machines sharing one journal.

Same protocol, same contract tests and same guarantees as
:class:`~.sqlite.SqliteStore`; only the database differs. One store object
keeps three things open on the server:

- one *write* connection, on which a writer task commits queued writes in
  batches (group commit, see ``_pg_writer.py``);
- a small pool of *read* connections (reads never wait behind the writer);
- one *LISTEN* connection, through which sends and new runs wake the process
  that owns a run, or an idle worker, whichever machine they came from
  (``_pg_notify.py``).

Install the driver with ``pip install durable_flows[postgres]`` (asyncpg).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import Any

try:
    import asyncpg
except ImportError as exc:  # pragma: no cover - exercised through open_store
    raise ImportError(
        "PostgresStore needs the asyncpg driver: pip install durable_flows[postgres]"
    ) from exc

from ..errors import StoreClosedError, StoreError, StoreOpenError, StoreReadOnlyError
from ._discard import discard_pg
from ._pg_audit import PgAudit
from ._pg_jobs import AppendItem, PgJobs
from ._pg_migrate import apply_pg_migrations, check_pg_journal, quote_ident
from ._pg_notify import Notifier, channel_name
from ._pg_reads import PgReads
from ._pg_url import first_schema, redact, split_schema
from ._pg_writer import JobFn, PgWriter
from .base import JournalStore, _check_update, delete_in_batches
from .deaths import PgDeaths
from .owners import make_owner_id
from .rows import FINISHED_STATUSES, JournalEntry, Lease, NewRun, RunUpdate

log = logging.getLogger(__name__)

_OPEN_HINT = (
    "Check that the PostgreSQL server is running and reachable at this address, that "
    "the database exists and the user may create tables in the schema, or point "
    "DURABLE_FLOWS_DB / store= at another database."
)


class PostgresStore(PgAudit, PgDeaths, PgReads, JournalStore):
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

    # -- lifecycle ---------------------------------------------------------------

    async def open(self) -> None:
        """Connect, create or migrate the schema, start listening; idempotent.

        Raises:
            StoreOpenError: the server is unreachable, the database is missing,
                the login is refused, or a migration failed.
            SchemaVersionError: the schema was written by a newer durable_flows.
            StoreClosedError: the store was closed.
        """
        if self._pool is not None and not self._closed:
            return
        async with self._open_lock:
            if self._closed:
                raise StoreClosedError(self.path)
            if self._pool is not None:
                return
            opened: list[Any] = []
            try:
                await self._open(opened)
            except BaseException as exc:
                for thing in reversed(opened):
                    with contextlib.suppress(Exception):
                        await thing()
                self._writer = self._pool = None
                if isinstance(exc, (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
                    raise StoreOpenError(self.path, _describe(exc), _OPEN_HINT) from exc
                if isinstance(exc, asyncio.TimeoutError):
                    raise StoreOpenError(self.path, "connecting timed out", _OPEN_HINT) from exc
                raise

    async def _open(self, opened: list[Any]) -> None:
        conn = await self._connect(write=not self.read_only)
        opened.append(conn.close)
        schema, create = self.schema, self.schema is not None
        if schema is None:
            schema = await conn.fetchval("SELECT current_schema()")
        if schema is None:
            # The search_path (e.g. ``?options=-csearch_path%3Dname`` in the
            # URL) names a schema that does not exist yet: create its first.
            schema, create = first_schema(await conn.fetchval("SHOW search_path")), True
        if schema is None:
            raise StoreOpenError(
                self.path,
                "the connection's search_path names no schema to keep the journal in",
                "Pass schema=NAME (or ?schema=NAME in the URL) to choose one.",
            )
        if self.read_only or not self._create_schema:
            await check_pg_journal(conn, schema, self.path, outdated_ok=not self.read_only)
            create = False
        if self.read_only:
            await conn.close()
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=1, max_size=self._pool_size, **self._connect_args(write=False)
            )
            return
        await apply_pg_migrations(conn, schema, create, self.path)
        inbox_channel = channel_name(schema, "inbox")
        runs_channel = channel_name(schema, "runs")
        self._notifier.inbox_channel = self._jobs.inbox_channel = inbox_channel
        self._notifier.runs_channel = self._jobs.runs_channel = runs_channel
        await self._notifier.start()
        opened.append(self._notifier.stop)
        pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self._pool_size, **self._connect_args(write=False)
        )
        opened.append(pool.close)
        writer = PgWriter(partial(self._connect, write=True), self.path, self._max_batch)
        await writer.start(conn)
        self._writer, self._pool = writer, pool
        self._renewer = asyncio.get_running_loop().create_task(
            self._renew_leases(), name=f"durable_flows lease renewal {self.path}"
        )

    def _connect_args(self, write: bool) -> dict[str, Any]:
        options = dict(self._connect_options)
        # Operators see in pg_stat_activity which worker holds which connection.
        name = f"durable_flows {self.owner_id}"[:63]
        settings = {"application_name": name, **options.pop("server_settings", {})}
        if self.schema is not None:
            settings["search_path"] = quote_ident(self.schema)
        if self.read_only:
            settings["default_transaction_read_only"] = "on"
        if write:
            settings["lock_timeout"] = f"{max(1, int(self._lock_timeout * 1000))}ms"
        return {"server_settings": settings, **options}

    async def _connect(self, write: bool = False) -> Any:
        return await asyncpg.connect(self.dsn, **self._connect_args(write))

    async def close(self) -> None:
        """Commit queued writes, release held leases, close the connections; idempotent."""
        async with self._open_lock:
            if self._closed:
                return
            self._closed = True
            if self._renewer is not None:
                self._renewer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._renewer
            writer, jobs = self._writer, self._jobs
            if writer is not None and jobs.held:
                try:
                    await writer.submit(jobs.release_all)
                except StoreError as exc:
                    log.warning("%s: could not release leases on close: %s", self.path, exc)
            if writer is not None:
                await writer.stop()
            await self._notifier.stop()
            if self._pool is not None:
                try:
                    await asyncio.wait_for(self._pool.close(), 5)
                except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closing anyway
                    self._pool.terminate()

    async def _write(self, fn: JobFn[Any]) -> Any:
        if self.read_only:
            raise StoreReadOnlyError(self.path)
        if self._writer is None or self._closed:
            await self.open()
        assert self._writer is not None
        return await self._writer.submit(fn)

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        if self._pool is None or self._closed:
            await self.open()
        for attempt in (1, 2):
            try:
                return list(await self._pool.fetch(sql, *args))
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                if self._closed:
                    raise StoreClosedError(self.path) from exc
                lost = isinstance(exc, (asyncpg.InterfaceError, OSError)) or (
                    isinstance(exc, asyncpg.PostgresError) and exc.sqlstate.startswith("57P")
                )
                if lost and attempt == 1:
                    continue  # the pool opens a new connection in its place; reads repeat safely
                raise StoreError(
                    f"journal database {self.path!r}: read failed ({_describe(exc)}); "
                    "check that the PostgreSQL server is up and reachable, then retry."
                ) from exc
        raise AssertionError("unreachable")

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            writer, jobs = self._writer, self._jobs
            if writer is None or not jobs.held:
                continue
            try:
                await writer.submit(jobs.renew)
            except StoreClosedError:
                return
            except Exception:  # keep renewing: the leases may still hold next round
                log.exception("%s: lease renewal failed", self.path)

    # -- writing -----------------------------------------------------------------

    async def create_run(self, run: NewRun, entries: Sequence[JournalEntry]) -> Lease:
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
    ) -> None:
        """Append entries (numbered on from the run's ``last_seq``); durable on return.

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
        _check_update(update)
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

    async def discard_inbox(self, lease: Lease, inbox_ids: Sequence[int]) -> list[int]:
        """See :meth:`JournalStore.discard_inbox`."""
        dropped: list[int] = await self._write(partial(discard_pg, lease=lease, inbox_ids=list(inbox_ids)))
        return dropped

    async def send_to_inbox(
        self,
        run_id: str,
        event_type: str,
        payload: str,
        codec: str = "json",
        origin: str | None = None,
    ) -> int:
        """Durably queue an event for a run; committed when this returns.

        NOTIFYs the inbox channel with the run id, which sets the
        :meth:`inbox_signal` of every store listening on this schema, in any
        process; this process's signal is set at once.

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
        self._notifier.inbox_sent(run_id)
        return inbox_id

    def inbox_signal(self, run_id: str) -> asyncio.Event:
        """An ``asyncio.Event`` set when ``run_id`` is sent an event, by any process.

        Cross-process sends arrive through LISTEN/NOTIFY (once the store is
        open). Keep a reference to the event while waiting, and clear it
        before re-reading the inbox; treat it as a hint and read the store.
        """
        return self._notifier.inbox_signal(run_id)

    def run_signal(self) -> asyncio.Event:
        """An ``asyncio.Event`` set when a run may have become claimable, by any process.

        Set by every committed ``create_run``, release of an active run,
        fork, and inbox send on this schema (through LISTEN/NOTIFY on the
        channels ``<schema>.durable_flows_runs`` and
        ``<schema>.durable_flows_inbox``, payload: the run id). A worker
        waits on it between looks for work (:meth:`claim_runs`), clears it,
        then looks; it still polls now and then, since an expired lease of a
        crashed process notifies nobody. One event per store object.
        """
        return self._notifier.run_signal()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
