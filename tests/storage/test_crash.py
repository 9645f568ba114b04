"""Durability against a process killed with SIGKILL right after append returned."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from storage_helpers import entries

from durable_flows.storage import SqliteStore

pytestmark = pytest.mark.timeout(20)

REPO_ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import asyncio, sys
sys.path.insert(0, sys.argv[2])
from storage_helpers import entries, new_run
from durable_flows.storage import RunUpdate, SqliteStore

async def main(path):
    store = SqliteStore(path)
    lease = await store.create_run(new_run("r1"), entries("r1", 1, 1))
    await store.append(lease, entries("r1", 2, 4), RunUpdate(status="waiting", waiting_for=["m.A"]))
    print("appended", flush=True)
    await asyncio.sleep(60)

asyncio.run(main(sys.argv[1]))
"""


async def test_entries_survive_sigkill_after_append_returned(db_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(db_path), str(Path(__file__).parent),
        stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 15)  # type: ignore[union-attr]
        assert line == b"appended\n"
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    async with SqliteStore(db_path) as store:
        assert await store.read("r1") == entries("r1", 1, 4)
        info = await store.get_run("r1")
        assert info is not None and (info.status, info.last_seq) == ("waiting", 4)
        assert info.owner is not None  # the dead process never released it...
        lease = await store.claim_lease("r1")  # ...but its owner is dead, so no wait
        assert lease.token == 2


FORGETFUL = """
import asyncio, sys
from durable_flows.storage import NewRun, SqliteStore

async def main(path):
    store = SqliteStore(path)
    await store.create_run(NewRun("r1", "wf", "fp"), [])
    await store.get_run("r1")  # the read connection is open too; close() is never called

asyncio.run(main(sys.argv[1]))
print("exited", flush=True)
"""


async def test_a_store_never_closed_does_not_hang_interpreter_exit(db_path: Path) -> None:
    """Regression: aiosqlite's non-daemon reader thread kept the process alive forever."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", FORGETFUL, str(db_path), stdout=asyncio.subprocess.PIPE, env=env
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert (proc.returncode, out) == (0, b"exited\n")
    async with SqliteStore(db_path) as store:
        assert await store.get_run("r1") is not None
