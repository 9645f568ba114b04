"""Dead runs do not look alive (issue 15, item 4).

Before: after a SIGKILL, ``runs`` and ``show`` said ``running`` with the dead
owner. Now a run's state says whether any process is continuing it
(``orphaned``, ``queued``, ``parked`` vs ``waiting``), in the table, in
``--json``, in the ``run_states`` view and in ``store.list_runs``, with how
to continue it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import subprocess_env

from durable_flows import SqliteStore

pytestmark = pytest.mark.timeout(120)

KILLED_MID_STEP = """
import asyncio, os, signal, sys
sys.path.insert(0, sys.argv[2])
from flows import Slow
from durable_flows import SqliteStore

async def main():
    store = SqliteStore(sys.argv[1])
    Slow(store=store, timeout=None).run(seconds=30, run_id="killed")
    while len(await store.read("killed")) < 3:
        await asyncio.sleep(0.02)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""

SUBMITTED = """
import asyncio, sys
sys.path.insert(0, sys.argv[2])
from flows import Chain
from durable_flows import SqliteStore

async def main():
    store = SqliteStore(sys.argv[1])
    await Chain(store=store).submit(n=1, run_id="queued")
    await store.close()

asyncio.run(main())
"""


def python(code: str, db: Path) -> int:
    here = str(Path(__file__).resolve().parent)
    return subprocess.run([sys.executable, "-c", code, str(db), here], env=subprocess_env(), timeout=60).returncode


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "durable_flows.cli", *args], capture_output=True, text=True, env=subprocess_env(), timeout=60
    )


@pytest.fixture
def killed_and_queued(tmp_path: Path) -> Path:
    db = tmp_path / "runs.db"
    assert python(KILLED_MID_STEP, db) == -signal.SIGKILL
    assert python(SUBMITTED, db) == 0
    return db


def test_a_killed_run_is_orphaned_and_a_submitted_one_queued(killed_and_queued: Path) -> None:
    db = killed_and_queued
    listed = {r["run_id"]: r for r in json.loads(cli("runs", "--json", "--db", str(db)).stdout)}
    assert (listed["killed"]["status"], listed["killed"]["state"]) == ("running", "orphaned")
    assert listed["killed"]["owner"] is not None  # the dead owner is still on the row
    assert "durable-flows resume killed --workflow flows:Slow" in listed["killed"]["how_to_continue"]
    assert (listed["queued"]["status"], listed["queued"]["state"]) == ("running", "queued")
    assert "a worker for flows:Chain starts it" in listed["queued"]["how_to_continue"]
    table = cli("runs", "--db", str(db)).stdout.splitlines()
    assert next(line for line in table if line.startswith("killed ")).split()[2] == "orphaned"
    assert next(line for line in table if line.startswith("queued ")).split()[2] == "queued"
    shown = cli("show", "killed", "--db", str(db)).stdout
    assert "orphaned (journal status running)" in shown
    assert "next: its owner is gone and nothing continues it: run `durable-flows resume killed" in shown
    only = json.loads(cli("runs", "--json", "--status", "orphaned", "--db", str(db)).stdout)
    assert [r["run_id"] for r in only] == ["killed"]


def test_store_list_runs_and_the_view_give_the_state(killed_and_queued: Path) -> None:
    db = killed_and_queued

    async def states() -> dict[str, str]:
        store = SqliteStore(str(db), read_only=True)
        try:
            return {info.run_id: info.state for info in await store.list_runs()}
        finally:
            await store.close()

    assert asyncio.run(states()) == {"killed": "orphaned", "queued": "queued"}
    con = sqlite3.connect(db)
    try:
        # The view judges by lease expiry: expire the dead owner's lease as time would.
        con.execute("UPDATE runs SET lease_expires = 0 WHERE run_id = 'killed'")
        con.commit()
        rows = dict(con.execute("SELECT run_id, state FROM run_states"))
    finally:
        con.close()
    assert rows == {"killed": "orphaned", "queued": "queued"}


def test_a_parked_run_and_a_live_waiting_one_differ(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import flows

    db = tmp_path / "runs.db"

    async def scenario() -> tuple[str, str]:
        store = SqliteStore(str(db))
        handler = flows.AskName(store=store).run(run_id="live")
        for _ in range(200):
            info = await store.get_run("live")
            if info is not None and info.status == "waiting":
                break
            await asyncio.sleep(0.02)
        live = json.loads(cli("runs", "--json", "--db", str(db)).stdout)[0]["state"]
        handler._task.cancel()
        await asyncio.gather(handler._task, return_exceptions=True)
        await store.close()  # releases the lease: nobody holds the run now
        parked = json.loads(cli("runs", "--json", "--db", str(db)).stdout)[0]["state"]
        return live, parked

    assert asyncio.run(scenario()) == ("waiting", "parked")
