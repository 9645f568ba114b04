"""The journal store protocol: the only thing the runtime knows about storage.

A store moves plain data (strings, numbers, JSON text), never engine objects:
the values of ``rows.py`` (journal entries, run rows, leases, updates). Owner
names and dead-owner detection live in ``owners.py``. Every concrete store (SQLite, in-memory, later a server database) implements
:class:`JournalStore` and passes the same contract tests in
``tests/storage/test_contract.py``.

Ownership and fencing: a process executes a run only while it holds the run's
lease. :meth:`JournalStore.claim_lease` returns a :class:`Lease` whose
``token`` grows with every claim; every append carries it and a store refuses
an append whose token is not the run's current one (:class:`StaleLeaseError`).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from ..errors import JournalSeqError
from ._audit_api import AuditMethods
from .deaths import DeathMethods
from .rows import (
    ALL_STATUSES,
    FINISHED_STATUSES,
    InboxItem,
    JournalEntry,
    Lease,
    NewRun,
    RunInfo,
    RunSummary,
    RunUpdate,
)


class JournalStore(AuditMethods, DeathMethods, ABC):
    """The narrow interface between the runtime and a journal database.

    All methods are coroutines unless noted. Implementations must be safe to
    call from many runs of one event loop at once; appends from all of them may
    be grouped into one transaction, but each caller's ``append`` returns only
    once its own entries are durable.
    """

    #: Identifies this store object as a lease owner.
    owner_id: str
    #: Seconds a lease lasts unless renewed.
    lease_ttl: float = 30.0

    # -- lifecycle ---------------------------------------------------------------

    @abstractmethod
    async def open(self) -> None:
        """Open connections and apply migrations; idempotent."""

    @abstractmethod
    async def close(self) -> None:
        """Flush pending appends, stop background work and close; idempotent."""

    async def __aenter__(self) -> JournalStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- writing -----------------------------------------------------------------

    @abstractmethod
    async def create_run(self, run: NewRun, entries: Sequence[JournalEntry]) -> Lease:
        """Create a run owned by this store, with its first entries, atomically.

        Raises:
            RunExistsError: a run with that id exists (nothing is changed).
        """

    @abstractmethod
    async def append(
        self,
        lease: Lease,
        entries: Sequence[JournalEntry],
        update: RunUpdate | None = None,
        consumed_inbox: Sequence[int] = (),
    ) -> None:
        """Append entries to the lease's run; durable when this returns.

        ``update`` changes the run row and ``consumed_inbox`` marks inbox items
        as taken, both in the same transaction as the entries. With
        ``update.release_lease`` the lease is given up in that transaction too.

        Raises:
            StaleLeaseError: the lease's token is no longer the run's (nothing
                is written).
        """

    @abstractmethod
    async def claim_lease(self, run_id: str) -> Lease:
        """Take ownership of a run whose lease is free, expired, or whose owner died.

        Raises:
            RunNotFoundError: no such run.
            LeaseHeldError: a live owner holds it.
        """

    @abstractmethod
    async def release_lease(self, lease: Lease) -> None:
        """Give a run up (it can then be claimed at once); no-op if stale."""

    def forget_lease(self, lease: Lease) -> None:
        """Stop holding and renewing ``lease`` in this process, without writing anything.

        For a run whose loop stopped on a store error: if the release cannot be
        written either, the lease then lapses on its own, and this store may
        claim the run again at once (it holds no lease on it any more).
        """
        held = getattr(self, "_held_leases", None)
        if held is not None and held.get(lease.run_id) == lease.token:
            del held[lease.run_id]

    @abstractmethod
    async def set_failed(self, run_id: str, reason: str) -> None:
        """Mark a run failed with ``reason`` without appending (damaged journal)."""

    @abstractmethod
    async def send_to_inbox(
        self,
        run_id: str,
        event_type: str,
        payload: str,
        codec: str = "json",
        origin: str | None = None,
    ) -> int:
        """Durably queue an event for a run; returns the inbox id.

        ``origin`` (JSON text) says who sent it; the run's owner copies it
        into the ``sent`` record that takes the event in.

        Raises:
            RunNotFoundError, RunFinishedError.
        """

    async def discard_inbox(self, lease: Lease, inbox_ids: Sequence[int]) -> list[int]:
        """Drop pending inbox items of the lease's run: the run will never take them in.

        The rows stay (``consumed_seq`` 0, see ``_discard.py``); the journal is
        not touched. Returns the ids dropped (items not pending for this run
        are left alone).

        Raises:
            StaleLeaseError: the lease is no longer the run's (nothing is changed).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot drop inbox items")

    # -- reading -----------------------------------------------------------------

    @abstractmethod
    async def read(self, run_id: str, after_seq: int = 0) -> list[JournalEntry]:
        """Entries of a run with ``seq > after_seq``, in order."""

    @abstractmethod
    async def read_inbox(self, run_id: str) -> list[InboxItem]:
        """Inbox items of a run not yet taken into its journal, oldest first."""

    @abstractmethod
    async def get_run(self, run_id: str) -> RunInfo | None:
        """The run's row, or None."""

    @abstractmethod
    async def list_runs(
        self, status: str | None = None, workflow: str | None = None
    ) -> list[RunInfo]:
        """Runs, newest first, optionally filtered by status and workflow name."""

    # -- operating on runs -------------------------------------------------------

    @abstractmethod
    async def fork(self, run_id: str, at_seq: int, new_id: str | None = None) -> str:
        """Copy a run's journal up to ``at_seq`` into a new run; returns the new id.

        The new run records ``parent_run_id`` and ``forked_at_seq``, has no
        owner, its ``snapshot_seq`` names the latest snapshot entry at or
        before the cut (None when there is none), and it is ``running`` so that ``wf.resume(new_id)`` (or
        ``wf.recover()``) continues it from that point: steps that were in
        flight at the cut run again, the rest is replayed. The original run is
        not touched. A copy of a finished run's whole journal keeps its
        status, outcome and error.

        The cut never splits a step execution's completion (its effects are
        committed together with it): a seq inside one moves back to just
        before it, so a resumed fork never applies half an execution's
        effects and then runs it again. ``forked_at_seq`` records the seq used.

        Raises:
            RunNotFoundError: no such run.
            ForkPointError: ``at_seq`` is not in ``1..last_seq``.
            RunExistsError: ``new_id`` is taken.
        """

    @abstractmethod
    async def delete_runs(
        self,
        finished_before: float,
        dry_run: bool = False,
        *,
        batch_size: int = 100,
        progress: Callable[[int, int], None] | None = None,
        only: Collection[str] | None = None,
    ) -> list[str]:
        """Delete finished runs last changed before ``finished_before``, with their journals.

        Only runs whose status is final (completed, failed, cancelled,
        timed_out) are deleted, never a running or waiting one, in
        transactions of at most ``batch_size`` runs (each re-checks the
        status, so a run is never deleted half-way). ``progress(done, total)``
        is called after each transaction.

        Args:
            finished_before: Seconds since the epoch; runs with ``updated_at``
                before it are deleted.
            dry_run: Only list what would be deleted.
            only: Delete none but these run ids (those of them that qualify):
                ``gc --archive`` deletes exactly the runs it archived.

        Returns:
            The ids deleted (or that would be), oldest first.
        """

    # -- derived helpers (same for every store) -----------------------------------

    async def history(self, run_id: str) -> list[dict[str, Any]]:
        """A run's journal in order, each entry a dict with its payload decoded.

        Raises:
            RunNotFoundError: no such run.
            JournalDecodeError: an entry's payload is not a JSON object (names
                the run and seq).
            JournalCorruptError: the entries' seqs are not 1, 2, 3... (a gap
                or a repeat: an entry is missing or was added).
        """
        from ..errors import JournalCorruptError, JournalDecodeError, RunNotFoundError

        if await self.get_run(run_id) is None:
            raise RunNotFoundError(run_id)
        out = []
        for expected, e in enumerate(await self.read(run_id), start=1):
            if e.seq != expected:
                raise JournalCorruptError(
                    run_id, expected, f"the journal goes on at seq {e.seq}: entry {expected} is missing"
                    if e.seq > expected else f"seq {e.seq} comes again after seq {expected - 1}"
                )
            try:
                payload = e.decoded()
            except ValueError as exc:
                raise JournalDecodeError(run_id, e.seq, f"payload is not JSON ({exc})") from exc
            if not isinstance(payload, dict):
                raise JournalDecodeError(run_id, e.seq, "payload is not a JSON object")
            out.append(
                {
                    "run_id": e.run_id,
                    "seq": e.seq,
                    "kind": e.kind,
                    "step": e.step,
                    "event_type": e.event_type,
                    "ts": e.ts,
                    "codec": e.codec,
                    "payload": payload,
                }
            )
        return out

    async def send_event(
        self,
        run_id: str,
        event: Any,
        *,
        serializer: Any = None,
        check_fields: bool = True,
        actor: str | None = None,
        via: str = "api",
    ) -> int:
        """Deliver an event into a run from any process, running or not.

        The event is journaled in the run's inbox at once; the process that owns
        the run takes it in within its poll interval (at once in this process),
        or the next ``resume`` does. Returns the inbox id.

        Before anything is journaled the event is checked against what the run
        can take: its type (a step or a waiter accepts it) and, with
        ``check_fields`` and when the run's workflow can be imported here, the
        fields the steps or waiters that would take it read (see
        ``durable_flows/spec/event_fit.py``).

        Who sent it is journaled with it (``durable_flows.storage.origin``):
        this host, process and OS user, ``via`` (the interface: ``api``,
        ``cli``, ...) and ``actor``, the application's own id of the sender.

        Raises:
            RunNotFoundError: no such run.
            RunFinishedError: the run already ended.
            EventNotAcceptedError: no step of the run (and no waiter) takes this type.
            EventFieldsError: every step or waiter that would take it reads a
                field it lacks (nothing is journaled).
            EventNotSerializableError: the event can't be journaled.
        """
        from ..codec.journal import Codec
        from ..errors import EventNotAcceptedError, RunFinishedError, RunNotFoundError
        from ..events import HumanResponseEvent, qualified_name
        from .origin import make_origin

        info = await self.get_run(run_id)
        if info is None:
            raise RunNotFoundError(run_id)
        if info.status in FINISHED_STATUSES:
            raise RunFinishedError(run_id, info.status)
        type_name = qualified_name(type(event))
        if not isinstance(event, HumanResponseEvent):
            accepted: set[str] = set(info.waiting_for)
            try:
                for spec in json.loads(info.fingerprint or "{}").get("steps", {}).values():
                    accepted.update(spec.get("accepts", ()))
            except (ValueError, AttributeError):
                accepted = set()
            lineage = {qualified_name(c) for c in type(event).__mro__}
            if accepted and not (lineage & accepted):
                raise EventNotAcceptedError(run_id, type_name)
        if check_fields:
            from ..spec.event_fit import check_outside_event

            check_outside_event(run_id, info.workflow, event)
        codec = Codec(serializer)
        payload = json.dumps(codec.dump_event(event), separators=(",", ":"), ensure_ascii=False)
        origin = make_origin(via, actor)
        return await self.send_to_inbox(run_id, type_name, payload, codec.name, origin=origin)

    async def export(self, run_id: str) -> list[dict[str, Any]]:
        """The run's full history for archiving or diffing: same as :meth:`history`.

        Raises:
            RunNotFoundError: no such run.
        """
        return await self.history(run_id)

    async def cancel(self, run_id: str, reason: str = "cancelled by user") -> str:
        """Stop a run from any process; returns ``"cancelled"`` or ``"requested"``.

        Only a run's owner writes its journal. So when a live process owns the
        run, a cancellation request (inbox type ``CANCEL_REQUEST_TYPE``) is
        queued in the run's inbox and the owner journals the ``cancelled``
        record when it takes its inbox in (``"requested"``). When nobody owns
        it (parked, lease expired, or owner dead) this store claims the run,
        appends the ``cancelled`` record itself and releases it
        (``"cancelled"``).

        Raises:
            RunNotFoundError: no such run.
            RunFinishedError: the run already ended.
        """
        from ._cancel import cancel_run

        return await cancel_run(self, run_id, reason)

    async def summarize_runs(
        self,
        statuses: Collection[str] | None = None,
        workflow: str | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[RunSummary]:
        """Runs newest first with their step counts, for listings (``durable-flows runs``).

        Args:
            statuses: Keep runs with one of these statuses.
            workflow: Keep runs of this workflow: its stored name, or the
                name's trailing dotted part (``FanOut`` matches ``app.FanOut``).
            since: Keep runs created at or after this time (epoch seconds).
            limit: At most this many runs.
        """
        found: list[RunSummary] = []
        for info in await self.list_runs():
            if statuses is not None and info.status not in statuses:
                continue
            if workflow is not None and not workflow_matches(info.workflow, workflow):
                continue
            if since is not None and info.created_at < since:
                continue
            if limit is not None and len(found) >= limit:
                break
            execs = {e.decoded().get("exec") for e in await self.read(info.run_id) if e.kind == "accepted"}
            found.append(RunSummary(info, len(execs)))
        return found

    def inbox_signal(self, run_id: str) -> Any:
        """An object the runtime may await to learn of local inbox sends.

        Stores that can notify in-process (all of ours) return an
        ``asyncio.Event`` that is set when :meth:`send_to_inbox` is called in
        this process for ``run_id``; the runtime also polls, so cross-process
        sends are seen within the poll interval.
        """
        return None


def workflow_matches(stored: str, wanted: str) -> bool:
    """Whether a run's stored workflow name is ``wanted`` or ends with ``"." + wanted``."""
    wanted = wanted.replace(":", ".")
    return stored == wanted or stored.endswith("." + wanted)


# -- private helpers shared by the stores ------------------------------------------


async def delete_in_batches(
    candidates: list[str],
    batch_size: int,
    delete: Callable[[list[str]], Awaitable[list[str]]],
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Run ``delete`` on ``candidates`` in chunks of ``batch_size`` (one transaction each).

    Raises:
        ValueError: ``batch_size`` is below 1.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size!r}")
    deleted: list[str] = []
    for start in range(0, len(candidates), batch_size):
        deleted.extend(await delete(candidates[start : start + batch_size]))
        if progress is not None:
            progress(min(start + batch_size, len(candidates)), len(candidates))
    return deleted


def _check_entries(run_id: str, entries: Sequence[JournalEntry], next_seq: int) -> None:
    """Raise unless ``entries`` belong to ``run_id`` and number on from ``next_seq``.

    Raises:
        ValueError: an entry names another run (a caller bug).
        JournalSeqError: an entry's seq is a duplicate or leaves a gap.
    """
    for offset, entry in enumerate(entries):
        if entry.run_id != run_id:
            raise ValueError(
                f"journal entry seq={entry.seq} names run {entry.run_id!r}, "
                f"but it is being appended to run {run_id!r}"
            )
        if entry.seq != next_seq + offset:
            raise JournalSeqError(run_id, next_seq + offset, entry.seq)


def _check_update(update: RunUpdate | None) -> None:
    """Raise ValueError when ``update`` names an unknown status or a snapshot_seq below 1."""
    if update is None:
        return
    if update.status is not None and update.status not in ALL_STATUSES:
        raise ValueError(
            f"unknown run status {update.status!r}; expected one of {sorted(ALL_STATUSES)}"
        )
    if update.snapshot_seq is not None and update.snapshot_seq < 1:
        raise ValueError(f"snapshot_seq must be a journal seq (>= 1), not {update.snapshot_seq!r}")
