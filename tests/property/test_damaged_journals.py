"""Damaged journals: each problem is reported with run id and seq, the run is marked
failed with the reason, other runs are untouched, and nothing is deleted.

Four runs of ``golden_wf.Asks`` are left waiting; three journals are then
damaged by hand (a missing entry, an entry that is not JSON, an entry of an
unknown kind) and everything is resumed, one run at a time and through
``recover()``.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import golden_wf as g
import pytest

from durable_flows import SqliteStore
from durable_flows.errors import JournalCorruptError, JournalDecodeError, NonDeterminismError
from durable_flows.storage import JournalStore

pytestmark = pytest.mark.timeout(30)

RUNS = ["healthy", "gap", "garbled", "alien"]
DAMAGE = {
    "gap": ("DELETE FROM journal WHERE run_id = 'gap' AND seq = 4", JournalCorruptError, 5, "gap"),
    "garbled": (
        "UPDATE journal SET payload = '{\"event\": {' WHERE run_id = 'garbled' AND seq = 2",
        JournalDecodeError,
        2,
        "not JSON",
    ),
    "alien": (
        "UPDATE journal SET kind = 'teleported' WHERE run_id = 'alien' AND seq = 6",
        JournalCorruptError,
        6,
        "unknown record kind 'teleported'",
    ),
}


def _asks(store: JournalStore) -> g.Asks:
    return g.Asks(store=store, workflow_name="damaged.asks", timeout=None)


async def _park(path: Path) -> None:
    async with SqliteStore(path) as store:
        for run_id in RUNS:
            handler = _asks(store).run(run_id=run_id)
            async for ev in handler.stream_events():
                if isinstance(ev, g.Question):
                    await handler.send_event(g.Reply(response="yes"))
                    break
        for run_id in RUNS:
            for _ in range(500):
                run = await store.get_run(run_id)
                if run is not None and run.status == "waiting" and run.waiting_for:
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError(f"{run_id} never parked")


def _rows(path: Path) -> dict[str, Any]:
    con = sqlite3.connect(path)
    try:
        return {
            "journal": con.execute("SELECT * FROM journal ORDER BY run_id, seq").fetchall(),
            "runs": {r[0]: r[1:] for r in con.execute("SELECT run_id, status, error, last_seq FROM runs")},
            "inbox": con.execute("SELECT * FROM inbox ORDER BY id").fetchall(),
        }
    finally:
        con.close()


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.db"
    asyncio.run(_park(path))
    con = sqlite3.connect(path)
    try:
        for sql, *_ in DAMAGE.values():
            assert con.execute(sql).rowcount == 1
        con.commit()
    finally:
        con.close()
    return path


@pytest.mark.parametrize("run_id", sorted(DAMAGE))
async def test_resume_reports_the_damage_and_marks_only_that_run_failed(damaged: Path, run_id: str) -> None:
    _, error, seq, words = DAMAGE[run_id]
    before = _rows(damaged)
    async with SqliteStore(damaged) as store:
        with pytest.raises(error) as caught:
            await _asks(store).resume(run_id)
    err: Any = caught.value
    assert (err.run_id, err.seq) == (run_id, seq)
    assert words in str(err) and run_id in str(err) and f"seq={seq}" in str(err)
    after = _rows(damaged)
    status, reason, _ = after["runs"][run_id]
    assert status == "failed" and words in reason and f"seq={seq}" in reason
    assert after["journal"] == before["journal"]  # nothing deleted or rewritten
    assert after["inbox"] == before["inbox"]
    for other in RUNS:
        if other != run_id:
            assert after["runs"][other] == before["runs"][other]


async def test_recover_fails_the_damaged_runs_and_finishes_the_healthy_one(damaged: Path) -> None:
    journal_before = _rows(damaged)["journal"]
    async with SqliteStore(damaged) as store:
        for run_id in RUNS:
            if run_id not in DAMAGE:
                await store.send_event(run_id, g.Approval(who="ann", ok=True))
        handlers = {h.run_id: h for h in await _asks(store).recover()}
        assert set(handlers) == set(RUNS)
        outcomes = await asyncio.wait_for(
            asyncio.gather(*handlers.values(), return_exceptions=True), 10
        )
        got = dict(zip(handlers, outcomes, strict=True))
    assert got["healthy"] == g.EXPECTED[g.WAITING]
    for run_id, (_, error, seq, _) in DAMAGE.items():
        found: Any = got[run_id]
        assert isinstance(found, error) and getattr(found, "seq", None) == seq
    rows = _rows(damaged)
    assert {r: v[0] for r, v in rows["runs"].items()} == {
        "healthy": "completed",
        "gap": "failed",
        "garbled": "failed",
        "alien": "failed",
    }
    damaged_rows = [row for row in rows["journal"] if row[0] in DAMAGE]
    assert damaged_rows == [row for row in journal_before if row[0] in DAMAGE]


async def test_a_run_refused_for_a_code_mismatch_can_be_taken_by_another_process(
    damaged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process whose code cannot continue a run must not keep others from doing so."""
    monkeypatch.delattr(g, "Approval")  # the awaited type is gone: a code mismatch
    async with SqliteStore(damaged) as first:
        with pytest.raises(NonDeterminismError):
            await _asks(first).resume("healthy")
        async with SqliteStore(damaged) as second:
            await second.claim_lease("healthy")
