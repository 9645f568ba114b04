"""Journal records: the facts a run is made of.

A :class:`Record` is what the live loop appends and what replay reads back; the
reducer (``reducer.py``) folds records into a :class:`~.state.RunState`. The
``data`` mapping holds only JSON-compatible values; the event a record carries
(if any) is kept decoded in ``event`` and encoded by the codec when written.

Kinds and their ``data`` fields (``exec`` is the execution id, a per-run
counter; ``step`` is on the record itself):

=================  ==========================================================
``run_started``    workflow, fingerprint, timeout, stop_type; a run restored
                   from a context dict into another store: restored_from
                   (source run id) and seed (its folded state, ``seed.py``)
``sent``           target (step or None), source (start/step/handler/inbox),
                   exec (sending execution, if from a step), inbox (inbox id)
``accepted``       exec, worker, attempt, event_seq (record whose event it is)
``resource``       exec, key, cache — a resource factory was called
``state``          exec, ops (the change as patch operations, see
                   ``state_patch.py``); execs when several executions that
                   depend on each other commit together (their operations
                   in live order). Older journals and jsonpickled states:
                   op (live order) and state (the whole state)
``collect``        exec, buffer, op ("add" with event, or "clear")
``stream``         exec, n (per-run stream position); event is the payload
``produced``       exec — the event the step returned
``waiter``         exec, waiter_id, event_type, requirements, deadline
``completed``      exec, attempt, duration — the execution ended normally
``failed``         exec, attempt, error {type, message, traceback},
                   retry_in (seconds, or None when retries are spent)
``waiter_timeout`` waiter_id
``resumed``        owner, token, rerun (exec ids that were in flight), fingerprint
                   (only when the resuming code differs: it routes from here on);
                   died (when the run was taken from an owner that never gave it
                   back: owner, and as known signal, exit_code, step, traceback,
                   source, alive; see ``drive/deaths.py``; replay ignores it)
``timed_out``      timeout, active_steps
``cancelled``      reason
``run_failed``     reason — a failure not tied to one step attempt
``snapshot``       the run's whole folded state just before this record
                   (see ``snapshot.py``): replay may start from it instead
                   of seq 1; it changes nothing when folded
=================  ==========================================================

Records are frozen; the one ``Record`` class with a ``kind`` keeps the hot
path cheap (no per-kind validation: only this package builds records, and
decoding from the journal is validated by the codec).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from ..events import Event

RUN_STARTED = "run_started"
SENT = "sent"
ACCEPTED = "accepted"
RESOURCE = "resource"
STATE = "state"
COLLECT = "collect"
STREAM = "stream"
PRODUCED = "produced"
WAITER = "waiter"
COMPLETED = "completed"
FAILED = "failed"
WAITER_TIMEOUT = "waiter_timeout"
RESUMED = "resumed"
TIMED_OUT = "timed_out"
CANCELLED = "cancelled"
RUN_FAILED = "run_failed"
SNAPSHOT = "snapshot"

ALL_KINDS = frozenset(
    {
        RUN_STARTED,
        SENT,
        ACCEPTED,
        RESOURCE,
        STATE,
        COLLECT,
        STREAM,
        PRODUCED,
        WAITER,
        COMPLETED,
        FAILED,
        WAITER_TIMEOUT,
        RESUMED,
        TIMED_OUT,
        CANCELLED,
        RUN_FAILED,
        SNAPSHOT,
    }
)
#: Kinds after which the run is over.
TERMINAL_KINDS = frozenset({TIMED_OUT, CANCELLED, RUN_FAILED})

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Record(NamedTuple):
    """One fact about a run, as appended live and as read back by replay.

    Immutable; a named tuple rather than a frozen dataclass because the live
    loop builds several per event and a tuple is about three times cheaper.
    """

    kind: str
    ts: float
    step: str | None = None
    event: Event | None = None
    data: Mapping[str, Any] = _EMPTY
    seq: int = 0

    def get(self, key: str, default: Any = None) -> Any:
        """A field of ``data``."""
        return self.data.get(key, default)


def run_started_data(workflow: str, fingerprint: Any, timeout: float | None, state: Any) -> dict[str, Any]:
    """The data of a run's first record (``run_started``): what every way of starting a run journals."""
    return {"workflow": workflow, "fingerprint": fingerprint, "timeout": timeout, "state": state}
