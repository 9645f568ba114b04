"""Rebuild a run's state from its journal, and check that the code can honour it."""

from __future__ import annotations

from ..codec import Codec
from ..errors import JournalCorruptError, NonDeterminismError
from ..events import qualified_name
from ..storage.base import JournalEntry
from .records import ALL_KINDS, Record
from .reducer import reduce
from .spec import RunSpec, accepts
from .state import RunState


def decode_journal(run_id: str, entries: list[JournalEntry], codec: Codec) -> list[Record]:
    """Decode a run's rows, refusing gaps and unknown kinds.

    Raises:
        JournalCorruptError: a gap in ``seq`` or an unknown record kind.
        JournalDecodeError: an entry whose payload or type cannot be decoded.
    """
    records = []
    expected = 1
    for entry in entries:
        if entry.seq != expected:
            raise JournalCorruptError(
                run_id, entry.seq, f"gap in the journal: expected seq={expected}, found seq={entry.seq}"
            )
        if entry.kind not in ALL_KINDS:
            raise JournalCorruptError(run_id, entry.seq, f"unknown record kind {entry.kind!r}")
        records.append(codec.decode(entry))
        expected += 1
    return records


def replay(run_id: str, records: list[Record], spec: RunSpec) -> RunState:
    """Fold ``records`` into a fresh state and check it against ``spec``.

    Raises:
        NonDeterminismError: the journal needs a step or event route the code lacks.
    """
    state = RunState(run_id=run_id)
    for rec in records:
        if rec.step and rec.kind in ("accepted", "produced", "completed", "waiter") and rec.step not in spec.steps:
            raise NonDeterminismError(
                run_id, rec.seq, f"a step named {rec.step!r}", f"no such step (steps: {', '.join(spec.steps)})"
            )
        reduce(state, rec, spec)
    check_pending(state, spec)
    return state


def check_pending(state: RunState, spec: RunSpec) -> None:
    """Every queued, running or waiting piece of work must have a step that takes it."""
    for step, queue in state.queues.items():
        for seq, ev in queue:
            _require(state, spec, step, type(ev), seq)
    for ex in state.execs.values():
        _require(state, spec, ex.step, type(ex.event), ex.event_seq)


def _require(state: RunState, spec: RunSpec, step: str, event_type: type, seq: int) -> None:
    found = spec.steps.get(step)
    if found is None:
        raise NonDeterminismError(
            state.run_id, seq, f"step {step!r} to take a {qualified_name(event_type)}", "no such step"
        )
    if not accepts(found, event_type):
        raise NonDeterminismError(
            state.run_id,
            seq,
            f"step {step!r} to accept {qualified_name(event_type)}",
            f"a step {step!r} accepting {', '.join(qualified_name(t) for t in found.accepts)}",
        )
