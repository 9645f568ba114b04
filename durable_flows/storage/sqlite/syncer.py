"""The sync thread behind the SQLite writer at ``synchronous=FULL``: fsync off the commit path.

At FULL the write connection runs at SQLite's ``NORMAL``: a COMMIT writes its
frames to the write-ahead log without waiting for the disk, so the writer can
go on with the next batch at once. This thread makes them durable: it calls
``fdatasync`` on the WAL file (one sync covers every batch committed before it
began: group commit) and settles the jobs that asked to be durable only once a
sync covering their batch has returned. It syncs at once when such a job
waits, else within :data:`SYNC_DELAY` of the first commit not yet synced:
waking for every commit would cost a sequential run two thread switches per
step, and nobody is waiting for those.

What the split buys and costs. A committed batch is in the operating system's
page cache: it survives any crash of the process, and SQLite's WAL is a
prefix, so a power loss may lose the batches after the last sync but never
leaves a gap. The engine may therefore start a step on a record that is
written but not yet synced (a power loss re-runs it, as a crash re-runs a step
in flight), while everything it acknowledges to a caller (a run's result, a
submitted run, a sent event) waits for the sync.

A failed sync is final: after an fsync error the kernel may have dropped the
written pages, so no later sync can vouch for them. Every waiting and later
job fails with :class:`~durable_flows.errors.StoreWriteError`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from ...errors import StoreWriteError
from ..outcomes import Outcome

#: The system call that makes the WAL file durable (fsync where fdatasync is missing).
_fdatasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)

#: Seconds a commit nobody waits on may stay unsynced (what a power loss may re-run).
SYNC_DELAY = 0.02


class Syncer:
    """One thread that fsyncs the WAL file while batches commit, and settles durable jobs.

    ``committed`` is called by the writer thread after each COMMIT; ``settle``
    is how outcomes reach the callers' event loop (the writer's ``_call``).
    """

    def __init__(self, path: str, settle: Callable[[list[Outcome]], None]) -> None:
        self.path = path
        self.wal_path = path + "-wal"
        self._settle = settle
        self._cond = threading.Condition()
        self._written = 0  # batches committed
        self._synced = 0  # batches covered by a finished sync
        self._unsynced_since: float | None = None  # monotonic time of the first unsynced commit
        self._waiting: list[tuple[int, list[Outcome]]] = []
        self._stopping = False
        self._fd: int | None = None
        self._thread: threading.Thread | None = None
        #: Set once a sync failed; every later durable write fails with it.
        self.error: StoreWriteError | None = None
        #: Syncs done; tests and benchmarks read it.
        self.syncs = 0
        #: The call that syncs one file descriptor (a test may wrap it to hold a sync back).
        self.sync_fd: Callable[[int], None] = _fdatasync

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="durable_flows-sync", daemon=True)
        self._thread.start()

    def committed(self, durable: list[Outcome]) -> None:
        """Writer thread: a batch committed; ``durable`` settle once it is synced."""
        with self._cond:
            self._written += 1
            if self.error is not None:
                failed = [(fut, False, self.error) for fut, _, _ in durable]
            else:
                failed = []
                if durable:
                    self._waiting.append((self._written, durable))
                    self._cond.notify()
                elif self._unsynced_since is None:
                    self._unsynced_since = time.monotonic()
                    self._cond.notify()
        if failed:
            self._settle(failed)

    def stop(self) -> None:
        """Writer thread: sync what is left, settle it, end the thread (the connection is still open)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _due(self) -> float | None:
        """Seconds to wait before the next sync; 0: now; None: nothing to sync (lock held)."""
        if self._synced >= self._written:
            return None
        if self._waiting or self._stopping or self._unsynced_since is None:
            return 0.0
        return max(0.0, self._unsynced_since + SYNC_DELAY - time.monotonic())

    def _main(self) -> None:
        while True:
            with self._cond:
                while (wait := self._due()) != 0.0:
                    if wait is None and self._stopping:
                        return
                    self._cond.wait(wait)
                target = self._written
                self._unsynced_since = None
            try:
                self._sync()
            except OSError as exc:
                self._fail(exc)
                return
            with self._cond:
                self._synced = target
                ready = [item for item in self._waiting if item[0] <= target]
                self._waiting = [item for item in self._waiting if item[0] > target]
                if self._written > target and self._unsynced_since is None:
                    self._unsynced_since = time.monotonic()
            self.syncs += 1
            if ready:
                self._settle([outcome for _, outcomes in ready for outcome in outcomes])

    def _sync(self) -> None:
        fd = self._fd
        if fd is not None and os.fstat(fd).st_nlink == 0:  # the WAL file was replaced
            os.close(fd)
            fd = None
        if fd is None:
            try:
                fd = self._fd = os.open(self.wal_path, os.O_RDONLY)
            except FileNotFoundError:
                return  # no WAL yet: nothing was committed in WAL mode (the writer keeps it open)
        self.sync_fd(fd)

    def _fail(self, exc: OSError) -> None:
        error = StoreWriteError(
            self.path,
            f"fsync of the write-ahead log failed ({exc})",
            hint=(
                "what was committed since the last good sync may not be on disk. This store "
                "refuses further writes: restart the process, then resume the runs (their "
                "journals end at the last record that reached the disk)."
            ),
        )
        error.__cause__ = exc
        with self._cond:
            self.error = error
            waiting, self._waiting = self._waiting, []
        self._settle([(fut, False, error) for _, outcomes in waiting for fut, _, _ in outcomes])
