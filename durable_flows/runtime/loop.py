"""The live loop of one run: append, reduce, then act.

One asyncio task per run owns its :class:`RunState`. Step tasks, timers, the
handler and the inbox watcher only post messages to it. For each wake-up the
loop drains every queued message into one batch of records, reduces them,
decides dispatch (``accepted`` records), commits the batch with one store call
and only then starts steps, arms timers and publishes stream events: nothing
acts on a record before it is durable.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..codec import Codec, error_info, rebuild_error
from ..errors import (
    DurableFlowsError,
    RecoveryLimitError,
    WorkflowCancelledByUser,
    WorkflowRuntimeError,
    WorkflowTimeoutError,
)
from ..events import (
    Event,
    InputRequiredEvent,
    StepFailedEvent,
    StepState,
    StepStateChanged,
    StopEvent,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowIdleEvent,
    WorkflowTimedOutEvent,
)
from ..resource import ResourceManager, descriptors_by_key
from ..storage.base import JournalEntry, JournalStore, Lease, NewRun, RunUpdate
from . import records as k
from .faults import fault
from .records import Record
from .reducer import next_dispatch, reduce
from .scope import ExecScope, WaitingForEvent, current_scope
from .spec import RunSpec
from .state import EXEC_RETRY, EXEC_RUNNING, RunState

if TYPE_CHECKING:
    from ..workflow import Workflow

#: An execution found in flight this many times after process deaths fails the run.
MAX_RESTARTS = 3
#: Seconds between inbox polls while a run waits for outside input.
POLL_INTERVAL = 0.25


@dataclass
class _Batch:
    records: list[Record] = field(default_factory=list)
    entries: list[JournalEntry] = field(default_factory=list)
    consumed: list[int] = field(default_factory=list)
    to_start: list[int] = field(default_factory=list)
    stream: list[tuple[int, Event]] = field(default_factory=list)
    timers: bool = False
    went_idle: bool = False


class RunLoop:
    """Executes one run in this process while holding its lease."""

    def __init__(
        self, workflow: Workflow, store: JournalStore, ctx: Any, run_id: str
    ) -> None:
        self.wf = workflow
        self.store = store
        self.spec: RunSpec = workflow._run_spec()
        self.codec: Codec = workflow._codec()
        self.ctx = ctx
        self.run_id = run_id
        self.state = RunState(run_id=run_id)
        self.lease: Lease | None = None
        self.messages: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.result: asyncio.Future[StopEvent] = asyncio.get_running_loop().create_future()
        self.stream_log: list[tuple[int | None, Event]] = []
        self._stream_new = asyncio.Event()
        self._final_event: Event | None = None
        #: Set once a consumer streams with expose_internal: then step state changes are published.
        self.want_internal = False
        self.op = 0  # live order of state edits and collect-buffer changes
        #: Live collect buffers: committed ones plus what running executions added.
        self.buffers: dict[str, dict[str, list[Event]]] = {}
        self.resources = ResourceManager(on_create=self._on_resource)
        self._loose_resources: list[tuple[str, bool]] = []
        self._reported_status = "running"
        self._went_idle = False
        self._timer: asyncio.TimerHandle | None = None
        self._final_exc: BaseException | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._new_run: NewRun | None = None

    # -- entry points ----------------------------------------------------------------

    async def start(self, start_event: Event, seed_state: Any) -> None:
        """Journal a new run and execute it to its end (or until it waits and is dropped)."""
        self._new_run = NewRun(
            run_id=self.run_id,
            workflow=self.wf.workflow_name,
            fingerprint=json.dumps(self.spec.fingerprint(), sort_keys=True),
        )
        now = time.time()
        batch = _Batch()
        self._append(
            batch,
            Record(
                k.RUN_STARTED,
                now,
                data={
                    "workflow": self.wf.workflow_name,
                    "fingerprint": self.spec.fingerprint(),
                    "timeout": self.wf._timeout,
                    "state": seed_state,
                },
            ),
        )
        self._append(batch, Record(k.SENT, now, event=start_event, data={"source": "start"}))
        batch.timers = True
        await self._finish_batch(batch)
        await self._main()

    async def resume(self, lease: Lease, state: RunState) -> None:
        """Continue a run rebuilt by replay (``state``) under ``lease``."""
        self.lease = lease
        self.state = state
        self.op = max(state.state_op, state.collect_op)
        self.buffers = {s: {b: list(evs) for b, evs in bufs.items()} for s, bufs in state.buffers.items()}
        now = time.time()
        batch = _Batch()
        rerun = [e.id for e in state.execs.values() if e.status == EXEC_RUNNING]
        self._append(
            batch,
            Record(k.RESUMED, now, data={"owner": lease.owner, "token": lease.token, "rerun": rerun}),
        )
        crashed = [e for e in state.execs.values() if e.restarts > MAX_RESTARTS]
        if crashed:
            err = RecoveryLimitError(self.run_id, crashed[0].step, crashed[0].restarts)
            self._final_exc = err
            self._append(batch, Record(k.RUN_FAILED, now, data=error_info(err)))
        else:
            for exec_id in rerun:
                ex = state.execs[exec_id]
                self._accept(batch, ex.step, ex.id, ex.event_seq, ex.attempt, ex.worker, now)
            await self._recreate_resources(batch)
            await self._ingest_inbox(batch)
        batch.timers = True
        await self._finish_batch(batch)
        await self._main()

    async def finish_from_journal(self) -> None:
        """Resolve this loop's result from a finished run's state, running nothing."""
        self._settle()

    # -- messages from outside the loop ------------------------------------------------

    def post(self, *message: Any) -> None:
        """Queue a message for the loop (from any task of this event loop)."""
        self.messages.put_nowait(message)

    def next_op(self) -> int:
        """The next number in the live order of state edits."""
        self.op += 1
        return self.op

    # -- the loop ------------------------------------------------------------------------

    async def _main(self) -> None:
        self._watch_inbox()
        try:
            while not self.state.finished:
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
        if self._reported_status != "waiting":
            return await self.messages.get()
        try:
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
            self._append(batch, Record(k.STATE, now, data={"exec": None, "op": message[1], "state": message[2]}))
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
        batch.went_idle, self._went_idle = self._went_idle, False
        if not batch.entries and update is None:
            return
        fault("before_append")
        if self.lease is None:
            assert self._new_run is not None
            self.lease = await self.store.create_run(self._new_run, batch.entries)
            if update is not None:
                await self.store.append(self.lease, [], update)
        else:
            await self.store.append(self.lease, batch.entries, update, batch.consumed)
        fault("after_append")
        self._after_commit(batch)

    def _after_commit(self, batch: _Batch) -> None:
        internal = self._internal_events(batch) if self.want_internal else []
        if self._reported_status == "waiting" and batch.went_idle:
            internal.append((None, WorkflowIdleEvent()))
        if batch.stream or internal:
            self.stream_log.extend(batch.stream)
            self.stream_log.extend(internal)
            self._wake_streams()
        if self.state.finished:
            self._settle()
            return
        for exec_id in batch.to_start:
            self._start_step(exec_id)
        if batch.timers:
            self._arm_timer()

    # -- records -------------------------------------------------------------------

    def _append(self, batch: _Batch, rec: Record) -> None:
        seq = self.state.last_seq + 1
        rec = replace(rec, seq=seq)
        entry = self.codec.encode(self.run_id, seq, rec)
        reduce(self.state, rec, self.spec)
        batch.records.append(rec)
        batch.entries.append(entry)
        if rec.kind == k.STREAM and rec.event is not None:
            batch.stream.append((int(rec.get("n")), rec.event))
        elif rec.kind in (k.FAILED, k.WAITER, k.WAITER_TIMEOUT):
            batch.timers = True

    def _accept(
        self, batch: _Batch, step: str, exec_id: int, event_seq: int, attempt: int, worker: int, now: float
    ) -> None:
        data = {"exec": exec_id, "worker": worker, "attempt": attempt, "event_seq": event_seq}
        self._append(batch, Record(k.ACCEPTED, now, step=step, data=data))
        batch.to_start.append(exec_id)

    # -- step completion ---------------------------------------------------------------

    def _on_done(self, batch: _Batch, scope: ExecScope, outcome: str, value: Any, now: float) -> None:
        ex = scope.ex
        self.tasks.pop(ex.id, None)
        if self.state.execs.get(ex.id) is not ex or ex.status != EXEC_RUNNING:
            return  # the run moved on (ended, or this attempt was superseded)
        if outcome == "ok" and value is not None and not isinstance(value, Event):
            outcome, value = "error", WorkflowRuntimeError(
                f"Step function {ex.step} returned {type(value).__name__} instead of an Event instance."
            )
        if outcome == "ok":
            try:
                self._check_encodable(scope, value)
            except DurableFlowsError as exc:
                outcome, value = "error", exc
        step = ex.step
        if outcome == "ok":
            self._effects(batch, scope, now, with_collect=True)
            if value is not None:
                self._append(batch, Record(k.PRODUCED, now, step=step, event=value, data={"exec": ex.id}))
                if isinstance(value, InputRequiredEvent):
                    self._stream_write(batch, scope, value, now)
            if ex.id in self.state.execs:
                duration = round(time.monotonic() - scope.started, 6)
                self._append(
                    batch,
                    Record(k.COMPLETED, now, step=step, data={"exec": ex.id, "attempt": ex.attempt, "duration": duration}),
                )
        elif outcome == "wait":
            self._effects(batch, scope, now, with_collect=False)
            self._on_wait(batch, scope, value, now)
        else:
            self._effects(batch, scope, now, with_collect=False)
            self._on_error(batch, scope, value, now)

    def _check_encodable(self, scope: ExecScope, value: Any) -> None:
        for ev in [value, *(e for e, _ in scope.sent), *scope.stream]:
            if ev is not None:
                self.codec.dump_event(ev)

    def _effects(self, batch: _Batch, scope: ExecScope, now: float, with_collect: bool) -> None:
        ex = scope.ex
        for key, cache in scope.resources:
            self._append(batch, Record(k.RESOURCE, now, step=ex.step, data={"exec": ex.id, "key": key, "cache": cache}))
        if scope.state is not None:
            op, dumped = scope.state
            self._append(batch, Record(k.STATE, now, step=ex.step, data={"exec": ex.id, "op": op, "state": dumped}))
        if with_collect:
            for op_name, buffer, ev, n, _ in scope.collect:
                data = {"exec": ex.id, "buffer": buffer, "op": op_name, "n": n}
                self._append(batch, Record(k.COLLECT, now, step=ex.step, event=ev, data=data))
        else:
            self._undo_collect(scope)
        for ev, target in scope.sent:
            self._append(
                batch,
                Record(k.SENT, now, step=target, event=ev, data={"target": target, "source": "step", "exec": ex.id}),
            )
        for ev in scope.stream:
            self._stream_write(batch, scope, ev, now)

    def _undo_collect(self, scope: ExecScope) -> None:
        """An attempt that failed or parked leaves the live collect buffers as it found them."""
        bufs = self.buffers.get(scope.ex.step, {})
        for op_name, buffer, ev, _, removed in reversed(scope.collect):
            live = bufs.setdefault(buffer, [])
            if op_name == "add":
                for i, e in enumerate(live):
                    if e is ev:
                        del live[i]
                        break
            elif removed:
                live[:0] = removed

    def _stream_write(self, batch: _Batch, scope: ExecScope | None, ev: Event, now: float) -> None:
        data = {"exec": scope.ex.id if scope else None, "n": self.state.stream_n + 1}
        self._append(batch, Record(k.STREAM, now, step=scope.ex.step if scope else None, event=ev, data=data))

    def _on_wait(self, batch: _Batch, scope: ExecScope, wait: WaitingForEvent, now: float) -> None:
        ex = scope.ex
        if wait.waiter_id in self.state.waiters:
            return  # already registered and still pending: nothing new to journal
        if wait.waiter_event is not None:
            self._stream_write(batch, scope, wait.waiter_event, now)
        from ..events import qualified_name

        deadline = None if wait.timeout is None else self.state.clock(now) + float(wait.timeout)
        self._append(
            batch,
            Record(
                k.WAITER,
                now,
                step=ex.step,
                data={
                    "exec": ex.id,
                    "waiter_id": wait.waiter_id,
                    "event_type": qualified_name(wait.event_type),
                    "requirements": wait.requirements,
                    "deadline": deadline,
                },
            ),
        )
        waiter = self.state.waiters.get(wait.waiter_id)
        if waiter is not None:
            waiter.event_class = wait.event_type

    def _on_error(self, batch: _Batch, scope: ExecScope, exc: BaseException, now: float) -> None:
        ex = scope.ex
        cfg = self.wf._step_config(ex.step)
        policy = cfg.retry_policy
        elapsed = max(0.0, now - ex.first_ts)
        delay = None
        if policy is not None and isinstance(exc, Exception):
            delay = policy.next(elapsed, ex.attempt, exc)
        catch = None
        if delay is None:
            handler = self.spec.catch_handler(ex.step)
            if (
                handler is not None
                and self.spec.steps[ex.step].catch_for is None
                and self.state.recoveries.get(handler.name, 0) < handler.max_recoveries
            ):
                catch = handler.name
        self._append(
            batch,
            Record(
                k.FAILED,
                now,
                step=ex.step,
                data={
                    "exec": ex.id,
                    "attempt": ex.attempt,
                    "error": error_info(exc),
                    "retry_in": delay,
                    "catch": catch,
                },
            ),
        )
        if catch is not None:
            from datetime import datetime, timezone

            failed = StepFailedEvent(
                step_name=ex.step,
                input_event=ex.event,
                exception=exc if isinstance(exc, Exception) else WorkflowRuntimeError(str(exc)),
                attempts=ex.attempt,
                elapsed_seconds=elapsed,
                failed_at=datetime.fromtimestamp(now, tz=timezone.utc),
            )
            self._append(
                batch,
                Record(k.SENT, now, step=catch, event=failed, data={"target": catch, "source": "catch", "exec": ex.id}),
            )
        elif delay is None:
            self._final_exc = exc

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
            if ex.status == EXEC_RETRY and ex.retry_at is not None and ex.retry_at <= clock:
                self._accept(batch, ex.step, ex.id, ex.event_seq, ex.attempt + 1, ex.worker, now)
        for w in list(st.waiters.values()):
            if w.resolved is None and not w.timed_out and w.deadline is not None and w.deadline <= clock:
                self._append(batch, Record(k.WAITER_TIMEOUT, now, step=w.step, data={"waiter_id": w.waiter_id}))
        batch.timers = True

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        st = self.state
        due = [st.timeout] if st.timeout is not None else []
        due += [e.retry_at for e in st.execs.values() if e.status == EXEC_RETRY and e.retry_at is not None]
        due += [
            w.deadline
            for w in st.waiters.values()
            if w.resolved is None and not w.timed_out and w.deadline is not None
        ]
        if not due:
            return
        delay = max(0.0, st.wall(min(due)) - time.time())
        self._timer = asyncio.get_running_loop().call_later(delay, self.post, "timer")

    # -- inbox -----------------------------------------------------------------------------

    def _watch_inbox(self) -> None:
        signal = self.store.inbox_signal(self.run_id)
        if signal is None or self._watcher is not None:
            return

        async def watch() -> None:
            while True:
                await signal.wait()
                signal.clear()
                self.post("inbox")

        self._watcher = asyncio.get_running_loop().create_task(watch())

    async def _ingest_inbox(self, batch: _Batch) -> None:
        items = await self.store.read_inbox(self.run_id)
        for item in items:
            if item.id <= self.state.inbox_seen or item.id in batch.consumed:
                continue
            batch.consumed.append(item.id)
            try:
                event = self.codec.load_event(item.event_type, json.loads(item.payload), item.codec)
            except Exception as exc:  # noqa: BLE001 - a bad outside event must not kill the run
                data = {"source": "inbox", "inbox": item.id, "undecodable": str(exc)}
                self._append(batch, Record(k.SENT, time.time(), data=data))
                continue
            self._append(
                batch,
                Record(k.SENT, time.time(), event=event, data={"target": None, "source": "inbox", "inbox": item.id}),
            )

    # -- resources ------------------------------------------------------------------------

    def _on_resource(self, key: str, cache: bool) -> None:
        scope = current_scope.get()
        if scope is not None:
            scope.resources.append((key, cache))
        else:
            self._loose_resources.append((key, cache))

    async def _recreate_resources(self, batch: _Batch) -> None:
        """Rebuild the run's resource cache: each cached key the journal names, once."""
        known = descriptors_by_key(
            rd for cfg in self.wf._step_configs().values() for rd in cfg.resources
        )
        for key in sorted(self.state.resources):
            descriptor = known.get(key)
            if descriptor is not None and descriptor.cache:
                await self.resources.get(descriptor)

    # -- steps ------------------------------------------------------------------------------

    def _start_step(self, exec_id: int) -> None:
        ex = self.state.execs.get(exec_id)
        if ex is None or ex.status != EXEC_RUNNING:
            return
        old = self.tasks.pop(exec_id, None)
        if old is not None:
            old.cancel()
        scope = ExecScope(ex=ex, ctx=self.ctx)
        self.tasks[exec_id] = asyncio.get_running_loop().create_task(
            self._run_step(scope), name=f"{self.run_id}:{ex.step}:{ex.id}"
        )

    async def _run_step(self, scope: ExecScope) -> None:
        current_scope.set(scope)
        fault("step_started")
        try:
            value = await self._invoke(scope)
            outcome = "ok"
        except WaitingForEvent as wait:
            outcome, value = "wait", wait
        except Exception as exc:  # noqa: BLE001 - a step's failure is data
            outcome, value = "error", exc
        fault("step_finished")
        self.post("done", scope, outcome, value)

    async def _invoke(self, scope: ExecScope) -> Any:
        ex = scope.ex
        fn = self.wf._step_function(ex.step)
        cfg = fn._step_config
        kwargs: dict[str, Any] = {cfg.event_name: ex.event}
        if cfg.context_parameter:
            kwargs[cfg.context_parameter] = self.ctx
        with self.resources.resolution_scope():  # one value per cache=False resource per call
            for rd in cfg.resources:
                kwargs[rd.name] = await self.resources.get(rd.resource)
        if inspect.iscoroutinefunction(fn):
            return await fn(**kwargs)
        result = await asyncio.to_thread(fn, **kwargs)
        if inspect.isawaitable(result):
            return await result
        return result

    # -- status and ending ------------------------------------------------------------------

    def _internal_events(self, batch: _Batch) -> list[tuple[int | None, Event]]:
        out: list[tuple[int | None, Event]] = []
        for rec in batch.records:
            if rec.kind not in (k.ACCEPTED, k.COMPLETED, k.FAILED, k.WAITER) or rec.step is None:
                continue
            ex = self.state.execs.get(int(rec.get("exec")))
            running = rec.kind == k.ACCEPTED
            out.append(
                (
                    None,
                    StepStateChanged(
                        name=rec.step,
                        step_state=StepState.RUNNING if running else StepState.NOT_RUNNING,
                        worker_id=str(rec.get("worker", ex.worker if ex else 0)),
                        input_event_name=type(ex.event).__name__ if ex else "",
                    ),
                )
            )
        return out

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
            )
        status = "waiting" if st.idle() else "running"
        if status == self._reported_status:
            return None
        self._reported_status = status
        self._went_idle = status == "waiting"
        waiting_for: list[str] = []
        if status == "waiting":
            waiting_for = [w.event_type for w in st.waiters.values() if w.resolved is None and not w.timed_out]
            waiting_for = waiting_for or self.spec.external_types()
        return RunUpdate(status=status, waiting_for=waiting_for)

    def _settle(self) -> None:
        """The run is over: stop everything, publish the final event, resolve the result."""
        st = self.state
        self._stop_background()
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()
        final: StopEvent
        exc: BaseException | None = None
        if st.status == "completed" and isinstance(st.result, StopEvent):
            final = st.result
        elif st.status == "timed_out":
            timeout = float((st.error or {}).get("timeout") or 0.0)
            active = list((st.error or {}).get("active_steps") or [])
            info = "Currently active steps: " + ", ".join(active) if active else "No steps active"
            final = WorkflowTimedOutEvent(timeout=timeout, active_steps=active)
            exc = WorkflowTimeoutError(f"Operation timed out after {timeout} seconds. {info}")
        elif st.status == "cancelled":
            final = WorkflowCancelledEvent()
            exc = WorkflowCancelledByUser()
        else:
            err = st.error or {}
            exc = self._final_exc or rebuild_error(err, WorkflowRuntimeError)
            final = WorkflowFailedEvent(
                step_name=str(err.get("step", "")),
                exception=exc if isinstance(exc, Exception) else WorkflowRuntimeError(str(exc)),
                attempts=err.get("attempts"),
            )
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

    async def _release(self, lease: Lease) -> None:
        try:
            await self.store.release_lease(lease)
        except Exception:  # noqa: BLE001 - the lease lapses on its own
            pass

    def _abort(self, exc: BaseException) -> None:
        """The loop itself failed (store error, lost lease, cancellation): stop quietly."""
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()
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
