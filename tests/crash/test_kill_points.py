"""Crash tests with real processes: SIGKILL at every journal boundary, then resume in a fresh process.

Guarantees pinned here (issue 3): a step whose completion is journaled never runs
again; the resumed run ends with the uninterrupted run's result; the journal
passes PRAGMA integrity_check; repeated kills still finish; human input crosses
three processes.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import pytest
from harness import (
    EXPECTED,
    committed_keys,
    first_resume_seq,
    integrity_ok,
    journal,
    run_driver,
)

sys.path.insert(0, str(Path(__file__).parent))

pytestmark = pytest.mark.timeout(300)


def test_uninterrupted_reference_run(tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    out = run_driver(tmp_path / "j.db", "ref", effects)
    assert not out.killed and out.result == EXPECTED
    counts = Counter(effects.read_text().split())
    assert all(c == 1 for c in counts.values()), counts


@pytest.mark.parametrize("point", ["before_append", "after_append"])
def test_kill_at_every_append_boundary(tmp_path: Path, point: str) -> None:
    """Kill at the N-th append for every N until the run completes untouched."""
    n = 1
    while True:
        case = tmp_path / f"{point}-{n}"
        case.mkdir()
        db, effects = case / "j.db", case / "effects.txt"
        first = run_driver(db, "ref", effects, f"{point}={n}")
        if not first.killed:
            assert first.result == EXPECTED
            break
        before = effects.read_text().split() if effects.exists() else []
        second = run_driver(db, "ref", effects)
        assert not second.killed
        if n > 1 or point == "after_append":  # the very first append may not have happened
            assert second.result == EXPECTED, (point, n, second.stderr)
        rows = journal(db, "ref")
        assert integrity_ok(db)
        after = effects.read_text().split()[len(before):]
        redone = committed_keys(rows, first_resume_seq(rows)) & set(after)
        assert not redone, f"{point}={n}: completed steps ran again after resume: {redone}"
        counts = Counter(before + after)
        assert max(counts.values()) <= 2, (point, n, counts)
        n += 1
    assert n > 5  # the reference run has many appends; we really killed it many times


def test_repeated_kills_still_finish(tmp_path: Path) -> None:
    db, effects = tmp_path / "j.db", tmp_path / "effects.txt"
    for fault in ["after_append=3", "before_append=2", "after_append=2", "before_append=3"]:
        out = run_driver(db, "ref", effects, fault)
        assert out.killed or out.result == EXPECTED
    final = run_driver(db, "ref", effects)
    assert final.result == EXPECTED
    assert integrity_ok(db)
    assert sum(1 for _, kind, _, _ in journal(db, "ref") if kind == "resumed") >= 4


def test_kill_inside_steps(tmp_path: Path) -> None:
    """Killed while user code runs (step started / finished but not journaled)."""
    for fault in ["step_started=2", "step_finished=4", "step_started=6"]:
        case = tmp_path / fault.replace("=", "-")
        case.mkdir()
        db, effects = case / "j.db", case / "effects.txt"
        assert run_driver(db, "ref", effects, fault).killed
        assert run_driver(db, "ref", effects).result == EXPECTED
        assert integrity_ok(db)


def test_human_input_across_three_processes(tmp_path: Path) -> None:
    db, effects = tmp_path / "j.db", tmp_path / "effects.txt"
    first = run_driver(db, "hitl", effects, "", "--no-answer")
    assert not first.killed and '"waiting": true' in first.stdout
    rows = journal(db, "hitl")
    assert rows[-1][1] in ("produced", "completed", "stream")

    async def send() -> None:
        from durable_flows import HumanResponseEvent, SqliteStore

        store = SqliteStore(str(db))
        run = await store.get_run("hitl")
        assert run is not None and run.status == "waiting"
        await store.send_event("hitl", HumanResponseEvent(response="yes"))
        await store.close()

    asyncio.run(send())  # process 2 (this one) answers while nobody runs the run
    third = run_driver(db, "hitl", effects, "", "--no-answer")
    assert third.result == EXPECTED
    counts = Counter(effects.read_text().split())
    assert all(c == 1 for c in counts.values()), counts


def test_answer_arrives_while_first_process_runs(tmp_path: Path) -> None:
    """Process 2 answers through the store while process 1 still hosts the run."""
    import json
    import os
    import sqlite3
    import subprocess
    import time

    from harness import HERE

    db, effects = tmp_path / "j.db", tmp_path / "effects.txt"
    env = dict(os.environ, PYTHONPATH=str(HERE), SIDE_EFFECTS=str(effects), DURABLE_FLOWS_FAULTS="")
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "driver.py"), str(db), "live", "--wait-external"],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                rows = journal(db, "live") if db.exists() else []
            except sqlite3.OperationalError as exc:  # created, not migrated yet
                if "no such table" not in str(exc):
                    raise
                rows = []
            if any(kind == "produced" and p.get("event", {}).get("_data", {}).get("prefix") for _, kind, _, p in rows):
                break
            time.sleep(0.05)

        async def send() -> None:
            from durable_flows import HumanResponseEvent, SqliteStore

            store = SqliteStore(str(db))
            await store.send_event("live", HumanResponseEvent(response="yes"))
            await store.close()

        asyncio.run(send())
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert json.loads(out.strip().splitlines()[-1])["result"] == EXPECTED
    assert not any(kind == "resumed" for _, kind, _, _ in journal(db, "live"))
