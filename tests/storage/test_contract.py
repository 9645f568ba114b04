"""The JournalStore contract, run against every store (memory and SQLite)."""

from __future__ import annotations

import asyncio
import time

import pytest
from storage_helpers import entries, make_entry, new_run

from durable_flows.errors import (
    InboxConsumeError,
    JournalSeqError,
    LeaseHeldError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
    StaleLeaseError,
    StoreClosedError,
)
from durable_flows.storage import (
    COMPLETED,
    FAILED,
    RUNNING,
    WAITING,
    JournalStore,
    Lease,
    RunUpdate,
)

pytestmark = pytest.mark.timeout(10)


# -- create_run -------------------------------------------------------------------


async def test_create_run_returns_lease_and_writes_row_and_entries(store: JournalStore) -> None:
    before = time.time()
    lease = await store.create_run(
        new_run("r1", "flow", parent_run_id="p0", forked_at_seq=7), entries("r1", 1, 3)
    )
    assert (lease.run_id, lease.owner, lease.token) == ("r1", store.owner_id, 1)
    assert before + store.lease_ttl <= lease.expires_at <= time.time() + store.lease_ttl
    info = await store.get_run("r1")
    assert info is not None
    assert (info.workflow, info.status, info.last_seq) == ("flow", RUNNING, 3)
    assert (info.owner, info.lease_token, info.lease_expires) == (
        store.owner_id,
        1,
        lease.expires_at,
    )
    assert (info.fingerprint, info.parent_run_id, info.forked_at_seq) == ("fp-flow", "p0", 7)
    assert info.waiting_for == [] and info.outcome is None and info.error is None
    assert before <= info.created_at == info.updated_at <= time.time()
    assert await store.read("r1") == entries("r1", 1, 3)


async def test_create_run_without_entries(store: JournalStore) -> None:
    await store.create_run(new_run("r1"), [])
    info = await store.get_run("r1")
    assert info is not None and info.last_seq == 0
    assert await store.read("r1") == []


async def test_duplicate_run_id_is_refused_and_existing_run_untouched(store: JournalStore) -> None:
    await store.create_run(new_run("r1", "first"), entries("r1", 1, 2))
    with pytest.raises(RunExistsError) as caught:
        await store.create_run(new_run("r1", "second"), [make_entry("r1", 1, payload={"x": 1})])
    assert caught.value.run_id == "r1"
    info = await store.get_run("r1")
    assert info is not None and (info.workflow, info.lease_token) == ("first", 1)
    assert await store.read("r1") == entries("r1", 1, 2)
    assert len(await store.list_runs()) == 1


async def test_create_run_entries_must_start_at_seq_1(store: JournalStore) -> None:
    with pytest.raises(JournalSeqError) as caught:
        await store.create_run(new_run("r1"), entries("r1", 2, 3))
    assert (caught.value.expected, caught.value.got) == (1, 2)
    assert await store.get_run("r1") is None
    assert await store.read("r1") == []


# -- append / read ----------------------------------------------------------------


async def test_append_then_read_in_order_with_every_field(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 1))
    special = make_entry(
        "r1",
        2,
        "accepted",
        step="s",
        event_type="m.Ev",
        payload={"a": [1, "é"]},
        codec="jsonpickle",
    )
    await store.append(lease, [special])
    await store.append(lease, entries("r1", 3, 5))
    got = await store.read("r1")
    assert [e.seq for e in got] == [1, 2, 3, 4, 5]
    assert got[1] == special
    assert got[1].decoded() == {"a": [1, "é"]}
    assert [e.seq for e in await store.read("r1", after_seq=3)] == [4, 5]
    assert await store.read("r1", after_seq=5) == []
    info = await store.get_run("r1")
    assert info is not None and info.last_seq == 5


async def test_append_extends_lease_and_updated_at(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), [])
    first = await store.get_run("r1")
    await asyncio.sleep(0.01)
    await store.append(lease, entries("r1", 1, 1))
    after = await store.get_run("r1")
    assert first is not None and after is not None
    assert after.updated_at > first.updated_at
    assert after.lease_expires is not None and first.lease_expires is not None
    assert after.lease_expires > first.lease_expires


@pytest.mark.parametrize(("first", "last"), [(2, 2), (1, 1), (4, 4), (3, 2)])
async def test_append_with_duplicate_or_gap_seq_is_refused(
    store: JournalStore, first: int, last: int
) -> None:
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 2))
    bad = entries("r1", first, max(first, last))
    if last < first:  # out of order within one batch: 3 then 2... as [3, 3]? use [3, 5]
        bad = [make_entry("r1", 3), make_entry("r1", 5)]
    with pytest.raises(JournalSeqError) as caught:
        await store.append(lease, bad, RunUpdate(status=WAITING))
    assert caught.value.run_id == "r1"
    assert await store.read("r1") == entries("r1", 1, 2)
    info = await store.get_run("r1")
    assert info is not None and (info.last_seq, info.status) == (2, RUNNING)


async def test_append_entry_of_another_run_is_refused(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), [])
    with pytest.raises(ValueError, match="r2"):
        await store.append(lease, [make_entry("r2", 1)])
    assert await store.read("r1") == []


async def test_append_to_unknown_run(store: JournalStore) -> None:
    await store.open()
    with pytest.raises(RunNotFoundError):
        await store.append(Lease("nope", store.owner_id, 1, 0.0), entries("nope", 1, 1))


async def test_stale_token_is_refused_and_nothing_is_written(store: JournalStore) -> None:
    old = await store.create_run(new_run("r1"), entries("r1", 1, 1))
    inbox_id = await store.send_to_inbox("r1", "m.Ev", "{}")
    await store.release_lease(old)
    new = await store.claim_lease("r1")
    assert new.token == 2
    with pytest.raises(StaleLeaseError) as caught:
        await store.append(
            old, entries("r1", 2, 2), RunUpdate(status=COMPLETED, outcome="{}"), [inbox_id]
        )
    assert (caught.value.run_id, caught.value.token) == ("r1", 1)
    assert await store.read("r1") == entries("r1", 1, 1)
    info = await store.get_run("r1")
    assert info is not None
    assert (info.status, info.outcome, info.last_seq, info.lease_token) == (RUNNING, None, 1, 2)
    assert [i.id for i in await store.read_inbox("r1")] == [inbox_id]
    await store.append(new, entries("r1", 2, 2))  # the current lease still works
    assert len(await store.read("r1")) == 2


# -- leases -----------------------------------------------------------------------


async def test_claim_of_a_run_this_store_holds_is_refused(store: JournalStore) -> None:
    await store.create_run(new_run("r1"), [])
    with pytest.raises(LeaseHeldError) as caught:
        await store.claim_lease("r1")
    assert caught.value.owner == store.owner_id
    assert 0 < caught.value.expires_in <= store.lease_ttl
    info = await store.get_run("r1")
    assert info is not None and info.lease_token == 1


async def test_release_then_claim_bumps_token(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), [])
    await store.release_lease(lease)
    info = await store.get_run("r1")
    assert info is not None and (info.owner, info.lease_expires, info.lease_token) == (
        None,
        None,
        1,
    )
    second = await store.claim_lease("r1")
    assert (second.token, second.owner) == (2, store.owner_id)
    info = await store.get_run("r1")
    assert info is not None and (info.owner, info.lease_token) == (store.owner_id, 2)
    assert info.lease_expires == second.expires_at
    with pytest.raises(LeaseHeldError):
        await store.claim_lease("r1")


async def test_release_of_a_stale_lease_is_a_no_op(store: JournalStore) -> None:
    first = await store.create_run(new_run("r1"), [])
    await store.release_lease(first)
    second = await store.claim_lease("r1")
    await store.release_lease(first)
    info = await store.get_run("r1")
    assert info is not None and (info.owner, info.lease_token) == (store.owner_id, 2)
    with pytest.raises(LeaseHeldError):
        await store.claim_lease("r1")
    await store.release_lease(second)
    assert (await store.claim_lease("r1")).token == 3


async def test_append_can_release_the_lease_in_its_transaction(store: JournalStore) -> None:
    """The final append of a run gives its lease up without a commit of its own."""
    lease = await store.create_run(new_run("r1"), [])
    update = RunUpdate(status=COMPLETED, outcome='{"r": 1}', release_lease=True)
    await store.append(lease, entries("r1", 1, 2), update)
    info = await store.get_run("r1")
    assert info is not None
    assert (info.status, info.owner, info.lease_expires, info.lease_token, info.last_seq) == (
        COMPLETED, None, None, 1, 2,
    )  # fmt: skip
    second = await store.claim_lease("r1")  # no longer held: claimable at once
    assert second.token == 2
    with pytest.raises(StaleLeaseError):
        await store.append(lease, entries("r1", 3, 3))
    assert [e.seq for e in await store.read("r1")] == [1, 2]


async def test_append_can_change_the_run_fingerprint(store: JournalStore) -> None:
    """A resume by changed code records its routing on the row (send_event checks it)."""
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 1))
    before = await store.get_run("r1")
    assert before is not None
    await store.append(lease, entries("r1", 2, 2), RunUpdate(status="waiting"))
    info = await store.get_run("r1")
    assert info is not None and info.fingerprint == before.fingerprint
    await store.append(lease, entries("r1", 3, 3), RunUpdate(fingerprint='{"steps": {}}'))
    info = await store.get_run("r1")
    assert info is not None and (info.fingerprint, info.status) == ('{"steps": {}}', "waiting")


async def test_a_refused_append_does_not_release_the_lease(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 1))
    with pytest.raises(JournalSeqError):
        await store.append(lease, entries("r1", 5, 5), RunUpdate(release_lease=True))
    info = await store.get_run("r1")
    assert info is not None and info.owner == store.owner_id and info.lease_expires is not None
    with pytest.raises(LeaseHeldError):
        await store.claim_lease("r1")
    await store.append(lease, entries("r1", 2, 2))  # the lease still works


async def test_claim_unknown_run(store: JournalStore) -> None:
    with pytest.raises(RunNotFoundError) as caught:
        await store.claim_lease("nope")
    assert caught.value.run_id == "nope"
    assert isinstance(caught.value, KeyError)


async def test_a_finished_run_can_be_claimed_to_read_its_outcome(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), [])
    await store.append(lease, entries("r1", 1, 1), RunUpdate(status=COMPLETED, outcome='{"r": 1}'))
    await store.release_lease(lease)
    again = await store.claim_lease("r1")
    assert again.token == 2
    info = await store.get_run("r1")
    assert info is not None and (info.status, info.outcome) == (COMPLETED, '{"r": 1}')


# -- run updates, set_failed, listing -----------------------------------------------


async def test_run_update_sets_only_given_fields(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), [])
    await store.append(
        lease, entries("r1", 1, 1), RunUpdate(status=WAITING, waiting_for=["m.A", "m.B"])
    )
    info = await store.get_run("r1")
    assert info is not None and (info.status, info.waiting_for) == (WAITING, ["m.A", "m.B"])
    await store.append(lease, [], RunUpdate(error="boom"))  # no entries: row only
    info = await store.get_run("r1")
    assert info is not None
    assert (info.status, info.waiting_for, info.error, info.last_seq) == (
        WAITING,
        ["m.A", "m.B"],
        "boom",
        1,
    )
    await store.append(
        lease, entries("r1", 2, 2), RunUpdate(status=COMPLETED, waiting_for=[], outcome="{}")
    )
    info = await store.get_run("r1")
    assert info is not None
    assert (info.status, info.waiting_for, info.outcome, info.error) == (
        COMPLETED,
        [],
        "{}",
        "boom",
    )


async def test_run_update_with_unknown_status_is_refused(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), [])
    with pytest.raises(ValueError, match="paused"):
        await store.append(lease, entries("r1", 1, 1), RunUpdate(status="paused"))
    assert await store.read("r1") == []


async def test_run_info_is_a_copy(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), [])
    await store.append(lease, [], RunUpdate(waiting_for=["m.A"]))
    info = await store.get_run("r1")
    assert info is not None
    info.waiting_for.append("m.X")
    again = await store.get_run("r1")
    assert again is not None and again.waiting_for == ["m.A"]


async def test_set_failed_keeps_the_journal(store: JournalStore) -> None:
    await store.create_run(new_run("r1"), entries("r1", 1, 2))
    await store.set_failed("r1", "journal damaged at seq 3")
    info = await store.get_run("r1")
    assert info is not None
    assert (info.status, info.error, info.last_seq) == (FAILED, "journal damaged at seq 3", 2)
    assert await store.read("r1") == entries("r1", 1, 2)
    with pytest.raises(RunNotFoundError):
        await store.set_failed("nope", "x")


async def test_list_runs_newest_first_with_filters(store: JournalStore) -> None:
    leases = {}
    for run_id, workflow in [("a", "w1"), ("b", "w2"), ("c", "w1"), ("d", "w1")]:
        leases[run_id] = await store.create_run(new_run(run_id, workflow), [])
        await asyncio.sleep(0.002)  # distinct created_at
    await store.append(leases["c"], [], RunUpdate(status=COMPLETED))
    await store.set_failed("d", "x")
    assert [r.run_id for r in await store.list_runs()] == ["d", "c", "b", "a"]
    assert [r.run_id for r in await store.list_runs(status=RUNNING)] == ["b", "a"]
    assert [r.run_id for r in await store.list_runs(workflow="w1")] == ["d", "c", "a"]
    assert [r.run_id for r in await store.list_runs(RUNNING, "w1")] == ["a"]
    assert await store.list_runs(status=WAITING) == []
    assert await store.list_runs(workflow="nope") == []


async def test_unknown_run_reads_are_empty(store: JournalStore) -> None:
    assert await store.get_run("nope") is None
    assert await store.read("nope") == []
    assert await store.read_inbox("nope") == []


async def test_history_decodes_payloads(store: JournalStore) -> None:
    await store.create_run(
        new_run("r1"),
        [make_entry("r1", 1, "run_started", payload={"workflow": "wf"}),
         make_entry("r1", 2, "sent", step="s", event_type="m.Ev", payload={"x": [1, 2]})],
    )  # fmt: skip
    history = await store.history("r1")
    assert [h["seq"] for h in history] == [1, 2]
    assert history[1] == {
        "run_id": "r1", "seq": 2, "kind": "sent", "step": "s", "event_type": "m.Ev",
        "ts": 1002.0, "codec": "json", "payload": {"x": [1, 2]},
    }  # fmt: skip
    with pytest.raises(RunNotFoundError):
        await store.history("nope")


# -- inbox ------------------------------------------------------------------------


async def test_inbox_send_read_and_consume_in_append(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), [])
    await store.create_run(new_run("r2"), [])
    before = time.time()
    first = await store.send_to_inbox("r1", "m.A", '{"a": 1}')
    other = await store.send_to_inbox("r2", "m.A", "{}")
    second = await store.send_to_inbox("r1", "m.B", '"pickled"', codec="jsonpickle")
    assert first < other < second
    items = await store.read_inbox("r1")
    assert [(i.id, i.run_id, i.event_type, i.payload, i.codec) for i in items] == [
        (first, "r1", "m.A", '{"a": 1}', "json"),
        (second, "r1", "m.B", '"pickled"', "jsonpickle"),
    ]
    assert all(before <= i.created_at <= time.time() for i in items)
    await store.append(lease, entries("r1", 1, 2), consumed_inbox=[first])
    assert [i.id for i in await store.read_inbox("r1")] == [second]
    assert [i.id for i in await store.read_inbox("r2")] == [other]


@pytest.mark.parametrize("case", ["unknown", "other_run", "taken", "twice"])
async def test_consuming_a_non_pending_inbox_item_is_refused(
    store: JournalStore, case: str
) -> None:
    lease = await store.create_run(new_run("r1"), [])
    await store.create_run(new_run("r2"), [])
    mine = await store.send_to_inbox("r1", "m.A", "{}")
    foreign = await store.send_to_inbox("r2", "m.A", "{}")
    seq = 1
    if case == "taken":
        await store.append(lease, entries("r1", 1, 1), consumed_inbox=[mine])
        seq = 2
    ids = {"unknown": [mine, 999], "other_run": [foreign], "taken": [mine], "twice": [mine, mine]}[
        case
    ]
    with pytest.raises(InboxConsumeError) as caught:
        await store.append(lease, entries("r1", seq, seq), consumed_inbox=ids)
    assert caught.value.run_id == "r1" and caught.value.inbox_ids
    assert len(await store.read("r1")) == seq - 1
    assert len(await store.read_inbox("r2")) == 1
    assert len(await store.read_inbox("r1")) == (0 if case == "taken" else 1)


async def test_send_to_unknown_or_finished_run_is_refused(store: JournalStore) -> None:
    with pytest.raises(RunNotFoundError):
        await store.send_to_inbox("nope", "m.A", "{}")
    lease = await store.create_run(new_run("r1"), [])
    await store.append(lease, [], RunUpdate(status=WAITING))
    assert await store.send_to_inbox("r1", "m.A", "{}") > 0  # waiting runs take events
    await store.append(lease, [], RunUpdate(status=COMPLETED))
    with pytest.raises(RunFinishedError) as caught:
        await store.send_to_inbox("r1", "m.A", "{}")
    assert caught.value.status == COMPLETED
    await store.create_run(new_run("r2"), [])
    await store.set_failed("r2", "x")
    with pytest.raises(RunFinishedError):
        await store.send_to_inbox("r2", "m.A", "{}")
    assert len(await store.read_inbox("r1")) == 1
    assert await store.read_inbox("r2") == []


async def test_inbox_signal_is_set_by_a_local_send(store: JournalStore) -> None:
    await store.create_run(new_run("r1"), [])
    await store.create_run(new_run("r2"), [])
    signal = store.inbox_signal("r1")
    assert isinstance(signal, asyncio.Event) and store.inbox_signal("r1") is signal
    other = store.inbox_signal("r2")
    waiter = asyncio.ensure_future(signal.wait())
    await store.send_to_inbox("r1", "m.A", "{}")
    await asyncio.wait_for(waiter, 1)
    assert signal.is_set() and not other.is_set()


# -- lifecycle --------------------------------------------------------------------


async def test_async_with_and_closed_store_refuses_work(store: JournalStore) -> None:
    async with store as opened:
        assert opened is store
        await store.create_run(new_run("r1"), [])
    await store.close()  # idempotent
    with pytest.raises(StoreClosedError):
        await store.get_run("r1")
    with pytest.raises(StoreClosedError):
        await store.create_run(new_run("r2"), [])
    with pytest.raises(StoreClosedError):
        await store.open()
