"""Rebuild a stored run's state for a resume: from its latest snapshot when it has one.

The run's row names its latest ``snapshot`` entry (``RunInfo.snapshot_seq``).
:func:`rebuild` reads the journal from that entry on, loads the state it holds
and folds the rest on top: a run of 10,000 entries replays only the
entries after its last snapshot (about ``snapshot_every`` of them at most,
unless its state is large).

A snapshot is a cache of what the entries before it fold to, never the only
copy of anything. So when the snapshot path fails for any reason (a damaged
or unknown snapshot, a gap, code that cannot continue the run), the whole
journal is replayed instead and its verdict stands: the same state, or the
same error, naming the same entry, as before snapshots existed. A damaged
snapshot is thus skipped (with a warning), not fatal.

What the snapshot path does not look at: the entries before the snapshot. So
damage there goes unnoticed (the snapshot already holds what they fold to),
and so does an event type of finished work whose class still imports but no
longer loads the stored fields (one that no longer imports is caught: the
snapshot names every type the journal before it carries).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..codec.journal import Codec
from ..errors import JournalCorruptError, JournalDecodeError
from ..storage.base import JournalStore
from ..storage.rows import JournalEntry, RunInfo
from . import records as k
from .records import Record
from .replay import decode_journal, replay
from .seed import seeded_base
from .snapshot import load_entry
from .snapshot_rule import SnapshotTally
from .spec import RunSpec
from .state import RunState

log = logging.getLogger(__name__)


@dataclass
class Rebuilt:
    """A run's state as :func:`rebuild` found it.

    Attributes:
        state: The folded, checked state.
        read: How many journal entries were read (the tail from the snapshot on,
            or the whole journal).
        snapshot_seq: The snapshot replay started from; None for a full replay.
        tally: What the snapshot rule knows of the journal, at its end.
    """

    state: RunState
    read: int
    snapshot_seq: int | None
    tally: SnapshotTally


async def rebuild(store: JournalStore, info: RunInfo, codec: Codec, spec: RunSpec) -> Rebuilt:
    """Read, decode and replay run ``info.run_id``, from its latest snapshot if it can.

    Raises:
        JournalCorruptError: a gap in ``seq`` or an unknown record kind.
        JournalDecodeError: an entry whose payload is damaged.
        NonDeterminismError: the code cannot honour the journal (see ``replay.py``).
    """
    run_id, seq = info.run_id, info.snapshot_seq
    if seq:
        entries = await store.read(run_id, after_seq=seq - 1)
        try:
            return _from_snapshot(run_id, seq, entries, codec, spec)
        except Exception as exc:  # noqa: BLE001 - the whole journal decides (see above)
            log.warning(
                "run %r: replaying the whole journal, not from the snapshot at seq=%s: %s",
                run_id, seq, exc,
            )  # fmt: skip
    entries = await store.read(run_id)
    records = decode_journal(run_id, entries, codec)
    state = replay(run_id, records, spec, base=_seed(run_id, records, codec))
    tally = SnapshotTally()
    tally.add(entries)
    return Rebuilt(state, len(entries), None, tally)


def _seed(run_id: str, records: list[Record], codec: Codec) -> RunState | None:
    """The state a seeded run's journal folds on (``seed.py``); None for any other run."""
    try:
        return seeded_base(run_id, records, codec)
    except Exception as exc:  # noqa: BLE001 - every way a seed can be unusable
        raise JournalDecodeError(run_id, 1, f"the seed of a restored run cannot be loaded ({type(exc).__name__}: {exc})") from exc


def _from_snapshot(
    run_id: str, seq: int, entries: list[JournalEntry], codec: Codec, spec: RunSpec
) -> Rebuilt:
    if not entries or entries[0].seq != seq or entries[0].kind != k.SNAPSHOT:
        found = f"a {entries[0].kind!r} entry" if entries and entries[0].seq == seq else "no entry"
        raise JournalCorruptError(run_id, seq, f"the run's snapshot_seq names {found}, not a snapshot")
    base, event_types = load_entry(entries[0], codec)
    state = replay(run_id, decode_journal(run_id, entries, codec, first_seq=seq), spec, base=base)
    tally = SnapshotTally(event_types=event_types)
    tally.add(entries)
    return Rebuilt(state, len(entries), seq, tally)
