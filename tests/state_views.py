"""Whole-state comparisons for the snapshot tests (imported, not fixtures).

``RunState.summary()`` leaves out what live-versus-replay comparisons need
not see (clock bases, timestamps, worker slots, last errors, collect op
numbers). A snapshot must keep all of it, so :func:`full_view` shows every
field but the two caches replay may rebuild differently: ``dirty`` (steps
dispatch should look at) and ``Waiter.event_class`` (imported on first use).
Like ``summary()``, it does not tell an empty queue, buffer or worker count
from a missing one.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from durable_flows.events import Event, qualified_name
from durable_flows.runtime.state import RunState


def _exact(v: Any) -> Any:
    """``v`` as JSON that still tells apart what JSON alone would merge: a set
    from a list, a tuple from a list, 1 from 1.0 and True, an int key from a str key."""
    if isinstance(v, dict):
        return ["dict", [[_exact(k), _exact(x)] for k, x in v.items()]]
    if isinstance(v, (list, tuple)):
        return [type(v).__name__, [_exact(x) for x in v]]
    if isinstance(v, (set, frozenset)):
        return [type(v).__name__, sorted(json.dumps(_exact(x)) for x in v)]
    if isinstance(v, BaseModel):  # e.g. held in an event's extra fields, which model_dump() keeps as is
        return [qualified_name(type(v)), _exact(v.model_dump())]
    return [type(v).__name__, repr(v)]


def _ev(e: Event | None) -> Any:
    """An event by its type, its JSON form (readable in a diff) and its exact values."""
    if e is None:
        return None
    return [qualified_name(type(e)), e.model_dump(mode="json"), _exact(e.model_dump())]


def full_view(state: RunState) -> Any:
    """Every field of ``state`` (but the caches above) as canonical JSON values;
    events with their exact values, not only the JSON they dump to."""
    view = {
        **state.summary(),
        "run_id": state.run_id,
        "workflow": state.workflow,
        "fingerprint": state.fingerprint,
        "clock_base": state.clock_base,
        "segment_start": state.segment_start,
        "last_ts": state.last_ts,
        "result": _ev(state.result),
        "queues": {k: [[s, _ev(e)] for s, e in q] for k, q in state.queues.items() if q},
        "buffers": {
            s: {b: [_ev(e) for e in evs] for b, evs in bufs.items()} for s, bufs in state.buffers.items() if bufs
        },
        "waiters": {
            w.waiter_id: [w.step, w.exec_id, w.event_type, w.requirements, w.deadline, _ev(w.resolved), w.timed_out]
            for w in state.waiters.values()
        },
        "execs": {
            i: [x.step, x.event_seq, _ev(x.event), x.first_ts, x.attempt, x.worker, x.status,
                x.retry_at, x.restarts, x.last_error]
            for i, x in state.execs.items()
        },
        "added": state.added,
        "collect_op": state.collect_op,
    }
    return json.loads(json.dumps(view, sort_keys=True))
