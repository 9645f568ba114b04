"""The run's stream as its consumers see it: committed stream events, internal events, the final event."""

from __future__ import annotations

import asyncio
from typing import Any

from ..events import Event, StepState, StepStateChanged
from . import records as k
from ._loop_base import LoopBase, _Batch


class StreamMixin(LoopBase):
    """The run's stream as its consumers see it: committed stream events, internal events, the final event."""

    def _internal_events(self, batch: _Batch) -> list[tuple[int | None, Event]]:
        out: list[tuple[int | None, Event]] = []
        # what each execution returned in this batch (its PRODUCED record precedes COMPLETED)
        produced = {
            int(rec.get("exec")): type(rec.event).__name__
            for rec in batch.records
            if rec.kind == k.PRODUCED and rec.event is not None
        }
        for rec in batch.records:
            if rec.kind not in (k.ACCEPTED, k.COMPLETED, k.FAILED, k.WAITER) or rec.step is None:
                continue
            exec_id = int(rec.get("exec"))
            ex = self.state.execs.get(exec_id)
            running = rec.kind == k.ACCEPTED
            if ex is not None:
                self._input_names[exec_id] = type(ex.event).__name__
            # a finished execution has left the state: its input name was kept when it started
            input_name = self._input_names.get(exec_id, "")
            if rec.kind in (k.COMPLETED, k.FAILED):
                self._input_names.pop(exec_id, None)
            out.append(
                (
                    None,
                    StepStateChanged(
                        name=rec.step,
                        step_state=StepState.RUNNING if running else StepState.NOT_RUNNING,
                        worker_id=str(rec.get("worker", ex.worker if ex else 0)),
                        input_event_name=input_name,
                        output_event_name=produced.get(exec_id) if rec.kind == k.COMPLETED else None,
                    ),
                )
            )
        return out

    # -- streaming --------------------------------------------------------------------------

    def _wake_streams(self) -> None:
        self._stream_new.set()
        self._stream_new = asyncio.Event()

    async def stream(self, after: int | None = None, expose_internal: bool = False) -> Any:
        """Yield committed stream events (after stream position ``after``), then the final event.

        Internal events (step state changes, idleness) are not journaled; they
        are yielded live when ``expose_internal`` is set.
        """
        if expose_internal:
            self.want_internal = True
        live_from = next((n for n, _ in self.stream_log if n is not None), None)
        if after is not None:
            for entry in await self.store.read(self.run_id):
                if entry.kind != k.STREAM:
                    continue
                rec = self.codec.decode(entry)
                pos = int(rec.get("n"))
                if pos > after and (live_from is None or pos < live_from) and rec.event is not None:
                    yield rec.event
        i = 0
        while True:
            while i < len(self.stream_log):
                n, ev = self.stream_log[i]
                i += 1
                if n is not None and after is not None and n <= after:
                    continue
                if n is None and ev is not self._final_event and not expose_internal:
                    continue
                yield ev
                if ev is self._final_event:
                    return
            if self.result.done() and self._final_event is None:
                return
            await self._stream_new.wait()
