"""Fold journal records into a run's state.

``reduce(state, record, spec)`` is deterministic: no I/O, no clock, no
randomness; time comes from the record's timestamp. It mutates ``state`` in
place (copying a whole run per record would make long runs quadratic) and is
the only code that does. The live loop appends a record and then reduces it;
replay reduces the stored records in order; so live and replayed states are
equal by construction, and the property tests check it.

Dispatch (which queued event a free worker takes next) is decided by
:func:`.dispatch.next_dispatch` from the state alone, and the decision is journaled as
an ``accepted`` record before the step runs.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..codec.names import import_qualified
from ..events import Event, StopEvent
from . import records as k
from .joins import offer, take_bound
from .records import Record
from .spec import RunSpec, accepts
from .state import (
    EXEC_DELAYED,
    EXEC_READY,
    EXEC_RETRY,
    EXEC_RUNNING,
    EXEC_WAITING,
    HOLDING,
    Exec,
    RunState,
    Waiter,
)
from .state_patch import apply_ops
from .streams import ended, member, queued, scope_of_record, take_scope


def reduce(state: RunState, rec: Record, spec: RunSpec) -> None:
    """Apply one record to ``state``."""
    handler = _HANDLERS.get(rec.kind)
    if handler is not None:
        handler(state, rec, spec)
    state.last_seq = rec.seq
    state.last_ts = rec.ts


def fold(records: list[Record], spec: RunSpec, state: RunState | None = None) -> RunState:
    """Replay records from scratch (or on top of ``state``)."""
    state = state if state is not None else RunState()
    for rec in records:
        reduce(state, rec, spec)
    return state




# --- handlers ---------------------------------------------------------------------


def _run_started(st: RunState, rec: Record, spec: RunSpec) -> None:
    st.workflow = rec.get("workflow", "")
    st.fingerprint = rec.get("fingerprint") or {}
    st.timeout = rec.get("timeout")
    if rec.get("restored_from") is not None:
        # Seeded from a context dict (seed.py): the run clock goes on from the source's.
        st.clock_base += max(0.0, st.last_ts - st.segment_start)
    else:
        st.clock_base = 0.0
    st.segment_start = rec.ts
    if "state" in rec.data:
        st.state = rec.data["state"]


def _deliver(st: RunState, rec: Record, spec: RunSpec) -> None:
    if rec.kind == k.SENT and rec.get("inbox"):
        st.inbox_seen = max(st.inbox_seen, int(rec.get("inbox")))
    ev = rec.event
    if ev is None:
        return
    if isinstance(ev, StopEvent):
        if not st.finished:
            st.status = "completed"
            st.result = ev
        return
    target = rec.get("target")
    scope = None
    if rec.kind == k.PRODUCED and (st.streams or spec.has_streams):
        scope = scope_of_record(st, spec, rec.get("exec"), bool(rec.get("stream")))
    woken: set[str] = set()
    for w in st.waiters.values():
        if w.resolved is not None or w.timed_out:
            continue
        if target is not None and w.step != target:
            continue
        if _waiter_matches(w, ev, spec):
            w.resolved = ev
            _make_ready(st, w.exec_id)
            woken.add(w.step)
    taken = bool(woken)
    for name in spec.routes(type(ev)):
        if (target is not None and name != target) or name in woken:
            continue
        taken = True
        joining = spec.steps.get(name)
        if joining is not None and joining.join:
            # an event waiting for its partners holds no stream open; the set runs in the last one's
            if offer(st, joining, rec.seq, ev) and scope is not None:
                queued(st, name, rec.seq, scope)
            continue
        if joining is not None and joining.collect is not None:
            member(st, spec, joining, scope, ev, rec.seq)
            continue
        st.queues.setdefault(name, deque()).append((rec.seq, ev))
        st.dirty.add(name)
        if scope is not None:
            queued(st, name, rec.seq, scope)
    if target is not None and target in spec.steps and target not in woken:
        step = spec.steps[target]
        if step.catch_for is not None and accepts(step, type(ev)):
            st.queues.setdefault(target, deque()).append((rec.seq, ev))
            st.dirty.add(target)
            taken = True
    if not taken and rec.kind == k.SENT:
        # Sent before the waiter it is for registered: kept for it (see _waiter).
        st.kept.append((target, ev))


def _waiter_matches(w: Waiter, ev: Event, spec: RunSpec) -> bool:
    cls = w.event_class
    if cls is None:
        try:
            cls = w.event_class = import_qualified(w.event_type)
        except (ImportError, AttributeError):
            return False
    step = spec.steps.get(w.step)
    if type(ev) is not cls and not (step is not None and step.subclasses and isinstance(ev, cls)):
        return False
    return all(ev.get(key, getattr(ev, key, None)) == val for key, val in w.requirements.items())


def _make_ready(st: RunState, exec_id: int) -> None:
    ex = st.execs.get(exec_id)
    if ex is None or ex.status != EXEC_WAITING:
        return
    ex.status = EXEC_READY
    st.ready.setdefault(ex.step, deque()).append(exec_id)
    st.dirty.add(ex.step)


def _accepted(st: RunState, rec: Record, spec: RunSpec) -> None:
    exec_id = int(rec.get("exec"))
    step = rec.step or ""
    ex = st.execs.get(exec_id)
    if ex is None:
        event = _take_queued(st, step, int(rec.get("event_seq")))
        ex = Exec(id=exec_id, step=step, event_seq=int(rec.get("event_seq")), event=event, first_ts=rec.ts)
        if st.bound:
            ex.bound = take_bound(st, step, ex.event_seq)
        if st.scope:
            ex.scope = take_scope(st, step, ex.event_seq)
        st.execs[exec_id] = ex
        st.next_exec = max(st.next_exec, exec_id + 1)
        st.busy[step] = st.busy.get(step, 0) + 1
    elif ex.status == EXEC_READY:
        ready = st.ready.get(step)
        if ready and exec_id in ready:
            ready.remove(exec_id)
        st.busy[step] = st.busy.get(step, 0) + 1
    ex.status = EXEC_RUNNING
    ex.attempt = int(rec.get("attempt", ex.attempt))
    ex.worker = int(rec.get("worker", 0))
    ex.retry_at = None


def _take_queued(st: RunState, step: str, event_seq: int) -> Event:
    queue = st.queues.get(step)
    if queue:
        if queue[0][0] == event_seq:
            return queue.popleft()[1]
        for i, (seq, ev) in enumerate(queue):
            if seq == event_seq:
                del queue[i]
                return ev
    raise LookupError(f"step {step!r} has no queued event from seq {event_seq}")


def _resource(st: RunState, rec: Record, spec: RunSpec) -> None:
    if rec.get("cache", True):
        st.resources.add(str(rec.get("key")))


def _state(st: RunState, rec: Record, spec: RunSpec) -> None:
    ops = rec.data.get("ops")
    if ops is not None:
        # Changes commit in dependency order, so for every key journal order is live order.
        st.state = apply_ops(st.state, ops)
        return
    op = int(rec.get("op", 0))  # a whole state (jsonpickle, or journals before changes)
    if op > st.state_op:  # last writer in live order wins, whatever the commit order
        st.state = rec.data.get("state")
        st.state_op = op


def _collect(st: RunState, rec: Record, spec: RunSpec) -> None:
    # Executions commit in completion order, not in the order they touched the
    # buffer: an add numbered before the latest clear was consumed by that clear.
    bufs = st.buffers.setdefault(rec.step or "", {})
    buffer = str(rec.get("buffer", "default"))
    n = int(rec.get("n", 0))
    st.collect_op = max(st.collect_op, n)
    key = f"{rec.step}/{buffer}"
    if rec.get("op") == "clear":
        if n > st.cleared.get(key, 0):
            st.cleared[key] = n
            bufs[buffer] = [e for e, added in zip(bufs.get(buffer, []), st.added.get(key, []), strict=True) if added > n]
            st.added[key] = [a for a in st.added.get(key, []) if a > n]
            if not bufs[buffer]:
                del bufs[buffer]
    elif rec.event is not None and n > st.cleared.get(key, 0):
        bufs.setdefault(buffer, []).append(rec.event)
        st.added.setdefault(key, []).append(n)


def _stream(st: RunState, rec: Record, spec: RunSpec) -> None:
    st.stream_n = max(st.stream_n, int(rec.get("n", 0)))


def _produced(st: RunState, rec: Record, spec: RunSpec) -> None:
    _deliver(st, rec, spec)


def _waiter(st: RunState, rec: Record, spec: RunSpec) -> None:
    exec_id = int(rec.get("exec"))
    ex = st.execs.get(exec_id)
    if ex is not None and ex.status in HOLDING:
        _release(st, ex)
        ex.status = EXEC_WAITING
    wid = str(rec.get("waiter_id"))
    st.waiters[wid] = Waiter(
        waiter_id=wid,
        step=rec.step or "",
        exec_id=exec_id,
        event_type=str(rec.get("event_type")),
        event_class=None,
        requirements=dict(rec.get("requirements") or {}),
        deadline=rec.get("deadline"),
    )
    _take_kept(st, st.waiters[wid], spec)


def _take_kept(st: RunState, w: Waiter, spec: RunSpec) -> None:
    """Resolve a new waiter with the oldest kept event it matches (sent before it registered)."""
    for i, (target, ev) in enumerate(st.kept):
        if (target is None or target == w.step) and _waiter_matches(w, ev, spec):
            del st.kept[i]
            w.resolved = ev
            _make_ready(st, w.exec_id)
            return


def _release(st: RunState, ex: Exec) -> None:
    st.busy[ex.step] = max(0, st.busy.get(ex.step, 0) - 1)
    st.dirty.add(ex.step)


def _completed(st: RunState, rec: Record, spec: RunSpec) -> None:
    ex = st.execs.pop(int(rec.get("exec")), None)
    if ex is None:
        return
    if ex.status in HOLDING:
        _release(st, ex)
    _drop_used_waiters(st, ex.id)
    fan_out = rec.get("fan_out") is not None
    if fan_out or ex.scope is not None:
        ended(st, spec, ex, rec.seq, fan_out)


def _drop_used_waiters(st: RunState, exec_id: int) -> None:
    done = [
        wid
        for wid, w in st.waiters.items()
        if w.exec_id == exec_id and (w.resolved is not None or w.timed_out)
    ]
    for wid in done:
        del st.waiters[wid]


def _failed(st: RunState, rec: Record, spec: RunSpec) -> None:
    ex = st.execs.get(int(rec.get("exec")))
    if ex is None:
        return
    ex.last_error = rec.get("error")
    retry_in = rec.get("retry_in")
    if retry_in is not None:
        ex.status = EXEC_RETRY
        # Wall clock: a backoff is about the outside world (rate limits, outages),
        # so time while no process hosted the run counts towards it.
        ex.retry_at = rec.ts + float(retry_in)
        return
    st.execs.pop(ex.id)
    if ex.status in HOLDING:
        _release(st, ex)
    _drop_used_waiters(st, ex.id)
    if ex.scope is not None:
        ended(st, spec, ex, rec.seq, False)
    handler = rec.get("catch")
    if handler:
        st.recoveries[handler] = st.recoveries.get(handler, 0) + 1
    elif not st.finished:
        st.status = "failed"
        st.error = {
            **(rec.get("error") or {}),
            "step": ex.step,
            "attempts": ex.attempt,
            "event_seq": ex.event_seq,
            "elapsed_seconds": max(0.0, rec.ts - ex.first_ts),
        }


def _waiter_timeout(st: RunState, rec: Record, spec: RunSpec) -> None:
    w = st.waiters.get(str(rec.get("waiter_id")))
    if w is None or w.resolved is not None:
        return
    w.timed_out = True
    _make_ready(st, w.exec_id)


def _resumed(st: RunState, rec: Record, spec: RunSpec) -> None:
    st.clock_base += max(0.0, st.last_ts - st.segment_start)
    st.segment_start = rec.ts
    if rec.get("fingerprint"):  # resumed by changed code: it routes what comes next
        st.fingerprint = rec.data["fingerprint"]
    for exec_id in rec.get("rerun") or ():
        ex = st.execs.get(int(exec_id))
        if ex is not None:
            ex.restarts += 1
    for exec_id, delay in (rec.get("delay") or {}).items():
        # Dead in flight several times in a row: its re-run waits (a restart loop must not spin).
        ex = st.execs.get(int(exec_id))
        if ex is not None:
            ex.status = EXEC_DELAYED
            ex.retry_at = rec.ts + float(delay)
    if rec.get("reset_recoveries"):
        for ex in st.execs.values():
            ex.restarts = 0
        if st.status == "failed" and str((st.error or {}).get("type", "")).endswith("RecoveryLimitError"):
            st.status, st.error = "running", None  # continued by the operator: no fork needed
    if rec.get("skip_failed") and st.status == "failed" and "step" in (st.error or {}):
        # The operator drops the event a step failed on: the run goes on without it.
        st.status, st.error = "running", None


def _terminal(status: str) -> Any:
    def apply(st: RunState, rec: Record, spec: RunSpec) -> None:
        if not st.finished:
            st.status = status
            if status != "completed":
                st.error = {"kind": rec.kind, **dict(rec.data)}

    return apply


def _run_failed(st: RunState, rec: Record, spec: RunSpec) -> None:
    if st.status in ("running", "waiting"):
        st.status = "failed"
        st.error = dict(rec.data)


# A ``snapshot`` record has no handler: folding it moves only last_seq and last_ts.
_HANDLERS = {
    k.RUN_STARTED: _run_started,
    k.SENT: _deliver,
    k.ACCEPTED: _accepted,
    k.RESOURCE: _resource,
    k.STATE: _state,
    k.COLLECT: _collect,
    k.STREAM: _stream,
    k.PRODUCED: _produced,
    k.WAITER: _waiter,
    k.COMPLETED: _completed,
    k.FAILED: _failed,
    k.WAITER_TIMEOUT: _waiter_timeout,
    k.RESUMED: _resumed,
    k.TIMED_OUT: _terminal("timed_out"),
    k.CANCELLED: _terminal("cancelled"),
    k.RUN_FAILED: _run_failed,
}
