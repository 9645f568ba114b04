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

from durable_flows.events import Event, qualified_name
from durable_flows.runtime.state import RunState


def _ev(e: Event | None) -> Any:
    return None if e is None else [qualified_name(type(e)), e.model_dump(mode="json")]


def full_view(state: RunState) -> Any:
    """Every field of ``state`` (but the caches above) as canonical JSON values."""
    view = {
        **state.summary(),
        "run_id": state.run_id,
        "workflow": state.workflow,
        "fingerprint": state.fingerprint,
        "clock_base": state.clock_base,
        "segment_start": state.segment_start,
        "last_ts": state.last_ts,
        "execs": {
            i: [x.step, x.event_seq, _ev(x.event), x.first_ts, x.attempt, x.worker, x.status,
                x.retry_at, x.restarts, x.last_error]
            for i, x in state.execs.items()
        },
        "added": state.added,
        "collect_op": state.collect_op,
    }
    return json.loads(json.dumps(view, sort_keys=True))
