"""Store operations for operators: fork, export, cancel, delete_runs, summarize_runs.

Run against every store (memory and SQLite), like the rest of the contract.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from storage_helpers import entries, make_entry, new_run

from durable_flows.errors import (
    ForkPointError,
    RunExistsError,
    RunFinishedError,
    RunNotFoundError,
)
from durable_flows.storage import (
    CANCEL_REQUEST_TYPE,
    CANCELLED,
    COMPLETED,
    FAILED,
    RUNNING,
    WAITING,
    JournalStore,
    RunUpdate,
    cancel_request_reason,
)

pytestmark = pytest.mark.timeout(10)


async def finished_run(store: JournalStore, run_id: str, status: str = COMPLETED, n: int = 4) -> None:
    lease = await store.create_run(new_run(run_id), entries(run_id, 1, n))
    await store.append(lease, [], RunUpdate(status=status, outcome='{"r": 1}', error=None))
    await store.release_lease(lease)


# -- fork ----------------------------------------------------------------------------


async def test_fork_copies_the_prefix_into_a_parked_run(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1", "flow"), entries("r1", 1, 6))
    before = await store.read("r1")
    fork_id = await store.fork("r1", 4, "f1")
    assert fork_id == "f1"
    fork = await store.get_run("f1")
    assert fork is not None
    assert (fork.workflow, fork.status, fork.last_seq) == ("flow", RUNNING, 4)
    assert (fork.parent_run_id, fork.forked_at_seq) == ("r1", 4)
    assert (fork.owner, fork.lease_expires, fork.fingerprint) == (None, None, "fp-flow")
    assert [(e.run_id, e.seq, e.payload, e.ts) for e in await store.read("f1")] == [
        ("f1", e.seq, e.payload, e.ts) for e in before[:4]
    ]
    # The original is untouched and still appendable under its own lease.
    assert await store.read("r1") == before
    await store.append(lease, [make_entry("r1", 7)])
    # The fork can be claimed (resumed) at once and continues at seq 5.
    fork_lease = await store.claim_lease("f1")
    await store.append(fork_lease, [make_entry("f1", 5)])
    assert [e.seq for e in await store.read("f1")] == [1, 2, 3, 4, 5]


async def test_fork_generates_an_id(store: JournalStore) -> None:
    await finished_run(store, "r1")
    fork_id = await store.fork("r1", 2)
    assert fork_id != "r1" and len(fork_id) == 32
    assert (await store.get_run(fork_id)).parent_run_id == "r1"  # type: ignore[union-attr]


async def test_fork_of_a_whole_finished_journal_keeps_its_end(store: JournalStore) -> None:
    await finished_run(store, "done", COMPLETED)
    whole = await store.get_run(await store.fork("done", 4))
    assert whole is not None and (whole.status, whole.outcome) == (COMPLETED, '{"r": 1}')
    part = await store.get_run(await store.fork("done", 3))
    assert part is not None and (part.status, part.outcome, part.error) == (RUNNING, None, None)


async def test_fork_point_is_checked(store: JournalStore) -> None:
    await finished_run(store, "r1")
    for seq in (0, 5, -1):
        with pytest.raises(ForkPointError) as caught:
            await store.fork("r1", seq)
        assert (caught.value.run_id, caught.value.seq, caught.value.last_seq) == ("r1", seq, 4)
    with pytest.raises(RunNotFoundError):
        await store.fork("nope", 1)
    await finished_run(store, "taken")
    with pytest.raises(RunExistsError):
        await store.fork("r1", 2, "taken")
    assert len(await store.list_runs()) == 2


def step_entries(run_id: str) -> list:  # type: ignore[type-arg]
    """A journal with one completed execution, one handed to a catch handler, one in flight."""
    shapes = [
        ("run_started", None, {}),
        ("sent", None, {"source": "start"}),
        ("accepted", "a", {"exec": 1}),
        ("state", "a", {"exec": 1, "op": 1}),  # 4
        ("sent", None, {"exec": 1, "source": "step"}),  # 5
        ("completed", "a", {"exec": 1}),  # 6: execution 1 ends here
        ("accepted", "b", {"exec": 2}),  # 7
        ("resource", "b", {"exec": 2, "key": "k"}),  # 8
        ("failed", "b", {"exec": 2, "catch": "h"}),  # 9
        ("sent", "h", {"exec": 2, "source": "catch"}),  # 10: execution 2 ends here
        ("accepted", "h", {"exec": 3}),  # 11
        ("sent", None, {"exec": 3, "source": "step"}),  # 12
        ("produced", "h", {"exec": 3}),  # 13
        ("completed", "h", {"exec": 3}),  # 14
    ]
    return [
        make_entry(run_id, seq, kind, step=step, payload=data)
        for seq, (kind, step, data) in enumerate(shapes, start=1)
    ]


@pytest.mark.parametrize(
    ("asked", "cut"),
    [(3, 3), (4, 3), (5, 3), (6, 6), (7, 7), (8, 7), (9, 7), (10, 10), (12, 11), (13, 11), (14, 14)],
)
async def test_fork_never_splits_a_step_completion(store: JournalStore, asked: int, cut: int) -> None:
    """A fork inside an execution's effects moves back before them, so a resumed
    fork re-runs the execution once instead of applying its effects twice."""
    lease = await store.create_run(new_run("r1"), step_entries("r1"))
    await store.release_lease(lease)
    fork = await store.get_run(await store.fork("r1", asked))
    assert fork is not None and (fork.last_seq, fork.forked_at_seq) == (cut, cut)
    assert [e.seq for e in await store.read(fork.run_id)] == list(range(1, cut + 1))


# -- export ------------------------------------------------------------------------------


async def test_export_is_the_decoded_history(store: JournalStore) -> None:
    await finished_run(store, "r1")
    exported = await store.export("r1")
    assert exported == await store.history("r1")
    assert [e["payload"] for e in exported] == [{"n": n} for n in range(1, 5)]
    with pytest.raises(RunNotFoundError):
        await store.export("nope")


# -- cancel -------------------------------------------------------------------------------


async def test_cancel_marks_a_parked_run_cancelled(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 3))
    await store.append(lease, [], RunUpdate(status=WAITING, waiting_for=["m.Answer"]))
    await store.release_lease(lease)
    assert await store.cancel("r1", "operator said so") == "cancelled"
    info = await store.get_run("r1")
    assert info is not None
    assert (info.status, info.last_seq, info.waiting_for, info.owner) == (CANCELLED, 4, [], None)
    assert json.loads(info.error or "") == {"kind": "cancelled", "reason": "operator said so"}
    last = (await store.read("r1"))[-1]
    assert (last.seq, last.kind, last.decoded()) == (4, "cancelled", {"reason": "operator said so"})
    assert [e.seq for e in await store.read("r1")] == [1, 2, 3, 4]
    assert await store.read_inbox("r1") == []


async def test_cancel_of_an_owned_run_queues_a_request_for_its_owner(store: JournalStore) -> None:
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 2))  # held: a live owner
    assert await store.cancel("r1", "stop now") == "requested"
    info = await store.get_run("r1")
    assert info is not None and (info.status, info.last_seq) == (RUNNING, 2)  # journal untouched
    [item] = await store.read_inbox("r1")
    assert item.event_type == CANCEL_REQUEST_TYPE
    assert cancel_request_reason(item) == "stop now"
    # The owner turns it into a cancelled record, consuming the request.
    entry = make_entry("r1", 3, "cancelled", payload={"reason": cancel_request_reason(item)})
    await store.append(lease, [entry], RunUpdate(status=CANCELLED), consumed_inbox=[item.id])
    assert await store.read_inbox("r1") == []


async def test_cancel_request_reason_ignores_other_items(store: JournalStore) -> None:
    await store.create_run(new_run("r1"), [])
    await store.send_to_inbox("r1", "m.Answer", '{"x": 1}')
    await store.send_to_inbox("r1", CANCEL_REQUEST_TYPE, "not json")
    plain, damaged = await store.read_inbox("r1")
    assert cancel_request_reason(plain) is None
    assert cancel_request_reason(damaged) == "cancelled by user"


async def test_cancel_refuses_finished_and_unknown_runs(store: JournalStore) -> None:
    await finished_run(store, "done", FAILED)
    with pytest.raises(RunFinishedError):
        await store.cancel("done")
    assert (await store.get_run("done")).last_seq == 4  # type: ignore[union-attr]
    with pytest.raises(RunNotFoundError):
        await store.cancel("nope")


# -- delete_runs (gc) ------------------------------------------------------------------------


async def test_delete_runs_removes_only_old_finished_runs(store: JournalStore) -> None:
    for run_id, status in [("c", COMPLETED), ("f", FAILED), ("x", CANCELLED)]:
        await finished_run(store, run_id, status)
    lease = await store.create_run(new_run("w"), entries("w", 1, 2))
    await store.append(lease, [], RunUpdate(status=WAITING))
    await store.release_lease(lease)
    await store.send_to_inbox("w", "m.Answer", "{}")
    await store.create_run(new_run("r"), entries("r", 1, 2))
    cutoff = time.time() + 1
    assert await store.delete_runs(cutoff, dry_run=True) == ["c", "f", "x"]
    assert len(await store.list_runs()) == 5
    calls: list[tuple[int, int]] = []
    deleted = await store.delete_runs(cutoff, batch_size=2, progress=lambda d, t: calls.append((d, t)))
    assert deleted == ["c", "f", "x"]
    assert calls == [(2, 3), (3, 3)]
    assert sorted(i.run_id for i in await store.list_runs()) == ["r", "w"]
    assert await store.read("c") == []
    assert len(await store.read_inbox("w")) == 1
    assert await store.delete_runs(cutoff) == []


async def test_delete_runs_keeps_runs_finished_after_the_cutoff(store: JournalStore) -> None:
    await finished_run(store, "old")
    cutoff = time.time()
    await asyncio.sleep(0.01)
    await finished_run(store, "new")
    assert await store.delete_runs(cutoff) == ["old"]
    assert [i.run_id for i in await store.list_runs()] == ["new"]


async def test_inbox_ids_keep_growing_after_deletes(store: JournalStore) -> None:
    await store.create_run(new_run("a"), [])
    first = await store.send_to_inbox("a", "m.E", "{}")
    await store.set_failed("a", "done with it")
    await store.delete_runs(time.time() + 1)
    await store.create_run(new_run("b"), [])
    assert await store.send_to_inbox("b", "m.E", "{}") > first


# -- summarize_runs ------------------------------------------------------------------------


async def test_summarize_runs_counts_steps_and_filters(store: JournalStore) -> None:
    accepted = [
        make_entry("a", 1, "run_started"),
        make_entry("a", 2, "accepted", step="s", payload={"exec": 1, "attempt": 1}),
        make_entry("a", 3, "accepted", step="s", payload={"exec": 1, "attempt": 2}),
        make_entry("a", 4, "accepted", step="t", payload={"exec": 2, "attempt": 1}),
    ]
    await store.create_run(new_run("a", "pkg.flows.FanOut"), accepted)
    await asyncio.sleep(0.01)
    since = time.time()
    await finished_run(store, "b")
    found = await store.summarize_runs()
    assert [(s.info.run_id, s.steps_run) for s in found] == [("b", 0), ("a", 2)]
    assert [s.info.run_id for s in await store.summarize_runs(statuses={RUNNING})] == ["a"]
    for name in ("FanOut", "flows.FanOut", "pkg.flows:FanOut", "pkg.flows.FanOut"):
        assert [s.info.run_id for s in await store.summarize_runs(workflow=name)] == ["a"], name
    assert await store.summarize_runs(workflow="Out") == []
    assert [s.info.run_id for s in await store.summarize_runs(since=since)] == ["b"]
    assert [s.info.run_id for s in await store.summarize_runs(limit=1)] == ["b"]
