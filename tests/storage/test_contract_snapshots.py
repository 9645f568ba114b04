"""The JournalStore contract for ``snapshot_seq``, run against every store.

A run's row names its latest ``snapshot`` journal entry; the runtime sets it
with ``RunUpdate(snapshot_seq=...)`` in the append that writes the entry, and
a resume reads the journal from there on. A fork keeps the latest snapshot
at or before its cut.
"""

from __future__ import annotations

import asyncio

import pytest
from storage_helpers import entries, make_entry, new_run

from durable_flows.runtime import records
from durable_flows.storage import COMPLETED, WAITING, JournalEntry, JournalStore, RunUpdate
from durable_flows.storage._fork import SNAPSHOT_KIND

pytestmark = pytest.mark.timeout(10)


def snap(run_id: str, seq: int) -> JournalEntry:
    return make_entry(run_id, seq, SNAPSHOT_KIND, payload={"format": 1, "last_seq": seq - 1})


def test_the_stores_know_the_runtimes_snapshot_kind() -> None:
    assert SNAPSHOT_KIND == records.SNAPSHOT


async def test_a_new_run_has_no_snapshot(store: JournalStore) -> None:
    await store.create_run(new_run("r1"), entries("r1", 1, 3))
    info = await store.get_run("r1")
    assert info is not None and info.snapshot_seq is None


async def test_snapshot_seq_is_set_with_the_append_and_kept_by_later_ones(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 2))
    await store.append(lease, [*entries("r1", 3, 4), snap("r1", 5)], RunUpdate(snapshot_seq=5))
    info = await store.get_run("r1")
    assert info is not None and (info.snapshot_seq, info.last_seq) == (5, 5)
    await store.append(lease, entries("r1", 6, 7), RunUpdate(status=WAITING, waiting_for=["m.A"]))
    await store.append(lease, entries("r1", 8, 8))
    info = await store.get_run("r1")
    assert info is not None and (info.snapshot_seq, info.status, info.last_seq) == (5, WAITING, 8)
    await store.append(lease, [snap("r1", 9)], RunUpdate(snapshot_seq=9, status=COMPLETED))
    info = await store.get_run("r1")
    assert info is not None and (info.snapshot_seq, info.status) == (9, COMPLETED)
    assert [r.snapshot_seq for r in await store.list_runs()] == [9]
    assert [e.seq for e in await store.read("r1", after_seq=9 - 1)] == [9]


async def test_concurrent_appends_of_several_runs_each_keep_their_snapshot(store: JournalStore) -> None:
    """Group commit: one transaction may carry the updates of several runs."""
    leases = [await store.create_run(new_run(f"r{i}"), entries(f"r{i}", 1, 1)) for i in range(4)]
    await asyncio.gather(
        *(
            store.append(
                lease,
                [*entries(lease.run_id, 2, 1 + i), snap(lease.run_id, 2 + i)],
                RunUpdate(snapshot_seq=2 + i) if i % 2 == 0 else None,
            )
            for i, lease in enumerate(leases)
        )
    )
    got = {r.run_id: r.snapshot_seq for r in await store.list_runs()}
    assert got == {"r0": 2, "r1": None, "r2": 4, "r3": None}


async def test_snapshot_seq_below_1_is_refused_and_nothing_written(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 1))
    with pytest.raises(ValueError, match="snapshot_seq"):
        await store.append(lease, entries("r1", 2, 2), RunUpdate(snapshot_seq=0))
    info = await store.get_run("r1")
    assert info is not None and (info.last_seq, info.snapshot_seq) == (1, None)


async def _journal_with_snapshots(store: JournalStore) -> None:
    """Run r1: entries 1..10 with snapshots at 4 and 8 (the row names 8)."""
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 3))
    await store.append(lease, [snap("r1", 4)], RunUpdate(snapshot_seq=4))
    await store.append(lease, [*entries("r1", 5, 7), snap("r1", 8)], RunUpdate(snapshot_seq=8))
    await store.append(lease, entries("r1", 9, 10))


@pytest.mark.parametrize(("at", "expected"), [(10, 8), (8, 8), (7, 4), (4, 4), (3, None), (1, None)])
async def test_a_fork_keeps_the_latest_snapshot_at_or_before_its_cut(
    store: JournalStore, at: int, expected: int | None
) -> None:
    await _journal_with_snapshots(store)
    fork = await store.get_run(await store.fork("r1", at, "f1"))
    assert fork is not None and (fork.forked_at_seq, fork.snapshot_seq) == (at, expected)
    kinds = {e.seq: e.kind for e in await store.read("f1")}
    if expected is not None:
        assert kinds[expected] == SNAPSHOT_KIND
    assert (await store.get_run("r1")).snapshot_seq == 8  # type: ignore[union-attr]


async def test_a_fork_finds_a_snapshot_the_row_does_not_name(store: JournalStore) -> None:
    """A row that lost track of its snapshot (NULL) still forks with the one in its journal."""
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 2))
    await store.append(lease, [snap("r1", 3), *entries("r1", 4, 5)])
    fork = await store.get_run(await store.fork("r1", 5, "f1"))
    assert fork is not None and fork.snapshot_seq == 3
