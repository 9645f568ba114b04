"""The hash chain survives SIGKILL: a run killed before and after appends, then
resumed in fresh processes, verifies end to end (issue 17)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from harness import EXPECTED, run_driver

from durable_flows.audit import verify_runs
from durable_flows.audit.verify import ChainReport
from durable_flows.storage import SqliteStore

sys.path.insert(0, str(Path(__file__).parent))

pytestmark = pytest.mark.timeout(300)


def _verify(db: Path) -> list[ChainReport]:
    async def go() -> list[ChainReport]:
        async with SqliteStore(db) as store:
            return await verify_runs(store)

    return asyncio.run(go())


def test_chain_verifies_after_repeated_kills_and_resumes(tmp_path: Path) -> None:
    db, effects = tmp_path / "j.db", tmp_path / "effects.txt"
    killed = 0
    for fault in ["after_append=3", "before_append=2", "step_started=2", "after_append=4"]:
        out = run_driver(db, "ref", effects, fault)
        killed += out.killed
        [report] = _verify(db)
        assert report.ok, (fault, report.problem)
    assert killed >= 3
    assert run_driver(db, "ref", effects).result == EXPECTED
    [report] = _verify(db)
    assert report.ok and report.entries > 20 and report.unchained_upto == 0
