"""Smoke run of the benchmark: ``bench/run.py --quick`` must keep working.

Only that it runs and prints its table is checked; no timing is asserted
(CI machines are too noisy for that). Upstream llama-index-workflows is used
when installed and skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "bench" / "run.py"
HEADER = "| workload | metric | durable_flows median [min – max] | upstream median [min – max] |"


def _bench(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DURABLE_FLOWS_FAULTS"}
    return subprocess.run(
        [sys.executable, str(RUN), "--quick", "--tmp", str(tmp_path / "bench"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.timeout(150)
def test_quick_run_prints_the_table(tmp_path: Path) -> None:
    proc = _bench(tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert HEADER in proc.stdout
    for workload in (
        "chain",
        "fan-out",
        "loop",
        "concurrent",
        "resume",
        "recover()",
        "memory",
        "journal",
    ):
        assert f"| {workload}" in proc.stdout, workload
    assert "| SQLite 1 row per commit, synchronous=FULL |" in proc.stdout
    if importlib.util.find_spec("workflows") is None:
        assert "upstream llama-index-workflows is not installed" in proc.stdout


@pytest.mark.timeout(150)
def test_quick_json_without_upstream(tmp_path: Path) -> None:
    proc = _bench("--only", "chain,loop", "--no-upstream", "--json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    doc = json.loads(proc.stdout)
    engines = {
        engine for s in doc["series"] for engine in s if engine in ("durable_flows", "upstream")
    }
    assert engines == {"durable_flows"}
    assert {s["workload"].split()[0] for s in doc["series"]} >= {"chain", "loop"}


@pytest.mark.timeout(150)
@pytest.mark.parametrize("synchronous", ["FULL", "MEMORY"])
def test_state_growth_quick_run_prints_its_tables(synchronous: str) -> None:
    """``bench/state_growth.py --quick`` keeps working, on SQLite and on a MemoryStore."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "state_growth.py"), "--quick", "--synchronous", synchronous],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert f"synchronous={synchronous}" in proc.stdout
    assert "fan-out 50, edit_state per worker" in proc.stdout
    rows = [line.split() for line in proc.stdout.splitlines() if line.strip().startswith(("20 ", "40 "))]
    assert [row[0] for row in rows] == ["20", "40"]
    assert all(int(row[1].replace(",", "")) > 0 for row in rows)  # journal bytes were counted
