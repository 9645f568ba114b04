"""The writer thread behind :class:`~.store.SqliteStore`: group commit.

Every write is a *job*: a function run in this thread with the one write
connection. The thread takes the first queued job, drains whatever else is
queued (up to ``max_batch``), and runs them all in one ``BEGIN IMMEDIATE ...
COMMIT``. A job that raises (stale token, duplicate run id) loses only its own
statements and gets its exception, while the others commit: the batch is then
run again with each job inside its own SAVEPOINT (see ``Writer._run_batch``). Callers' futures are settled on their event
loop only after COMMIT returned, with one ``call_soon_threadsafe`` per batch:
throughput comes from sharing one fsync and one thread hop among many callers,
never from reporting a write before it is durable.

At ``synchronous=FULL`` the fsync is not part of COMMIT: the connection runs at
SQLite's NORMAL and a :class:`~.syncer.Syncer` thread syncs the WAL file while
the next batches commit. A job submitted with ``durable=False`` is settled at
COMMIT (written, ordered, safe from a process crash); every other job only once
a sync covered its batch. At ``EXTRA`` every COMMIT syncs inside SQLite before
any job is settled; at ``NORMAL`` nothing waits for the disk.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from ...errors import DurableFlowsError, StoreClosedError, StoreOpenError, StoreWriteError
from ..migrate import apply_migrations
from .syncer import Syncer

T = TypeVar("T")

_log = logging.getLogger(__name__)

#: Seconds the queue must stay empty before the writer does background work.
IDLE_WAIT = 0.05


class BackgroundWork(Protocol):
    """Work the writer does between jobs, in transactions of its own (the search index)."""

    def due(self, idle: bool) -> bool:
        """Whether to run now; ``idle``: the queue has been empty for IDLE_WAIT."""

    def run(self, conn: sqlite3.Connection, idle: bool) -> None:
        """Do one bounded piece of the work (a transaction is open); if it raises,
        it must not be due again at once (the writer only logs the error)."""

#: Undo actions a job registers for in-memory changes it made (run in this
#: thread if the job's writes are rolled back: its own failure, its batch's
#: first pass run again, or the whole batch failing).
UndoList = list[Callable[[], None]]
JobFn = Callable[[sqlite3.Connection, UndoList], T]


class _Job(Generic[T]):
    __slots__ = ("fn", "future", "durable")

    def __init__(self, fn: JobFn[T], future: asyncio.Future[T], durable: bool) -> None:
        self.fn = fn
        self.future = future
        self.durable = durable


class _Stop:
    __slots__ = ("done",)

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done


class _BatchAborted(Exception):
    """SQLite rolled the whole transaction back (I/O error, disk full, ...)."""


def open_write_connection(path: str, synchronous: str, busy_timeout: float) -> sqlite3.Connection:
    """Connect, migrate, then switch to WAL with SQLite's ``synchronous`` level.

    Migrations run before WAL is switched on so that a database we refuse
    (not SQLite, or newer than this code) is left byte-for-byte unchanged.
    """
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreOpenError(path, str(exc)) from exc
    try:
        apply_migrations(conn, path)
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreOpenError(path, f"cannot switch to WAL journal mode (got {mode!r})")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        conn.close()
        raise StoreOpenError(path, str(exc)) from exc
    except BaseException:
        conn.close()
        raise
    return conn


class Writer:
    """One thread, one connection, batches of jobs per transaction.

    ``submit`` and ``start``/``stop`` must be called from the event loop that
    ``start`` ran on; jobs and their undo actions run only in the thread.
    """

    def __init__(
        self,
        path: str,
        *,
        synchronous: str,
        busy_timeout: float,
        max_batch: int = 500,
        background: BackgroundWork | None = None,
    ) -> None:
        self.path = path
        self._background = background
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job[Any] | _Stop] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        #: Transactions committed; tests use it to prove batching.
        self._commits = 0
        #: FULL: durable jobs wait for this thread's fsync of the WAL (see syncer.py).
        self.syncer: Syncer | None = None
        if synchronous == "FULL":
            self.syncer = Syncer(path, lambda outcomes: self._call(_settle, outcomes))

    async def start(self) -> None:
        """Start the thread; returns once the database is open and migrated.

        Raises:
            StoreOpenError, SchemaVersionError: the database cannot be used.
        """
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._main, args=(ready,), name="durable_flows-writer", daemon=True
        )
        self._thread.start()
        try:
            await ready
        except BaseException:
            # Open failed (the thread has ended) or we were cancelled (the
            # thread may still open): a stop marker ends it either way.
            self._stopping = True
            self._queue.put(_Stop(self._loop.create_future()))
            raise

    def submit(self, fn: JobFn[T], durable: bool = True) -> asyncio.Future[T]:
        """Queue a job; the future settles after the batch holding it committed.

        ``durable``: settle only once the batch is on disk (FULL: after the
        sync thread's fsync); ``False``: once committed (written to the WAL,
        before later writes; lost only with the batches after it on power loss).
        Cancelling the future does not withdraw the job: it may still commit.
        """
        if self._stopping or self._loop is None:
            raise StoreClosedError(self.path)
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError(
                f"journal store {self.path!r} was opened on another event loop; "
                "a store is bound to the loop that opened it"
            )
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.put(_Job(fn, future, durable))
        return future

    async def stop(self) -> None:
        """Commit everything queued, then close the connection and end the thread."""
        if self._stopping or self._loop is None or self._thread is None:
            return
        self._stopping = True
        done: asyncio.Future[None] = self._loop.create_future()
        self._queue.put(_Stop(done))
        await done
        await asyncio.to_thread(self._thread.join)

    # -- writer thread ------------------------------------------------------------

    def _call(self, fn: Callable[..., object], *args: object) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop was closed without closing the store
            pass

    def _main(self, ready: asyncio.Future[None]) -> None:
        try:
            # FULL: commits at SQLite's NORMAL, the fsync is the sync thread's.
            level = "NORMAL" if self.syncer is not None else self._synchronous
            conn = open_write_connection(self.path, level, self._busy_timeout)
        except BaseException as exc:
            self._call(_settle, [(ready, False, exc)])
            return
        if self.syncer is not None:
            self.syncer.start()
        self._call(_settle, [(ready, True, None)])
        try:
            self._serve(conn)
        finally:
            if self.syncer is not None:
                self.syncer.stop()
            conn.close()

    def _serve(self, conn: sqlite3.Connection) -> None:
        while True:
            waits = self._background is not None and self._background.due(idle=True)
            try:
                item = self._queue.get(timeout=IDLE_WAIT if waits else None)
            except queue.Empty:
                self._run_background(conn, idle=True)
                continue
            batch: list[_Job[Any]] = []
            stop: _Stop | None = None
            while True:
                if isinstance(item, _Stop):
                    stop = item
                    break
                batch.append(item)
                if len(batch) >= self._max_batch:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit_batch(conn, batch)
                self._run_background(conn, idle=False)
            if stop is not None:
                self._run_background(conn, idle=True)
                if self.syncer is not None:
                    self.syncer.stop()  # the last sync, then its jobs are settled
                conn.close()
                self._call(_settle, [(stop.done, True, None)])
                return

    def _commit_batch(self, conn: sqlite3.Connection, batch: list[_Job[Any]]) -> None:
        """Run ``batch``; settle its jobs now, or (FULL, durable jobs) once synced."""
        syncer = self.syncer
        if syncer is None:
            self._call(_settle, self._run_batch(conn, batch))
            return
        if syncer.error is not None:
            self._call(_settle, [(job.future, False, syncer.error) for job in batch])
            return
        outcomes = self._run_batch(conn, batch)
        now: list[tuple[asyncio.Future[Any], bool, Any]] = []
        later: list[tuple[asyncio.Future[Any], bool, Any]] = []
        for job, outcome in zip(batch, outcomes, strict=True):
            # A failed job wrote nothing: its error needs no sync.
            (later if job.durable and outcome[1] else now).append(outcome)
        if now:
            self._call(_settle, now)
        syncer.committed(later)

    def _run_background(self, conn: sqlite3.Connection, idle: bool) -> None:
        """Run the background work if it is due, in its own transaction.

        It never fails a caller: an error rolls it back and is logged, and the
        work stays due (it is retried later).
        """
        if self._background is None or not self._background.due(idle):
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._background.run(conn, idle)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            # run() set its own retry time before failing: no tight loop.
            _log.warning("durable_flows: background work on %s failed: %s", self.path, exc)

    def _run_batch(
        self, conn: sqlite3.Connection, batch: list[_Job[Any]]
    ) -> list[tuple[asyncio.Future[Any], bool, Any]]:
        """Run ``batch`` in one transaction; the outcome of each job, once committed.

        Jobs rarely fail, so the batch first runs without savepoints (each
        costs two statements per job, and every statement is a GIL hand-off
        between this thread and the event loop). If a job raises, that whole
        transaction is rolled back and undone, and the batch runs again with a
        SAVEPOINT per job, so that only the failing jobs' writes are lost.
        """
        outcomes = self._run_jobs(conn, batch, isolate=False)
        if outcomes is None:
            outcomes = self._run_jobs(conn, batch, isolate=True)
        assert outcomes is not None
        return outcomes

    def _run_jobs(
        self, conn: sqlite3.Connection, batch: list[_Job[Any]], isolate: bool
    ) -> list[tuple[asyncio.Future[Any], bool, Any]] | None:
        """One transaction over ``batch``; None: a job failed and ``isolate`` is off
        (everything was rolled back and undone: run the batch again isolated)."""
        outcomes: list[tuple[asyncio.Future[Any], bool, Any]] = []
        undos: list[UndoList] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            error = StoreWriteError(self.path, str(exc))
            error.__cause__ = exc
            return [(job.future, False, error) for job in batch]
        # One job alone needs no savepoint: its failure rolls back the transaction.
        savepoints = isolate and len(batch) > 1
        try:
            for job in batch:
                undo: UndoList = []
                if savepoints:
                    conn.execute("SAVEPOINT job")
                try:
                    value = job.fn(conn, undo)
                except Exception as exc:
                    _run_undo(undo)
                    if not conn.in_transaction:
                        raise _BatchAborted(str(exc)) from exc
                    if not savepoints:
                        conn.execute("ROLLBACK")
                        for earlier in reversed(undos):
                            _run_undo(earlier)
                        if len(batch) > 1:
                            return None
                        return [(job.future, False, self._as_store_error(exc))]
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    outcomes.append((job.future, False, self._as_store_error(exc)))
                else:
                    if savepoints:
                        conn.execute("RELEASE job")
                    outcomes.append((job.future, True, value))
                    undos.append(undo)
            conn.execute("COMMIT")
        except (sqlite3.Error, _BatchAborted) as exc:
            # Nothing of this batch is durable: undo, and fail every job that
            # has not failed on its own.
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for undo in reversed(undos):
                _run_undo(undo)
            error = StoreWriteError(self.path, str(exc))
            error.__cause__ = exc
            failed = {id(fut): value for fut, ok, value in outcomes if not ok}
            return [(job.future, False, failed.get(id(job.future), error)) for job in batch]
        self._commits += 1
        return outcomes

    def _as_store_error(self, exc: Exception) -> Exception:
        if isinstance(exc, sqlite3.Error) and not isinstance(exc, DurableFlowsError):
            error = StoreWriteError(self.path, str(exc))
            error.__cause__ = exc
            return error
        return exc


def _run_undo(undo: UndoList) -> None:
    for action in reversed(undo):
        action()
    undo.clear()


def _settle(outcomes: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    """Runs on the event loop: hand each caller its result or exception."""
    for future, ok, value in outcomes:
        if future.done():  # the caller cancelled its await
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
