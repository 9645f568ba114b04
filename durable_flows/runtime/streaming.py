"""The run's stream as its consumers see it: committed stream events, internal events, the final event."""

from __future__ import annotations

import asyncio
from typing import Any

from ..events import Event, StepState, StepStateChanged
from . import records as k
from ._loop_base import LoopBase, _Batch
from .journal_codec import decode_entry

#: The position of a stream event written by a step that has not committed yet.
LIVE = -1


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

    def publish_live(self, ev: Event) -> None:
        """Deliver ``ev`` to live consumers now, as a step writes it (token streaming).

        Its committed copy (the same object, with a position) follows when the
        step commits; consumers that saw it live skip that copy. An execution
        interrupted before it commits (process death, cancel, timeout) never
        commits what it wrote: ``position_of`` stays None for those events.
        """
        if self.stopping:  # the run ends with a StopEvent already returned: never committed
            return
        self.stream_log.append((LIVE, ev))
        self.live_positions[id(ev)] = (LIVE, ev)
        self._wake_streams()

    def _note_positions(self, committed: list[tuple[int, Event]]) -> None:
        for n, ev in committed:
            if id(ev) in self.live_positions:
                self.live_positions[id(ev)] = (n, ev)

    def position_of(self, ev: Event) -> int | None:
        """The committed stream position of ``ev``; None while (or if never) committed."""
        known = self.live_positions.get(id(ev))
        n = known[0] if known is not None and known[1] is ev else None
        if n is None:
            n = next((p for p, e in self.stream_log if e is ev and p is not None and p > 0), None)
        return None if n is None or n == LIVE else n

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
        live_from = next((n for n, _ in self.stream_log if n is not None and n != LIVE), None)
        if after is not None:
            for entry in await self.store.read(self.run_id):
                if entry.kind != k.STREAM:
                    continue
                rec = decode_entry(self.codec, entry)
                pos = int(rec.get("n"))
                if pos > after and (live_from is None or pos < live_from) and rec.event is not None:
                    self.live_positions[id(rec.event)] = (pos, rec.event)  # for position_of
                    yield rec.event
        i = 0
        seen_live: dict[int, int] = {}  # delivered live (times): skip their committed copies
        while True:
            while i < len(self.stream_log):
                n, ev = self.stream_log[i]
                i += 1
                if n == LIVE:
                    seen_live[id(ev)] = seen_live.get(id(ev), 0) + 1
                    yield ev
                    continue
                if n is not None and seen_live.get(id(ev)):
                    seen_live[id(ev)] -= 1
                    continue
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
