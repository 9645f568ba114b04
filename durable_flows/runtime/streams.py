"""Collection streams in the folded state: which work belongs to which ``list[E]`` return.

A step that returns a list opens a *stream* (its id is the producing
execution's id). Every event the list holds, and every event the steps fed
from them return, belongs to the stream: each queue entry it makes is one open
*work item*, and each execution of such an entry closes one when it ends
(completed, or failed for good). Events reaching a *collect* step (one
``list[E]`` parameter, ``spec/collection.py``) are not work items: they are
the stream's *members* for that step. The stream closes once its producer has
committed and no work item is left; then every collect step bound to it (by
the static walk below) or holding members is released once, with its members
(``All``); a ``Take(n)`` step is released already at its ``n``-th member. A
release is a queue entry of the collect step, with the members bound to its
parameter (``RunState.bound``, as for joins), and is a work item of the
enclosing stream, if any: a nested stream keeps its parent open (one
placeholder work item) until it closes.

Like joins, this needs no commit-order dependency: only committed ``sent`` and
``produced`` records deliver events, and only ``completed``/``failed`` records
end work items, so the streams are a pure function of the journal.

Events sent with ``ctx.send_event`` belong to no stream (upstream does not let
them join one either), and a collect step ignores events that belong to no
stream. An event a join step buffers is no work item (waiting for partners
holds no stream open); the join's run belongs to the stream of the event that
completed its set, as upstream.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..events import Event
from .spec import RunSpec, StepSpec, accepts
from .state import Exec, RunState


@dataclass(slots=True)
class Stream:
    """One open collection stream."""

    id: int
    parent: int | None
    bound: tuple[str, ...]
    open: int = 0
    sealed: bool = False
    members: dict[str, list[Event]] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)


# --- folding ---------------------------------------------------------------------------


def scope_of_record(st: RunState, spec: RunSpec, exec_id: int | None, member: bool) -> int | None:
    """The stream an event produced by ``exec_id`` belongs to (opening it for a list member)."""
    ex = st.execs.get(exec_id) if exec_id is not None else None
    if ex is None:
        return None
    if member:
        _open(st, spec, ex)
        return ex.id
    return ex.scope


def queued(st: RunState, step: str, seq: int, scope: int | None) -> None:
    """An event entered ``step``'s queue as entry ``seq``: one more work item of ``scope``."""
    s = st.streams.get(scope) if scope is not None else None
    if s is None:
        return
    s.open += 1
    st.scope.setdefault(step, {})[seq] = s.id


def take_scope(st: RunState, step: str, seq: int) -> int | None:
    """The stream of queue entry ``seq`` of ``step``, as a worker accepts it."""
    entries = st.scope.get(step)
    if not entries:
        return None
    sid = entries.pop(seq, None)
    if not entries:
        del st.scope[step]
    return sid


def member(st: RunState, spec: RunSpec, step: StepSpec, scope: int | None, ev: Event, seq: int) -> None:
    """``ev`` (of record ``seq``) reached collect step ``step``."""
    s = st.streams.get(scope) if scope is not None else None
    if s is None or step.name in s.fired or step.collect is None:
        return
    got = s.members.setdefault(step.name, [])
    got.append(ev)
    take = step.collect[1]
    if take and len(got) >= take:
        _release(st, spec, s, step.name, seq)


def ended(st: RunState, spec: RunSpec, ex: Exec, seq: int, fan_out: bool) -> None:
    """Execution ``ex`` ended at record ``seq`` (``fan_out``: it returned a list)."""
    if fan_out:
        _open(st, spec, ex)  # an empty list opens its stream here
        s = st.streams[ex.id]
        s.sealed = True
        _close_if_done(st, spec, s, seq)
    if ex.scope is not None:
        _work_done(st, spec, ex.scope, seq)


def _open(st: RunState, spec: RunSpec, ex: Exec) -> None:
    if ex.id in st.streams:
        return
    parent = st.streams.get(ex.scope) if ex.scope is not None else None
    st.streams[ex.id] = Stream(ex.id, parent.id if parent else None, bindings(spec, ex.step))
    if parent is not None:
        parent.open += 1  # the child stream holds its parent open until it closes


def _work_done(st: RunState, spec: RunSpec, sid: int, seq: int) -> None:
    s = st.streams.get(sid)
    if s is None:
        return
    s.open -= 1
    _close_if_done(st, spec, s, seq)


def _close_if_done(st: RunState, spec: RunSpec, s: Stream, seq: int) -> None:
    if not s.sealed or s.open > 0:
        return
    for name in sorted({*s.bound, *s.members}, key=spec.position):
        if name not in s.fired and name in spec.steps:
            _release(st, spec, s, name, seq)
    del st.streams[s.id]
    if s.parent is not None:
        _work_done(st, spec, s.parent, seq)


def _release(st: RunState, spec: RunSpec, s: Stream, name: str, seq: int) -> None:
    step = spec.steps[name]
    assert step.collect is not None
    got = s.members.pop(name, [])
    take = step.collect[1]
    if take:
        got = got[:take]
    s.fired.append(name)
    st.queues.setdefault(name, deque()).append((seq, got[-1] if got else Event()))
    st.bound.setdefault(name, {})[seq] = {step.collect[0]: got}
    st.dirty.add(name)
    queued(st, name, seq, s.parent)


# --- static bindings -----------------------------------------------------------------------


def bindings(spec: RunSpec, producer: str) -> tuple[str, ...]:
    """Collect steps released when a stream opened by ``producer`` closes (cached per spec)."""
    found = spec.stream_bindings.get(producer)
    if found is None:
        found = spec.stream_bindings[producer] = _bound(spec, producer, frozenset({producer}))
    return found


def _bound(spec: RunSpec, producer: str, guard: frozenset[str]) -> tuple[str, ...]:
    step = spec.steps.get(producer)
    if step is None:
        return ()
    level = _level_types(spec, step.returns, guard)
    return tuple(
        s.name for s in spec.steps.values() if s.collect is not None and any(accepts(s, t) for t in level)
    )


def _level_types(spec: RunSpec, seeds: Any, guard: frozenset[str]) -> set[type]:
    """Event types reachable from ``seeds`` without entering another stream.

    A collect step ends the walk (its output belongs to the enclosing level); a
    step that returns lists opens a child level, and what comes back from it
    is what the collect steps bound to that child return.
    """
    seen: set[type] = set()
    frontier = [t for t in seeds if isinstance(t, type) and issubclass(t, Event)]
    while frontier:
        t = frontier.pop()
        if t in seen:
            continue
        seen.add(t)
        for s in spec.steps.values():
            if s.catch_for is not None or s.collect is not None or not accepts(s, t):
                continue
            if s.fan_out:
                if s.name not in guard:
                    for c in _bound(spec, s.name, guard | {s.name}):
                        frontier.extend(r for r in spec.steps[c].returns if isinstance(r, type))
                continue
            frontier.extend(r for r in s.returns if isinstance(r, type))
    return seen


# --- snapshots and summaries ---------------------------------------------------------------


def stream_data(st: RunState, ev: Callable[[Event], Any]) -> dict[str, Any]:
    """The stream part of a snapshot or summary (no keys when no stream is open)."""
    out: dict[str, Any] = {}
    if st.streams:
        out["streams"] = [
            [s.id, s.parent, list(s.bound), s.open, s.sealed,
             {k: [ev(e) for e in evs] for k, evs in s.members.items()}, list(s.fired)]
            for s in st.streams.values()
        ]
    if st.scope:
        out["scope"] = {step: [[seq, sid] for seq, sid in m.items()] for step, m in st.scope.items()}
    execs = [[x.id, x.scope] for x in st.execs.values() if x.scope is not None]
    if execs:
        out["exec_scope"] = execs
    return out


def load_streams(st: RunState, data: dict[str, Any], ev: Callable[[Any], Any]) -> None:
    """Put back what :func:`stream_data` saved (execs must be loaded already)."""
    for sid, parent, bound, n, sealed, members, fired in data.get("streams", []):
        st.streams[int(sid)] = Stream(
            int(sid), parent, tuple(bound), n, sealed,
            {k: [ev(e) for e in evs] for k, evs in members.items()}, list(fired),
        )
    for step, pairs in data.get("scope", {}).items():
        st.scope[step] = {int(seq): int(sid) for seq, sid in pairs}
    for exec_id, sid in data.get("exec_scope", []):
        st.execs[int(exec_id)].scope = int(sid)
