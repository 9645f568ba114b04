"""How a run's previous owner died, journaled in the ``resumed`` record and printed by ``show``.

Real processes: a supervised worker whose child is SIGKILLed from outside
mid-step, steps that abort (SIGABRT) or read address 0 (SIGSEGV), under the
supervisor and without one (then the evidence is the dead process's
faulthandler file).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from durable_flows import open_store

HERE = Path(__file__).parent
pytestmark = pytest.mark.timeout(180)


def env(marks: Path) -> dict[str, str]:
    out = dict(os.environ, PYTHONPATH=str(HERE), DEATH_MARKS=str(marks), DURABLE_FLOWS_FAULTS="",
               XDG_STATE_HOME=str(marks.parent / "state"))  # PostgreSQL's crash files: not in ~  # fmt: skip
    out.pop("DURABLE_FLOWS_CRASH_DIR", None)
    return out


def cli(*args: str, marks: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "durable_flows.cli", *args], env=env(marks),
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def start_worker(db: Path | str, marks: Path, *workflows: str) -> subprocess.Popen[str]:
    specs = [arg for wf in workflows for arg in ("--workflow", f"deathwf:{wf}")]
    return subprocess.Popen(
        [sys.executable, "-m", "durable_flows.cli", "worker", *specs, "--db", str(db)],
        env=env(marks), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def stop(worker: subprocess.Popen[str]) -> str:
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    return err


def resumed(db: Path | str, run_id: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        store = open_store(str(db))
        try:
            return [json.loads(e.payload) for e in await store.read(run_id) if e.kind == "resumed"]
        finally:
            await store.close()

    return asyncio.run(read())


async def submit_and_wait(db: Path | str, workflow: str, run_id: str, kill_when_started: Path | None = None) -> str:
    """Submit a run; optionally SIGKILL its owner once the step started; wait until it ends."""
    import deathwf

    store = open_store(str(db))
    try:
        await getattr(deathwf, workflow)(store=store).submit(run_id=run_id)
        killed = kill_when_started is None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            info = await store.get_run(run_id)
            assert info is not None
            if not killed and info.owner and await asyncio.to_thread(kill_when_started.exists):
                os.kill(int(info.owner.split(":")[1]), signal.SIGKILL)  # the worker child, mid-step
                killed = True
            if info.status in ("completed", "failed"):
                return info.status
            await asyncio.sleep(0.05)
        raise AssertionError(f"run {run_id} did not end")
    finally:
        await store.close()


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    db = tmp_path / "j.db"
    sys.path.insert(0, str(HERE))
    assert cli("migrate", "--create", "--db", str(db), marks=tmp_path / "none").returncode == 0
    return db


def store_urls() -> list[str]:
    return ["sqlite", "postgres"] if os.environ.get("DURABLE_FLOWS_TEST_PG") else ["sqlite"]


@pytest.fixture(params=store_urls())
def any_journal(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("journal"))
    from pg_schema import fresh_schema_url  # a helper next to this file

    url = fresh_schema_url(request)
    sys.path.insert(0, str(HERE))
    assert cli("migrate", "--create", "--db", url, marks=tmp_path / "none").returncode == 0
    return url


def test_supervised_worker_child_killed_mid_step_resumed_record_says_sigkill(any_journal: str, tmp_path: Path) -> None:
    journal = any_journal
    marks = tmp_path / "marks"
    worker = start_worker(journal, marks, "Sleeper")
    try:
        assert asyncio.run(submit_and_wait(journal, "Sleeper", "r", kill_when_started=marks)) == "completed"
    finally:
        err = stop(worker)
    assert marks.read_text().count("started") == 2
    first, second = resumed(journal, "r")
    assert "died" not in first  # claimed from the queue: nobody died holding it
    died = second["died"]
    assert (died["signal"], died["source"]) == ("SIGKILL", "supervisor")
    assert died["owner"] == first["owner"] and second["rerun"] == [1]
    assert "killed by SIGKILL" in err and "restarting it in" in err
    shown = cli("show", "r", "--db", str(journal), marks=marks)
    assert shown.returncode == 0, shown.stderr
    assert f"previous owner {died['owner']}: killed by SIGKILL" in shown.stdout
    as_json = json.loads(cli("show", "r", "--db", str(journal), "--json", marks=marks).stdout)
    assert [r["how"] for r in as_json["resumed_after"]] == ["killed by SIGKILL"]


@pytest.mark.parametrize(
    ("workflow", "step", "sig", "result"),
    [("Aborts", "explode", "SIGABRT", "survived abort"), ("Segfaults", "dereference", "SIGSEGV", "survived segfault")],
)
def test_supervised_step_that_kills_its_process_is_named_with_the_signal(
    journal: Path, tmp_path: Path, workflow: str, step: str, sig: str, result: str
) -> None:
    marks = tmp_path / "marks"
    worker = start_worker(journal, marks, workflow)
    try:
        assert asyncio.run(submit_and_wait(journal, workflow, "r")) == "completed"
    finally:
        err = stop(worker)
    assert f"killed by {sig}" in err
    died = resumed(journal, "r")[-1]["died"]
    assert (died["signal"], died["step"], died["source"]) == (sig, step, "supervisor")
    assert "line" in died["traceback"] and len(died["traceback"].splitlines()) <= 6
    with sqlite3.connect(journal) as con:
        (fatal,) = con.execute("SELECT fatal_error FROM process_deaths WHERE signal = ?", (sig,)).fetchone()
    assert fatal.startswith("Fatal Python error:")
    # The supervisor stored the report, so the child's file is gone; clean exits left none.
    crashes = Path(str(journal) + "-crashes")
    assert not crashes.exists() or list(crashes.iterdir()) == []
    shown = cli("show", "r", "--db", str(journal), marks=marks).stdout
    assert f"{sig} in step {step}: File " in shown and f'"{result}"' in shown


def run_script(db: Path, marks: Path, workflow: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(HERE / "deathwf.py"), workflow, str(db), "r"], env=env(marks),
                          capture_output=True, text=True, timeout=90)  # fmt: skip


def test_unsupervised_segfault_is_read_from_the_dead_process_fatal_error_file(tmp_path: Path) -> None:
    db, marks = tmp_path / "j.db", tmp_path / "marks"
    crashed = run_script(db, marks, "Segfaults")
    assert crashed.returncode == -signal.SIGSEGV, crashed.stderr
    reports = list(Path(str(db) + "-crashes").iterdir())
    assert len(reports) == 1 and reports[0].read_text().startswith("Fatal Python error: Segmentation fault")
    done = run_script(db, marks, "Segfaults")
    assert json.loads(done.stdout.splitlines()[-1]) == {"result": "survived segfault"}, done.stderr
    died = resumed(db, "r")[-1]["died"]
    assert (died["signal"], died["step"], died["source"]) == ("SIGSEGV", "dereference", "faulthandler")
    assert died["traceback"].startswith('File "') and "in string_at" in died["traceback"]
    shown = cli("show", "r", "--db", str(db), marks=marks).stdout
    assert "SIGSEGV in step dereference: File " in shown


def test_unsupervised_sigkill_leaves_no_evidence_and_says_unknown(tmp_path: Path) -> None:
    """SIGKILL from outside a plain process: no report, no supervisor: 'unknown', and its empty file is swept."""
    db, marks = tmp_path / "j.db", tmp_path / "marks"
    proc = subprocess.Popen([sys.executable, str(HERE / "deathwf.py"), "Sleeper", str(db), "r"], env=env(marks),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while not marks.exists() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    done = run_script(db, marks, "Sleeper")
    assert json.loads(done.stdout.splitlines()[-1]) == {"result": "rested"}, done.stderr
    died = resumed(db, "r")[-1]["died"]
    assert set(died) == {"owner"} and died["owner"].split(":")[1] == str(proc.pid)
    assert "previous owner: unknown" in cli("show", "r", "--db", str(db), "--width", "200", marks=marks).stdout
    assert not Path(str(db) + "-crashes").exists()  # the dead one's empty file swept, ours removed at exit
