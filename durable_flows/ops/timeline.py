"""A run's story told from its journal: step attempts, executions, waits and events.

:func:`build_timeline` folds the entries of :meth:`JournalStore.history`
(dicts with decoded payloads) into plain data for people: when each step
attempt started and ended and how, which executions retried or waited, and
every event that moved through the run. It imports no user code, so it works
on any journal, even one whose workflow is not installed here.

The rules are the ones of the SQL views ``step_attempts``, ``step_executions``
and ``run_events`` (``migrations/0002_views.sql``); ``tests/cli`` checks that
both agree on real runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Kinds that end every attempt still running: the run stopped.
_RUN_ENDS = frozenset({"cancelled", "timed_out", "run_failed"})
#: Kinds of the events that move through a run.
EVENT_KINDS = ("sent", "produced", "stream")


@dataclass
class Attempt:
    """One attempt of a step execution: an ``accepted`` entry and what ended it.

    ``outcome`` is ``completed``, ``retry`` (failed, another attempt follows),
    ``failed``, ``waiting`` (parked in ``wait_for_event``), ``stopped`` (the
    run was cancelled, timed out or failed), ``interrupted`` (the process died
    and the attempt ran again) or ``running``.
    """

    exec: int
    step: str
    worker: int
    attempt: int
    event_type: str | None
    accepted_seq: int
    started: float
    ended_seq: int | None = None
    ended: float | None = None
    outcome: str = "running"
    waits_for: str | None = None
    error: dict[str, Any] | None = None
    retry_in: float | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from acceptance to the end, or None while running."""
        return None if self.ended is None else self.ended - self.started


@dataclass
class Execution:
    """One step execution (one accepted event) across its attempts and waits."""

    exec: int
    step: str
    event_type: str | None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def started(self) -> float:
        return self.attempts[0].started

    @property
    def ended(self) -> float | None:
        return self.attempts[-1].ended

    @property
    def outcome(self) -> str:
        return self.attempts[-1].outcome

    @property
    def attempt_count(self) -> int:
        """The number of the last attempt (a re-run after a wait is the same attempt)."""
        return self.attempts[-1].attempt

    @property
    def busy(self) -> float:
        """Seconds its attempts ran (retry delays and waits excluded)."""
        return sum(a.duration or 0.0 for a in self.attempts)


@dataclass
class Wait:
    """A ``wait_for_event`` of one execution: since when, for what, until when."""

    step: str
    exec: int
    waiter_id: str
    event_type: str
    seq: int
    since: float
    until: float | None = None
    timed_out: bool = False


@dataclass
class EventEntry:
    """An event that moved through the run (a row of the ``run_events`` view)."""

    seq: int
    ts: float
    kind: str
    event_type: str | None
    source: str
    from_step: str | None
    exec: int | None
    target: str | None
    event: Any


@dataclass
class StepStats:
    """Per-step totals: how often it ran, failed, and for how long."""

    step: str
    executions: int = 0
    #: Attempts that ended (parking in wait_for_event ends one too).
    attempts: int = 0
    failures: int = 0
    retries: int = 0
    waits: int = 0
    busy: float = 0.0
    longest: float = 0.0
    workers: set[int] = field(default_factory=set)

    @property
    def mean(self) -> float:
        """Mean seconds per attempt that ended."""
        return self.busy / self.attempts if self.attempts else 0.0


@dataclass
class RunTimeline:
    """Everything :func:`build_timeline` derives from a journal."""

    started: float = 0.0
    last: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)
    executions: list[Execution] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)
    events: list[EventEntry] = field(default_factory=list)
    resumes: list[float] = field(default_factory=list)
    steps: dict[str, StepStats] = field(default_factory=dict)
    end_entry: dict[str, Any] | None = None

    def open_waits(self) -> list[Wait]:
        """Waits not answered (nor timed out) by the end of the journal."""
        return [w for w in self.waits if w.until is None and not w.timed_out]


def build_timeline(history: Iterable[Mapping[str, Any]]) -> RunTimeline:
    """Fold a run's history (``store.history(run_id)``) into a :class:`RunTimeline`."""
    tl = RunTimeline()
    open_attempts: dict[int, Attempt] = {}
    executions: dict[int, Execution] = {}
    event_types: dict[int, str | None] = {}
    exec_step: dict[int, str] = {}
    pending_waits: dict[int, Wait] = {}
    for entry in history:
        seq, kind, ts = int(entry["seq"]), str(entry["kind"]), float(entry["ts"])
        data: Mapping[str, Any] = entry.get("payload") or {}
        if seq == 1 or not tl.started:
            tl.started = ts
        tl.last = ts
        event_types[seq] = entry.get("event_type")
        exec_id = data.get("exec")
        if kind == "accepted" and exec_id is not None:
            _close(open_attempts.pop(exec_id, None), seq, ts, "interrupted")
            step = str(entry.get("step") or "")
            exec_step[exec_id] = step
            wait = pending_waits.pop(exec_id, None)
            if wait is not None:
                wait.until = ts
            att = Attempt(
                exec=exec_id,
                step=step,
                worker=int(data.get("worker", 0)),
                attempt=int(data.get("attempt", 1)),
                event_type=event_types.get(int(data.get("event_seq", 0))),
                accepted_seq=seq,
                started=ts,
            )
            open_attempts[exec_id] = att
            tl.attempts.append(att)
            if exec_id not in executions:
                executions[exec_id] = Execution(exec_id, step, att.event_type)
            executions[exec_id].attempts.append(att)
        elif kind in ("completed", "failed", "waiter") and exec_id is not None:
            ended = open_attempts.pop(exec_id, None)
            if kind == "completed":
                _close(ended, seq, ts, "completed")
            elif kind == "failed":
                retry = data.get("retry_in")
                _close(ended, seq, ts, "retry" if retry is not None else "failed")
                if ended is not None:
                    ended.error, ended.retry_in = data.get("error"), retry
            else:
                _close(ended, seq, ts, "waiting")
                wait = Wait(
                    step=str(entry.get("step") or ""),
                    exec=exec_id,
                    waiter_id=str(data.get("waiter_id")),
                    event_type=str(data.get("event_type")),
                    seq=seq,
                    since=ts,
                )
                if ended is not None:
                    ended.waits_for = wait.event_type
                tl.waits.append(wait)
                pending_waits[exec_id] = wait
        elif kind == "waiter_timeout":
            for wait in pending_waits.values():
                if wait.waiter_id == str(data.get("waiter_id")):
                    wait.timed_out, wait.until = True, ts
        elif kind == "resumed":
            tl.resumes.append(ts)
            for att in open_attempts.values():
                _close(att, seq, ts, "interrupted")
            open_attempts.clear()
        elif kind in _RUN_ENDS:
            tl.end_entry = dict(entry)
            for att in open_attempts.values():
                _close(att, seq, ts, "stopped")
            open_attempts.clear()
        if kind in EVENT_KINDS:
            tl.events.append(_event_entry(entry, data, exec_step))
    tl.executions = list(executions.values())
    tl.steps = _step_stats(tl.executions, tl.waits)
    return tl


def _close(att: Attempt | None, seq: int, ts: float, outcome: str) -> None:
    if att is not None and att.ended is None:
        att.ended_seq, att.ended, att.outcome = seq, ts, outcome


def _event_entry(
    entry: Mapping[str, Any], data: Mapping[str, Any], exec_step: Mapping[int, str]
) -> EventEntry:
    kind = str(entry["kind"])
    exec_id = data.get("exec")
    if kind == "sent":
        source = str(data.get("source") or "")
        from_step = exec_step.get(exec_id) if exec_id is not None else None
        target = data.get("target")
    else:
        source, from_step, target = "step", entry.get("step"), None
    return EventEntry(
        seq=int(entry["seq"]),
        ts=float(entry["ts"]),
        kind=kind,
        event_type=entry.get("event_type"),
        source=source,
        from_step=from_step,
        exec=exec_id,
        target=target,
        event=data.get("event"),
    )


def _step_stats(executions: list[Execution], waits: list[Wait]) -> dict[str, StepStats]:
    stats: dict[str, StepStats] = {}
    for ex in executions:
        st = stats.setdefault(ex.step, StepStats(ex.step))
        st.executions += 1
        for att in ex.attempts:
            st.workers.add(att.worker)
            if att.ended is None:
                continue
            st.attempts += 1
            st.busy += att.duration or 0.0
            st.longest = max(st.longest, att.duration or 0.0)
            if att.outcome in ("retry", "failed"):
                st.failures += 1
            if att.outcome == "retry":
                st.retries += 1
    for wait in waits:
        stats.setdefault(wait.step, StepStats(wait.step)).waits += 1
    return stats


def short_type(type_name: str | None) -> str:
    """The class name of a qualified type name (``pkg.mod.Outer.Cls`` -> ``Cls``)."""
    if not type_name:
        return ""
    return type_name.rsplit(".", 1)[-1]
