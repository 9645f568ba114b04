"""The live loop of one run: append, reduce, then act.

One asyncio task per run owns its :class:`RunState`. Step tasks, timers, the
handler and the inbox watcher only post messages to it. For each wake-up the
loop drains every queued message into one batch of records, reduces them,
decides dispatch (``accepted`` records), commits the batch with one store call
and only then starts steps, arms timers and publishes stream events: nothing
acts on a record before it is written. A batch that ends the run or makes it
wait for input is also on disk before anyone is told (``durable``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

from ..codec.journal import error_info
from ..errors import (
    RecoveryLimitError,
    StaleLeaseError,
    StoreError,
    StoreWriteError,
)
from ..events import (
    Event,
    WorkflowIdleEvent,
)
from ..storage.rows import FINISHED_STATUSES, WAITING, Lease, NewRun, RunUpdate
from . import observe
from . import records as k
from ._loop_base import _Batch
from .collect import LiveBuffer
from .completion import CompletionMixin
from .dispatch import next_dispatch
from .faults import fault
from .inputs import InputsMixin
from .outcome import final_outcome
from .records import Record
from .snapshot_rule import SnapshotMixin
from .state import EXEC_RUNNING, RunState
from .steps import StepsMixin
from .streaming import StreamMixin

#: From this many process deaths in a row, an execution's re-run is delayed ...
BACKOFF_FROM = 5
#: ... by this many seconds, doubling per death, at most BACKOFF_MAX.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 8.0
#: Seconds between inbox polls while a run waits for outside input.
POLL_INTERVAL = 0.25
#: Run statuses whose append waits for the disk: they are acknowledged to callers.
_TOLD = FINISHED_STATUSES | {WAITING}


class RunLoop(CompletionMixin, InputsMixin, StepsMixin, StreamMixin, SnapshotMixin):
    """Executes one run in this process while holding its lease."""

    # -- entry points ----------------------------------------------------------------

    async def start(self, start_event: Event, seed_state: Any) -> None:
        """Journal a new run and execute it to its end (or until it waits and is dropped)."""
        self._new_run = NewRun(
            run_id=self.run_id,
            workflow=self.plan.name,
            fingerprint=self.spec.fingerprint_json(),
        )
        now = time.time()
        batch = _Batch()
        started = k.run_started_data(self.plan.name, self.spec.fingerprint(), self.plan.timeout, seed_state)
        if observe.OBSERVERS:  # observer hook (issue 16): the trace context is journaled with the run
            started.update(await observe.journal_context(self.store, self.run_id, self.plan.name, "start"))
        self._append(batch, Record(k.RUN_STARTED, now, data=started))
        self._append(batch, Record(k.SENT, now, event=start_event, data={"source": "start"}))
        batch.timers = True
        await self._finish_batch(batch)
        await self._main()

    async def resume(
        self, lease: Lease, state: RunState, reset_recoveries: bool = False, skip_failed: bool = False,
        died: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """Continue a run rebuilt by replay (``state``) under ``lease``.

        Executions in flight when the last process died run again; each such
        death is counted against them (``max_recoveries``), and from the
        :data:`BACKOFF_FROM`-th death in a row a re-run waits (journaled).
        ``reset_recoveries`` starts those counts over and continues a run a
        recovery limit failed. ``skip_failed`` continues a run that failed in a
        step without that execution: its event is dropped, the rest goes on.
        ``died`` is how the previous owner ended (``drive/deaths.py``), journaled as is.
        """
        self.lease = lease
        self.state = state
        self.op = max(state.state_op, state.collect_op)
        self.buffers = {s: {b: LiveBuffer(evs) for b, evs in bufs.items()} for s, bufs in state.buffers.items()}
        now = time.time()
        batch = _Batch()
        rerun = [e.id for e in state.execs.values() if e.status == EXEC_RUNNING]
        data: dict[str, Any] = {"owner": lease.owner, "token": lease.token, "rerun": rerun}
        delay = {
            str(e.id): min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (e.restarts + 1 - BACKOFF_FROM))
            for e in (state.execs[i] for i in rerun)
            if e.restarts + 1 >= BACKOFF_FROM and not reset_recoveries
        }
        if delay:
            data["delay"] = delay
        if died:
            data["died"] = died
        if reset_recoveries:
            data["reset_recoveries"] = True
            self._clear_error = state.finished  # the run row's recorded failure goes too
        if skip_failed and state.status == "failed":
            data["skip_failed"] = {"step": (state.error or {}).get("step"), "event_seq": (state.error or {}).get("event_seq")}
            self._clear_error = True
        if self.spec.fingerprint() != state.fingerprint:
            # From here on this code routes new events: replay must route them so too,
            # and send_event (any process) must check events against it.
            data["fingerprint"] = self.spec.fingerprint()
            self._fingerprint_change = self.spec.fingerprint_json()
        if observe.OBSERVERS:  # observer hook (issue 16): this process's trace context
            data.update(await observe.journal_context(self.store, self.run_id, self.plan.name, "resume"))
        self._append(batch, Record(k.RESUMED, now, data=data))
        crashed = [
            e
            for e in (state.execs[i] for i in rerun)
            if (limit := self.plan.recovery_limit(e.step)) is not None and e.restarts > limit
        ]
        if crashed:
            err = RecoveryLimitError(self.run_id, crashed[0].step, crashed[0].restarts)
            self._final_exc = err
            self._append(batch, Record(k.RUN_FAILED, now, data=error_info(err)))
        else:
            for exec_id in rerun:
                ex = state.execs[exec_id]
                if ex.status == EXEC_RUNNING:  # (not delayed)
                    self._accept(batch, ex.step, ex.id, ex.event_seq, ex.attempt, ex.worker, now)
            await self._recreate_resources(batch)
            self._watch_inbox()  # take the signal first: a send after the read still wakes us
            await self._ingest_inbox(batch)
        batch.timers = True
        await self._finish_batch(batch)
        await self._main()

    async def finish_from_journal(self) -> None:
        """Resolve this loop's result from a finished run's state, running nothing."""
        self._settle()

    # -- the loop ------------------------------------------------------------------------

    async def _main(self) -> None:
        self._watch_inbox()
        try:
            while not self.state.finished and not self.parked.done():
                message = await self._next_message()
                batch = _Batch()
                await self._handle(batch, message)
                while not self.messages.empty() and not self.state.finished:
                    await self._handle(batch, self.messages.get_nowait())
                await self._finish_batch(batch)
        except BaseException as exc:
            self._abort(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._stop_background()

    async def _next_message(self) -> tuple[Any, ...]:
        if self._watcher is not None or self._reported_status != "waiting":
            return await self.messages.get()
        try:  # a store without inbox signals: poll while waiting for outside input
            return await asyncio.wait_for(self.messages.get(), POLL_INTERVAL)
        except asyncio.TimeoutError:
            return ("inbox",)

    async def _handle(self, batch: _Batch, message: tuple[Any, ...]) -> None:
        kind = message[0]
        now = time.time()
        if self.state.finished:
            return
        if kind == "done":
            self._on_done(batch, message[1], message[2], message[3], now)
        elif kind == "send":
            event, target = message[1], message[2]
            self._append(batch, Record(k.SENT, now, step=target, event=event, data={"target": target, "source": "handler"}))
        elif kind == "state":
            self._commit_when_ready(batch, message[1], now)
        elif kind == "timer":
            self._on_timer(batch, now)
        elif kind == "cancel":
            self._append(batch, Record(k.CANCELLED, now, data={"reason": "cancelled by user"}))
        elif kind == "inbox":
            await self._ingest_inbox(batch)

    async def _finish_batch(self, batch: _Batch) -> None:
        """Dispatch, report status, commit, then act on the committed records."""
        now = time.time()
        while not self.state.finished:
            d = next_dispatch(self.state, self.spec)
            if d is None:
                break
            self._accept(batch, *d, now)
        for key, cache in self._loose_resources:
            self._append(batch, Record(k.RESOURCE, now, data={"exec": None, "key": key, "cache": cache}))
        self._loose_resources.clear()
        update = self._status_update()
        if self._fingerprint_change is not None:
            update = dataclasses.replace(update or RunUpdate(), fingerprint=self._fingerprint_change)
            self._fingerprint_change = None
        if self._clear_error and update is not None:
            update = dataclasses.replace(update, error="")
            self._clear_error = False
        update = self._snapshot_if_due(batch, update, now)
        batch.went_idle, self._went_idle = self._went_idle, False
        if not batch.entries and update is None:
            return
        fault("before_append")
        t0 = time.perf_counter() if observe.OBSERVERS else 0.0  # observer hook (issue 16)
        # What only this loop acts on (steps, timers) need not wait for the disk; an
        # ending or a wait for input is told to callers (see JournalStore.append).
        durable = update is not None and update.status in _TOLD
        if self.lease is None:
            assert self._new_run is not None
            self.lease = await self.store.create_run(self._new_run, batch.entries, durable=durable)
            if update is not None:
                await self.store.append(self.lease, [], update, durable=durable)
        else:
            await self.store.append(self.lease, batch.entries, update, batch.consumed, durable=durable)
        if update is not None and update.release_lease:
            self.lease = None
        fault("after_append")
        if observe.OBSERVERS:  # observer hook (issue 16): these records are durable
            observe.committed(self.run_id, self.plan.name, batch.records, update, time.perf_counter() - t0)
        self._after_commit(batch)

    def _after_commit(self, batch: _Batch) -> None:
        if self.plan.verbose:
            _print_progress(batch)
        internal = self._internal_events(batch) if self.want_internal else []
        if self._reported_status == "waiting" and batch.went_idle:
            internal.append((None, WorkflowIdleEvent()))
        if batch.stream or internal:
            self._note_positions(batch.stream)
            self.stream_log.extend(batch.stream)
            self.stream_log.extend(internal)
            self._wake_streams()
        if self.state.finished:
            self._settle()
            return
        if self.park_when_idle and batch.went_idle:
            self._park()
            return
        for exec_id in batch.to_start:
            self._start_step(exec_id)
        if batch.timers:
            self._arm_timer()

    # -- status and ending ------------------------------------------------------------------

    def _status_update(self) -> RunUpdate | None:
        st = self.state
        if st.finished:
            if self._reported_status == st.status:
                return None
            self._reported_status = st.status
            outcome = None
            if st.result is not None:
                outcome = json.dumps(
                    {"type": type(st.result).__module__ + "." + type(st.result).__qualname__,
                     "codec": self.codec.name, "event": self.codec.dump_event(st.result)}
                )
            return RunUpdate(
                status=st.status,
                outcome=outcome,
                error=json.dumps(st.error) if st.error else None,
                waiting_for=[],
                release_lease=True,  # the run is over: no separate commit to let it go
            )
        status = "waiting" if st.idle() else "running"
        # What the run waits for: pending waiters' types at any time (an answer may
        # come while other steps run), else, when idle, the types fed from outside.
        waiting_for = sorted({w.event_type for w in st.waiters.values() if w.resolved is None and not w.timed_out})
        if not waiting_for and status == "waiting":
            waiting_for = self.spec.external_types()
        if status == self._reported_status and waiting_for == self._reported_waiting_for:
            return None
        self._went_idle = status == "waiting" and self._reported_status != "waiting"
        self._reported_status = status
        self._reported_waiting_for = waiting_for
        return RunUpdate(status=status, waiting_for=waiting_for)

    def _settle(self) -> None:
        """The run is over: stop everything, publish the final event, resolve the result."""
        st = self.state
        self._stop_background()
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()
        final, exc = final_outcome(st.status, st.result, st.error, self._final_exc)
        self._final_event = final
        self.stream_log.append((None, final))
        self._wake_streams()
        if not self.result.done():
            if exc is None:
                self.result.set_result(final)
            else:
                self.result.set_exception(exc)
        lease = self.lease
        if lease is not None:
            self.lease = None
            asyncio.get_running_loop().create_task(self._release(lease))

    async def detach(self) -> None:
        """Stop executing the run here without ending it (worker shutdown); release its lease.

        Steps in flight are cancelled; their effects were never journaled, so
        whoever resumes the run runs them again.
        """
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()
        release = self._park()
        if release is not None:
            await release

    def _park(self) -> asyncio.Task[None] | None:
        """Idle in worker mode: give the run back to the store; any worker resumes it on input."""
        self._stop_background()
        lease, self.lease = self.lease, None
        release = None
        if lease is not None:
            release = asyncio.get_running_loop().create_task(self._release(lease))
        if not self.parked.done():
            self.parked.set_result(None)
        self.post("parked")  # wake the loop so it sees it is done
        return release

    async def _release(self, lease: Lease) -> None:
        try:
            await self.store.release_lease(lease)
        except Exception:  # noqa: BLE001 - the lease lapses on its own
            pass

    def _abort(self, exc: BaseException) -> None:
        """The loop itself failed (store error, lost lease, cancellation): stop quietly.

        After a store error the run's lease is given up (released when the
        store can still write, else no longer renewed), so this or any process
        can resume the run once the store works again.
        """
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()
        lease, self.lease = self.lease, None
        if lease is not None and isinstance(exc, StoreError) and not isinstance(exc, StaleLeaseError):
            self.store.forget_lease(lease)
            asyncio.get_running_loop().create_task(self._release(lease))
            if isinstance(exc, StoreWriteError):
                stopped = StoreWriteError(
                    exc.path,
                    exc.reason,
                    hint=(
                        f"run {self.run_id!r} stopped here. Nothing it had committed is lost and "
                        "its lease was given up: fix the cause (free disk space, permissions), "
                        "then resume it, in this process or any other."
                    ),
                )
                stopped.__cause__ = exc
                exc = stopped
        elif lease is not None:
            self.lease = lease
        if not self.result.done():
            if isinstance(exc, asyncio.CancelledError):
                self.result.cancel()
            else:
                self.result.set_exception(exc)
        self._wake_streams()

    def _stop_background(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None



def _print_progress(batch: _Batch) -> None:
    """``verbose=True``: one line per step start and per step result, as upstream prints."""
    produced = {int(r.get("exec")) for r in batch.records if r.kind == k.PRODUCED}
    for rec in batch.records:
        if rec.kind == k.ACCEPTED:
            print(f"Running step {rec.step}")
        elif rec.kind == k.PRODUCED and rec.event is not None:
            print(f"Step {rec.step} produced event {type(rec.event).__name__}")
        elif rec.kind == k.COMPLETED and int(rec.get("exec")) not in produced:
            print(f"Step {rec.step} produced no event")
