"""Where a fork may cut a run's journal.

The live loop commits a step execution's effects (resources, state edits,
collect-buffer changes, sent and streamed events, the produced event) in the
same transaction as the record that closes the execution (``completed``,
``failed`` or ``waiter``), and a ``failed`` record that hands the failure to a
``@catch_error`` handler is followed by the ``sent`` record carrying the
``StepFailedEvent``. A journal therefore never ends inside such a group; a
fork must not either. If it did, the resumed fork would find the execution
still in flight, run it again, and apply its effects a second time (two sets
of fanned-out events, for example).

Both stores call :func:`fork_cut` with the entries just below the requested
seq, newest first, and read only as far back as the open group reaches.

A ``snapshot`` entry is never inside such a group (the loop appends it at the
end of a batch), and the fork's ``snapshot_seq`` is the latest one at or
before the cut: the parent's own when it is (:func:`fork_snapshot_seq`), else
the stores look for one below the cut.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

#: The record kind of a snapshot (``durable_flows.runtime.records.SNAPSHOT``).
SNAPSHOT_KIND = "snapshot"

#: Kinds that are effects of the execution named by their ``exec`` field.
_EFFECT_KINDS = frozenset({"resource", "state", "collect", "stream", "sent", "produced"})


def fork_cut(tail: Iterable[tuple[int, str, str]]) -> int:
    """The seq a fork asked for at the first entry of ``tail`` really ends at.

    Args:
        tail: ``(seq, kind, payload)`` of the run's entries from the requested
            seq downwards (newest first). It is read lazily and only as far as
            needed.

    Returns:
        The requested seq when it ends a group (or is outside any), else the
        seq just before the group it is inside of; 0 for an empty ``tail``.
    """
    entries = iter(tail)
    first = next(entries, None)
    if first is None:
        return 0
    seq, kind, payload = first
    open_exec = _open_group(kind, payload)
    if open_exec is None:
        return seq
    cut = seq - 1
    for seq, kind, payload in entries:
        if _open_group(kind, payload) != open_exec:
            break
        cut = seq - 1
    return cut


def _open_group(kind: str, payload: str) -> Any:
    """The exec id whose completion group is still open after this entry, or None."""
    if kind not in _EFFECT_KINDS and kind != "failed":
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("exec") is None:
        return None  # loose resources, the handler's state edits, outside events
    if kind == "failed":
        return data["exec"] if data.get("catch") else None
    if kind == "sent" and data.get("source") == "catch":
        return None  # closes a failed record handed to a @catch_error handler
    return data["exec"]


def fork_snapshot_seq(parent_snapshot_seq: int | None, cut: int) -> int | None:
    """The parent's latest snapshot if the fork keeps it, else None (look below the cut)."""
    if parent_snapshot_seq is not None and parent_snapshot_seq <= cut:
        return parent_snapshot_seq
    return None
