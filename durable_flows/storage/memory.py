"""An in-memory journal store: same contract as SQLite, no persistence.

For tests and throwaway runs. It runs the same contract tests as
:class:`~.sqlite.SqliteStore`: same errors, fencing tokens, inbox and statuses.
Every method finishes without awaiting anything, so each call is atomic on
its event loop. Only this store object can own its runs, so a lease it holds
never expires while it is open (as if renewed); :meth:`close` releases them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
import weakref
from collections.abc import Callable, Collection, Sequence
from typing import Any

from ..errors import (
    ForkPointError,
    InboxConsumeError,
    LeaseHeldError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    StaleLeaseError,
    StoreClosedError,
)
from ._fork import SNAPSHOT_KIND, fork_cut, fork_snapshot_seq
from ._memory_audit import MemoryAudit
from .base import JournalStore
from .chain import chain_hashes, chain_key, rechain
from .deaths import MemoryDeaths
from .owners import make_owner_id
from .rows import (
    FAILED,
    FINISHED_STATUSES,
    RUNNING,
    InboxItem,
    JournalEntry,
    Lease,
    NewRun,
    RunInfo,
    RunUpdate,
)
from .store_helpers import check_entries, check_update


class MemoryStore(MemoryAudit, MemoryDeaths, JournalStore):
    """A :class:`JournalStore` kept in plain dicts; everything is lost on exit.

    Args:
        lease_ttl: Seconds added to ``lease_expires`` at each claim and append
            (informational here: leases of an open MemoryStore do not lapse).
    """

    path = "memory://"

    def __init__(self, lease_ttl: float = 30.0) -> None:
        self.lease_ttl = lease_ttl
        self.owner_id = make_owner_id()
        self._closed = False
        self._runs: dict[str, RunInfo] = {}
        self._journal: dict[str, list[JournalEntry]] = {}
        self._hashes: dict[str, list[str | None]] = {}  # run_id -> each entry's chain hash
        self._unchained: dict[str, int] = {}  # see MemoryAudit
        self._key = chain_key()
        self._inbox: dict[int, InboxItem] = {}
        self._consumed: dict[int, int] = {}  # inbox id -> seq that took it in
        self._last_inbox_id = 0  # ids only grow, even after delete_runs
        self._held: dict[str, int] = {}  # run_id -> token of unreleased leases
        self._signals: weakref.WeakValueDictionary[str, asyncio.Event] = (
            weakref.WeakValueDictionary()
        )

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._runs)} runs)"

    async def open(self) -> None:
        """Nothing to open; raises StoreClosedError after :meth:`close`."""
        self._check_open()

    async def close(self) -> None:
        """Release held leases; later calls raise StoreClosedError. Idempotent."""
        if not self._closed:
            for run_id in self._held:
                self._runs[run_id] = dataclasses.replace(
                    self._runs[run_id], owner=None, lease_expires=None
                )
            self._held.clear()
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(self.path)

    def _run(self, run_id: str) -> RunInfo:
        self._check_open()
        try:
            return self._runs[run_id]
        except KeyError:
            raise RunNotFoundError(run_id) from None

    # -- writing -----------------------------------------------------------------

    async def create_run(
        self, run: NewRun, entries: Sequence[JournalEntry], *, durable: bool = True
    ) -> Lease:
        """See :meth:`JournalStore.create_run`; the run starts with token 1."""
        self._check_open()
        if run.run_id in self._runs:
            raise RunExistsError(run.run_id)
        check_entries(run.run_id, entries, 1)
        now = time.time()
        lease = Lease(run.run_id, self.owner_id, 1, now + self.lease_ttl)
        self._runs[run.run_id] = RunInfo(
            run_id=run.run_id,
            workflow=run.workflow,
            status=RUNNING,
            created_at=now,
            updated_at=now,
            last_seq=len(entries),
            owner=self.owner_id,
            lease_token=1,
            lease_expires=lease.expires_at,
            fingerprint=run.fingerprint,
            parent_run_id=run.parent_run_id,
            forked_at_seq=run.forked_at_seq,
        )
        self._journal[run.run_id] = list(entries)
        self._hashes[run.run_id] = list(chain_hashes(None, entries, self._key))
        self._held[run.run_id] = 1
        return lease

    async def append(
        self,
        lease: Lease,
        entries: Sequence[JournalEntry],
        update: RunUpdate | None = None,
        consumed_inbox: Sequence[int] = (),
        *,
        durable: bool = True,
    ) -> None:
        """See :meth:`JournalStore.append`; all checks pass before anything changes."""
        check_update(update)
        info = self._run(lease.run_id)
        if info.lease_token != lease.token:
            raise StaleLeaseError(lease.run_id, lease.token)
        check_entries(lease.run_id, entries, info.last_seq + 1)
        ids = list(consumed_inbox)
        bad = [
            i
            for i in ids
            if ids.count(i) > 1
            or i in self._consumed
            or i not in self._inbox
            or self._inbox[i].run_id != lease.run_id
        ]
        if bad:
            raise InboxConsumeError(lease.run_id, bad)
        last_seq = entries[-1].seq if entries else info.last_seq
        now = time.time()
        changes: dict[str, Any] = {}
        expires: float | None = now + self.lease_ttl
        if update is not None:
            fields = dataclasses.asdict(update)
            release = fields.pop("release_lease")
            changes = {k: v for k, v in fields.items() if v is not None}
            if release:
                changes["owner"], expires = None, None
                if self._held.get(lease.run_id) == lease.token:
                    del self._held[lease.run_id]
        self._journal[lease.run_id].extend(entries)
        hashes = self._hashes[lease.run_id]
        hashes.extend(chain_hashes(hashes[-1] if hashes else None, entries, self._key))
        for i in ids:
            self._consumed[i] = last_seq
        self._runs[lease.run_id] = dataclasses.replace(
            info, last_seq=last_seq, updated_at=now, lease_expires=expires, **changes
        )

    async def claim_lease(self, run_id: str) -> Lease:
        """See :meth:`JournalStore.claim_lease`; a finished run can be claimed too."""
        info = self._run(run_id)
        if run_id in self._held:
            raise LeaseHeldError(run_id, self.owner_id, self.lease_ttl)
        token = info.lease_token + 1
        lease = Lease(run_id, self.owner_id, token, time.time() + self.lease_ttl, info.owner)
        self._runs[run_id] = dataclasses.replace(
            info, owner=self.owner_id, lease_token=token, lease_expires=lease.expires_at
        )
        self._held[run_id] = token
        return lease

    @property
    def _held_leases(self) -> dict[str, int]:
        return self._held

    async def release_lease(self, lease: Lease) -> None:
        """See :meth:`JournalStore.release_lease`."""
        self._check_open()
        info = self._runs.get(lease.run_id)
        if info is None or info.lease_token != lease.token or info.owner != lease.owner:
            return
        self._runs[lease.run_id] = dataclasses.replace(info, owner=None, lease_expires=None)
        self._held.pop(lease.run_id, None)

    async def set_failed(self, run_id: str, reason: str) -> None:
        """See :meth:`JournalStore.set_failed`; raises RunNotFoundError for unknown runs."""
        info = self._run(run_id)
        self._runs[run_id] = dataclasses.replace(
            info, status=FAILED, error=reason, updated_at=time.time()
        )

    async def send_to_inbox(
        self,
        run_id: str,
        event_type: str,
        payload: str,
        codec: str = "json",
        origin: str | None = None,
    ) -> int:
        """See :meth:`JournalStore.send_to_inbox`; also sets :meth:`inbox_signal`."""
        info = self._run(run_id)
        if info.status in FINISHED_STATUSES:
            raise RunFinishedError(run_id, info.status)
        self._last_inbox_id += 1
        inbox_id = self._last_inbox_id
        self._inbox[inbox_id] = InboxItem(
            inbox_id, run_id, event_type, payload, codec, time.time(), origin
        )
        signal = self._signals.get(run_id)
        if signal is not None:
            signal.set()
        return inbox_id

    async def fork(self, run_id: str, at_seq: int, new_id: str | None = None) -> str:
        """See :meth:`JournalStore.fork`."""
        info = self._run(run_id)
        if not 1 <= at_seq <= info.last_seq:
            raise ForkPointError(run_id, at_seq, info.last_seq)
        new_id = new_id or uuid.uuid4().hex
        if new_id in self._runs:
            raise RunExistsError(new_id)
        journal = self._journal[run_id]
        cut = fork_cut((e.seq, e.kind, e.payload) for e in reversed(journal[:at_seq]))
        keep_end = cut == info.last_seq and info.status in FINISHED_STATUSES
        snapshot_seq = fork_snapshot_seq(info.snapshot_seq, cut)
        if snapshot_seq is None:
            snapshot_seq = next((e.seq for e in reversed(journal[:cut]) if e.kind == SNAPSHOT_KIND), None)
        now = time.time()
        self._runs[new_id] = RunInfo(
            run_id=new_id,
            workflow=info.workflow,
            status=info.status if keep_end else RUNNING,
            created_at=now,
            updated_at=now,
            last_seq=cut,
            fingerprint=info.fingerprint,
            outcome=info.outcome if keep_end else None,
            error=info.error if keep_end else None,
            parent_run_id=run_id,
            forked_at_seq=cut,
            snapshot_seq=snapshot_seq,
        )
        copied, _ = rechain(new_id, journal[:cut], self._key)
        self._journal[new_id] = [e for e, _ in copied]
        self._hashes[new_id] = [h for _, h in copied]
        return new_id

    async def delete_runs(
        self,
        finished_before: float,
        dry_run: bool = False,
        *,
        batch_size: int = 100,
        progress: Callable[[int, int], None] | None = None,
        only: Collection[str] | None = None,
    ) -> list[str]:
        """See :meth:`JournalStore.delete_runs`."""
        self._check_open()
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size!r}")
        doomed = sorted(
            (
                info
                for info in self._runs.values()
                if info.status in FINISHED_STATUSES and info.updated_at < finished_before
            ),
            key=lambda info: (info.updated_at, info.run_id),
        )
        ids = [info.run_id for info in doomed]
        if only is not None:
            ids = [run_id for run_id in ids if run_id in only]
        if dry_run:
            return ids
        for start in range(0, len(ids), batch_size):
            for run_id in ids[start : start + batch_size]:
                del self._runs[run_id]
                del self._journal[run_id]
                del self._hashes[run_id]
                self._unchained.pop(run_id, None)
                self._held.pop(run_id, None)
                for item_id in [i for i, item in self._inbox.items() if item.run_id == run_id]:
                    del self._inbox[item_id]
                    self._consumed.pop(item_id, None)
            if progress is not None:
                progress(min(start + batch_size, len(ids)), len(ids))
        return ids

    def inbox_signal(self, run_id: str) -> asyncio.Event:
        """An ``asyncio.Event`` set by :meth:`send_to_inbox` for ``run_id``."""
        signal = self._signals.get(run_id)
        if signal is None:
            signal = asyncio.Event()
            self._signals[run_id] = signal
        return signal

    # -- reading -----------------------------------------------------------------

    async def read(self, run_id: str, after_seq: int = 0) -> list[JournalEntry]:
        """See :meth:`JournalStore.read`."""
        self._check_open()
        return [e for e in self._journal.get(run_id, ()) if e.seq > after_seq]

    async def discard_inbox(self, lease: Lease, inbox_ids: Sequence[int]) -> list[int]:
        """See :meth:`JournalStore.discard_inbox`."""
        self._check_open()
        info = self._runs.get(lease.run_id)
        if info is None or info.lease_token != lease.token or info.owner != lease.owner:
            raise StaleLeaseError(lease.run_id, lease.token)
        dropped = [
            i for i in inbox_ids
            if i in self._inbox and self._inbox[i].run_id == lease.run_id and i not in self._consumed
        ]  # fmt: skip
        for i in dropped:
            self._consumed[i] = 0
        return dropped

    async def read_inbox(self, run_id: str) -> list[InboxItem]:
        """See :meth:`JournalStore.read_inbox`."""
        self._check_open()
        return [
            item
            for item in self._inbox.values()
            if item.run_id == run_id and item.id not in self._consumed
        ]

    async def get_run(self, run_id: str) -> RunInfo | None:
        """See :meth:`JournalStore.get_run`."""
        self._check_open()
        info = self._runs.get(run_id)
        return None if info is None else _copy(info)

    async def list_runs(
        self, status: str | None = None, workflow: str | None = None
    ) -> list[RunInfo]:
        """See :meth:`JournalStore.list_runs`."""
        self._check_open()
        found = [
            _copy(info)
            for info in self._runs.values()
            if (status is None or info.status == status)
            and (workflow is None or info.workflow == workflow)
        ]
        found.sort(key=lambda info: (-info.created_at, info.run_id))
        return found


def _copy(info: RunInfo) -> RunInfo:
    # RunInfo is frozen but its list is not: callers get their own.
    return dataclasses.replace(info, waiting_for=list(info.waiting_for))
