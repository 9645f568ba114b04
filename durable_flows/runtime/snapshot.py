"""Snapshots of a folded run, so a resume replays only what came after the last one.

A snapshot is the whole :class:`RunState` as JSON text, events encoded by the
run's codec. ``load(dump(state))`` gives a state equal to ``state`` (the
property tests check it), so folding the records after a snapshot on top of
it equals folding the whole journal.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from ..codec import Codec
from ..events import Event, qualified_name
from .state import Exec, RunState, Waiter

FORMAT = 1


def dump(state: RunState, codec: Codec) -> str:
    """The state as JSON text."""

    def ev(e: Event | None) -> Any:
        return None if e is None else [qualified_name(type(e)), codec.name, codec.dump_event(e)]

    body = {
        "format": FORMAT,
        "run_id": state.run_id,
        "workflow": state.workflow,
        "fingerprint": state.fingerprint,
        "status": state.status,
        "result": ev(state.result),
        "error": state.error,
        "timeout": state.timeout,
        "clock_base": state.clock_base,
        "segment_start": state.segment_start,
        "last_ts": state.last_ts,
        "last_seq": state.last_seq,
        "next_exec": state.next_exec,
        "queues": {s: [[seq, ev(e)] for seq, e in q] for s, q in state.queues.items() if q},
        "ready": {s: list(q) for s, q in state.ready.items() if q},
        "busy": {s: n for s, n in state.busy.items() if n},
        "execs": [
            [x.id, x.step, x.event_seq, ev(x.event), x.first_ts, x.attempt, x.worker, x.status,
             x.retry_at, x.restarts, x.last_error]
            for x in state.execs.values()
        ],
        "buffers": {s: {b: [ev(e) for e in evs] for b, evs in bufs.items()} for s, bufs in state.buffers.items()},
        "cleared": state.cleared,
        "added": state.added,
        "collect_op": state.collect_op,
        "waiters": [
            [w.waiter_id, w.step, w.exec_id, w.event_type, w.requirements, w.deadline, ev(w.resolved), w.timed_out]
            for w in state.waiters.values()
        ],
        "resources": sorted(state.resources),
        "state": state.state,
        "state_op": state.state_op,
        "stream_n": state.stream_n,
        "inbox_seen": state.inbox_seen,
        "recoveries": state.recoveries,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def load(text: str, codec: Codec) -> RunState:
    """A state from :func:`dump` output.

    Raises:
        ValueError: an unknown snapshot format.
    """
    data = json.loads(text)
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown snapshot format {data.get('format')!r}")

    def ev(v: Any) -> Any:
        return None if v is None else codec.load_event(v[0], v[2], v[1])

    st = RunState(
        run_id=data["run_id"],
        workflow=data["workflow"],
        fingerprint=data["fingerprint"],
        status=data["status"],
        result=ev(data["result"]),
        error=data["error"],
        timeout=data["timeout"],
        clock_base=data["clock_base"],
        segment_start=data["segment_start"],
        last_ts=data["last_ts"],
        last_seq=data["last_seq"],
        next_exec=data["next_exec"],
        cleared=data["cleared"],
        added=data["added"],
        collect_op=data["collect_op"],
        resources=set(data["resources"]),
        state=data["state"],
        state_op=data["state_op"],
        stream_n=data["stream_n"],
        inbox_seen=data["inbox_seen"],
        recoveries=data["recoveries"],
    )
    st.queues = {s: deque((seq, ev(e)) for seq, e in q) for s, q in data["queues"].items()}
    st.ready = {s: deque(q) for s, q in data["ready"].items()}
    st.busy = dict(data["busy"])
    for i, step, event_seq, e, first_ts, attempt, worker, status, retry_at, restarts, last_error in data["execs"]:
        st.execs[i] = Exec(i, step, event_seq, ev(e), first_ts, attempt, worker, status, retry_at, restarts, last_error)
    st.buffers = {s: {b: [ev(e) for e in evs] for b, evs in bufs.items()} for s, bufs in data["buffers"].items()}
    for wid, step, exec_id, event_type, reqs, deadline, resolved, timed_out in data["waiters"]:
        st.waiters[wid] = Waiter(wid, step, exec_id, event_type, None, reqs, deadline, ev(resolved), timed_out)
    st.dirty = set(st.queues) | set(st.ready) | set(st.busy)
    return st
