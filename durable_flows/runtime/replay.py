"""Rebuild a run's state from its journal, and check that the code can honour it.

Replay routes every journaled event to the steps that took it when it was
delivered: the run's first record holds the fingerprint of the code it started
with, and a ``resumed`` record by code with other steps or event types holds
that code's, which routed what came after it. So history folds the same
whatever the code is now. The current code
must then be able to carry on from there: every queued event, unfinished
execution, half-filled collect buffer and pending waiter needs a step (and
event type) that still takes it. When one does not, :class:`NonDeterminismError`
names the run, the journal entry, what the journal needs and what the code has.

So a changed step body, a new step, or a step that now also accepts an event
type replay fine (the new routing applies to events delivered from now on);
a step renamed or removed while work for it is pending, an event type renamed
or made unable to load its stored fields, or a state type that cannot load the
stored state, is refused before anything runs.

Replay may start from a ``snapshot`` record (``snapshot.py``) instead of seq 1:
the snapshot's state then holds the fingerprint to route with and what the
checks look at. Full replays treat snapshot records as opaque (their payload
is not even parsed): they only derive from the records before them.
"""

from __future__ import annotations

from typing import Any

from ..codec.journal import Codec
from ..codec.names import import_qualified
from ..errors import JournalCorruptError, NonDeterminismError
from ..events import Event, qualified_name
from ..storage.rows import JournalEntry
from . import records as k
from .journal_codec import decode_entry
from .records import ALL_KINDS, Record
from .reducer import reduce
from .spec import RunSpec, accepts
from .state import EXEC_READY, EXEC_RETRY, EXEC_RUNNING, EXEC_WAITING, RunState


def decode_journal(
    run_id: str, entries: list[JournalEntry], codec: Codec, first_seq: int = 1
) -> list[Record]:
    """Decode a run's rows from ``first_seq`` on, refusing gaps and unknown kinds.

    A ``snapshot`` row becomes a record without data: what it holds is read by
    :func:`~.snapshot.load_entry`, only when replay starts from it.

    Raises:
        JournalCorruptError: a gap in ``seq`` or an unknown record kind.
        JournalDecodeError: an entry whose payload is damaged (not a JSON object).
        NonDeterminismError: an event whose type the code no longer has, or
            whose class rejects the stored fields.
    """
    records = []
    expected = first_seq
    for entry in entries:
        if entry.seq != expected:
            raise JournalCorruptError(
                run_id, entry.seq, f"gap in the journal: expected seq={expected}, found seq={entry.seq}"
            )
        if entry.kind == k.SNAPSHOT:
            records.append(Record(k.SNAPSHOT, entry.ts, seq=entry.seq))
        elif entry.kind not in ALL_KINDS:
            raise JournalCorruptError(run_id, entry.seq, f"unknown record kind {entry.kind!r}")
        else:
            records.append(decode_entry(codec, entry))
        expected += 1
    return records


def replay_spec(records: list[Record], spec: RunSpec) -> RunSpec:
    """The spec to fold ``records`` with: ``spec``, routing as the run's recorded code did."""
    if records and records[0].kind == k.RUN_STARTED:
        return spec.as_recorded(records[0].get("fingerprint"))
    return spec


def replay(run_id: str, records: list[Record], spec: RunSpec, base: RunState | None = None) -> RunState:
    """Fold ``records`` into a fresh state and check that ``spec`` can continue it.

    Args:
        base: A snapshot's state (see :func:`~.snapshot.load_entry`);
            ``records`` then start with that snapshot's record and are folded
            on top of it (``base`` is changed in place).

    Raises:
        NonDeterminismError: pending work needs a step, event type or state
            type the code lacks (or that no longer accepts it).
    """
    if base is None:
        folding = replay_spec(records, spec)
        state = RunState(run_id=run_id)
        recorded = records[0].get("fingerprint") if records and records[0].kind == k.RUN_STARTED else None
        state_seq = 0
    else:
        folding = spec.as_recorded(base.fingerprint)
        state = base
        recorded = base.fingerprint
        state_seq = records[0].seq if records else base.last_seq  # the snapshot holds the state
    where: dict[str, int] = {}  # "collect/<step>" and "waiter/<id>" -> seq of their latest record
    for rec in records:
        try:
            reduce(state, rec, folding)
        except LookupError as exc:  # an accepted record whose event was routed elsewhere
            raise NonDeterminismError(
                run_id, rec.seq, f"step {rec.step!r} to have the event it accepted queued", str(exc)
            ) from exc
        if rec.kind == k.RESUMED and rec.get("fingerprint"):
            # Resumed by changed code: events from here on were routed by it.
            recorded = rec.data["fingerprint"]
            folding = spec.as_recorded(recorded)
        if rec.kind == k.STATE or (rec.kind == k.RUN_STARTED and "state" in rec.data):
            state_seq = rec.seq
        elif rec.kind == k.COLLECT and rec.step:
            where[f"collect/{rec.step}"] = rec.seq
        elif rec.kind == k.WAITER:
            where[f"waiter/{rec.get('waiter_id')}"] = rec.seq
    if not state.finished:
        check_pending(state, spec, where)
        _check_state_type(state, recorded, spec, state_seq)
    return state


def check_pending(state: RunState, spec: RunSpec, where: dict[str, int] | None = None) -> None:
    """Every queued, running or waiting piece of work must have a step that takes it.

    ``where`` maps ``"collect/<step>"`` and ``"waiter/<id>"`` to the seq of the
    latest such record, named when a buffer or waiter is what cannot go on
    (without it, the run's last seq or the waiting execution's event is named).

    Raises:
        NonDeterminismError: naming the journal entry that created the work.
    """
    for step, queue in state.queues.items():
        for seq, ev in queue:
            _require(state, spec, step, type(ev), seq, "the queued event sent")
    for ex in sorted(state.execs.values(), key=lambda e: e.event_seq):
        _require(state, spec, ex.step, type(ex.event), ex.event_seq, _exec_need(ex.status, ex.id))
    for step, buffers in state.buffers.items():
        held = sum(len(evs) for evs in buffers.values())
        if held and step not in spec.steps:
            raise NonDeterminismError(
                state.run_id,
                (where or {}).get(f"collect/{step}", state.last_seq),
                f"step {step!r} to finish collecting events ({held} buffered in "
                f"{', '.join(repr(b) for b in sorted(buffers))})",
                _no_step(step, spec),
            )
    for w in state.waiters.values():
        if w.resolved is not None or w.timed_out or w.exec_id not in state.execs:
            continue
        seq = (where or {}).get(f"waiter/{w.waiter_id}", state.execs[w.exec_id].event_seq)
        try:
            found = import_qualified(w.event_type)
        except (ImportError, AttributeError) as exc:
            raise NonDeterminismError(
                state.run_id,
                seq,
                f"event type {w.event_type} (step {w.step!r} waits for it, waiter {w.waiter_id!r})",
                f"no importable class of that name ({type(exc).__name__}: {exc})",
            ) from exc
        if not isinstance(found, type):
            raise NonDeterminismError(
                state.run_id,
                seq,
                f"event type {w.event_type} (step {w.step!r} waits for it)",
                f"{w.event_type} naming a {type(found).__name__}, not a class",
            )


def _exec_need(status: str, exec_id: int) -> str:
    return {
        EXEC_RUNNING: f"execution {exec_id} (in flight, to run again) on the event sent",
        EXEC_RETRY: f"execution {exec_id} (to retry) on the event sent",
        EXEC_WAITING: f"execution {exec_id} (waiting for an event) on the event sent",
        EXEC_READY: f"execution {exec_id} (its awaited event arrived) on the event sent",
    }.get(status, f"execution {exec_id} on the event sent")


def _require(state: RunState, spec: RunSpec, step: str, event_type: type, seq: int, need: str) -> None:
    found = spec.steps.get(step)
    if found is None:
        raise NonDeterminismError(
            state.run_id,
            seq,
            f"step {step!r} to take {need} at seq={seq} (a {qualified_name(event_type)})",
            _no_step(step, spec),
        )
    if not accepts(found, event_type) and not (found.collect is not None and event_type is Event):
        # (a collect step released with no members runs on a bare Event: streams.py)
        raise NonDeterminismError(
            state.run_id,
            seq,
            f"step {step!r} to accept {qualified_name(event_type)} ({need} at seq={seq})",
            f"a step {step!r} accepting only {', '.join(qualified_name(t) for t in found.accepts)}",
        )


def _no_step(step: str, spec: RunSpec) -> str:
    return f"no step {step!r} (its steps are: {', '.join(spec.steps) or 'none'})"


def _check_state_type(state: RunState, fingerprint: Any, spec: RunSpec, seq: int) -> None:
    """When the state type changed, the new one must load the stored state without losing fields.

    ``fingerprint`` is the one the run started with (its ``state_type`` is the recorded type).
    """
    recorded = fingerprint.get("state_type") if isinstance(fingerprint, dict) else None
    if state.state is None or not recorded or not spec.state_type or recorded == spec.state_type:
        return
    try:
        cls: Any = import_qualified(spec.state_type)
        loaded = cls.model_validate(state.state).model_dump(mode="json")
    except Exception as exc:  # noqa: BLE001 - import or validation: either way it can't load
        raise NonDeterminismError(
            state.run_id,
            seq or None,
            f"state of type {recorded}",
            f"state type {spec.state_type}, which cannot load it ({type(exc).__name__}: {exc})",
        ) from exc
    stored, kept = _state_fields(state.state), _state_fields(loaded)
    lost = sorted(name for name, value in stored.items() if kept.get(name, _MISSING) != value)
    if lost:
        raise NonDeterminismError(
            state.run_id,
            seq or None,
            f"state of type {recorded} with fields {sorted(stored)}",
            f"state type {spec.state_type}, which would silently drop or change {lost}",
        )


_MISSING = object()


def _state_fields(dumped: Any) -> dict[str, Any]:
    """Top-level fields of a dumped state (a dict-like state keeps its keys under ``_data``)."""
    if not isinstance(dumped, dict):
        return {}
    fields = {str(k): v for k, v in dumped.items() if k != "_data"}
    extras = dumped.get("_data")
    if isinstance(extras, dict):
        fields.update((str(k), v) for k, v in extras.items())
    return fields
