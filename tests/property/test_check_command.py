"""``check_runs`` and ``durable-flows check``: replay stored runs against the code to deploy.

The journal holds three runs of ``orders`` (see ``test_code_changes.py``): one
finished, one waiting for a human answer, one stopped with ``pack`` in flight
and an order queued for it. The original code replays all three; code that
renamed ``pack`` strands only the stopped one. Checking never writes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_code_changes import (
    Answer,
    NewPackBody,
    Orders,
    PackRenamed,
    Question,
    _pending_run,
)

from durable_flows import SqliteStore
from durable_flows.cli import main
from durable_flows.ops.check import DAMAGED, MISMATCH, check_runs

pytestmark = pytest.mark.timeout(60)


async def _write_journal(path: Path) -> None:
    await _pending_run(path, "stopped")
    store = SqliteStore(path)
    try:
        finished = Orders(store=store).run(run_id="finished")
        async for ev in finished.stream_events():
            if isinstance(ev, Question):
                await finished.send_event(Answer(response="yes"))
        await finished
        waiting = Orders(store=store).run(run_id="waiting")
        async for ev in waiting.stream_events():
            if isinstance(ev, Question):
                break
        for _ in range(200):
            run = await store.get_run("waiting")
            if run is not None and run.status == "waiting":
                break
            await asyncio.sleep(0.01)
    finally:
        await store.close()


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("check") / "orders.db"
    asyncio.run(_write_journal(path))
    return path


def _dump(path: Path) -> list[Any]:
    con = sqlite3.connect(path)
    try:
        return [
            con.execute("SELECT * FROM journal ORDER BY run_id, seq").fetchall(),
            con.execute("SELECT run_id, status, last_seq, lease_token, outcome, error FROM runs ORDER BY run_id").fetchall(),
            con.execute("SELECT * FROM inbox ORDER BY id").fetchall(),
        ]
    finally:
        con.close()


async def _check(path: Path, cls: type, **kw: Any) -> dict[str, Any]:
    store = SqliteStore(path)
    try:
        return {r.run_id: r for r in await check_runs(cls(store=store), store, **kw)}
    finally:
        await store.close()


async def test_original_and_compatible_code_replay_every_run(journal: Path) -> None:
    before = _dump(journal)
    for cls in (Orders, NewPackBody):
        results = await _check(journal, cls)
        assert set(results) == {"stopped", "finished", "waiting"}
        assert all(r.ok and r.problem is None for r in results.values()), results
        assert results["finished"].status == "completed"
    assert _dump(journal) == before


async def test_renamed_step_strands_only_the_run_with_pending_work(journal: Path) -> None:
    before = _dump(journal)
    results = await _check(journal, PackRenamed)
    assert results["finished"].ok and results["waiting"].ok
    stopped = results["stopped"]
    assert not stopped.ok and stopped.problem == MISMATCH
    assert stopped.seq is not None and "'pack'" in stopped.message and "stopped" in stopped.message
    assert _dump(journal) == before
    active = await _check(journal, PackRenamed, active_only=True)
    assert set(active) == {"stopped", "waiting"}


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, ["check", *args], catch_exceptions=False)


def test_cli_exit_status_and_report(journal: Path) -> None:
    ok = _cli("--workflow", "test_code_changes:Orders", "--db", str(journal))
    assert ok.exit_code == 0, ok.output
    assert ok.output.count("ok  ") == 3 and "all replay" in ok.output
    bad = _cli("--workflow", "test_code_changes:PackRenamed", "--db", str(journal))
    assert bad.exit_code == 1
    line = next(x for x in bad.output.splitlines() if x.startswith("MISMATCH"))
    assert "stopped" in line and "seq=" in line and "no step 'pack'" in line
    assert "1 of 3 do not replay" in bad.output


def test_cli_json(journal: Path) -> None:
    out = _cli("--workflow", "test_code_changes:PackRenamed", "--db", str(journal), "--json")
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    assert report["workflow"] == "orders" and report["checked"] == 3 and report["mismatches"] == 1
    bad = [r for r in report["runs"] if not r["ok"]]
    assert [r["run_id"] for r in bad] == ["stopped"] and isinstance(bad[0]["seq"], int)


def test_cli_reports_a_damaged_journal(journal: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    src, dst = sqlite3.connect(journal), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.execute("UPDATE journal SET payload = '{not json' WHERE run_id = 'finished' AND seq = 3")
    dst.commit()
    dst.close()
    out = _cli("--workflow", "test_code_changes:Orders", "--db", str(copy), "--json")
    assert out.exit_code == 1
    runs = {r["run_id"]: r for r in json.loads(out.stdout)["runs"]}
    assert runs["finished"]["problem"] == DAMAGED and runs["finished"]["seq"] == 3
    assert runs["stopped"]["ok"] and runs["waiting"]["ok"]


def test_cli_bad_workflow_is_one_line(journal: Path) -> None:
    out = CliRunner().invoke(main, ["check", "--workflow", "no_such_module:X", "--db", str(journal)])
    assert out.exit_code == 1 and "cannot import workflow" in out.output
