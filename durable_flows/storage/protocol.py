"""The journal store's primitives: the only thing the runtime knows about storage.

A store moves plain data (strings, numbers, JSON text), never engine objects:
the values of ``rows.py`` (journal entries, run rows, leases, updates). Owner
names and dead-owner detection live in ``owners.py``. Every concrete store
(SQLite, PostgreSQL, in-memory) implements these methods, through
:class:`~.base.JournalStore`, and passes the same contract tests in
``tests/storage/test_contract.py``.

Ownership and fencing: a process executes a run only while it holds the run's
lease. :meth:`JournalProtocol.claim_lease` returns a :class:`Lease` whose
``token`` grows with every claim; every append carries it and a store refuses
an append whose token is not the run's current one (:class:`StaleLeaseError`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

from ._audit_api import AuditMethods
from .rows import (
    InboxItem,
    JournalEntry,
    Lease,
    NewRun,
    RunInfo,
    RunUpdate,
)

_Store = TypeVar("_Store", bound="JournalProtocol")


class JournalProtocol(AuditMethods, ABC):
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

    async def __aenter__(self: _Store) -> _Store:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- writing -----------------------------------------------------------------

    @abstractmethod
    async def create_run(
        self, run: NewRun, entries: Sequence[JournalEntry], *, durable: bool = True
    ) -> Lease:
        """Create a run owned by this store, with its first entries, atomically.

        ``durable``: as for :meth:`append`.

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
        *,
        durable: bool = True,
    ) -> None:
        """Append entries to the lease's run; durable when this returns.

        ``durable=False`` allows returning once the entries are *written*:
        ordered before every later write of this store and safe from a crash
        of this process, though perhaps not yet on disk (a power loss may lose
        them together with everything after them, never leaving a gap). The
        engine uses it for records only it acts on (starting a step); what it
        acknowledges to a caller goes through a durable write. A store with
        nothing between the two (memory, PostgreSQL) is durable either way.

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

    def inbox_signal(self, run_id: str) -> Any:
        """An object the runtime may await to learn of local inbox sends.

        Stores that can notify in-process (all of ours) return an
        ``asyncio.Event`` that is set when :meth:`send_to_inbox` is called in
        this process for ``run_id``; the runtime also polls, so cross-process
        sends are seen within the poll interval.
        """
        return None
