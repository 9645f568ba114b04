"""The plain values a journal store takes and returns: run statuses, journal and
inbox rows, run rows and summaries, leases, run updates and new runs.

They carry strings, numbers and JSON text only, never engine objects, so any
store (SQLite, in memory, PostgreSQL) can hold them as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NamedTuple

#: Run statuses. ``waiting`` means idle until input arrives from outside.
RUNNING = "running"
WAITING = "waiting"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
TIMED_OUT = "timed_out"
ACTIVE_STATUSES = frozenset({RUNNING, WAITING})
FINISHED_STATUSES = frozenset({COMPLETED, FAILED, CANCELLED, TIMED_OUT})
ALL_STATUSES = ACTIVE_STATUSES | FINISHED_STATUSES


class JournalEntry(NamedTuple):
    """One row of a run's append-only journal (a named tuple in column order).

    Attributes:
        run_id: The run the entry belongs to.
        seq: Position in the run's journal, 1-based and gap-free.
        kind: Record kind (``sent``, ``accepted``, ``produced``, ``state``, ...);
            see ``durable_flows.runtime.records``.
        step: Step the entry concerns, if any.
        event_type: Qualified type name of the event carried, if any.
        payload: The record's fields as JSON text.
        ts: Wall-clock time the record was written live (seconds since epoch).
        codec: Which serializer wrote ``payload`` (``json`` or ``jsonpickle``).
    """

    run_id: str
    seq: int
    kind: str
    step: str | None
    event_type: str | None
    payload: str
    ts: float
    codec: str = "json"

    def decoded(self) -> dict[str, Any]:
        """The payload parsed from JSON (events stay in their encoded form)."""
        return json.loads(self.payload)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A run's row: who it is, where it stands, how it ended."""

    run_id: str
    workflow: str
    status: str
    created_at: float
    updated_at: float
    last_seq: int = 0
    owner: str | None = None
    lease_token: int = 0
    lease_expires: float | None = None
    fingerprint: str | None = None
    waiting_for: list[str] = field(default_factory=list)
    outcome: str | None = None  # JSON text of the result event, when completed
    error: str | None = None  # message (and traceback) when failed / timed out
    parent_run_id: str | None = None
    forked_at_seq: int | None = None
    #: seq of the run's latest ``snapshot`` entry (a resume replays from it); None: none.
    snapshot_seq: int | None = None

    @property
    def state(self) -> str:
        """Where the run stands now: ``status``, or for an unfinished run that no
        live process holds ``queued``, ``orphaned`` or ``parked`` (see ``run_state.py``)."""
        from .run_state import run_state

        return run_state(self)


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run's row plus what a listing of runs shows about its journal.

    Attributes:
        info: The run's row.
        steps_run: Step executions started so far (distinct ``exec`` ids of
            its ``accepted`` entries; retries of one execution count once).
    """

    info: RunInfo
    steps_run: int


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof of ownership of one run: append with it, renew it, release it."""

    run_id: str
    owner: str
    token: int
    expires_at: float
    #: Who held the run when this lease was claimed without being given it back
    #: (a process that died, or whose lease lapsed); None after a release.
    previous_owner: str | None = None


@dataclass(frozen=True, slots=True)
class InboxItem:
    """An event sent into a run from outside, not yet taken into its journal."""

    id: int
    run_id: str
    event_type: str
    payload: str
    codec: str
    created_at: float
    #: Who sent it (JSON text: host, pid, user, via, actor); None when unknown.
    origin: str | None = None


#: The ``runs`` columns a :class:`RunUpdate` may set, named as its fields.
UPDATE_COLUMNS = ("status", "waiting_for", "outcome", "error", "snapshot_seq", "fingerprint")


@dataclass(frozen=True, slots=True)
class RunUpdate:
    """Changes to a run's row that commit together with an append.

    ``snapshot_seq`` names the run's newest ``snapshot`` entry (usually one of
    the entries of the same append); stores keep it as given.
    """

    status: str | None = None
    waiting_for: list[str] | None = None
    outcome: str | None = None
    error: str | None = None
    snapshot_seq: int | None = None
    #: The routing fingerprint (JSON text) of code that resumed the run with other
    #: steps or event types: what ``send_event`` checks events against from now on.
    fingerprint: str | None = None
    #: Give the lease up in the same transaction, as :meth:`JournalStore.release_lease`
    #: would (the run ended, or a worker parks it): saves a commit per run.
    release_lease: bool = False

    def row_changes(self) -> dict[str, Any]:
        """The :data:`UPDATE_COLUMNS` this update sets (not None), as stored:
        ``waiting_for`` as JSON text."""
        changes: dict[str, Any] = {}
        for column in UPDATE_COLUMNS:
            value = getattr(self, column)
            if value is not None:
                changes[column] = json.dumps(value) if column == "waiting_for" else value
        return changes


@dataclass(frozen=True, slots=True)
class NewRun:
    """What :meth:`JournalStore.create_run` needs to start a run."""

    run_id: str
    workflow: str
    fingerprint: str
    parent_run_id: str | None = None
    forked_at_seq: int | None = None


@dataclass(frozen=True, slots=True)
class RunChain:
    """A run's journal with each entry's chain hash, for ``durable-flows verify``.

    Attributes:
        last_seq: ``runs.last_seq``.
        chain_head: ``runs.chain_head``: the hash the newest entry should have.
        unchained_upto: How far the run's journal was written before entries
            were chained (None: every entry is chained).
        entries: The journal, in seq order.
        hashes: Each entry's stored hash (None for an unchained one).
    """

    run_id: str
    last_seq: int
    chain_head: str | None
    unchained_upto: int | None
    entries: list[JournalEntry]
    hashes: list[str | None]


#: Columns of each table an archive holds, in the order written. The same for
#: every store, so an archive loads into any of them and exports back unchanged.
ARCHIVE_COLUMNS: dict[str, tuple[str, ...]] = {
    "runs": (
        "run_id", "workflow", "status", "created_at", "updated_at", "last_seq", "owner",
        "lease_token", "lease_expires", "fingerprint", "waiting_for", "outcome", "error",
        "parent_run_id", "forked_at_seq", "snapshot_seq", "chain_head", "unchained_upto",
    ),
    "journal": (
        "run_id", "seq", "kind", "step", "event_type", "payload", "ts", "codec", "hash",
    ),
    "inbox": (
        "id", "run_id", "event_type", "payload", "codec", "created_at", "consumed_seq", "origin",
    ),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ArchivedRun:
    """One run's rows as stored: its ``runs`` row, journal and inbox, as column dicts."""

    run: dict[str, Any]
    journal: list[dict[str, Any]]
    inbox: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What ``JournalStore.search`` looks for: every word of ``text``, and filters.

    Attributes:
        text: Words that must all occur in an entry (kind, step, event type
            or payload text); matching ignores case and punctuation.
        workflow: Only runs of this workflow (stored name or its last dotted part).
        statuses: Only runs with one of these statuses.
        since, until: Only entries written in ``[since, until)`` (epoch seconds).
        kinds: Only entries of these kinds.
        limit: At most this many hits, best first.
    """

    text: str
    workflow: str | None = None
    statuses: tuple[str, ...] = ()
    since: float | None = None
    until: float | None = None
    kinds: tuple[str, ...] = ()
    limit: int = 50


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One journal entry found by a search: where it is, a snippet, its rank (lower is better)."""

    run_id: str
    seq: int
    kind: str
    ts: float
    workflow: str
    status: str
    snippet: str
    rank: float
