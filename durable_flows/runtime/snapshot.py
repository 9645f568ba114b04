"""Snapshots of a folded run, so a resume replays only what came after the last one.

A snapshot is the whole :class:`RunState` as JSON, events encoded by the run's
codec. The live loop journals one now and then as a ``snapshot`` record (its
payload is :func:`snapshot_data` of the state folded up to the record before
it); ``load(dump(state))`` gives a state equal to ``state`` (the tests check
it), so folding the records after a snapshot on top of it equals folding the
whole journal.

A snapshot also names every event type the journal before it carries, with
the seq of its first entry: a resume decodes only the entries after the
snapshot, yet must still refuse code that lost one of those types, as a full
replay would (``rebuild.py`` then replays in full, for the same error).

The run id is not part of a snapshot: a forked run's journal holds copies of
its parent's snapshots, which must load as the fork's state.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from typing import Any

from ..codec.journal import Codec
from ..codec.names import import_qualified
from ..errors import JournalDecodeError, WorkflowValidationError
from ..events import Event, qualified_name
from ..storage.rows import JournalEntry
from .joins import join_data, load_joins
from .state import Exec, RunState, Waiter
from .streams import load_streams, stream_data

FORMAT = 1

#: ``Workflow(snapshot_every=...)`` default: journal entries between two snapshots, at least.
DEFAULT_EVERY = 1000

#: A snapshot is also not due before the payloads journaled since the last one
#: add up to this many times that snapshot's size. So the snapshots of a run
#: never take more than about 1/SIZE_RATIO of its journal (plus the latest one),
#: however big its state grows: writing them stays linear in the journal's size.
SIZE_RATIO = 4


def check_every(value: Any) -> int:
    """``snapshot_every`` as given to ``Workflow``, as an int (0: never snapshot).

    Raises:
        WorkflowValidationError: not None and not an integer >= 0.
    """
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise WorkflowValidationError(f"snapshot_every must be an integer >= 0 or None, not {value!r}")
    return value


def snapshot_data(state: RunState, codec: Codec, event_types: Mapping[str, int]) -> dict[str, Any]:
    """The payload of a ``snapshot`` record: the state, and ``event_types`` (name -> first seq)."""

    def ev(e: Event | None) -> Any:
        return None if e is None else [qualified_name(type(e)), codec.name, codec.redump_event(e)]

    return {
        "format": FORMAT,
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
        "kept": [[target, ev(e)] for target, e in state.kept],
        "resources": sorted(state.resources),
        "state": state.state,
        "state_op": state.state_op,
        "stream_n": state.stream_n,
        "inbox_seen": state.inbox_seen,
        "recoveries": state.recoveries,
        **join_data(state, ev),
        **stream_data(state, ev),
        "event_types": dict(event_types),
    }


def state_from_data(data: Any, codec: Codec, run_id: str) -> RunState:
    """The state :func:`snapshot_data` was made from, as run ``run_id``'s.

    Raises:
        ValueError: an unknown snapshot format.
        Exception: whatever a damaged snapshot makes fail (a missing key, a
            value of the wrong shape, an event that does not load).
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"unknown snapshot format {found!r}")

    def ev(v: Any) -> Any:
        return None if v is None else codec.load_event(v[0], v[2], v[1])

    st = RunState(
        run_id=run_id,
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
        cleared=dict(data["cleared"]),
        added={key: list(ops) for key, ops in data["added"].items()},
        collect_op=data["collect_op"],
        resources=set(data["resources"]),
        state=data["state"],
        state_op=data["state_op"],
        stream_n=data["stream_n"],
        inbox_seen=data["inbox_seen"],
        recoveries=dict(data["recoveries"]),
    )
    st.queues = {s: deque((seq, ev(e)) for seq, e in q) for s, q in data["queues"].items()}
    st.ready = {s: deque(q) for s, q in data["ready"].items()}
    st.busy = dict(data["busy"])
    for i, step, event_seq, e, first_ts, attempt, worker, status, retry_at, restarts, last_error in data["execs"]:
        st.execs[i] = Exec(i, step, event_seq, ev(e), first_ts, attempt, worker, status, retry_at, restarts, last_error)
    st.buffers = {s: {b: [ev(e) for e in evs] for b, evs in bufs.items()} for s, bufs in data["buffers"].items()}
    for wid, step, exec_id, event_type, reqs, deadline, resolved, timed_out in data["waiters"]:
        st.waiters[wid] = Waiter(wid, step, exec_id, event_type, None, reqs, deadline, ev(resolved), timed_out)
    st.kept = deque((target, ev(e)) for target, e in data.get("kept", ()))  # absent before kept events
    load_joins(st, data, ev)
    load_streams(st, data, ev)
    # Every step that may have work: dispatch looks at each once and drops the idle ones.
    st.dirty = set(st.queues) | set(st.ready) | set(st.busy)
    return st


def event_types_from_data(data: dict[str, Any]) -> dict[str, int]:
    """The event types a snapshot names (name -> seq of its first entry), each checked.

    Raises:
        ValueError: a type that no longer imports as an Event class.
    """
    found = {str(name): int(seq) for name, seq in data["event_types"].items()}
    for name, seq in found.items():
        try:
            cls = import_qualified(name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"event type {name} (first at seq={seq}) does not import: {exc}") from exc
        if not (isinstance(cls, type) and issubclass(cls, Event)):
            raise ValueError(f"event type {name} (first at seq={seq}) is no Event class")
    return found


def dump(state: RunState, codec: Codec, event_types: Mapping[str, int] | None = None) -> str:
    """The state as JSON text (the payload :func:`snapshot_data` gives, encoded)."""
    data = snapshot_data(state, codec, event_types or {})
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def load(text: str, codec: Codec, run_id: str = "") -> RunState:
    """A state from :func:`dump` output, as run ``run_id``'s.

    Raises:
        ValueError: not JSON, or an unknown snapshot format.
    """
    return state_from_data(json.loads(text), codec, run_id)


def load_entry(entry: JournalEntry, codec: Codec) -> tuple[RunState, dict[str, int]]:
    """What a ``snapshot`` journal entry holds: the state folded up to ``entry.seq - 1``,
    and the event types of the entries before it (name -> seq of the first).

    Raises:
        JournalDecodeError: naming the run and the entry, whatever is wrong
            with it (not JSON, an unknown format, a damaged field, an event
            or event type that no longer loads).
    """
    try:
        data = json.loads(entry.payload)
        state = state_from_data(data, codec, entry.run_id)
        event_types = event_types_from_data(data)
    except Exception as exc:  # noqa: BLE001 - every way a snapshot can be unusable
        raise JournalDecodeError(
            entry.run_id, entry.seq, f"snapshot cannot be loaded ({type(exc).__name__}: {exc})"
        ) from exc
    if state.last_seq != entry.seq - 1:
        raise JournalDecodeError(
            entry.run_id, entry.seq, f"snapshot holds the state at seq={state.last_seq}, not {entry.seq - 1}"
        )
    return state, event_types
