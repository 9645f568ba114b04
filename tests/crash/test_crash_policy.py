"""Crash policy: outside kills are survived, a step that kills its process fails the run, an operator continues it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
pytestmark = pytest.mark.timeout(180)


def start(name: str, db: Path, marks: Path, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(HERE), DURABLE_FLOWS_FAULTS="", SCENARIO_MARKS=str(marks))
    return subprocess.Popen(
        [sys.executable, str(HERE / "scenarios.py"), name, str(db), "r", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def outcome(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=90)
    if proc.returncode < 0:
        return {"signal": -proc.returncode}
    if proc.returncode != 0:
        return {"exit": proc.returncode, "stderr": err[-500:]}
    return json.loads(out.strip().splitlines()[-1])


def starts(marks: Path) -> int:
    return marks.read_text().count("started") if marks.exists() else 0


def journal(db: Path) -> list[tuple[str, dict]]:
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT kind, payload FROM journal WHERE run_id='r' ORDER BY seq").fetchall()
    finally:
        con.close()
    return [(kind, json.loads(p)) for kind, p in rows]


def test_same_execution_killed_ten_times_from_outside_completes(tmp_path: Path) -> None:
    """Default max_recoveries (100): ten SIGKILLs while the step runs; from the 5th its re-run is delayed."""
    db, marks = tmp_path / "j.db", tmp_path / "marks"
    for kill in range(10):
        proc = start("slow_step", db, marks)
        deadline = time.monotonic() + 30
        while starts(marks) <= kill and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        assert starts(marks) == kill + 1, f"the step did not start again before kill {kill + 1}"
        proc.send_signal(signal.SIGKILL)
        assert outcome(proc) == {"signal": signal.SIGKILL}
    assert outcome(start("slow_step", db, marks)) == {"result": "done"}
    assert starts(marks) == 11
    resumed = [p for kind, p in journal(db) if kind == "resumed"]
    assert [len(p["rerun"]) for p in resumed] == [1] * 10
    # Deaths 5..10 in a row delayed the re-run: 0.5 s doubling, at most 8 s.
    delays = [next(iter(p["delay"].values())) for p in resumed if "delay" in p]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


def test_step_that_exits_fails_the_run_after_its_limit_then_reset_continues(tmp_path: Path) -> None:
    """@step(max_recoveries=3) calling os._exit(1): failed after exactly 4 deaths, naming the step."""
    db, marks = tmp_path / "j.db", tmp_path / "marks"
    deaths = 0
    for _ in range(8):
        got = outcome(start("exits", db, marks))
        if "error" in got:
            break
        assert got["exit"] == 1, got
        deaths += 1
    assert deaths == 4 and starts(marks) == 4
    assert got["error"].startswith("RecoveryLimitError"), got
    assert "'poison'" in got["error"] and "4 times" in got["error"]
    con = sqlite3.connect(db)
    status, error = con.execute("SELECT status, error FROM runs WHERE run_id='r'").fetchone()
    con.close()
    assert status == "failed" and "RecoveryLimitError" in error
    # Resuming again without a reset reports the same failure and runs nothing.
    assert outcome(start("exits", db, marks))["error"].startswith("RecoveryLimitError")
    assert starts(marks) == 4
    # The operator fixes the cause and continues the same run, no fork.
    Path(str(marks) + ".fixed").write_text("")
    assert outcome(start("exits", db, marks, "--reset-recoveries")) == {"result": "fixed"}
    con = sqlite3.connect(db)
    status, error = con.execute("SELECT status, error FROM runs WHERE run_id='r'").fetchone()
    con.close()
    assert status == "completed" and not error
    kinds = [kind for kind, _ in journal(db)]
    assert kinds.count("run_failed") == 1 and kinds[-1] == "completed"
