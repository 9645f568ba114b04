"""The inbox side of :class:`~.store.SqliteStore`: sending events to a run from
any process, discarding them, and the per-run signal that wakes a waiting run
(set at once for sends through the same store, found by one poller otherwise)."""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Sequence
from functools import partial
from typing import Any

from .._discard import discard_sqlite
from ..rows import Lease
from .jobs import WriteJobs
from .writer import JobFn

log = logging.getLogger(__name__)


class SqliteInbox:
    """Mixed into ``SqliteStore``: needs its ``_read``, ``_write``, ``_jobs`` and the signal fields."""

    path: str
    inbox_poll: float
    _closed: bool
    _jobs: WriteJobs
    _signals: weakref.WeakValueDictionary[str, asyncio.Event]
    _poller: asyncio.Task[None] | None

    async def _read(self, sql: str, params: Sequence[Any]) -> list[Any]:
        raise NotImplementedError

    async def _write(self, fn: JobFn[Any]) -> Any:
        raise NotImplementedError

    async def send_to_inbox(
        self,
        run_id: str,
        event_type: str,
        payload: str,
        codec: str = "json",
        origin: str | None = None,
    ) -> int:
        """Durably queue an event for a run; committed when this returns.

        Also sets this process's :meth:`inbox_signal` event for the run.

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
        signal = self._signals.get(run_id)
        if signal is not None:
            signal.set()
        return inbox_id

    async def discard_inbox(self, lease: Lease, inbox_ids: Sequence[int]) -> list[int]:
        """See :meth:`JournalStore.discard_inbox`."""
        dropped: list[int] = await self._write(partial(discard_sqlite, lease=lease, inbox_ids=list(inbox_ids)))
        return dropped

    def inbox_signal(self, run_id: str) -> asyncio.Event:
        """An ``asyncio.Event`` set when ``run_id``'s inbox has something new.

        Set at once by sends through this store object; sends from other
        processes are found by one poller per store (one query every
        ``inbox_poll`` seconds for all runs that hold a signal, however many).
        Keep a reference to it while waiting; clear it before re-reading the inbox.
        """
        signal = self._signals.get(run_id)
        if signal is None:
            signal = asyncio.Event()
            self._signals[run_id] = signal
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll_inbox())
        return signal

    async def _poll_inbox(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.inbox_poll)
            watched = list(self._signals.keys())
            if not watched or self._closed:
                continue
            try:
                rows = await self._read(
                    "SELECT DISTINCT run_id FROM inbox WHERE consumed_seq IS NULL "
                    "AND run_id IN (SELECT value FROM json_each(?))",
                    (json.dumps(watched),),
                )
            except Exception as exc:  # noqa: BLE001 - a failed poll is retried next time
                log.debug("%s: inbox poll failed: %s", self.path, exc)
                continue
            for (run_id,) in rows:
                signal = self._signals.get(run_id)
                if signal is not None:
                    signal.set()
