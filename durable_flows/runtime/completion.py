"""Turning a finished step attempt into journal records.

One attempt's effects (state, collect buffers, sends, stream writes, the
returned event) become records of one batch, so they commit together."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ..codec.journal import error_info
from ..errors import DurableFlowsError, WorkflowRuntimeError
from ..events import Event, InputRequiredEvent, StepFailedEvent, qualified_name
from . import records as k
from ._loop_base import LoopBase, _Batch
from .commit_order import Writer
from .records import Record
from .returns import returned_events
from .scope import ExecScope, WaitingForEvent
from .state import EXEC_RUNNING

logger = logging.getLogger(__name__)

#: Seconds a finished step may wait for the executions it depends on before a warning is logged.
HOLD_WARNING = 5.0


class CompletionMixin(LoopBase):
    """Turning a finished step attempt into journal records."""

    # -- step completion ---------------------------------------------------------------

    def _on_done(self, batch: _Batch, scope: ExecScope, outcome: str, value: Any, now: float) -> None:
        ex = scope.ex
        self.tasks.pop(ex.id, None)
        if self.state.execs.get(ex.id) is not ex or ex.status != EXEC_RUNNING:
            # The run moved on (ended, or this attempt was superseded): its changes never commit.
            self._adds_settled(scope)
            for wid in self.order.drop(ex.id):
                self._commit_when_ready(batch, wid, now)
            return
        entry = self.order.pending.get(ex.id)
        if entry is None:  # touched nothing shared that is uncommitted: journal it now
            self._complete(batch, scope, outcome, value, now)
            return
        entry.done = True
        entry.step = ex.step
        entry.completion = (scope, outcome, value)
        self._commit_when_ready(batch, ex.id, now)

    # -- commit order ----------------------------------------------------------------

    def _commit_when_ready(self, batch: _Batch, wid: int, now: float) -> None:
        """Journal ``wid`` with everything it depends on, once all of it has finished."""
        group = self.order.ready_group(wid)
        if group is None:
            entry = self.order.pending.get(wid)
            if entry is not None and not entry.held_since:
                self.order.hold(entry)
                asyncio.get_running_loop().call_later(HOLD_WARNING, self._warn_held, wid)
            return
        self._journal_state(batch, group, now)
        woken = self.order.committed(group)
        for entry in group:
            if entry.completion is not None:
                scope, outcome, value = entry.completion
                self._complete(batch, scope, outcome, value, now)
        for other in woken:
            if other in self.order.pending:
                self._commit_when_ready(batch, other, now)

    def _journal_state(self, batch: _Batch, group: list[Writer], now: float) -> None:
        """One ``state`` record with the group's changes, in live order."""
        changes = sorted((n, e.wid, ops) for e in group for n, ops in e.ops)
        whole = max((e.whole for e in group if e.whole is not None), default=None)
        if not changes and whole is None:
            return
        writers = sorted({wid for _, wid, _ in changes} | {e.wid for e in group if e.whole is not None})
        first = next(e for e in group if e.wid in writers)
        data: dict[str, Any] = {"exec": first.wid if first.wid > 0 else None}
        if len(writers) > 1:
            data["execs"] = [w if w > 0 else None for w in writers]
        if whole is not None:  # a state the codec writes whole (jsonpickle)
            data["op"], data["state"] = whole
        else:
            data["ops"] = [op for _, _, ops in changes for op in ops]
        self._append(batch, Record(k.STATE, now, step=first.step, data=data))

    def _warn_held(self, wid: int) -> None:
        entry = self.order.pending.get(wid)
        if entry is None or not entry.done or self.state.finished:
            return
        waits = self.order.blockers(wid)
        if not waits:
            return
        names = ", ".join(sorted({f"{w.step or 'outside'} (exec {w.wid})" for w in waits}))
        logger.warning(
            "run %s: %s finished %.1f s ago but is not journaled yet: it read or overwrote "
            "uncommitted state or collect-buffer changes of %s, which must commit first",
            self.run_id,
            f"step {entry.step} (exec {wid})" if entry.step else "a change made outside any step",
            time.monotonic() - entry.held_since,
            names,
        )
        asyncio.get_running_loop().call_later(HOLD_WARNING, self._warn_held, wid)

    # -- journaling a finished attempt -------------------------------------------------

    def _complete(self, batch: _Batch, scope: ExecScope, outcome: str, value: Any, now: float) -> None:
        ex = scope.ex
        returned: list[Event] = []
        as_list = False
        if outcome == "ok":
            try:
                returned, as_list = returned_events(ex.step, value, self.plan.step_call(ex.step)[1])
                self._dumps = self._encode_events(scope, returned)
            except DurableFlowsError as exc:
                outcome, value = "error", exc
        step = ex.step
        if outcome == "ok":
            try:
                self._effects(batch, scope, now, with_collect=True)
                # a list return: one record each (members of its stream), all in this append
                member = {"exec": ex.id, "stream": True} if as_list else {"exec": ex.id}
                for ev in returned:
                    self._append(batch, Record(k.PRODUCED, now, step=step, event=ev, data=member))
                    if isinstance(ev, InputRequiredEvent):
                        self._stream_write(batch, scope, ev, now)
                if ex.id in self.state.execs:
                    duration = round(time.monotonic() - scope.started, 6)
                    done = {"exec": ex.id, "attempt": ex.attempt, "duration": duration}
                    if as_list:
                        done["fan_out"] = len(returned)
                    self._append(batch, Record(k.COMPLETED, now, step=step, data=done))
            finally:
                self._dumps = {}  # only this completion's encodings may be reused
        elif outcome == "wait":
            self._effects(batch, scope, now, with_collect=False)
            self._on_wait(batch, scope, value, now)
        else:
            self._effects(batch, scope, now, with_collect=False)
            self._on_error(batch, scope, value, now)

    def _encode_events(self, scope: ExecScope, returned: list[Event]) -> dict[int, tuple[Event, Any]]:
        """Encode every event the attempt emits, before anything is journaled.

        An event that can't be encoded fails the step instead of the run; the
        encodings are reused by ``_append`` (by object identity).
        """
        return {
            id(ev): (ev, self.codec.dump_event(ev))
            for ev in (*returned, *(e for e, _ in scope.sent), *scope.stream)
        }

    def _effects(self, batch: _Batch, scope: ExecScope, now: float, with_collect: bool) -> None:
        ex = scope.ex
        for key, cache in scope.resources:
            self._append(batch, Record(k.RESOURCE, now, step=ex.step, data={"exec": ex.id, "key": key, "cache": cache}))
        if with_collect:
            for op_name, buffer, ev, n, _ in scope.collect:
                data = {"exec": ex.id, "buffer": buffer, "op": op_name, "n": n}
                self._append(batch, Record(k.COLLECT, now, step=ex.step, event=ev, data=data))
        else:
            self._undo_collect(scope)
        self._adds_settled(scope)
        for ev, target in scope.sent:
            self._append(
                batch,
                Record(k.SENT, now, step=target, event=ev, data={"target": target, "source": "step", "exec": ex.id}),
            )
        for ev in scope.stream:
            self._stream_write(batch, scope, ev, now)

    def _adds_settled(self, scope: ExecScope) -> None:
        """The attempt's buffer adds are journaled (or undone): nobody depends on them any more."""
        if not scope.collect:
            return
        bufs = self.buffers.get(scope.ex.step, {})
        for op_name, buffer, _, _, _ in scope.collect:
            live = bufs.get(buffer)
            if op_name == "add" and live is not None:
                live.uncommitted.discard(scope.ex.id)

    def _undo_collect(self, scope: ExecScope) -> None:
        """An attempt that failed or parked leaves the live collect buffers as it found them."""
        bufs = self.buffers.get(scope.ex.step, {})
        for op_name, buffer, ev, _, removed in reversed(scope.collect):
            live = bufs.get(buffer)
            if live is None:
                continue
            if op_name == "add" and ev is not None:
                live.discard(ev)
            elif removed:
                live.restore(removed)

    def _stream_write(self, batch: _Batch, scope: ExecScope | None, ev: Event, now: float) -> None:
        data = {"exec": scope.ex.id if scope else None, "n": self.state.stream_n + 1}
        self._append(batch, Record(k.STREAM, now, step=scope.ex.step if scope else None, event=ev, data=data))

    def _on_wait(self, batch: _Batch, scope: ExecScope, wait: WaitingForEvent, now: float) -> None:
        ex = scope.ex
        if wait.waiter_id in self.state.waiters:
            return  # already registered and still pending: nothing new to journal
        if wait.waiter_event is not None:
            self._stream_write(batch, scope, wait.waiter_event, now)

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
        policy = self.plan.retry_policy(ex.step)
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

