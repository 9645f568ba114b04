"""Which queued work a free worker takes next: decided from the folded state alone.

The decision is journaled as an ``accepted`` record before the step runs, so
replay never has to make it again (see ``reducer.py``).
"""

from __future__ import annotations

from .spec import RunSpec
from .state import HOLDING, RunState


def next_dispatch(state: RunState, spec: RunSpec) -> tuple[str, int, int, int, int] | None:
    """The next (step, exec_id, event_seq, attempt, worker) a free worker should take.

    Executions whose waiter resolved come first, then queued events, FIFO per
    step, steps in declaration order. Returns None when no step can take work.
    """
    while state.dirty:
        name = min(state.dirty, key=spec.position)
        step = spec.steps.get(name)
        busy = state.busy.get(name, 0)
        if step is not None and busy < step.num_workers:
            ready = state.ready.get(name)
            if ready:
                ex = state.execs[ready[0]]
                return name, ex.id, ex.event_seq, ex.attempt, _free_worker(state, name)
            queue = state.queues.get(name)
            if queue:
                return name, state.next_exec, queue[0][0], 1, _free_worker(state, name)
        state.dirty.discard(name)
    return None


def _free_worker(state: RunState, step: str) -> int:
    used = {e.worker for e in state.execs.values() if e.step == step and e.status in HOLDING}
    w = 0
    while w in used:
        w += 1
    return w
