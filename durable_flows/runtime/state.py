"""The folded state of one run: what replaying its journal rebuilds.

Only the reducer mutates a :class:`RunState`. :meth:`RunState.summary` gives a
canonical, JSON-compatible view used to compare a live run with its replay.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..events import Event, qualified_name

if TYPE_CHECKING:
    from .streams import Stream

# Execution statuses.
EXEC_RUNNING = "running"  # holds a worker slot, its task runs (or ran when the process died)
EXEC_RETRY = "retry"  # failed, holds its slot until retry_at
EXEC_WAITING = "waiting"  # parked on wait_for_event, no slot
EXEC_READY = "ready"  # its waiter resolved or timed out; needs a slot to run again
EXEC_DELAYED = "delayed"  # in flight at several process deaths in a row: re-run at retry_at
#: Statuses in which an execution holds one of its step's workers.
HOLDING = (EXEC_RUNNING, EXEC_RETRY, EXEC_DELAYED)


@dataclass(slots=True)
class Exec:
    """One execution of a step on one accepted event (across its attempts)."""

    id: int
    step: str
    event_seq: int
    event: Event
    first_ts: float
    attempt: int = 1
    worker: int = 0
    status: str = EXEC_RUNNING
    retry_at: float | None = None  # wall time of the next attempt (or delayed re-run)
    restarts: int = 0  # process deaths in a row while it was in flight
    last_error: dict[str, Any] | None = None
    #: A join step's events, by parameter (see ``joins.py``), or a collect step's
    #: members (a list, ``streams.py``); None for other steps.
    bound: dict[str, Any] | None = None
    #: The collection stream this execution is a work item of (``streams.py``).
    scope: int | None = None


@dataclass(slots=True)
class Waiter:
    """A ``wait_for_event`` registered by an execution."""

    waiter_id: str
    step: str
    exec_id: int
    event_type: str
    event_class: type | None
    requirements: dict[str, Any]
    deadline: float | None  # run clock
    resolved: Event | None = None
    timed_out: bool = False


@dataclass(slots=True)
class RunState:
    """Everything replay rebuilds about a run."""

    run_id: str = ""
    workflow: str = ""
    fingerprint: dict[str, Any] = field(default_factory=dict)
    status: str = "running"
    result: Event | None = None
    error: dict[str, Any] | None = None
    timeout: float | None = None
    # Run clock: seconds a process has hosted the run (see clock()).
    clock_base: float = 0.0
    segment_start: float = 0.0
    last_ts: float = 0.0
    last_seq: int = 0
    next_exec: int = 1
    queues: dict[str, deque[tuple[int, Event]]] = field(default_factory=dict)
    ready: dict[str, deque[int]] = field(default_factory=dict)
    busy: dict[str, int] = field(default_factory=dict)
    execs: dict[int, Exec] = field(default_factory=dict)
    buffers: dict[str, dict[str, list[Event]]] = field(default_factory=dict)
    #: Live op number of the latest clear, and of each buffered add, per "step/buffer".
    cleared: dict[str, int] = field(default_factory=dict)
    added: dict[str, list[int]] = field(default_factory=dict)
    collect_op: int = 0
    waiters: dict[str, Waiter] = field(default_factory=dict)
    #: Sent events nothing took when delivered (no step accepts them, no waiter
    #: matched), as (target step or None, event), oldest first: a waiter that
    #: registers later takes the first that matches it (as upstream's).
    kept: deque[tuple[str | None, Event]] = field(default_factory=deque)
    resources: set[str] = field(default_factory=set)
    state: Any = None  # committed context state, as JSON
    state_op: int = 0
    stream_n: int = 0
    inbox_seen: int = 0
    recoveries: dict[str, int] = field(default_factory=dict)
    #: Join steps' partial sets: step -> (seq, event) delivered and not yet joined.
    joins: dict[str, list[tuple[int, Event]]] = field(default_factory=dict)
    #: Join steps' complete sets waiting in the queue: step -> queue entry seq -> events.
    bound: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    #: Open collection streams by id, and the stream of each queue entry in one (step -> seq -> id).
    streams: dict[int, Stream] = field(default_factory=dict)
    scope: dict[str, dict[int, int]] = field(default_factory=dict)
    #: Steps whose queue or slots changed since the loop last dispatched.
    dirty: set[str] = field(default_factory=set)

    def clock(self, wall: float) -> float:
        """The run clock at wall time ``wall`` (hosted seconds since the run began)."""
        return self.clock_base + (wall - self.segment_start)

    def wall(self, clock: float) -> float:
        """The wall time at which the run clock reaches ``clock`` in this segment."""
        return self.segment_start + (clock - self.clock_base)

    @property
    def finished(self) -> bool:
        return self.status not in ("running", "waiting")

    def idle(self) -> bool:
        """True when nothing runs or is queued: the run waits for outside input."""
        if any(self.queues.values()) or any(self.ready.values()):
            return False
        return all(e.status == "waiting" for e in self.execs.values())

    def active_steps(self) -> list[str]:
        """Names of steps with an execution running or about to retry."""
        return sorted({e.step for e in self.execs.values() if e.status in ("running", "retry", "delayed")})

    def summary(self) -> dict[str, Any]:
        """A canonical JSON-compatible view of the state, for comparisons."""

        def ev(e: Event | None) -> Any:
            if e is None:
                return None
            return [qualified_name(type(e)), e.model_dump(mode="json")]

        return {
            "status": self.status,
            "result": ev(self.result),
            "error": self.error,
            "timeout": self.timeout,
            "last_seq": self.last_seq,
            "next_exec": self.next_exec,
            "queues": {k: [[s, ev(e)] for s, e in q] for k, q in self.queues.items() if q},
            "ready": {k: list(q) for k, q in self.ready.items() if q},
            "busy": {k: v for k, v in self.busy.items() if v},
            "execs": {
                i: [x.step, x.event_seq, x.attempt, x.status, x.retry_at, x.restarts]
                for i, x in sorted(self.execs.items())
            },
            "buffers": {
                s: {b: [ev(e) for e in evs] for b, evs in bufs.items()}
                for s, bufs in self.buffers.items()
                if bufs
            },
            "cleared": dict(self.cleared),
            "waiters": {
                w.waiter_id: [
                    w.step,
                    w.exec_id,
                    w.event_type,
                    w.requirements,
                    w.deadline,
                    ev(w.resolved),
                    w.timed_out,
                ]
                for w in self.waiters.values()
            },
            "kept": [[target, ev(e)] for target, e in self.kept],
            "resources": sorted(self.resources),
            "state": self.state,
            "state_op": self.state_op,
            "stream_n": self.stream_n,
            "inbox_seen": self.inbox_seen,
            "recoveries": dict(self.recoveries),
            **self._join_summary(ev),
        }

    def _join_summary(self, ev: Any) -> dict[str, Any]:
        """Join and stream state for :meth:`summary`, only when there is some (older summaries stay equal)."""
        from .joins import join_data
        from .streams import stream_data

        return {**join_data(self, ev), **stream_data(self, ev)}
