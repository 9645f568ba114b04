"""The writer behind :class:`~.store.SqliteStore`: group commit, on a thread or inline.

Every write is a *job* (``batch.py``). The writer thread takes the first
queued job, drains whatever else is queued (up to ``max_batch``), and runs
them all in one ``BEGIN IMMEDIATE ... COMMIT``. Callers' futures are settled on
their event loop only after COMMIT returned, with one ``call_soon_threadsafe``
per batch: throughput comes from sharing one commit and one thread hop among
many callers, never from reporting a write before it is committed.

Inline commits. A job submitted with ``inline=True`` (the engine's appends)
is held until the end of the event loop's current iteration; then, if the
thread has nothing queued or running and the write lock is free at once, the
jobs held are committed as one batch right there on the event loop, which
saves the two thread wake-ups a sequential run would otherwise pay per step.
If another process holds the lock, or the thread is busy, they go to the
thread's queue instead: the event loop never waits for a lock.

Durability. At ``synchronous=FULL`` the fsync is not part of COMMIT: the
connection runs at SQLite's NORMAL and a :class:`~.syncer.Syncer` thread syncs
the WAL file while the next batches commit. A job submitted with
``durable=False`` is settled at COMMIT (written, ordered, safe from a process
crash); every other job only once a sync covered its batch. At ``EXTRA``
every COMMIT syncs inside SQLite before any job is settled (and nothing is
committed inline, which would fsync on the event loop); at ``NORMAL`` nothing
waits for the disk.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ...errors import StoreClosedError
from ..outcomes import Outcome, settle
from .batch import Busy, Job, JobFn, UndoList, open_write_connection, run_batch
from .syncer import Syncer

__all__ = ["BackgroundWork", "JobFn", "UndoList", "Writer", "open_write_connection"]

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


class _Stop:
    __slots__ = ("done",)

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done


class Writer:
    """One connection, one thread, batches of jobs per transaction.

    ``submit`` and ``start``/``stop`` must be called from the event loop that
    ``start`` ran on. The connection is used under ``_lock``: by the thread
    for its batches and background work, by the event loop for inline commits.
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
        self._queue: queue.SimpleQueue[Job[Any] | _Stop] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        #: Jobs handed to the thread (written by the event loop) and finished by it (by the thread).
        self._queued = 0
        self._done = 0
        #: Inline jobs held until the end of this event-loop iteration.
        self._held: list[Job[Any]] = []
        #: EXTRA would fsync inside an inline COMMIT, on the event loop.
        self.inline = synchronous in ("FULL", "NORMAL")
        #: Transactions committed; tests use it to prove batching.
        self._commits = 0
        #: Batches committed inline, on the event loop, and when the last one was.
        self.inline_commits = 0
        self._inline_at = 0.0
        #: FULL: durable jobs wait for this thread's fsync of the WAL (see syncer.py).
        self.syncer: Syncer | None = None
        if synchronous == "FULL":
            self.syncer = Syncer(path, lambda outcomes: self._call(settle, outcomes))

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

    def submit(self, fn: JobFn[T], durable: bool = True, inline: bool = False) -> asyncio.Future[T]:
        """Queue a job; the future settles after the batch holding it committed.

        ``durable``: settle only once the batch is on disk (FULL: after the
        sync thread's fsync); ``False``: once committed (written to the WAL,
        before later writes; lost only with the batches after it on power loss).
        ``inline``: may be committed on the event loop (see the module doc).
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
        job = Job(fn, future, durable)
        if inline and self.inline:
            self._held.append(job)
            if len(self._held) == 1:
                self._loop.call_soon(self._commit_held)
        else:
            self._to_thread(job)
        return future

    async def stop(self) -> None:
        """Commit everything queued, then close the connection and end the thread."""
        if self._stopping or self._loop is None or self._thread is None:
            return
        self._stopping = True
        held, self._held = self._held, []
        for job in held:
            self._to_thread(job)
        done: asyncio.Future[None] = self._loop.create_future()
        self._queue.put(_Stop(done))
        await done
        await asyncio.to_thread(self._thread.join)

    # -- event loop: inline commits ------------------------------------------------

    def _to_thread(self, job: Job[Any]) -> None:
        self._queued += 1
        self._queue.put(job)

    def _commit_held(self) -> None:
        """End of an event-loop iteration: commit the held jobs here, or queue them."""
        jobs, self._held = self._held, []
        if not jobs:
            return
        conn = self._conn
        # Only when the thread has nothing in hand (so commits keep their order)
        # and the lock is free now: the event loop never waits for it.
        if conn is not None and self._queued == self._done and self._lock.acquire(blocking=False):
            try:
                # (re-read under the lock: the thread may have closed it)
                outcomes = None if self._conn is None else self._run(conn, jobs, no_wait=True)
            except Busy:  # another process writes: the thread waits for it
                outcomes = None
            finally:
                self._lock.release()
            if outcomes is not None:
                self.inline_commits += 1
                self._inline_at = time.monotonic()
                self._deliver(jobs, outcomes, settle)
                return
        for job in jobs:
            self._to_thread(job)

    # -- both -------------------------------------------------------------------------

    def _run(self, conn: sqlite3.Connection, jobs: list[Job[Any]], no_wait: bool = False) -> list[Outcome]:
        """Run a batch (the lock is held); fail it at once after a failed sync."""
        if self.syncer is not None and self.syncer.error is not None:
            return [(job.future, False, self.syncer.error) for job in jobs]
        ms = int(self._busy_timeout * 1000) if no_wait else None
        outcomes = run_batch(conn, self.path, jobs, no_wait_ms=ms)
        if any(ok for _, ok, _ in outcomes):
            self._commits += 1
        return outcomes

    def _deliver(
        self, jobs: list[Job[Any]], outcomes: list[Outcome], hand: Callable[[list[Outcome]], None]
    ) -> None:
        """Settle outcomes through ``hand`` now, or (FULL, durable jobs) once synced."""
        syncer = self.syncer
        if syncer is None:
            hand(outcomes)
            return
        now: list[Outcome] = []
        later: list[Outcome] = []
        for job, outcome in zip(jobs, outcomes, strict=True):
            # A failed job wrote nothing: its error needs no sync.
            (later if job.durable and outcome[1] else now).append(outcome)
        if now:
            hand(now)
        syncer.committed(later)

    # -- writer thread ------------------------------------------------------------

    def _call(self, fn: Callable[..., object], *args: object) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop was closed without closing the store
            pass

    def _hand(self, outcomes: list[Outcome]) -> None:
        self._call(settle, outcomes)

    def _main(self, ready: asyncio.Future[None]) -> None:
        try:
            # FULL: commits at SQLite's NORMAL, the fsync is the sync thread's.
            level = "NORMAL" if self.syncer is not None else self._synchronous
            conn = open_write_connection(self.path, level, self._busy_timeout)
        except BaseException as exc:
            self._call(settle, [(ready, False, exc)])
            return
        if self.syncer is not None:
            self.syncer.start()
        self._conn = conn
        self._call(settle, [(ready, True, None)])
        stop: _Stop | None = None
        try:
            stop = self._serve(conn)
        finally:
            with self._lock:
                self._conn = None
                if self.syncer is not None:
                    self.syncer.stop()  # the last sync, then its jobs are settled
                conn.close()
        if stop is not None:
            self._call(settle, [(stop.done, True, None)])

    def _serve(self, conn: sqlite3.Connection) -> _Stop:
        """Commit batches until a stop marker comes; return it (the caller closes)."""
        while True:
            waits = self._background is not None and self._background.due(idle=True)
            try:
                item = self._queue.get(timeout=IDLE_WAIT if waits else None)
            except queue.Empty:
                # Not idle while the event loop commits inline: background work
                # then runs in the smaller batches meant for a busy writer.
                self._run_background(conn, idle=time.monotonic() - self._inline_at >= IDLE_WAIT)
                continue
            batch: list[Job[Any]] = []
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
                with self._lock:
                    outcomes = self._run(conn, batch)
                self._deliver(batch, outcomes, self._hand)
                self._done += len(batch)
                self._run_background(conn, idle=False)
            if stop is not None:
                self._run_background(conn, idle=True)
                return stop

    def _run_background(self, conn: sqlite3.Connection, idle: bool) -> None:
        """Run the background work if it is due, in its own transaction.

        It never fails a caller: an error rolls it back and is logged, and the
        work stays due (it is retried later).
        """
        if self._background is None or not self._background.due(idle):
            return
        with self._lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
                self._background.run(conn, idle)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                # run() set its own retry time before failing: no tight loop.
                _log.warning("durable_flows: background work on %s failed: %s", self.path, exc)
