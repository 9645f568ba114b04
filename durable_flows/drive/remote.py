"""Submitting runs for workers, and following a run that another process executes.

``await wf.submit(**kwargs)`` journals a new run without executing it (the run
is committed when it returns); any worker
(``durable-flows worker``, or :class:`durable_flows.ops.worker.Worker`) claims it.
The returned :class:`RemoteHandler` reads the run from the store: await it for
the result, stream its committed stream events, send events into it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

from ..errors import RunNotFoundError, WorkflowRuntimeError
from ..events import Event, StopEvent
from ..runtime import records as k
from ..runtime.journal_codec import decode_entry, encode_record
from ..runtime.outcome import final_outcome
from ..storage.rows import FINISHED_STATUSES, NewRun, RunInfo
from .hosted import HostedWorkflow

if TYPE_CHECKING:
    from ..codec.journal import Codec


async def submit_run(wf: HostedWorkflow, run_id: str, start_event: Event, seed_state: Any) -> None:
    """Journal a run's first records and leave it unowned, for a worker to claim."""
    from ..runtime import observe
    from ..runtime.records import Record

    codec = wf._codec()
    spec = wf._run_spec()
    now = time.time()
    started = k.run_started_data(wf.workflow_name, spec.fingerprint(), wf._timeout, seed_state)
    if observe.OBSERVERS:  # the trace context is journaled with the run (durable_flows.otel)
        started.update(await observe.journal_context(wf.store, run_id, wf.workflow_name, "submit"))
    first = [
        Record(k.RUN_STARTED, now, data=started, seq=1),
        Record(k.SENT, now, event=start_event, data={"source": "start"}, seq=2),
    ]
    entries = [encode_record(codec, run_id, r.seq, r) for r in first]
    store = wf.store
    await store.open()
    lease = await store.create_run(NewRun(run_id, wf.workflow_name, spec.fingerprint_json()), entries)
    await store.release_lease(lease)


def finished_outcome(info: RunInfo, codec: Codec) -> tuple[StopEvent, BaseException | None]:
    """A finished run's stop event and the exception awaiting it raises (or None), from its row."""
    result = None
    if info.outcome:
        data = json.loads(info.outcome)
        result = codec.load_event(data["type"], data["event"], data.get("codec", "json"))
    error = json.loads(info.error) if info.error and info.error.startswith("{") else (
        {"message": info.error} if info.error else None
    )
    return final_outcome(info.status, result, error)


class RemoteHandler:
    """Follow a run executed elsewhere, through the store only.

    Awaiting it gives the same value (or raises the same error type) as
    awaiting a local :class:`~durable_flows.handler.WorkflowHandler`.
    """

    def __init__(self, workflow: HostedWorkflow, run_id: str) -> None:
        self._workflow = workflow
        self.run_id = run_id
        self._info: RunInfo | None = None
        self.poll_interval = 0.05

    def __await__(self) -> Generator[Any, Any, Any]:
        return self._await_result().__await__()

    async def _await_result(self) -> Any:
        stop = await self.stop_event_result()
        return stop.result if type(stop) is StopEvent else stop

    async def _finished_info(self) -> RunInfo:
        store = self._workflow.store
        delay = self.poll_interval
        while True:
            info = await store.get_run(self.run_id)
            if info is None:
                raise RunNotFoundError(self.run_id)
            self._info = info
            if info.status in FINISHED_STATUSES:
                return info
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    async def stop_event_result(self) -> StopEvent:
        """Wait for the run to finish; its stop event, or raise what the run raised."""
        info = await self._finished_info()
        final, exc = finished_outcome(info, self._workflow._codec())
        if exc is not None:
            raise exc
        return final

    def is_done(self) -> bool:
        """Whether the run was finished when this handler last looked."""
        return self._info is not None and self._info.status in FINISHED_STATUSES

    async def stream_events(self, after: int = 0) -> AsyncGenerator[Event, None]:
        """Yield committed stream events after position ``after``, then the final stop event."""
        store, codec = self._workflow.store, self._workflow._codec()
        seq = 0
        while True:
            for entry in await store.read(self.run_id, after_seq=seq):
                seq = entry.seq
                if entry.kind != k.STREAM:
                    continue
                rec = decode_entry(codec, entry)
                if int(rec.get("n")) > after and rec.event is not None:
                    yield rec.event
            info = await store.get_run(self.run_id)
            if info is not None and info.status in FINISHED_STATUSES:
                if not await store.read(self.run_id, after_seq=seq):
                    try:
                        yield await self.stop_event_result()
                    except Exception:  # noqa: BLE001 - awaiting the handler raises it
                        pass
                    return
            await asyncio.sleep(self.poll_interval)

    async def send_event(self, event: Event, step: str | None = None) -> None:
        """Deliver an event into the run through the store."""
        if step is not None:
            raise WorkflowRuntimeError("send_event(step=...) is not supported for submitted runs")
        await self._workflow.store.send_event(self.run_id, event, serializer=self._workflow.serializer)

    async def cancel_run(self) -> None:
        """Ask the run to stop (its owner journals the cancellation)."""
        await self._workflow.store.cancel(self.run_id)
