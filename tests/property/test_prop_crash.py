"""Crash anywhere: a run stopped at a generated point and resumed ends like the uninterrupted run.

In-process: a :class:`~proptools.CrashingSqliteStore` dies at its K-th journal
write (before or after the commit); everything is dropped, a new store object
is opened on the same file and the run resumed (up to two crashes in a row).
The resumed run must end with the same result, final ``ctx.store`` state,
multiset of produced events (of executions whose completion is journaled) and
multiset of stream events as an uninterrupted run; and the live state after
every append, across all the processes, must equal the replay of that prefix.

A small sample repeats this in real subprocesses killed with SIGKILL through
``DURABLE_FLOWS_FAULTS=after_append=N``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import wfgen
from driving import journal_outcome
from hypothesis import event, given, settings
from hypothesis import strategies as st
from proptools import (
    baseline,
    check_every_prefix,
    check_exactly_once,
    count_journal_writes,
    crash_and_resume,
    db_in,
    draw_crash_points,
    fold_crash_points,
    live_snapshots,
    temp_db,
)
from soak import examples, time_budget

from durable_flows.storage.rows import JournalEntry

HERE = Path(__file__).parent


@pytest.mark.timeout(time_budget(90))
@settings(max_examples=examples(50))
@given(plan=wfgen.plans(), data=st.data())
def test_crash_anywhere_then_resume_in_process(plan: dict[str, Any], data: st.DataObject) -> None:
    _crash_anywhere(plan, data)


@pytest.mark.timeout(time_budget(90))
@settings(max_examples=examples(40))
@given(plan=wfgen.shared_edit_plans(), data=st.data())
def test_crash_amid_shared_edits_then_resume(plan: dict[str, Any], data: st.DataObject) -> None:
    """Overlapping executions editing the same keys: nothing is applied twice, whatever the crash."""
    _crash_anywhere(plan, data)


def _crash_anywhere(plan: dict[str, Any], data: st.DataObject) -> None:
    points = draw_crash_points(data)
    expected = asyncio.run(baseline(plan))
    writes = count_journal_writes(plan)
    crashes = fold_crash_points(points, writes)

    async def go() -> None:
        with temp_db() as folder:
            path = db_in(folder)
            with live_snapshots() as snaps:
                outcome, happened = await crash_and_resume(plan, path, crashes)
            event(f"crashes={happened}")
            got, want = outcome.comparable(), expected.comparable()
            assert got == want, crashes
            wf = wfgen.make(plan, store=None)
            spec = wf._run_spec()
            final = check_every_prefix("r", outcome.entries, spec, snaps["r"])
            assert final.status == "completed"
            check_exactly_once("r", outcome.entries, spec, type(wf).__name__)

    asyncio.run(go())


# --- real processes -------------------------------------------------------------------


def _driver(db: Path, plan_file: Path, faults: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")])
    env["DURABLE_FLOWS_FAULTS"] = faults
    return subprocess.run(
        [sys.executable, str(HERE / "gen_driver.py"), str(db), "r", str(plan_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _status(db: Path) -> str | None:
    con = sqlite3.connect(db)
    try:
        row = con.execute("SELECT status FROM runs WHERE run_id='r'").fetchone()
    finally:
        con.close()
    return None if row is None else str(row[0])


def _journal(db: Path) -> list[JournalEntry]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT run_id, seq, kind, step, event_type, payload, ts, codec FROM journal "
            "WHERE run_id='r' ORDER BY seq"
        ).fetchall()
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        con.close()
    return [JournalEntry(*row) for row in rows]


@dataclass
class KilledRun:
    """A generated run killed by SIGKILL after one of its appends, then finished.

    Attributes:
        first: The driver process armed to be killed (it may have finished first).
        unfinished: The kill left the run running or waiting, so a second
            driver resumed it (otherwise it hit the last append, or none, and
            the second driver only read the finished run back).
        final: The process whose output is the run's outcome.
        entries: The run's journal at the end.
        got: The outcome, comparable with ``Outcome.comparable()``.
    """

    first: subprocess.CompletedProcess[str]
    unfinished: bool
    final: subprocess.CompletedProcess[str]
    entries: list[JournalEntry]
    got: dict[str, Any]


def kill_then_finish(plan: dict[str, Any], folder: str, kill_at: int) -> KilledRun:
    """Run ``plan`` in a subprocess killed after append ``kill_at``, then finish it in another."""
    db, plan_file = Path(folder) / "j.db", Path(folder) / "plan.json"
    plan_file.write_text(json.dumps(plan))
    first = _driver(db, plan_file, f"after_append={kill_at}")
    killed = first.returncode == -signal.SIGKILL
    event(f"killed={killed}")
    assert killed or first.returncode == 0, first.stderr
    final, unfinished = first, False
    if killed:
        unfinished = _status(db) in ("running", "waiting")
        final = _driver(db, plan_file, "")
        assert final.returncode == 0, final.stderr
    out = json.loads(final.stdout.strip().splitlines()[-1])
    entries = _journal(db)
    got = {"result": out["result"], "state": out["state"], **journal_outcome("r", entries), "rest": out["rest"]}
    return KilledRun(first, unfinished, final, entries, got)


@pytest.mark.timeout(time_budget(120))
@settings(max_examples=examples(4))
@given(plan=wfgen.plans(max_stages=4), data=st.data())
def test_sigkill_then_resume_in_subprocesses(plan: dict[str, Any], data: st.DataObject) -> None:
    point = data.draw(st.integers(0, 10**6), label="after_append")
    expected = asyncio.run(baseline(plan))
    kill_at = 1 + point % count_journal_writes(plan)
    with temp_db() as folder:
        run = kill_then_finish(plan, folder, kill_at)
    want = expected.comparable()
    assert run.got == want, (kill_at, run.first.stderr[-2000:])
    wf = wfgen.make(plan, store=None)
    check_exactly_once("r", run.entries, wf._run_spec(), type(wf).__name__)
    if run.unfinished:  # (appends vary in number: the kill may have hit the last one)
        assert any(e.kind == "resumed" for e in run.entries)
