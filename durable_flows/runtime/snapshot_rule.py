"""When the live loop journals a snapshot (what one holds: ``snapshot.py``).

At the end of a batch, after dispatch and the status decision and before the
commit, the loop appends a ``snapshot`` record when one is due, and the run's
row is told its seq (``RunUpdate.snapshot_seq``) in the same transaction. One
is due once both hold since the latest snapshot:

- at least ``Workflow(snapshot_every=N)`` entries were journaled (default
  :data:`~.snapshot.DEFAULT_EVERY`; 0 or None: never), and
- their payloads add up to :data:`~.snapshot.SIZE_RATIO` times that
  snapshot's size.

The second rule keeps the cost linear: a run whose state is large (10,000
events queued by a fan-out) snapshots less often, so that snapshots never
outweigh a fixed fraction of the journal. A run's first batch (the one that
creates it) never holds a snapshot, nor does a batch that ends the run.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..storage.rows import JournalEntry, RunUpdate
from . import records as k
from . import snapshot
from ._loop_base import LoopBase, _Batch
from .records import Record

log = logging.getLogger(__name__)


@dataclass
class SnapshotTally:
    """What the rule (and the next snapshot) needs to know of the journal so far.

    Attributes:
        entries: Entries journaled after the latest snapshot (all, if none).
        chars: Their payloads' total length.
        last_chars: Payload length of the latest snapshot (0: none yet).
        event_types: Every event type the journal carries -> seq of its first entry.
    """

    entries: int = 0
    chars: int = 0
    last_chars: int = 0
    event_types: dict[str, int] = field(default_factory=dict)

    def add(self, entries: Sequence[JournalEntry]) -> None:
        """Count newly journaled entries (a snapshot among them restarts the count)."""
        types = self.event_types
        for entry in entries:
            if entry.kind == k.SNAPSHOT:
                self.entries, self.chars, self.last_chars = 0, 0, len(entry.payload)
                continue
            self.entries += 1
            self.chars += len(entry.payload)
            if entry.event_type is not None and entry.event_type not in types:
                types[entry.event_type] = entry.seq

    def due(self, every: int) -> bool:
        """Whether a snapshot is due under a floor of ``every`` entries (0: never)."""
        return 0 < every <= self.entries and self.chars >= snapshot.SIZE_RATIO * self.last_chars


class SnapshotMixin(LoopBase):
    """Journals a snapshot of the run's state at the end of a batch when one is due."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Set from the journal by a resume (see ``rebuild.py``).
        self.snapshots = SnapshotTally()

    def _snapshot_if_due(self, batch: _Batch, update: RunUpdate | None, now: float) -> RunUpdate | None:
        """Append a snapshot to ``batch`` if one is due; returns ``update`` telling the row its seq."""
        every = self.plan.snapshot_every
        if not every:
            return update
        tally = self.snapshots
        tally.add(batch.entries)
        if self.lease is None or self.state.finished or not tally.due(every):
            return update
        # The record holds the state folded up to the record before it. Encoding
        # it (in _append) comes before anything changes, so a failure leaves the
        # batch and the state as they were.
        try:
            data = snapshot.snapshot_data(self.state, self.codec, tally.event_types)
            self._append(batch, Record(k.SNAPSHOT, now, data=data))
        except Exception as exc:  # noqa: BLE001 - a snapshot is an optimisation: never fail the run for one
            log.warning("run %r: no snapshot at seq=%s: %s", self.run_id, self.state.last_seq + 1, exc)
            tally.entries = tally.chars = 0  # try again after as many entries
            return update
        tally.add(batch.entries[-1:])
        seq = self.state.last_seq
        if update is None:
            return RunUpdate(snapshot_seq=seq)
        return dataclasses.replace(update, snapshot_seq=seq)
