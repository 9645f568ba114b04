"""Journal rows written in bulk on PostgreSQL: entries as ``unnest()`` arrays, and
the group append that writes what many appends accepted with one statement per
table (``journal``, ``runs``, ``inbox``). The checks that accept or refuse each
append are :meth:`~.jobs.PgJobs.append_many`'s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ...errors import JournalCorruptError
from ..rows import ACTIVE_STATUSES, UPDATE_COLUMNS, JournalEntry, Lease, RunUpdate
from .leases import NOW

# unnest() of the entries' columns, as the rows of the journal (run_id aside).
ENTRY_ROWS = (
    "unnest($E1::bigint[], $E2::text[], $E3::text[], $E4::text[], $E5::text[], "
    "$E6::float8[], $E7::text[], $E8::text[]) "
    "AS e (seq, kind, step, event_type, payload, ts, codec, hash)"
)
JOURNAL_COLUMNS = "run_id, seq, kind, step, event_type, payload, ts, codec, hash"


def entry_sql(sql: str, first: int) -> str:
    """``sql`` with the placeholders $E1..$E8 numbered from ``first``."""
    for i in range(8, 0, -1):
        sql = sql.replace(f"$E{i}", f"${first + i - 1}")
    return sql


def entry_args(entries: Sequence[JournalEntry], hashes: Sequence[str | None]) -> list[list[Any]]:
    return [
        [e.seq for e in entries],
        [e.kind for e in entries],
        [e.step for e in entries],
        [e.event_type for e in entries],
        [e.payload for e in entries],
        [e.ts for e in entries],
        [e.codec for e in entries],
        list(hashes),
    ]


@dataclass(frozen=True)
class AppendItem:
    """One :meth:`~.store.PostgresStore.append` call, queued for :meth:`~.jobs.PgJobs.append_many`."""

    lease: Lease
    entries: tuple[JournalEntry, ...]
    update: RunUpdate | None
    inbox_ids: list[int]


@dataclass
class RunAppends:
    """A locked run's row as a group's accepted appends leave it, and what they add."""

    token: int
    last_seq: int
    head: str | None  # chain_head
    touched: bool = False
    entries: list[JournalEntry] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)  # of ``entries``
    changes: dict[str, Any] = field(default_factory=dict)
    consumed: dict[int, int] = field(default_factory=dict)  # inbox id -> seq
    release: bool = False  # the lease is given up with the append


async def write_appends(
    conn: Any, runs: dict[str, RunAppends], lease_ttl: float, runs_channel: str
) -> None:
    """Write what a group's accepted appends add: one statement per table."""
    touched = {run_id: run for run_id, run in runs.items() if run.touched}
    if not touched:
        return
    entries = [e for run in touched.values() for e in run.entries]
    if entries:
        try:
            await conn.execute(
                f"INSERT INTO journal ({JOURNAL_COLUMNS}) "
                "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], "
                "$5::text[], $6::text[], $7::float8[], $8::text[], $9::text[])",
                [e.run_id for e in entries],
                *entry_args(entries, [h for run in touched.values() for h in run.hashes]),
            )
        except asyncpg.UniqueViolationError as exc:
            if len(touched) > 1:
                raise  # the batch runs again job by job, and this fails alone
            # The seq check passed, so runs.last_seq disagrees with the journal.
            raise JournalCorruptError(
                entries[0].run_id, entries[0].seq, f"an entry at this seq already exists ({exc})"
            ) from exc
    # A released run that is still active may be claimed now: tell the workers.
    await conn.execute(
        "UPDATE runs SET last_seq = u.last_seq, updated_at = n.now, "
        "lease_expires = CASE WHEN u.release THEN NULL ELSE n.now + $1 END, "
        "owner = CASE WHEN u.release THEN NULL ELSE runs.owner END, "
        "status = coalesce(u.status, runs.status), "
        "waiting_for = coalesce(u.waiting_for, runs.waiting_for), "
        "outcome = coalesce(u.outcome, runs.outcome), error = coalesce(u.error, runs.error), "
        "snapshot_seq = coalesce(u.snapshot_seq, runs.snapshot_seq), "
        "fingerprint = coalesce(u.fingerprint, runs.fingerprint), chain_head = u.chain_head "
        "FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], "
        "$8::bigint[], $9::text[], $10::bool[], $13::text[]) AS u "
        "(run_id, last_seq, status, waiting_for, outcome, error, snapshot_seq, fingerprint, release, "
        "chain_head), "
        f"(SELECT {NOW} AS now) n WHERE runs.run_id = u.run_id "
        "RETURNING CASE WHEN u.release AND runs.status = ANY($11::text[]) "
        "THEN pg_notify($12, runs.run_id) END",
        lease_ttl,
        list(touched),
        [run.last_seq for run in touched.values()],
        *([run.changes.get(c) for run in touched.values()] for c in UPDATE_COLUMNS),
        [run.release for run in touched.values()],
        sorted(ACTIVE_STATUSES),
        runs_channel,
        [run.head for run in touched.values()],
    )
    consumed = [(i, seq) for run in touched.values() for i, seq in run.consumed.items()]
    if consumed:
        await conn.execute(
            "UPDATE inbox SET consumed_seq = u.seq "
            "FROM unnest($1::bigint[], $2::bigint[]) AS u (id, seq) WHERE inbox.id = u.id",
            [i for i, _ in consumed],
            [seq for _, seq in consumed],
        )
