"""``submit()`` returns only once the run is durable (issue 15, item 1).

Before the fix ``submit()`` returned a run id while the write was still a
task: a process that exited right after (or closed its store) left no run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from harness import HERE

from durable_flows import HumanResponseEvent, SqliteStore
from durable_flows.ops.worker import Worker

pytestmark = pytest.mark.timeout(120)


def submit_in_subprocess(db: Path, count: int, *extra: str) -> tuple[int, list[str]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, str(HERE / "submit_and_die.py"), str(db), str(count), *extra],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return proc.returncode, proc.stdout.split()


async def until_status(store: SqliteStore, run_id: str, status: str) -> None:
    for _ in range(1800):
        info = await store.get_run(run_id)
        if info is not None and info.status == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} never became {status}")


def rows(db: Path) -> dict[str, tuple[str, int, list[str]]]:
    con = sqlite3.connect(db)
    try:
        found = {}
        for run_id, status, last_seq in con.execute("SELECT run_id, status, last_seq FROM runs"):
            kinds = [k for (k,) in con.execute("SELECT kind FROM journal WHERE run_id = ? ORDER BY seq", (run_id,))]
            found[run_id] = (status, last_seq, kinds)
        return found
    finally:
        con.close()


@pytest.mark.parametrize("extra", [(), ("--close",)], ids=["sigkill", "close-and-exit"])
def test_every_run_submit_returned_is_in_the_journal(tmp_path: Path, extra: tuple[str, ...]) -> None:
    db = tmp_path / "runs.db"
    code, ids = submit_in_subprocess(db, 5, *extra)
    assert code == (0 if extra else -signal.SIGKILL)
    assert len(ids) == 5
    found = rows(db)
    assert set(found) == set(ids)
    for run_id in ids:
        assert found[run_id] == ("running", 2, ["run_started", "sent"])


def test_a_run_submitted_by_a_killed_process_is_finished_by_a_worker(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    code, [run_id] = submit_in_subprocess(db, 1)
    assert code == -signal.SIGKILL

    async def serve() -> dict:
        sys.path.insert(0, str(HERE))
        from refwf import Reference

        store = SqliteStore(str(db))
        stop = asyncio.Event()
        worker = Worker([Reference(timeout=60)], store=store, concurrency=2)
        serving = asyncio.create_task(worker.run(stop))
        await until_status(store, run_id, "waiting")
        await store.send_event(run_id, HumanResponseEvent(response="yes"))
        await until_status(store, run_id, "completed")
        stop.set()
        await serving
        await store.close()
        return {"finished": worker.finished}

    assert asyncio.run(asyncio.wait_for(serve(), 90)) == {"finished": 1}
    status, _, kinds = rows(db)[run_id]
    assert status == "completed" and kinds[:2] == ["run_started", "sent"]
