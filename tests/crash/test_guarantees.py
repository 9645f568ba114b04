"""Durable timeouts, retries, waits and the crash-loop bound, across real process deaths."""

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
pytestmark = pytest.mark.timeout(120)


def start(name: str, db: Path, run_id: str, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(HERE), DURABLE_FLOWS_FAULTS="")
    return subprocess.Popen(
        [sys.executable, str(HERE / "scenarios.py"), name, str(db), run_id, *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=60)
    if proc.returncode == -signal.SIGKILL:
        return {"killed": True}
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def rows(db: Path, run_id: str) -> list[tuple[int, str, float, dict]]:
    con = sqlite3.connect(db)
    try:
        got = con.execute(
            "SELECT seq, kind, ts, payload FROM journal WHERE run_id=? ORDER BY seq", (run_id,)
        ).fetchall()
    finally:
        con.close()
    return [(s, k, ts, json.loads(p)) for s, k, ts, p in got]


def wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` (which reads the child's database) until it holds.

    The child creates and migrates the file while we poll: a file that exists
    but has no tables yet reads as "not yet".
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def test_timeout_budget_survives_restart(tmp_path: Path) -> None:
    """timeout=3, killed after ~2 s of work: the resumed run has ~1 s left, not 3."""
    db = tmp_path / "j.db"
    proc = start("slow_chain", db, "t")

    def worked(seconds: float) -> bool:  # journaled hosted time, whatever the process start-up took
        got = rows(db, "t") if db.exists() else []
        return bool(got) and got[-1][2] - got[0][2] >= seconds

    wait_for(lambda: worked(1.5))
    proc.send_signal(signal.SIGKILL)
    assert finish(proc) == {"killed": True}
    before = rows(db, "t")
    spent = before[-1][2] - before[0][2]  # hosted time the journal proves
    assert 1.0 < spent < 3.0
    resumed = finish(start("slow_chain", db, "t"))
    assert resumed["error"].startswith("WorkflowTimeoutError")
    after = rows(db, "t")
    resume_ts = next(ts for _, kind, ts, _ in after if kind == "resumed")
    timeout_ts = next(ts for _, kind, ts, _ in after if kind == "timed_out")
    second_segment = timeout_ts - resume_ts
    assert second_segment < 3.0 - spent + 0.8, (spent, second_segment)
    assert spent + second_segment == pytest.approx(3.0, abs=0.8)


def test_retry_count_and_delay_survive_restart(tmp_path: Path) -> None:
    """3 allowed attempts, 2 failed before the crash: exactly one more after resume, on time."""
    db = tmp_path / "j.db"
    proc = start("always_failing", db, "r")
    wait_for(lambda: db.exists() and sum(1 for r in rows(db, "r") if r[1] == "failed") == 2)
    time.sleep(1.2)  # well into the 2 s delay before the third attempt
    proc.send_signal(signal.SIGKILL)
    finish(proc)
    out = finish(start("always_failing", db, "r"))
    assert out["error"] == "RuntimeError: always"
    journal = rows(db, "r")
    failed = [p for _, kind, _, p in journal if kind == "failed"]
    assert [f["attempt"] for f in failed] == [1, 2, 3]
    assert failed[-1]["retry_in"] is None
    accepted = [(ts, p["attempt"]) for _, kind, ts, p in journal if kind == "accepted"]
    assert [a for _, a in accepted] == [1, 2, 3]
    # Retry times are wall times: the third attempt came when the 2 s delay that
    # began before the kill ran out, not 2 s after the resume (which would be >= 3.2 s).
    second_failure_ts = [ts for _, kind, ts, _ in journal if kind == "failed"][1]
    third_attempt_ts = accepted[2][0]
    assert 1.95 <= third_attempt_ts - second_failure_ts < 3.0, third_attempt_ts - second_failure_ts


def test_wait_deadline_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    first = finish(start("waits", db, "w", "--until-idle"))
    assert first == {"waiting": True}
    waiter = next(p for _, kind, _, p in rows(db, "w") if kind == "waiter")
    assert waiter["deadline"] == pytest.approx(1.5, abs=0.5)
    time.sleep(2.0)  # parked time does not count against the deadline
    out = finish(start("waits", db, "w"))
    assert out == {"result": "timed out"}
    assert any(kind == "waiter_timeout" for _, kind, _, _ in rows(db, "w"))


def test_crash_loop_is_bounded(tmp_path: Path) -> None:
    """A step that kills its process every time: the run ends failed after bounded resumes.

    (``max_recoveries=3`` here; the default, 100, is pinned in test_crash_policy.py.)
    """
    db = tmp_path / "j.db"
    outcomes = [finish(start("crashes", db, "c")) for _ in range(6)]
    assert outcomes[0] == {"killed": True}
    assert any("RecoveryLimitError" in o.get("error", "") for o in outcomes), outcomes
    con = sqlite3.connect(db)
    status, error = con.execute("SELECT status, error FROM runs WHERE run_id='c'").fetchone()
    assert status == "failed" and "crash-looping" in error
    killed = sum(1 for o in outcomes if o.get("killed"))
    assert killed == 4  # the first run + 3 resumes (max_recoveries=3)
