"""Pages "Writing durable workflows" (durable_workflows.md) and "DBOS Durable Execution" (dbos.md).

The page's "restart the Python process" is real: each phase runs
``durable_scripts.py`` in its own process, crashes are SIGKILLs, and the
external stores (the page's ``db`` and Redis) are SQLite files, as is
durable_flows' journal.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .lib import LIB, UPSTREAM, StartEvent, StopEvent, Workflow, step

SCRIPT = Path(__file__).with_name("durable_scripts.py")
pytestmark = pytest.mark.timeout(120)
durable_only = pytest.mark.skipif(
    UPSTREAM,
    reason="continues a killed run by id (wf.resume): upstream needs llama-agents-dbos, not part of 2.26.1",
)


def phase(tmp_path: Path, scenario: str, name: str, **env: str) -> tuple[int, str]:
    """Run one phase of a scenario in a fresh process; its exit code and output."""
    full_env = dict(
        os.environ,
        DOCS_EXAMPLES_LIB=LIB,
        DURABLE_FLOWS_DB=str(tmp_path / "journal.db"),
        DURABLE_FLOWS_FAULTS="",
        **env,
    )
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), scenario, name, str(tmp_path)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode in (0, -9), proc.stderr
    return proc.returncode, proc.stdout.strip()


def log_lines(tmp_path: Path) -> list[str]:
    return (tmp_path / "log.txt").read_text().splitlines()


class Client:
    """The page's database client: a real SQLite file (sync steps run in a thread)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("create table t (x int)")
        self.conn.executemany("insert into t values (?)", [(1,), (2,), (3,)])
        self.calls = 0

    def exec(self, sql: str) -> int:
        self.calls += 1
        return int(self.conn.execute(sql).fetchone()[0])


class DbWorkflow(Workflow):
    def __init__(self, db: Client, *args: Any, **kwargs: Any) -> None:
        self.db = db
        super().__init__(*args, **kwargs)

    @step
    def count(self, ev: StartEvent) -> StopEvent:
        num_rows = self.db.exec("select COUNT(*) from t;")
        return StopEvent(result=num_rows)


async def test_data_in_the_workflow_instance_persists_over_run_calls(tmp_path: Path) -> None:
    client = Client(tmp_path / "app.db")
    w = DbWorkflow(client)
    assert await w.run() == 3
    assert await w.run() == 3
    assert client.calls == 2  # both runs used the same client


def test_context_dict_carries_state_over_a_process_restart(tmp_path: Path) -> None:
    assert phase(tmp_path, "context", "first") == (0, "first 1")
    assert phase(tmp_path, "context", "second") == (0, "second 2")


def test_context_dict_taken_before_the_run_did_anything(tmp_path: Path) -> None:
    """The page saves ``to_dict()`` right after ``run()``: the dict holds the state before the run."""
    assert phase(tmp_path, "context", "first_early") == (0, "first 1")
    assert phase(tmp_path, "context", "second") == (0, "second 1")


@pytest.mark.parametrize("kind", ["checkpoint", "injected"])
def test_snapshot_from_inside_a_step_is_refused(tmp_path: Path, kind: str) -> None:
    """The page's checkpoint (and its Resource-injected variant) calls ``ctx.to_dict()`` in a step;
    llama-index-workflows 2.26.1 refuses that, and so does durable_flows (README: differences)."""
    code, out = phase(tmp_path, kind, "run", CRASH_AT="c")
    assert code == 0
    assert out.startswith(
        "error ContextStateError to_dict is only available from handler code, not from within steps."
    ), out
    assert log_lines(tmp_path) == ["convert a"]  # the first snapshot attempt, right after it


@durable_only
async def test_the_checkpoint_job_durable_flows_way(tmp_path: Path) -> None:
    """One document per step execution; a SIGKILL while converting "c"; ``resume`` converts the rest.

    Completed conversions (a, b) are not redone; the one in flight (c) runs again.
    """
    assert phase(tmp_path, "docbydoc", "start", CRASH_AT="c")[0] == -9
    assert phase(tmp_path, "docbydoc", "resume") == (0, 'result ["a", "b", "c", "d"]')
    assert log_lines(tmp_path) == ["convert a", "convert b", "convert c", "convert c", "convert d"]
    assert await _run_status(tmp_path, "docbydoc-run-1") == "completed"


@durable_only
async def test_dbos_counter_killed_at_tick_8_continues_from_tick_8(tmp_path: Path) -> None:
    assert phase(tmp_path, "counter", "start")[0] == -9
    ticks_before = [line for line in log_lines(tmp_path) if line.startswith("[Tick")]
    assert len(ticks_before) == 8
    assert phase(tmp_path, "counter", "resume") == (0, "result 20")
    after = log_lines(tmp_path)[len(ticks_before) + 1 :]
    assert after[0] == "[Tick  8] count = 8"  # the tick in flight at the kill runs again ...
    assert len(after) == 13  # ... then 9..20; nothing from before it is redone
    assert await _run_status(tmp_path, "counter-run-1") == "completed"


@durable_only
def test_run_again_with_the_same_run_id_is_refused(tmp_path: Path) -> None:
    """Deliberate difference (README): dbos.md continues a run with ``run(run_id=...)`` again;
    durable_flows keeps one run per id and continues it with ``wf.resume(run_id)``."""
    assert phase(tmp_path, "counter", "start")[0] == -9
    code, out = phase(tmp_path, "counter", "run_again")
    assert code == 0
    assert out.startswith("error RunExistsError a run with id 'counter-run-1' already exists"), out
    assert "wf.resume(run_id)" in out


async def _run_status(tmp_path: Path, run_id: str) -> str:
    from durable_flows.storage import SqliteStore

    store = SqliteStore(str(tmp_path / "journal.db"))
    await store.open()
    try:
        info = await store.get_run(run_id)
        assert info is not None
        return str(info.status)
    finally:
        await store.close()
