"""How the read commands show ``snapshot`` entries: briefly, and never as events or steps."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import flows
import pytest
from click.testing import CliRunner

from durable_flows import SqliteStore
from durable_flows.cli import main
from durable_flows.runtime import snapshot

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fan-out run of 6 items with a snapshot at the end of nearly every batch."""
    monkeypatch.setattr(snapshot, "SIZE_RATIO", 0)
    path = tmp_path / "snap.db"

    async def write() -> None:
        async with SqliteStore(path) as store:
            result = await flows.FanOut(store=store, snapshot_every=1).run(count=6, run_id="fan")
            assert result == sum(i * i for i in range(6))

    asyncio.run(write())
    return path


def cli(db: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, [*args, "--db", str(db)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_show_summarises_snapshots_and_counts_only_steps(db: Path) -> None:
    shown = json.loads(cli(db, "show", "fan", "--json").output)
    seqs = [e["seq"] for e in shown["entries"] if e["kind"] == "snapshot"]
    assert seqs and shown["run"]["snapshot_seq"] == seqs[-1]
    assert {s["step"]: s["executions"] for s in shown["steps"]} == {"split": 1, "work": 6, "gather": 6}
    text = cli(db, "show", "fan", "--width", "120").output
    assert f"latest snapshot at seq {seqs[-1]}" in text
    line = next(row for row in text.splitlines() if row.split()[:1] == [str(seqs[0])])
    assert "snapshot" in line and f"state up to #{seqs[0] - 1}" in line and "queued" in line


def test_stable_export_leaves_snapshot_payloads_out(db: Path) -> None:
    lines = [json.loads(line) for line in cli(db, "export", "fan", "--stable").output.splitlines()]
    snapshots = [e for e in lines if e["kind"] == "snapshot"]
    assert snapshots and all(e["payload"] is None for e in snapshots)
    full = [json.loads(line) for line in cli(db, "export", "fan").output.splitlines()]
    assert all(e["payload"]["format"] == 1 for e in full if e["kind"] == "snapshot")


def test_report_renders_a_journal_with_snapshots(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    cli(db, "report", "fan", "-o", str(out))
    page = out.read_text()
    assert "snapshot" in page and "state up to #" in page
