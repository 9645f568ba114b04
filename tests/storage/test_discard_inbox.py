"""Dropping a pending inbox event (``resume --skip-event``), on every store."""

from __future__ import annotations

import pytest
from storage_helpers import entries, new_run

from durable_flows.errors import StaleLeaseError
from durable_flows.storage import JournalStore


async def test_discard_drops_only_pending_items_of_the_leased_run(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), [])
    await store.create_run(new_run("r2"), [])
    bad = await store.send_to_inbox("r1", "m.A", '{"answer": 1}')
    good = await store.send_to_inbox("r1", "m.A", '{"response": 1}')
    other = await store.send_to_inbox("r2", "m.A", "{}")
    taken = await store.send_to_inbox("r1", "m.B", "{}")
    await store.append(lease, entries("r1", 1, 1), consumed_inbox=[taken])
    assert await store.discard_inbox(lease, [bad, other, taken, 99999]) == [bad]
    assert [i.id for i in await store.read_inbox("r1")] == [good]
    assert [i.id for i in await store.read_inbox("r2")] == [other]
    assert [e.seq for e in await store.read("r1")] == [1]  # the journal is untouched
    await store.append(lease, entries("r1", 2, 2), consumed_inbox=[good])
    assert await store.read_inbox("r1") == []


async def test_discard_with_a_stale_lease_changes_nothing(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), [])
    item = await store.send_to_inbox("r1", "m.A", "{}")
    await store.release_lease(lease)
    await store.claim_lease("r1")
    with pytest.raises(StaleLeaseError):
        await store.discard_inbox(lease, [item])
    assert [i.id for i in await store.read_inbox("r1")] == [item]
