"""LISTEN/NOTIFY for :class:`~.store.PostgresStore`: wake-ups from any process.

Every store keeps one connection that LISTENs on two channels of its schema:

- the *inbox* channel carries the run id of every committed inbox send; it
  sets that run's :meth:`Notifier.inbox_signal` event, so the process that
  owns the run takes the event in at once, wherever it was sent from;
- the *runs* channel carries the id of every run that may have become
  claimable (created, released with work left, forked); it and the inbox
  channel set :meth:`Notifier.run_signal`, which idle workers wait on.

NOTIFY is transactional (delivered only if the sending transaction commits)
but not durable: a notification sent while the connection is down is lost.
So after a reconnect every signal is set once, and waiters re-read the store.
Signals are hints: a waiter always checks the store, never trusts the event.

A send can also arrive just before anyone asks for its run's signal: the
owner read the inbox, the send committed, and only then did the owner start
waiting (resuming a run does exactly that). So a notification that finds no
signal is remembered for a while, and a signal made for that run later
starts out set: the waiter reads the inbox once more instead of sleeping
through the send.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

_MAX_CHANNEL = 63  # NAMEDATALEN - 1
#: How long, and for how many runs, a send nobody waited for is remembered.
_UNCLAIMED_SECONDS = 60.0
_UNCLAIMED_MAX = 4096


def channel_name(schema: str, topic: str) -> str:
    """The NOTIFY channel of ``topic`` for a journal in ``schema``.

    ``<schema>.durable_flows_<topic>``, e.g. ``public.durable_flows_inbox``;
    a schema name too long for a channel is replaced by a short hash of it.
    """
    name = f"{schema}.durable_flows_{topic}"
    if len(name.encode()) > _MAX_CHANNEL:
        digest = hashlib.sha1(schema.encode()).hexdigest()[:16]
        name = f"{digest}.durable_flows_{topic}"
    return name


class Notifier:
    """Owns the LISTEN connection and the events it sets.

    Args:
        connect: Opens a connection (again after it was lost).
        inbox_channel: Channel of inbox sends (payload: run id).
        runs_channel: Channel of claimable runs (payload: run id).
        label: How to name the database in log messages.
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[Any]],
        inbox_channel: str,
        runs_channel: str,
        label: str,
    ) -> None:
        self._connect = connect
        self.inbox_channel = inbox_channel
        self.runs_channel = runs_channel
        self._label = label
        self._conn: Any = None
        self._signals: weakref.WeakValueDictionary[str, asyncio.Event] = (
            weakref.WeakValueDictionary()
        )
        self._run_signal: asyncio.Event | None = None
        # run_id -> when a send to it found no signal (monotonic seconds).
        self._unclaimed: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._reconnect: asyncio.Task[None] | None = None
        self._stopped = False

    # -- the events ---------------------------------------------------------------

    def inbox_signal(self, run_id: str) -> asyncio.Event:
        """The event set when ``run_id`` is sent an event (by any process).

        A new event starts out set if a send to the run arrived recently
        while nobody held its event.
        """
        signal = self._signals.get(run_id)
        if signal is None:
            signal = asyncio.Event()
            sent_at = self._unclaimed.pop(run_id, None)
            if sent_at is not None and time.monotonic() - sent_at < _UNCLAIMED_SECONDS:
                signal.set()
            self._signals[run_id] = signal
        return signal

    def run_signal(self) -> asyncio.Event:
        """The event set when some run may have become claimable (by any process)."""
        if self._run_signal is None:
            self._run_signal = asyncio.Event()
        return self._run_signal

    def inbox_sent(self, run_id: str) -> None:
        """Set the events of a send made in this process (no need to wait for NOTIFY)."""
        signal = self._signals.get(run_id)
        if signal is not None:
            signal.set()
        else:
            self._unclaimed[run_id] = time.monotonic()
            self._unclaimed.move_to_end(run_id)
            while len(self._unclaimed) > _UNCLAIMED_MAX:
                self._unclaimed.popitem(last=False)
        if self._run_signal is not None:
            self._run_signal.set()

    def runs_changed(self) -> None:
        """Set :meth:`run_signal` for a change made in this process."""
        if self._run_signal is not None:
            self._run_signal.set()

    def _set_all(self) -> None:
        for signal in list(self._signals.values()):
            signal.set()
        self.runs_changed()

    # -- the connection -----------------------------------------------------------

    async def start(self) -> None:
        """Open the LISTEN connection.

        Raises:
            Whatever ``connect`` raises.
        """
        self._conn = await self._listen()

    async def stop(self) -> None:
        """Stop listening and close the connection; idempotent."""
        self._stopped = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.remove_termination_listener(self._on_lost)
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:  # noqa: BLE001 - the server ends the session anyway
                conn.terminate()

    async def _listen(self) -> Any:
        conn = await self._connect()
        try:
            await conn.add_listener(self.inbox_channel, self._on_inbox)
            await conn.add_listener(self.runs_channel, self._on_runs)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._on_lost)
        return conn

    def _on_inbox(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self.inbox_sent(payload)

    def _on_runs(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self.runs_changed()

    def _on_lost(self, conn: Any) -> None:
        if self._stopped or conn is not self._conn:
            return
        self._conn = None
        log.warning("%s: LISTEN connection lost; reconnecting", self._label)
        self._reconnect = asyncio.get_running_loop().create_task(
            self._reconnect_loop(), name=f"durable_flows listen {self._label}"
        )

    async def _reconnect_loop(self) -> None:
        delay = 0.2
        while not self._stopped:
            try:
                self._conn = await self._listen()
            except Exception as exc:  # noqa: BLE001 - retried until the store closes
                log.debug("%s: LISTEN reconnect failed: %s", self._label, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._set_all()  # notifications may have been missed meanwhile
            return
