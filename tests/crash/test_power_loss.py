"""A simulated power loss at synchronous=FULL: the WAL cut back to what was synced, or more.

At FULL a step may start once the record that starts it is written to the
WAL, before the fsync; what is handed back to a caller waits for the fsync.
A real process (``powerloss_child.py``) runs chains of state edits and notes
the WAL size each fsync covered; the test SIGKILLs it, then builds the files a
power loss could have left: the database file and the WAL cut at the last
synced size, or at any point between that and its full length (SQLite's WAL
recovery keeps the longest prefix of whole, checksummed commits, so any
surviving pattern of unsynced pages reads as such a cut). On each:

* every run whose result was handed back is ``completed`` with that result;
* the journal is a prefix: every other run resumes and completes;
* no state edit is applied twice: each execution's counter is exactly 1.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from durable_flows import SqliteStore

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from powerloss_child import FREE_RUNS, HOPS, PowerFlow  # noqa: E402

pytestmark = pytest.mark.timeout(180)

#: SQLite checkpoints (and may restart the WAL) from 1000 pages: stay well below.
WAL_LIMIT = 900 * 4096


def run_child_and_kill(db: Path, log: Path, at: str) -> dict[str, int]:
    """Let the child finish FREE_RUNS runs, then kill it: ``at="ack"`` at once
    (the last result was just handed back), ``at="mid"`` inside one more run.

    Returns every run whose result the child handed back before it died.
    """
    # Imported, not run as __main__: the journal names the event classes by module.
    code = "import sys, powerloss_child; powerloss_child.main(sys.argv[1], sys.argv[2])"
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(db), str(log)], cwd=HERE,
        env={**os.environ, "PYTHONPATH": str(HERE)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    done: dict[str, int] = {}
    assert child.stdin is not None and child.stdout is not None
    went = False
    try:
        for line in child.stdout:
            if line.startswith("done"):
                _, run_id, result = line.split()
                done[run_id] = int(result)
                if len(done) == FREE_RUNS:
                    if at == "ack":
                        break
                    child.stdin.write("go\n")
                    child.stdin.flush()
                    went = True
            elif line.startswith("mid") and went:
                time.sleep(random.uniform(0.0, 0.01))  # inside the run's fourth step
                break
        else:
            raise AssertionError(f"child ended early: {child.stderr.read() if child.stderr else ''}")
    finally:
        child.kill()
        rest, _ = child.communicate(timeout=30)
    for line in rest.splitlines():  # handed back before the kill landed
        if line.startswith("done"):
            _, run_id, result = line.split()
            done[run_id] = int(result)
    return done


def synced_size(log: Path) -> int:
    sizes = [int(x) for x in log.read_text().split("\n") if x.strip().isdigit()]
    assert sizes == sorted(sizes), "the WAL was restarted: the cut points would be wrong"
    return sizes[-1]


async def check_cut(folder: Path, done: dict[str, int]) -> tuple[int, int]:
    """(runs acknowledged and found, runs resumed) in the files at ``folder``."""
    store = SqliteStore(folder / "j.db")
    try:
        wf = PowerFlow(store=store, timeout=None)
        for run_id, result in done.items():
            info = await store.get_run(run_id)
            assert info is not None and info.status == "completed", (run_id, info)
            assert await wf.resume(run_id) == result
        resumed = 0
        for info in await store.list_runs():
            if info.run_id in done:
                continue
            assert await asyncio.wait_for(wf.resume(info.run_id), 30) == HOPS
            resumed += 1
        for info in await store.list_runs():
            state = await store.history(info.run_id)  # decodes every entry: no damage
            assert state
            assert (await store.get_run(info.run_id)).status == "completed"
        return len(done), resumed
    finally:
        await store.close()


@pytest.mark.parametrize("at", ["ack", "mid"])
def test_a_power_loss_keeps_what_was_acknowledged_and_replays_the_rest_once(tmp_path: Path, at: str) -> None:
    """``ack``: the loss comes right after a result was handed back (it must be
    on disk already); ``mid``: inside a run, which the restart completes."""
    db, log = tmp_path / "j.db", tmp_path / "syncs.log"
    done = run_child_and_kill(db, log, at)
    assert len(done) >= FREE_RUNS
    wal = Path(str(db) + "-wal").read_bytes()
    assert len(wal) < WAL_LIMIT
    synced = synced_size(log)
    assert synced <= len(wal)
    cuts = sorted({synced, len(wal), *(random.randint(synced, len(wal)) for _ in range(3))})
    resumed_counts = []
    for cut in cuts:
        folder = tmp_path / f"cut-{cut}"
        folder.mkdir()
        shutil.copyfile(db, folder / "j.db")
        (folder / "j.db-wal").write_bytes(wal[:cut])
        found, resumed = asyncio.run(check_cut(folder, done))
        assert found == len(done)
        resumed_counts.append(resumed)
    # One run at most was in flight: the one the kill interrupted, which the
    # full WAL holds unless the kill landed after it ended (then it is in done).
    assert all(count <= 1 for count in resumed_counts)
    assert resumed_counts[-1] == (0 if at == "ack" or len(done) > FREE_RUNS else 1)
