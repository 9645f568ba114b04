"""Journals written by an earlier durable_flows must still open, replay and resume.

The files under ``tests/fixtures/golden/`` were written by
``tests/fixtures/make_golden.py`` (workflows in ``golden_wf.py``) and are
committed: a finished run, a run waiting for an outside event, and a run
stopped with a retry pending. Every later schema or codec change must keep
them working (through migrations if need be). Tests work on copies.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import golden_wf as g
import pytest

from durable_flows import SqliteStore, Workflow
from durable_flows.codec.journal import Codec
from durable_flows.ops.check import check_runs
from durable_flows.runtime.replay import decode_journal, replay
from durable_flows.storage import JournalStore

pytestmark = pytest.mark.timeout(30)

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"
RUNS = {
    g.FINISHED: ("finished.db", g.Fanned, "golden.fanned"),
    g.WAITING: ("waiting.db", g.Asks, "golden.asks"),
    g.RETRYING: ("retry_pending.db", g.Flaky, "golden.flaky"),
}


#: Sets of golden journals: "" written with whole-state records (before state changes
#: were journaled as patches), "changes" with patch operations. Every test runs on both.
SETS = ["", "changes"]


@pytest.fixture(params=SETS, ids=lambda s: s or "wholestate")
def golden_set(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _copy(run_id: str, tmp_path: Path, golden_set: str) -> Path:
    source = GOLDEN / golden_set / RUNS[run_id][0]
    assert source.exists(), f"{source} is missing: run tests/fixtures/make_golden.py"
    target = tmp_path / source.name
    shutil.copyfile(source, target)
    return target


def _workflow(run_id: str, store: JournalStore) -> Workflow:
    _, cls, name = RUNS[run_id]
    return cls(store=store, workflow_name=name, timeout=None)


@pytest.mark.parametrize("run_id", sorted(RUNS))
async def test_golden_journal_opens_and_replays(run_id: str, tmp_path: Path, golden_set: str) -> None:
    path = _copy(run_id, tmp_path, golden_set)
    async with SqliteStore(path) as store:  # applies any newer migrations
        entries = await store.read(run_id)
        assert entries, "the golden run has no journal"
        wf = _workflow(run_id, store)
        state = replay(run_id, decode_journal(run_id, entries, Codec()), wf._run_spec())
        assert state.last_seq == len(entries)
        results = await check_runs(wf, store)
        assert [(r.run_id, r.ok) for r in results] == [(run_id, True)], results
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        con.close()


async def test_finished_golden_run_gives_its_recorded_result(tmp_path: Path, golden_set: str) -> None:
    async with SqliteStore(_copy(g.FINISHED, tmp_path, golden_set)) as store:
        handler = _workflow(g.FINISHED, store).resume(g.FINISHED)
        assert await handler == g.EXPECTED[g.FINISHED]
        state = await handler.ctx.store.get_state()
        assert isinstance(state, g.Ledger)
        assert state.total == 14 and state.seen == {"a": 2, "b": 3, "c": 4, "d": 5}


async def test_waiting_golden_run_takes_the_awaited_event_and_finishes(tmp_path: Path, golden_set: str) -> None:
    async with SqliteStore(_copy(g.WAITING, tmp_path, golden_set)) as store:
        run = await store.get_run(g.WAITING)
        assert run is not None and run.status == "waiting"
        assert run.waiting_for == ["golden_wf.Approval"]
        await store.send_event(g.WAITING, g.Approval(who="bob", ok=False))  # fails the requirement
        await store.send_event(g.WAITING, g.Approval(who="ann", ok=True))
        handler = _workflow(g.WAITING, store).resume(g.WAITING)
        assert await asyncio.wait_for(handler, 10) == g.EXPECTED[g.WAITING]
        assert await handler.ctx.store.get("asked") is True


async def test_golden_run_with_a_pending_retry_retries_and_finishes(tmp_path: Path, golden_set: str) -> None:
    async with SqliteStore(_copy(g.RETRYING, tmp_path, golden_set)) as store:
        before = [e.kind for e in await store.read(g.RETRYING)]
        assert before[-1] == "failed"
        handler = _workflow(g.RETRYING, store).resume(g.RETRYING)
        assert await asyncio.wait_for(handler, 10) == g.EXPECTED[g.RETRYING]
        history: list[dict[str, Any]] = await store.history(g.RETRYING)
        attempts = [e["payload"]["attempt"] for e in history if e["kind"] == "accepted"]
        assert attempts == [1, 2]  # the attempt number carried over the restart


@pytest.mark.parametrize("run_id", sorted(RUNS))
async def test_snapshot_of_every_golden_state_loads_back_whole(run_id: str, tmp_path: Path, golden_set: str) -> None:
    """load(dump(state)) is the state, after every entry of the golden runs (states of real runs)."""
    from state_views import full_view

    from durable_flows.runtime import snapshot
    from durable_flows.runtime.reducer import reduce
    from durable_flows.runtime.replay import replay_spec
    from durable_flows.runtime.state import RunState

    async with SqliteStore(_copy(run_id, tmp_path, golden_set)) as store:
        entries = await store.read(run_id)
        spec = _workflow(run_id, store)._run_spec()
    records = decode_journal(run_id, entries, Codec())
    folding = replay_spec(records, spec)
    state = RunState(run_id=run_id)
    for rec in records:
        reduce(state, rec, folding)
        loaded = snapshot.load(snapshot.dump(state, Codec()), Codec(), run_id)
        assert full_view(loaded) == full_view(state), rec.seq


async def test_golden_run_written_before_snapshots_snapshots_once_resumed(
    tmp_path: Path, golden_set: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The migrated row has no snapshot (a full replay); the resumed run writes one, and the
    next resume starts from it."""
    from durable_flows.runtime import snapshot

    monkeypatch.setattr(snapshot, "SIZE_RATIO", 0)
    path = _copy(g.WAITING, tmp_path, golden_set)
    async with SqliteStore(path) as store:
        run = await store.get_run(g.WAITING)
        assert run is not None and run.snapshot_seq is None
        before = run.last_seq
        await store.send_event(g.WAITING, g.Approval(who="ann", ok=True))
        wf = g.Asks(store=store, workflow_name="golden.asks", timeout=None, snapshot_every=1)
        assert await asyncio.wait_for(wf.resume(g.WAITING), 10) == g.EXPECTED[g.WAITING]
        run = await store.get_run(g.WAITING)
        assert run is not None and run.snapshot_seq is not None and run.snapshot_seq > before
    reads: list[int] = []

    class Counting(SqliteStore):
        async def read(self, run_id: str, after_seq: int = 0) -> Any:
            reads.append(after_seq)
            return await super().read(run_id, after_seq)

    async with Counting(path) as store:
        handler = _workflow(g.WAITING, store).resume(g.WAITING)
        assert await asyncio.wait_for(handler, 10) == g.EXPECTED[g.WAITING]
        assert await handler.ctx.store.get("asked") is True
    assert reads == [run.snapshot_seq - 1]
