"""What the server serves: named workflows over one journal store, and the worker that runs them.

Every request is answered from the store, never from this process's memory,
so a restarted server (or a second one on the same PostgreSQL database)
answers for runs it did not start. The in-process :class:`~durable_flows.ops.worker.Worker`
executes submitted runs, picks up orphaned ones after a crash and continues
waiting ones when their answer arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..codec.journal import Codec
from ..drive.remote import finished_outcome
from ..errors import RunNotFoundError
from ..events import Event, StartEvent, StopEvent
from ..ops.worker import Worker
from ..storage.base import JournalStore
from ..storage.rows import CANCELLED, COMPLETED, FINISHED_STATUSES, RunInfo
from ..views.format import error_text
from .envelopes import EventRegistry, to_envelope

if TYPE_CHECKING:
    from ..workflow import Workflow

#: The handler statuses upstream's protocol knows, from ours.
HANDLER_STATUS = {
    "running": "running",
    "waiting": "running",
    "completed": "completed",
    "failed": "failed",
    "timed_out": "failed",
    "cancelled": "cancelled",
}


def iso(ts: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC timestamp (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


class ServedWorkflows:
    """Workflows served under names, their store, and the worker executing their runs.

    Args:
        workflows: Name -> workflow (instance or class); the name is what clients use.
        store: The journal every workflow is pointed at.
        concurrency: Most runs the in-process worker executes at once.
        run_worker: Run the worker in this process (False: other processes do).
    """

    def __init__(
        self,
        workflows: Mapping[str, Workflow | type[Workflow]],
        store: JournalStore,
        concurrency: int = 8,
        run_worker: bool = True,
    ) -> None:
        from ..workflow import Workflow

        self.store = store
        self.by_name: dict[str, Workflow] = {}
        for name, wf in workflows.items():
            instance = wf() if isinstance(wf, type) else wf
            if not isinstance(instance, Workflow):
                raise TypeError(f"{name!r} is not a durable_flows Workflow")
            instance._store = store
            self.by_name[name] = instance
        self.registries = {
            name: EventRegistry(name, [*wf.events, wf.start_event_class]) for name, wf in self.by_name.items()
        }
        self.concurrency = concurrency
        self.run_worker = run_worker
        self.worker: Worker | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the store and start the worker (idempotent)."""
        await self.store.open()
        if self.run_worker and self._task is None and self.by_name:
            self._stop = asyncio.Event()
            self.worker = Worker(list(self.by_name.values()), store=self.store, concurrency=self.concurrency)
            self._task = asyncio.get_running_loop().create_task(self.worker.run(self._stop, grace=5.0))

    async def stop(self) -> None:
        """Stop the worker (runs in flight are released for another process) and close the store."""
        if self._task is not None:
            self._stop.set()
            with contextlib.suppress(Exception):
                await self._task
            self._task = None
        await self.store.close()

    # -- names ---------------------------------------------------------------------

    def name_of(self, info: RunInfo) -> str | None:
        """The served name of a run's workflow, or None when this server does not serve it."""
        for name, wf in self.by_name.items():
            if info.workflow == wf.workflow_name:
                return name
        return None

    def codec_for(self, info: RunInfo) -> Codec:
        """The codec of the run's workflow (plain JSON for workflows not served here)."""
        name = self.name_of(info)
        return self.by_name[name]._codec() if name else Codec()

    async def run_info(self, run_id: str) -> RunInfo:
        """The run's row. Raises RunNotFoundError."""
        info = await self.store.get_run(run_id)
        if info is None:
            raise RunNotFoundError(run_id)
        return info

    # -- reading a run as a handler ------------------------------------------------------

    def final_event(self, info: RunInfo) -> StopEvent:
        """The stop event a finished run published (rebuilt from its row)."""
        return finished_outcome(info, self.codec_for(info))[0]

    def handler_data(self, info: RunInfo) -> dict[str, Any]:
        """The run as upstream's ``HandlerData``."""
        result: dict[str, Any] | None = None
        unreadable = False
        if info.status == COMPLETED:
            try:
                result = to_envelope(self.final_event(info))
            except Exception:  # noqa: BLE001 - a result this code cannot read is reported, not fatal
                unreadable = True
        error = None
        if info.status in FINISHED_STATUSES and info.status != COMPLETED:
            error = error_text(info)[0]
        finished = info.status in FINISHED_STATUSES
        return {
            "handler_id": info.run_id,
            "workflow_name": self.name_of(info) or info.workflow,
            "run_id": info.run_id,
            "error": error,
            "result": result,
            "result_unreadable": unreadable,
            "status": HANDLER_STATUS.get(info.status, "running"),
            "started_at": iso(info.created_at),
            "updated_at": iso(info.updated_at),
            "completed_at": iso(info.updated_at) if finished else None,
        }

    async def wait_finished(self, run_id: str, timeout: float | None = None) -> RunInfo:
        """Poll the run's row until it is finished (or ``timeout`` s pass: the row as it is)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.02
        while True:
            info = await self.run_info(run_id)
            if info.status in FINISHED_STATUSES:
                return info
            if deadline is not None and time.monotonic() >= deadline:
                return info
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.25)

    # -- acting on runs ----------------------------------------------------------------

    async def submit(self, name: str, start: StartEvent, run_id: str) -> RunInfo:
        """Journal a new run of workflow ``name`` for the worker; durable when this returns.

        Raises:
            RunExistsError: ``run_id`` is taken.
        """
        wf = self.by_name[name]
        await wf.submit(start_event=start, run_id=run_id)  # returns once the run is journaled
        self._wake_worker()
        return await self.run_info(run_id)

    def _wake_worker(self) -> None:
        if self.worker is not None:
            self.worker.wake()

    async def send(self, run_id: str, event: Event) -> None:
        """Deliver ``event`` into the run through its inbox (any process may own the run)."""
        info = await self.run_info(run_id)
        name = self.name_of(info)
        serializer = self.by_name[name].serializer if name else None
        await self.store.send_event(run_id, event, serializer=serializer)
        self._wake_worker()  # a parked run with input in its inbox is claimable now

    async def cancel(self, run_id: str) -> str:
        """Cancel the run; ``cancelled`` once its row says so (or the owner was asked)."""
        outcome = await self.store.cancel(run_id)
        if outcome == "requested":
            info = await self.wait_finished(run_id, timeout=5.0)
            return "cancelled" if info.status == CANCELLED else "requested"
        return outcome
