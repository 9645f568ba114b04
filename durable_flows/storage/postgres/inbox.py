"""The inbox side of :class:`~.store.PostgresStore`: sends, discards, and the signals
that LISTEN/NOTIFY sets in every process (a run's inbox, a claimable run)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial
from typing import Any

from .._discard import discard_pg
from ..rows import Lease
from .jobs import PgJobs
from .notify import Notifier
from .writer import JobFn


class PgInbox:
    """Mixed into ``PostgresStore``: needs its ``_write``, ``_jobs`` and ``_notifier``."""

    _jobs: PgJobs
    _notifier: Notifier

    async def _write(self, fn: JobFn[Any]) -> Any:
        raise NotImplementedError

    async def discard_inbox(self, lease: Lease, inbox_ids: Sequence[int]) -> list[int]:
        """See :meth:`JournalStore.discard_inbox`."""
        dropped: list[int] = await self._write(partial(discard_pg, lease=lease, inbox_ids=list(inbox_ids)))
        return dropped

    async def send_to_inbox(
        self,
        run_id: str,
        event_type: str,
        payload: str,
        codec: str = "json",
        origin: str | None = None,
    ) -> int:
        """Durably queue an event for a run; committed when this returns.

        NOTIFYs the inbox channel with the run id, which sets the
        :meth:`inbox_signal` of every store listening on this schema, in any
        process; this process's signal is set at once.

        Raises:
            RunNotFoundError: no such run.
            RunFinishedError: the run has finished.
        """
        job = partial(
            self._jobs.send_to_inbox,
            run_id=run_id,
            event_type=event_type,
            payload=payload,
            codec=codec,
            origin=origin,
        )
        inbox_id: int = await self._write(job)
        self._notifier.inbox_sent(run_id)
        return inbox_id

    def inbox_signal(self, run_id: str) -> asyncio.Event:
        """An ``asyncio.Event`` set when ``run_id`` is sent an event, by any process.

        Cross-process sends arrive through LISTEN/NOTIFY (once the store is
        open). Keep a reference to the event while waiting, and clear it
        before re-reading the inbox; treat it as a hint and read the store.
        """
        return self._notifier.inbox_signal(run_id)

    def run_signal(self) -> asyncio.Event:
        """An ``asyncio.Event`` set when a run may have become claimable, by any process.

        Set by every committed ``create_run``, release of an active run,
        fork, and inbox send on this schema (through LISTEN/NOTIFY on the
        channels ``<schema>.durable_flows_runs`` and
        ``<schema>.durable_flows_inbox``, payload: the run id). A worker
        waits on it between looks for work (:meth:`claim_runs`), clears it,
        then looks; it still polls now and then, since an expired lease of a
        crashed process notifies nobody. One event per store object.
        """
        return self._notifier.run_signal()
