"""Worker processes: claim runs from a shared store, execute them, give them back when idle.

A worker executes runs of the workflows it was given: newly submitted ones,
ones whose owner's lease lapsed, and waiting ones that have input in their
inbox. A run that goes idle (waits for input) is released at once, so a
waiting run costs no worker memory; any worker picks it up when input arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import LeaseHeldError, RunNotFoundError
from ..storage.base import JournalStore
from ..storage.owners import owner_is_dead
from ..storage.rows import RUNNING, WAITING, Lease

if TYPE_CHECKING:
    from ..handler import WorkflowHandler
    from ..workflow import Workflow

logger = logging.getLogger(__name__)


class Worker:
    """Executes runs of ``workflows`` from ``store``, at most ``concurrency`` at once.

    Args:
        workflows: Workflow objects; runs are matched by ``workflow_name``.
        store: The shared store (default: the first workflow's store).
        concurrency: Most runs executed at once by this worker.
        poll_interval: Seconds between looks for work when nothing wakes the worker.
    """

    def __init__(
        self,
        workflows: Sequence[Workflow],
        store: JournalStore | None = None,
        concurrency: int = 8,
        poll_interval: float = 0.5,
    ) -> None:
        if not workflows:
            raise ValueError("a worker needs at least one workflow")
        self.store = store or workflows[0].store
        self.workflows = {wf.workflow_name: wf for wf in workflows}
        for wf in workflows:  # runs a script stored as __main__.Class: matched by class name
            for legacy in wf._legacy_names():
                self.workflows.setdefault(legacy, wf)
        for wf in workflows:
            wf._store = self.store
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.active: dict[str, WorkflowHandler] = {}
        self.finished = 0
        self.failed = 0
        self.parked = 0
        self.started_at = time.time()
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event | None = None, grace: float = 10.0) -> None:
        """Serve until ``stop`` is set; then finish or release what is held (within ``grace`` s)."""
        stop = stop or asyncio.Event()
        await self.store.open()
        names = sorted({wf.workflow_name for wf in self.workflows.values()})
        logger.info(
            "worker started: database %s, workflows %s, concurrency %d",
            getattr(self.store, "path", self.store), ", ".join(names), self.concurrency,
            extra={"event": "started", "workflows": names, "concurrency": self.concurrency},
        )  # fmt: skip
        signal = _run_signal(self.store)
        while not stop.is_set():
            free = self.concurrency - len(self.active)
            if free > 0:
                for lease, name in await self.claim(free):
                    self._start(lease, name)
            await self._sleep(stop, signal)
            self._reap()
        logger.info("worker stopping: %d run(s) active, grace %.1fs", len(self.active), grace,
                    extra={"event": "stopping", "active": len(self.active)})  # fmt: skip
        await self._shutdown(grace)
        logger.info(
            "worker stopped: %d finished, %d failed, %d parked", self.finished, self.failed, self.parked,
            extra={"event": "stopped", **self.status()},
        )  # fmt: skip

    def status(self) -> dict[str, Any]:
        """What a supervisor wants to know: counts and the runs held now."""
        return {
            "active": len(self.active),
            "active_runs": sorted(self.active),
            "finished": self.finished,
            "failed": self.failed,
            "parked": self.parked,
            "concurrency": self.concurrency,
            "started_at": self.started_at,
        }

    def wake(self) -> None:
        """Look for work now instead of at the next poll (after a local submit or send)."""
        self._wake.set()

    async def claim(self, limit: int) -> list[tuple[Lease, str]]:
        """Claim up to ``limit`` runs this worker can execute: (lease, workflow name) pairs."""
        claim_runs = getattr(self.store, "claim_runs", None)
        if claim_runs is not None:
            return list(await claim_runs(list(self.workflows), limit))
        return await _claim_by_scan(self.store, list(self.workflows), limit)

    def _start(self, lease: Lease, name: str) -> None:
        if name.startswith("__main__."):
            logger.warning(
                "run %s is stored as %s (started by a script); executing it as %s",
                lease.run_id, name, self.workflows[name].workflow_name,
            )  # fmt: skip
        handler = self.workflows[name]._resume(lease.run_id, lease=lease, park=True)
        logger.info("claimed run %s (%s)", lease.run_id, name, extra={"event": "claimed", "run_id": lease.run_id, "workflow": name})
        self.active[lease.run_id] = handler
        for fut in (handler._loop.result, handler._loop.parked):
            fut.add_done_callback(lambda _f: self._wake.set())

    def _reap(self) -> None:
        for run_id, handler in list(self.active.items()):
            loop = handler._loop
            if loop.result.done():
                error = None if loop.result.cancelled() else loop.result.exception()
                if error is None:
                    self.finished += 1
                    logger.info("finished run %s", run_id, extra={"event": "finished", "run_id": run_id})
                else:
                    self.failed += 1
                    logger.warning("run %s failed: %s", run_id, error, extra={"event": "failed", "run_id": run_id})
                del self.active[run_id]
            elif loop.parked.done():
                self.parked += 1
                logger.info("parked run %s (waits for input)", run_id, extra={"event": "parked", "run_id": run_id})
                del self.active[run_id]

    async def _sleep(self, stop: asyncio.Event, signal: Any) -> None:
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        if signal is not None:
            waiters.append(asyncio.ensure_future(signal.wait()))
        try:
            await asyncio.wait(waiters, timeout=self.poll_interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
            self._wake.clear()
            if signal is not None:
                signal.clear()

    async def _shutdown(self, grace: float) -> None:
        deadline = time.monotonic() + grace
        while self.active and time.monotonic() < deadline:
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.01, deadline - time.monotonic()))
            self._reap()
        for handler in self.active.values():
            await handler._loop.detach()
        self.active.clear()


def _run_signal(store: JournalStore) -> Any:
    signal = getattr(store, "run_signal", None)
    return signal() if callable(signal) else None


async def _claim_by_scan(store: JournalStore, workflows: list[str], limit: int) -> list[tuple[Lease, str]]:
    """Claim runs by listing them (any store); a server store offers ``claim_runs`` instead."""
    now = time.time()
    leases: list[tuple[Lease, str]] = []
    for name in workflows:
        for info in reversed(await store.list_runs(workflow=name)):  # oldest first
            if len(leases) >= limit:
                return leases
            if info.status not in (RUNNING, WAITING):
                continue
            owned = info.owner is not None and (info.lease_expires or 0) > now
            if owned and not owner_is_dead(info.owner or ""):
                continue
            # A parked waiting run (no owner) is worth claiming only with input to
            # take in; one whose owner died may have had a step in flight.
            orphaned = info.owner is not None
            if info.status == WAITING and not orphaned and not await store.read_inbox(info.run_id):
                continue
            try:
                leases.append((await store.claim_lease(info.run_id), name))
            except (LeaseHeldError, RunNotFoundError):
                continue
    return leases



if __name__ == "__main__":  # python -m durable_flows.ops.worker ... == durable-flows worker ...
    import importlib

    importlib.import_module("durable_flows.cli.worker").worker()
