"""Runs seeded from a context dict: ``to_dict()`` restored into a store without the source run.

``ctx.to_dict()`` taken mid-run carries, under ``snapshot``, the source run's
whole folded state in the snapshot format (``snapshot.py``): state, queued
events, executions with their attempts and retry times, waiters with their
requirements, collect buffers, stream position, resource keys. A store that
does not hold the source run starts a new run from it: the new run's first
record is a ``run_started`` whose data holds that payload under ``seed`` and
the source's id under ``restored_from``. :func:`seeded_base` turns that record
into the state replay folds the new run's journal on top of, so the new run's
journal alone rebuilds it (the source's is never read).

What the seed changes on the way in (:func:`seed_state`), each for one reason:

- The source's journal positions are not the new run's: the seq of each
  queued event and of each execution's event are renumbered below 1 (order
  kept), so they never meet a seq the new run journals, and ``last_seq`` is 0.
- A dict taken after ``cancel_run()`` holds a cancelled run: it continues
  as it was before the cancellation, as upstream's does.
- Inbox ids belong to a store's run: the new run reads its inbox from the start.
- The run routes by the restoring code: its fingerprint is the ``run_started``
  record's.
"""

from __future__ import annotations

from typing import Any

from ..codec.journal import Codec
from . import records as k
from .records import Record
from .snapshot import snapshot_data, state_from_data
from .state import RunState

#: ``run_started`` data keys of a seeded run.
SEED = "seed"
RESTORED_FROM = "restored_from"


def seed_payload(state: RunState, codec: Codec) -> dict[str, Any] | None:
    """What ``to_dict()`` carries under ``snapshot``: ``state`` in the snapshot format.

    None before the run's first commit (nothing to continue from but the start
    event, which the source's store holds). A cancelled run is given as it
    was before its cancellation.
    """
    if state.last_seq == 0 or not state.workflow:
        return None
    data = snapshot_data(state, codec, {})
    if data["status"] == "cancelled":
        data["status"], data["error"] = "running", None
    return data


def seed_state(data: Any, codec: Codec, run_id: str, fingerprint: dict[str, Any] | None = None) -> RunState:
    """The state a run seeded with ``data`` (:func:`seed_payload` output) starts from.

    Raises:
        ValueError: an unknown snapshot format.
        Exception: whatever a damaged payload makes fail (see ``state_from_data``).
    """
    st = state_from_data(data, codec, run_id)
    shift = st.last_seq + 1  # source seq s becomes s - shift: at most -1
    for name, queue in st.queues.items():
        st.queues[name] = type(queue)((seq - shift, ev) for seq, ev in queue)
    for ex in st.execs.values():
        ex.event_seq -= shift
    st.last_seq = 0
    st.inbox_seen = 0
    if st.status not in ("running", "waiting"):
        raise ValueError(f"a seed must hold an unfinished run, not a {st.status} one")
    if fingerprint is not None:
        st.fingerprint = fingerprint
    return st


def seeded_base(run_id: str, records: list[Record], codec: Codec) -> RunState | None:
    """The state to fold ``records`` (a whole journal) on, when the run was seeded; else None.

    Raises:
        ValueError, Exception: the seed does not load (see :func:`seed_state`).
    """
    first = records[0] if records else None
    if first is None or first.kind != k.RUN_STARTED or first.get(SEED) is None:
        return None
    return seed_state(first.data[SEED], codec, run_id, first.get("fingerprint") or {})
