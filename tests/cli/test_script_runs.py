"""Runs started by ``python app.py`` are found by the code that owns them (issue 15, item 2).

Before: such a run was stored as ``__main__.ApprovalWorkflow``, so ``check
--workflow app:ApprovalWorkflow`` said "no runs" and exited 0, ``recover``
found nothing while the run waited with its answer queued, a worker
finished nothing, and ``fork`` suggested ``--workflow __main__:...``.
"""

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
from cli_helpers import start_cli, subprocess_env

pytestmark = pytest.mark.timeout(180)

APP = '''
import asyncio, os, signal, sys
from durable_flows import (HumanResponseEvent, InputRequiredEvent, SqliteStore, StartEvent,
                           StopEvent, Workflow, step)


class ApprovalWorkflow(Workflow):
    @step
    async def ask(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="approve?")

    @step
    async def decide(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result="approved: " + ev.response)


async def main(db, run_id, name):
    store = SqliteStore(db)
    wf = ApprovalWorkflow(store=store, timeout=None, **({"workflow_name": name} if name else {}))
    wf.run(run_id=run_id)
    while (info := await store.get_run(run_id)) is None or info.status != "waiting":
        await asyncio.sleep(0.02)
    print(info.workflow, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the script dies; the run waits for its answer


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
'''


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    return tmp_path


def start_script(app_dir: Path, *args: str, as_module: bool = False) -> str:
    """Run app.py until its run waits, SIGKILLed; the workflow name it stored."""
    command = [sys.executable, *(["-m", "app"] if as_module else ["app.py"]), *args]
    proc = subprocess.run(command, cwd=app_dir, capture_output=True, text=True, timeout=60, env=subprocess_env())
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    return proc.stdout.strip()


def cli(app_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "durable_flows.cli", *args, "--db", str(app_dir / "runs.db")],
        cwd=app_dir, capture_output=True, text=True, timeout=90, env=subprocess_env(),
    )  # fmt: skip


@pytest.mark.parametrize("as_module", [False, True], ids=["python app.py", "python -m app"])
def test_a_script_records_its_module_name_and_the_cli_finds_the_run(app_dir: Path, as_module: bool) -> None:
    db = str(app_dir / "runs.db")
    assert start_script(app_dir, db, "r1", as_module=as_module) == "app.ApprovalWorkflow"
    checked = cli(app_dir, "check", "--workflow", "app:ApprovalWorkflow", "--json")
    assert checked.returncode == 0, checked.stderr
    assert [r["run_id"] for r in json.loads(checked.stdout)["runs"]] == ["r1"]
    sent = cli(app_dir, "send", "r1", "durable_flows.events.HumanResponseEvent", "--data", '{"response": "yes"}')
    assert sent.returncode == 0, sent.stderr
    recovered = cli(app_dir, "recover", "--workflow", "app:ApprovalWorkflow", "--json")
    assert recovered.returncode == 0, recovered.stderr
    [run] = json.loads(recovered.stdout)
    assert (run["run_id"], run["status"], run["outcome"]["event"]["result"]) == ("r1", "completed", "approved: yes")


def test_old_main_rows_are_matched_by_class_name_with_a_warning(app_dir: Path) -> None:
    db = str(app_dir / "runs.db")
    assert start_script(app_dir, db, "old", "__main__.ApprovalWorkflow") == "__main__.ApprovalWorkflow"
    checked = cli(app_dir, "check", "--workflow", "app:ApprovalWorkflow")
    assert checked.returncode == 0, checked.stderr
    assert "ok        old" in checked.stdout
    assert "stored under '__main__.ApprovalWorkflow'" in checked.stderr
    forked = cli(app_dir, "fork", "old", "--at", "2")
    assert "--workflow __main__:" not in forked.stdout
    assert "--workflow MODULE:ApprovalWorkflow" in forked.stdout
    cli(app_dir, "send", "old", "durable_flows.events.HumanResponseEvent", "--data", '{"response": "ok"}')
    worker = start_cli("worker", "--workflow", "app:ApprovalWorkflow", "--db", db, cwd=app_dir)
    try:
        status = None
        for _ in range(600):
            con = sqlite3.connect(db)
            status = con.execute("SELECT status FROM runs WHERE run_id = 'old'").fetchone()[0]
            con.close()
            if status == "completed":
                break
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    assert status == "completed", err
    assert "worker stopped: 1 runs finished" in out
    assert "run old is stored as __main__.ApprovalWorkflow" in err


def test_check_fails_when_it_finds_no_runs_to_judge(app_dir: Path) -> None:
    db = str(app_dir / "runs.db")
    assert cli(app_dir, "migrate", "--create").returncode == 0
    empty = cli(app_dir, "check", "--workflow", "app:ApprovalWorkflow")
    assert empty.returncode == 4
    assert "no runs of app.ApprovalWorkflow in this journal: nothing was checked" in empty.stderr
    allowed = cli(app_dir, "check", "--workflow", "app:ApprovalWorkflow", "--allow-empty")
    assert allowed.returncode == 0, allowed.stderr
    assert os.path.exists(db)


def test_the_readme_example_run_is_found_by_its_package_path(tmp_path: Path) -> None:
    """``python examples/human_in_the_loop.py start`` stores ``human_in_the_loop.ApprovalWorkflow``;
    ``--workflow examples.human_in_the_loop:ApprovalWorkflow`` (the README's spelling) finds it."""
    root = Path(__file__).resolve().parents[2]
    db = tmp_path / "runs.db"
    env = dict(subprocess_env(), DURABLE_FLOWS_DB=str(db))
    started = subprocess.run(
        [sys.executable, "examples/human_in_the_loop.py", "start"], cwd=root, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.split("run id: ")[1].split()[0]
    checked = subprocess.run(
        [sys.executable, "-m", "durable_flows.cli", "check", "--workflow",
         "examples.human_in_the_loop:ApprovalWorkflow", "--json"],
        cwd=root, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert [r["run_id"] for r in json.loads(checked.stdout)["runs"]] == [run_id]
    listed = subprocess.run(
        [sys.executable, "-m", "durable_flows.cli", "runs", "--json"], cwd=root, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert json.loads(listed.stdout)[0]["workflow"] == "human_in_the_loop.ApprovalWorkflow"
