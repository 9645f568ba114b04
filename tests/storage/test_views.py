"""The SQL views of migrations/0002_views.sql, on journals of real runs.

They must tell the same story as ``durable_flows.ops.timeline`` (which the CLI
uses), so a Datasette user and a ``durable-flows show`` user see the same
attempts, executions and events.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from durable_flows import Context, Event, HumanResponseEvent, StartEvent, StopEvent, Workflow, step
from durable_flows.ops.timeline import build_timeline
from durable_flows.retry_policy import retry_policy, stop_after_attempt, wait_fixed
from durable_flows.runtime import snapshot
from durable_flows.storage import NewRun, SqliteStore

pytestmark = pytest.mark.timeout(30)


class Part(Event):
    i: int


class Done(Event):
    i: int


class Mixed(Workflow):
    """Fans out three parts; part 1 fails once and is retried; gather waits for an approval."""

    tries = 0

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Part | None:
        for i in range(3):
            ctx.send_event(Part(i=i))
        return None

    @step(num_workers=2, retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)))
    async def work(self, ev: Part) -> Done:
        if ev.i == 1 and Mixed.tries == 0:
            Mixed.tries += 1
            raise TimeoutError("slow service")
        return Done(i=ev.i)

    @step
    async def gather(self, ctx: Context, ev: Done) -> StopEvent | None:
        if ctx.collect_events(ev, [Done] * 3) is None:
            return None
        answer = await ctx.wait_for_event(HumanResponseEvent, waiter_id="ok")
        return StopEvent(result=answer.response)


async def run_mixed(path: Path, snapshot_every: int = 0) -> str:
    Mixed.tries = 0
    async with SqliteStore(path) as store:
        handler = Mixed(store=store, snapshot_every=snapshot_every).run(run_id="mixed")
        for _ in range(200):
            info = await store.get_run("mixed")
            if info is not None and info.status == "waiting":
                break
            await asyncio.sleep(0.01)
        await store.send_event("mixed", HumanResponseEvent(response="yes"))
        assert await handler == "yes"
    return "mixed"


def query(path: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture(params=[0, 1], ids=["no-snapshots", "snapshots"])
def snapshot_every(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Runs without snapshots, and with one at the end of nearly every batch (never an event or a step)."""
    monkeypatch.setattr(snapshot, "SIZE_RATIO", 0)
    return int(request.param)


async def test_views_agree_with_the_python_timeline(tmp_path: Path, snapshot_every: int) -> None:
    path = tmp_path / "v.db"
    run_id = await run_mixed(path, snapshot_every)
    async with SqliteStore(path) as store:
        history = await store.history(run_id)
        tl = build_timeline(history)
    assert any(e["kind"] == "snapshot" for e in history) == bool(snapshot_every)
    attempts = query(path, "SELECT * FROM step_attempts WHERE run_id = ? ORDER BY accepted_seq", run_id)
    assert [
        (r["exec"], r["step"], r["attempt"], r["accepted_seq"], r["ended_seq"], r["outcome"], r["event_type"])
        for r in attempts
    ] == [
        (a.exec, a.step, a.attempt, a.accepted_seq, a.ended_seq, a.outcome, a.event_type) for a in tl.attempts
    ]
    assert {r["outcome"] for r in attempts} == {"completed", "retry", "waiting"}
    retry = next(r for r in attempts if r["outcome"] == "retry")
    assert (retry["error_type"], retry["error_message"], retry["retry_in"]) == ("builtins.TimeoutError", "slow service", 0.01)
    waiting = next(r for r in attempts if r["outcome"] == "waiting")
    assert waiting["waits_for"] == "durable_flows.events.HumanResponseEvent"
    executions = query(path, "SELECT * FROM step_executions WHERE run_id = ? ORDER BY exec", run_id)
    assert [(r["exec"], r["step"], r["attempts"], r["outcome"]) for r in executions] == [
        (e.exec, e.step, e.attempt_count, e.outcome) for e in sorted(tl.executions, key=lambda e: e.exec)
    ]
    for row, ex in zip(executions, sorted(tl.executions, key=lambda e: e.exec), strict=True):
        assert row["busy"] == pytest.approx(ex.busy)
        assert row["started"] == pytest.approx(ex.started)
    events = query(path, "SELECT * FROM run_events WHERE run_id = ? ORDER BY seq", run_id)
    assert [(r["seq"], r["kind"], r["event_type"], r["source"], r["from_step"], r["exec"]) for r in events] == [
        (e.seq, e.kind, e.event_type, e.source, e.from_step, e.exec) for e in tl.events
    ]
    assert [r["source"] for r in events if r["kind"] == "sent"] == ["start", "step", "step", "step", "inbox"]


async def test_run_summary(tmp_path: Path, snapshot_every: int) -> None:
    path = tmp_path / "v.db"
    run_id = await run_mixed(path, snapshot_every)
    async with SqliteStore(path) as store:
        await store.create_run(NewRun("damaged", "wf", "{}"), [])
        await store.set_failed("damaged", "journal entry seq=3 cannot be decoded")
    [row] = query(path, "SELECT * FROM run_summary WHERE run_id = ?", run_id)
    assert (row["workflow"], row["status"], row["steps_run"], row["attempts"], row["failures"]) == (
        "test_views.Mixed",
        "completed",
        7,  # split, work x3, gather x3
        9,  # + work's retry, + gather accepted again after the answer
        1,
    )
    assert row["events"] == 9  # start, 3 parts, 3 dones, the answer, the stop: no snapshots
    assert row["entries"] == len(query(path, "SELECT seq FROM journal WHERE run_id = ?", run_id))
    assert (row["outcome_type"], row["outcome"], row["error_type"]) == (
        "durable_flows.events.StopEvent",
        '{"result":"yes"}',
        None,
    )
    assert row["started_at"].endswith("Z") and row["duration"] >= 0
    [damaged] = query(path, "SELECT error_type, error_message FROM run_summary WHERE run_id = 'damaged'")
    assert tuple(damaged) == ("error", "journal entry seq=3 cannot be decoded")
