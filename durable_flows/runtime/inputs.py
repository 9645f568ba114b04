"""What wakes a run besides its steps: timers (timeout, retries, wait deadlines) and the inbox."""

from __future__ import annotations

import asyncio
import json
import time
import weakref

from ..storage import cancel_request_reason
from ..storage.origin import origin_data
from . import records as k
from ._loop_base import LoopBase, _Batch
from .records import Record
from .state import EXEC_DELAYED, EXEC_RETRY

#: Execution statuses that wait for a wall-clock time (retry_at).
_TIMED = (EXEC_RETRY, EXEC_DELAYED)


class InputsMixin(LoopBase):
    """What wakes a run besides its steps: timers (timeout, retries, wait deadlines) and the inbox."""

    # -- timers ---------------------------------------------------------------------------

    def _on_timer(self, batch: _Batch, now: float) -> None:
        st = self.state
        clock = st.clock(now) + 1e-6
        if st.timeout is not None and clock >= st.timeout:
            self._append(
                batch,
                Record(k.TIMED_OUT, now, data={"timeout": st.timeout, "active_steps": st.active_steps()}),
            )
            return
        for ex in sorted(st.execs.values(), key=lambda e: e.id):
            if ex.status in _TIMED and ex.retry_at is not None and ex.retry_at <= now + 1e-6:
                # A retry is the next attempt; a delayed re-run after process deaths is the same one.
                attempt = ex.attempt + 1 if ex.status == EXEC_RETRY else ex.attempt
                self._accept(batch, ex.step, ex.id, ex.event_seq, attempt, ex.worker, now)
        for w in list(st.waiters.values()):
            if w.resolved is None and not w.timed_out and w.deadline is not None and w.deadline <= clock:
                self._append(batch, Record(k.WAITER_TIMEOUT, now, step=w.step, data={"waiter_id": w.waiter_id}))
        batch.timers = True

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        st = self.state
        # Run-clock deadlines (timeout, waits) become wall times in this segment;
        # retry times are wall times already.
        clock_due = [st.timeout] if st.timeout is not None else []
        clock_due += [
            w.deadline
            for w in st.waiters.values()
            if w.resolved is None and not w.timed_out and w.deadline is not None
        ]
        due = [st.wall(d) for d in clock_due]
        due += [e.retry_at for e in st.execs.values() if e.status in _TIMED and e.retry_at is not None]
        if not due:
            return
        delay = max(0.0, min(due) - time.time())
        self._timer = asyncio.get_running_loop().call_later(delay, self.post, "timer")

    # -- inbox -----------------------------------------------------------------------------

    def _watch_inbox(self) -> None:
        signal = self.store.inbox_signal(self.run_id)
        if signal is None or self._watcher is not None:
            return

        # The watcher sees its loop through a weak reference: cancelled when the run
        # ends, it lives one more event-loop turn, and must not keep the run's
        # objects (Context, workflow) alive through it (issue 14 item 6).
        loop_ref = weakref.ref(self)

        async def watch() -> None:
            # The store sets the signal for sends from this process at once and
            # for sends from other processes by polling (or NOTIFY) on its side.
            while True:
                await signal.wait()
                signal.clear()
                loop = loop_ref()
                if loop is None:
                    return
                loop.post("inbox")
                del loop

        self._watcher = asyncio.get_running_loop().create_task(watch())

    async def _ingest_inbox(self, batch: _Batch) -> None:
        items = await self.store.read_inbox(self.run_id)
        for item in items:
            if item.id <= self.state.inbox_seen or item.id in batch.consumed:
                continue
            batch.consumed.append(item.id)
            reason = cancel_request_reason(item)
            if reason is not None:  # store.cancel() from any process
                self._append(batch, Record(k.CANCELLED, time.time(), data={"reason": reason}))
                break
            try:
                event = self.codec.load_event(item.event_type, json.loads(item.payload), item.codec)
            except Exception as exc:  # noqa: BLE001 - a bad outside event must not kill the run
                data = {"source": "inbox", "inbox": item.id, "undecodable": str(exc)}
                self._append(batch, Record(k.SENT, time.time(), data=data))
                continue
            data = {"target": None, "source": "inbox", "inbox": item.id}
            if item.origin is not None:  # issue 17 hook: who sent it, under the hash chain
                data["origin"] = origin_data(item.origin)
            self._append(batch, Record(k.SENT, time.time(), event=event, data=data))

