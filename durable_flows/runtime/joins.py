"""Join steps in the folded state: partial joins and the events bound to each run.

A join step declares several event parameters and runs once one event of
each parameter's type has arrived. Its events are not queued one by one: the
reducer adds each delivered event to the step's *pending* list (arrival
order); when the pending events fill every slot, the first match of each slot
is taken (slots in declaration order, events in arrival order, as upstream
2.26 picks them) and the step's queue gets one entry, keyed by the sequence
number of the event that completed the set. The events bound to that entry
wait in ``RunState.bound`` until a worker accepts it, and then travel with the
execution (``Exec.bound``) across retries, waits and restarts.

Why no commit-order dependency is needed (unlike ``ctx.collect_events``): an
event reaches a join only by being delivered, and delivery happens when a
``sent`` or ``produced`` record is folded, which the live loop journals only
with the producing execution's completion. So a pending join never holds an
effect of an uncommitted execution; it is a pure function of the journal and
replay rebuilds it exactly, partial sets included.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from ..events import Event
from .spec import StepSpec
from .state import RunState


def offer(st: RunState, step: StepSpec, seq: int, ev: Event) -> bool:
    """Fold the delivery of ``ev`` (the event of record ``seq``) to join step ``step``.

    Returns:
        True when ``ev`` completed a set: ``step``'s queue got entry ``seq``.
    """
    pending = st.joins.setdefault(step.name, [])
    pending.append((seq, ev))
    picked = _first_full_set(pending, step)
    if picked is None:
        return False
    bound = {param: pending[i][1] for (param, _), i in zip(step.join, picked, strict=True)}
    taken = set(picked)
    rest = [p for i, p in enumerate(pending) if i not in taken]
    if rest:
        st.joins[step.name] = rest
    else:
        del st.joins[step.name]
    st.queues.setdefault(step.name, deque()).append((seq, ev))
    st.bound.setdefault(step.name, {})[seq] = bound
    st.dirty.add(step.name)
    return True


def take_bound(st: RunState, step: str, event_seq: int) -> dict[str, Event] | None:
    """The events bound to the queue entry ``event_seq`` of ``step`` (removed from the state)."""
    entries = st.bound.get(step)
    if not entries:
        return None
    bound = entries.pop(event_seq, None)
    if not entries:
        del st.bound[step]
    return bound


def _first_full_set(pending: list[tuple[int, Event]], step: StepSpec) -> list[int] | None:
    """Indexes into ``pending``, one per slot, of the first complete set (or None).

    Depth-first over slots in declaration order, trying events in arrival
    order: the earliest event that still lets every later slot be filled.
    """
    # Usually a slot has no candidate yet: say so after one pass per slot, not a
    # backtracking search over every pending event (quadratic per arrival).
    for _, wanted in step.join:
        if not any(_fits(ev, wanted, step.subclasses) for _, ev in pending):
            return None
    chosen: list[int] = []

    def fill(slot: int) -> bool:
        if slot == len(step.join):
            return True
        wanted = step.join[slot][1]
        for i, (_, ev) in enumerate(pending):
            if i in chosen or not _fits(ev, wanted, step.subclasses):
                continue
            chosen.append(i)
            if fill(slot + 1):
                return True
            chosen.pop()
        return False

    return chosen if fill(0) else None


def _fits(ev: Event, wanted: type, subclasses: bool) -> bool:
    return type(ev) is wanted or (subclasses and isinstance(ev, wanted))


def join_data(st: RunState, ev: Callable[[Event], Any]) -> dict[str, Any]:
    """The join part of a snapshot or summary (no keys when no join is in progress)."""
    out: dict[str, Any] = {}
    if st.joins:
        out["joins"] = {s: [[seq, ev(e)] for seq, e in p] for s, p in st.joins.items()}
    if st.bound:
        out["bound"] = {s: [[seq, _dump(b, ev)] for seq, b in m.items()] for s, m in st.bound.items()}
    execs = [[x.id, _dump(x.bound, ev)] for x in st.execs.values() if x.bound]
    if execs:
        out["exec_bound"] = execs
    return out


def load_joins(st: RunState, data: dict[str, Any], ev: Callable[[Any], Any]) -> None:
    """Put back what :func:`join_data` saved (execs must be loaded already)."""
    for s, p in data.get("joins", {}).items():
        st.joins[s] = [(int(seq), ev(e)) for seq, e in p]
    for s, m in data.get("bound", {}).items():
        st.bound[s] = {int(seq): _load(b, ev) for seq, b in m}
    for exec_id, b in data.get("exec_bound", []):
        st.execs[int(exec_id)].bound = _load(b, ev)


def _dump(bound: dict[str, Any], ev: Callable[[Event], Any]) -> dict[str, Any]:
    """Bound events by parameter; a collect step's list of members as ``{"members": [...]}``."""
    return {k: {"members": [ev(e) for e in v]} if isinstance(v, list) else ev(v) for k, v in bound.items()}


def _load(bound: dict[str, Any], ev: Callable[[Any], Any]) -> dict[str, Any]:
    return {k: [ev(e) for e in v["members"]] if isinstance(v, dict) else ev(v) for k, v in bound.items()}
