"""Helpers every concrete store shares: the checks of what is appended (entries
numbered on without gaps, known statuses), deletion in batches, and matching a
workflow name as the command line writes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from ..errors import JournalSeqError
from .rows import ALL_STATUSES, JournalEntry, RunUpdate


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


def check_entries(run_id: str, entries: Sequence[JournalEntry], next_seq: int) -> None:
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


def check_update(update: RunUpdate | None) -> None:
    """Raise ValueError when ``update`` names an unknown status or a snapshot_seq below 1."""
    if update is None:
        return
    if update.status is not None and update.status not in ALL_STATUSES:
        raise ValueError(
            f"unknown run status {update.status!r}; expected one of {sorted(ALL_STATUSES)}"
        )
    if update.snapshot_seq is not None and update.snapshot_seq < 1:
        raise ValueError(f"snapshot_seq must be a journal seq (>= 1), not {update.snapshot_seq!r}")
