"""One batch of write jobs in one SQLite transaction, and the write connection.

A *job* is a function run with the one write connection and an undo list. A
batch first runs without savepoints; if a job raises, the transaction is
rolled back, every job's undo actions run, and the batch runs again with a
SAVEPOINT per job, so that a failing job (stale token, duplicate run id) loses
only its own writes while the others commit. Used by the writer thread and by
the event loop's inline commits (``writer.py``), always under the writer's
connection lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ...errors import DurableFlowsError, StoreOpenError, StoreWriteError
from ..migrate import apply_migrations
from ..outcomes import Outcome

T = TypeVar("T")

#: Undo actions a job registers for in-memory changes it made (run if the
#: job's writes are rolled back: its own failure, its batch's first pass run
#: again, or the whole batch failing).
UndoList = list[Callable[[], None]]
JobFn = Callable[[sqlite3.Connection, UndoList], T]


class Job(Generic[T]):
    __slots__ = ("fn", "future", "durable")

    def __init__(self, fn: JobFn[T], future: asyncio.Future[T], durable: bool) -> None:
        self.fn = fn
        self.future = future
        self.durable = durable


class _BatchAborted(Exception):
    """SQLite rolled the whole transaction back (I/O error, disk full, ...)."""


class Busy(Exception):
    """``BEGIN IMMEDIATE`` found the database locked (only when asked not to wait)."""


def open_write_connection(path: str, synchronous: str, busy_timeout: float) -> sqlite3.Connection:
    """Connect, migrate, then switch to WAL with SQLite's ``synchronous`` level.

    Migrations run before WAL is switched on so that a database we refuse
    (not SQLite, or newer than this code) is left byte-for-byte unchanged.
    The connection may be used from any thread; the writer serializes its use.
    """
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
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


def run_batch(
    conn: sqlite3.Connection, path: str, batch: list[Job[Any]], no_wait_ms: int | None = None
) -> list[Outcome]:
    """Run ``batch`` in one transaction; the outcome of each job, in order.

    ``no_wait_ms``: raise :class:`Busy` (nothing done) instead of waiting when
    another connection holds the write lock; the connection's busy timeout
    (these milliseconds) is restored after.
    """
    outcomes = _run_jobs(conn, path, batch, isolate=False, no_wait_ms=no_wait_ms)
    if outcomes is None:
        outcomes = _run_jobs(conn, path, batch, isolate=True, no_wait_ms=no_wait_ms)
    assert outcomes is not None
    return outcomes


def _begin(conn: sqlite3.Connection, no_wait_ms: int | None) -> None:
    if no_wait_ms is None:
        conn.execute("BEGIN IMMEDIATE")
        return
    conn.execute("PRAGMA busy_timeout=0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise Busy(str(exc)) from exc
        raise
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(no_wait_ms)}")


def _run_jobs(
    conn: sqlite3.Connection, path: str, batch: list[Job[Any]], isolate: bool, no_wait_ms: int | None
) -> list[Outcome] | None:
    """One transaction over ``batch``; None: a job failed and ``isolate`` is off
    (everything was rolled back and undone: run the batch again isolated)."""
    outcomes: list[Outcome] = []
    undos: list[UndoList] = []
    try:
        _begin(conn, no_wait_ms)
    except sqlite3.Error as exc:
        error = StoreWriteError(path, str(exc))
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
                run_undo(undo)
                if not conn.in_transaction:
                    raise _BatchAborted(str(exc)) from exc
                if not savepoints:
                    conn.execute("ROLLBACK")
                    for earlier in reversed(undos):
                        run_undo(earlier)
                    if len(batch) > 1:
                        return None
                    return [(job.future, False, _as_store_error(path, exc))]
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                outcomes.append((job.future, False, _as_store_error(path, exc)))
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
            run_undo(undo)
        error = StoreWriteError(path, str(exc))
        error.__cause__ = exc
        failed = {id(fut): value for fut, ok, value in outcomes if not ok}
        return [(job.future, False, failed.get(id(job.future), error)) for job in batch]
    return outcomes


def _as_store_error(path: str, exc: Exception) -> Exception:
    if isinstance(exc, sqlite3.Error) and not isinstance(exc, DurableFlowsError):
        error = StoreWriteError(path, str(exc))
        error.__cause__ = exc
        return error
    return exc


def run_undo(undo: UndoList) -> None:
    for action in reversed(undo):
        action()
    undo.clear()
