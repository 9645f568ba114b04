"""The writer task behind :class:`~.store.PostgresStore`: group commit.

Every write is a *job*: a coroutine function run by one task on one
connection. The task takes the first queued job, drains whatever else is
queued (up to ``max_batch``), and runs them all in one ``BEGIN ... COMMIT``;
each caller's future is settled only after that COMMIT returned, so a caller
learns of its write once it is durable, and many callers share one commit.

Jobs refuse cleanly: a job checks (reading and locking rows) before its first
write, and raises its refusal (stale token, duplicate run id, ...) before
writing anything. The others of the batch then commit as if it had not run.
Appends, the bulk of the traffic, go further: consecutive ones are handed to
one *group* function that checks them all and then writes them all with one
multi-row statement per table, so a batch costs a few round trips to the
server, not a few per job.
A *database* error (a constraint violated despite the checks, a deadlock, a
lock wait past ``lock_timeout``) aborts the transaction instead; the batch is
then rolled back and every job of it runs again, each in a transaction of its
own, so the job at fault fails alone and the others commit.

Why not a SAVEPOINT per job, as the SQLite writer does: each savepoint costs
two more round trips per job, and a transaction with more than 64 writing
subtransactions overflows each backend's subtransaction cache, which slows
down the snapshots of every other session on the server. The fallback keeps
the same promise (a bad job fails alone) without either cost on the fast path.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import asyncpg

from ...errors import DurableFlowsError, StoreClosedError, StoreWriteError
from ..outcomes import settle

T = TypeVar("T")

log = logging.getLogger(__name__)

#: Undo actions a job registers for in-memory changes it made (run if the job
#: refuses or its transaction does not commit).
UndoList = list[Callable[[], None]]
JobFn = Callable[[Any, UndoList], Awaitable[T]]
#: A job that queued neighbours share: consecutive jobs submitted with the same
#: function are handed to it together, as a list of their items, and it
#: returns one outcome per item (its value, or the exception refusing it). It
#: checks every item before it writes, and writes nothing for a refused one.
GroupFn = Callable[[Any, UndoList, list[Any]], Awaitable[list[Any]]]

#: SQLSTATEs worth one more try in a transaction of their own.
_RETRYABLE = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
_RETRIES = 3

_PG_HINT = (
    "the write was not committed. Check that the PostgreSQL server is up and "
    "reachable, and that no other session holds locks on the journal tables for "
    "longer than lock_timeout, then retry."
)


class _Job(Generic[T]):
    __slots__ = ("fn", "future", "group", "item")

    def __init__(
        self,
        fn: JobFn[T] | None,
        future: asyncio.Future[T],
        group: GroupFn | None = None,
        item: Any = None,
    ) -> None:
        self.fn = fn
        self.future = future
        self.group = group
        self.item = item

    async def run_alone(self, conn: Any, undo: UndoList) -> T:
        """Run this job by itself (a group of one); raise its refusal."""
        if self.group is None:
            assert self.fn is not None
            return await self.fn(conn, undo)
        [outcome] = await self.group(conn, undo, [self.item])
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[no-any-return]


class _Abort(Exception):
    """The batch's transaction is lost; the cause is in ``__cause__``."""


def _is_database_error(exc: BaseException) -> bool:
    """True when ``exc`` is (or was raised from) an error of asyncpg or the server."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            return True
        seen = seen.__cause__
    return False


def _run_undo(undo: UndoList) -> None:
    for action in reversed(undo):
        action()
    undo.clear()


class PgWriter:
    """One task, one connection, batches of jobs per transaction.

    Args:
        connect: Opens the write connection (again after it was lost).
        label: How to name the database in errors.
        max_batch: Most jobs committed in one transaction.
    """

    def __init__(
        self, connect: Callable[[], Awaitable[Any]], label: str, max_batch: int = 500
    ) -> None:
        self._connect = connect
        self.label = label
        self._max_batch = max_batch
        self._queue: collections.deque[_Job[Any]] = collections.deque()
        self._ready = asyncio.Event()
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Transactions committed; tests use it to prove batching.
        self.commits = 0

    async def start(self, conn: Any) -> None:
        """Serve jobs on ``conn`` (already open and migrated) from now on."""
        self._loop = asyncio.get_running_loop()
        self._conn = conn
        self._task = self._loop.create_task(
            self._serve(), name=f"durable_flows writer {self.label}"
        )

    def submit(self, fn: JobFn[T]) -> asyncio.Future[T]:
        """Queue a job; the future settles after the transaction holding it ended.

        Cancelling the future does not withdraw the job: it may still commit.

        Raises:
            StoreClosedError: the writer is stopping.
        """
        return self._enqueue(fn, None, None)

    def submit_grouped(self, group: GroupFn, item: Any) -> asyncio.Future[Any]:
        """Queue ``item`` for ``group``, together with its queued neighbours (see :data:`GroupFn`).

        Raises:
            StoreClosedError: the writer is stopping.
        """
        return self._enqueue(None, group, item)

    def _enqueue(self, fn: JobFn[T] | None, group: GroupFn | None, item: Any) -> asyncio.Future[T]:
        if self._stopping or self._loop is None:
            raise StoreClosedError(self.label)
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError(
                f"journal store {self.label!r} was opened on another event loop; "
                "a store is bound to the loop that opened it"
            )
        future: asyncio.Future[T] = self._loop.create_future()
        self._queue.append(_Job(fn, future, group, item))
        self._ready.set()
        return future

    async def stop(self) -> None:
        """Commit everything queued, then close the connection and end the task."""
        if self._stopping:
            return
        self._stopping = True
        self._ready.set()
        if self._task is not None:
            await self._task
        if self._conn is not None:
            await _close_quietly(self._conn)
            self._conn = None

    # -- the task -----------------------------------------------------------------

    async def _serve(self) -> None:
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._ready.clear()
                await self._ready.wait()
                continue
            batch = [self._queue.popleft()]
            while self._queue and len(batch) < self._max_batch:
                batch.append(self._queue.popleft())
            try:
                outcomes = await self._run_batch(batch)
            except Exception as exc:  # noqa: BLE001 - a writer bug must not strand callers
                log.exception("%s: writer batch failed", self.label)
                outcomes = [(job.future, False, exc) for job in batch]
            settle(outcomes)

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect()
        return self._conn

    async def _run_batch(
        self, batch: list[_Job[Any]]
    ) -> list[tuple[asyncio.Future[Any], bool, Any]]:
        try:
            conn = await self._connection()
        except Exception as exc:  # noqa: BLE001 - reported to every caller
            self._conn = None
            return self._fail_all(batch, exc)
        outcomes: list[tuple[asyncio.Future[Any], bool, Any]] = []
        undos: list[UndoList] = []
        try:
            await conn.execute("BEGIN")
            index = 0
            while index < len(batch):
                job = batch[index]
                undo: UndoList = []
                if job.group is not None:
                    end = index + 1
                    while end < len(batch) and batch[end].group == job.group:
                        end += 1
                    members = batch[index:end]
                    try:
                        results = await job.group(conn, undo, [m.item for m in members])
                    except Exception as exc:  # it may have written: the batch is lost
                        _run_undo(undo)
                        raise _Abort() from exc
                    for member, result in zip(members, results, strict=True):
                        failed = isinstance(result, BaseException)
                        outcomes.append((member.future, not failed, result))
                    undos.append(undo)
                    index = end
                    continue
                index += 1
                try:
                    assert job.fn is not None
                    value = await job.fn(conn, undo)
                except Exception as exc:
                    _run_undo(undo)
                    if _is_database_error(exc):
                        raise _Abort() from exc
                    outcomes.append((job.future, False, exc))
                else:
                    outcomes.append((job.future, True, value))
                    undos.append(undo)
            # COMMIT of a transaction the server already aborted answers
            # ROLLBACK instead of failing: check the tag, never assume.
            tag = await conn.execute("COMMIT")
            if tag != "COMMIT":
                raise _Abort(f"the server answered {tag!r} to COMMIT")
        except (_Abort, asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            for undo in reversed(undos):
                _run_undo(undo)
            if conn.is_closed():
                # We cannot know whether COMMIT reached the server.
                self._conn = None
                return self._fail_all(batch, exc.__cause__ or exc, unknown=True)
            await _rollback_quietly(conn)
            cause = exc.__cause__ or exc
            log.debug("%s: batch of %d rolled back (%s); one by one", self.label, len(batch), cause)
            return await self._run_one_by_one(conn, batch)
        self.commits += 1
        return outcomes

    async def _run_one_by_one(
        self, conn: Any, batch: list[_Job[Any]]
    ) -> list[tuple[asyncio.Future[Any], bool, Any]]:
        outcomes: list[tuple[asyncio.Future[Any], bool, Any]] = []
        for index, job in enumerate(batch):
            for attempt in range(_RETRIES):
                undo: UndoList = []
                try:
                    await conn.execute("BEGIN")
                    value = await job.run_alone(conn, undo)
                    tag = await conn.execute("COMMIT")
                    if tag != "COMMIT":
                        raise StoreWriteError(self.label, f"the server answered {tag!r} to COMMIT")
                except Exception as exc:
                    _run_undo(undo)
                    if conn.is_closed():
                        self._conn = None
                        return outcomes + self._fail_all(batch[index:], exc, unknown=True)
                    await _rollback_quietly(conn)
                    sqlstate = getattr(exc, "sqlstate", None)
                    if sqlstate in _RETRYABLE and attempt + 1 < _RETRIES:
                        continue
                    outcomes.append((job.future, False, self._as_store_error(exc)))
                else:
                    self.commits += 1
                    outcomes.append((job.future, True, value))
                break
        return outcomes

    def _fail_all(
        self, batch: list[_Job[Any]], exc: BaseException, unknown: bool = False
    ) -> list[tuple[asyncio.Future[Any], bool, Any]]:
        reason = str(exc) or type(exc).__name__
        hint = None
        if unknown:
            hint = (
                "the connection was lost, so this write may or may not have been "
                "committed; re-read the run (store.get_run) before writing again."
            )
        error = StoreWriteError(self.label, reason, hint or _PG_HINT)
        error.__cause__ = exc
        return [(job.future, False, error) for job in batch]

    def _as_store_error(self, exc: Exception) -> Exception:
        if isinstance(exc, DurableFlowsError):
            return exc
        if _is_database_error(exc):
            error = StoreWriteError(self.label, str(exc) or type(exc).__name__, _PG_HINT)
            error.__cause__ = exc
            return error
        return exc


async def _rollback_quietly(conn: Any) -> None:
    try:
        await conn.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - the connection is checked before its next use
        log.debug("ROLLBACK failed", exc_info=True)


async def _close_quietly(conn: Any) -> None:
    try:
        await asyncio.wait_for(conn.close(), 5)
    except Exception:  # noqa: BLE001 - closing; the server ends the session anyway
        conn.terminate()
