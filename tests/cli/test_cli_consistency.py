"""A CLI that keeps its word (issue 15, item 7): --json everywhere, one-line
errors without Python in them, run id prefixes, bulk work with filters and
--dry-run, a paging cursor and filters for ``runs``, ``show --follow``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Journal, subprocess_env

from durable_flows import SqliteStore
from durable_flows.cli import main

pytestmark = pytest.mark.timeout(120)


def as_json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_every_command_takes_json() -> None:
    missing = [name for name, cmd in main.commands.items() if not any("--json" in p.opts for p in cmd.params)]
    assert missing == []


def test_report_into_a_missing_folder_is_one_line(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "run.html"
    result = cli("report", "chain", "-o", str(target))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: cannot write {str(target)!r}: the folder {str(target.parent)!r} does not exist"
    ]
    exported = cli("export", "chain", "-o", str(target))
    assert exported.exit_code == 1 and "does not exist" in exported.output and "Traceback" not in exported.output


def test_report_and_export_json(cli: Any, tmp_path: Path) -> None:
    out = as_json(cli("report", "chain", "-o", str(tmp_path / "r.html"), "--json"))
    assert (out["run_id"], out["entries"] > 0, Path(out["output"]).exists()) == ("chain", True, True)
    doc = as_json(cli("export", "chain", "--json"))
    assert doc["run"]["run_id"] == "chain" and doc["journal"][0]["kind"] == "run_started"


def test_errors_print_no_python(cli: Any) -> None:
    for args in (["resume", "nope", "--workflow", "flows:AskName"], ["show", "nope"], ["send", "nope", "flows:Counted"]):
        result = cli(*args)
        assert result.exit_code == 1
        line = result.output.strip()
        assert "Error" in line and "RunNotFoundError" not in line and "store." not in line and "()" not in line


def _runs_with_ids(db: Path, ids: list[str]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import flows

    async def write() -> None:
        store = SqliteStore(str(db))
        for run_id in ids:
            assert await flows.Chain(store=store).run(n=1, run_id=run_id) == 22
        await store.close()

    asyncio.run(write())


def test_run_ids_by_unique_prefix(cli: Any, tmp_path: Path) -> None:
    db = tmp_path / "ids.db"
    a, b = "abcd1" + "0" * 27, "abcd2" + "0" * 27
    _runs_with_ids(db, [a, b])
    assert as_json(cli("show", "abcd1", "--json", db=db))["run"]["run_id"] == a
    assert as_json(cli("export", "abcd2", "--json", db=db))["run"]["run_id"] == b
    ambiguous = cli("show", "abcd", db=db)
    assert ambiguous.exit_code == 1
    assert ambiguous.output.startswith("Error: 2 runs start with 'abcd'") and "give more of the id" in ambiguous.output
    # ids people chose are never matched by prefix
    assert cli("show", "chai").exit_code == 1


def test_bulk_cancel_with_filters_and_dry_run(cli: Any) -> None:
    dry = as_json(cli("cancel", "--status", "parked", "--dry-run", "--json"))
    assert sorted((r["run_id"], r["action"]) for r in dry) == [("approval", "would cancel"), ("asking", "would cancel")]
    assert {r["state"] for r in as_json(cli("runs", "--json", "--status", "parked"))} == {"parked"}
    done = as_json(cli("cancel", "--status", "parked", "--workflow", "AskName", "--json"))
    assert [(r["run_id"], r["status"]) for r in done] == [("asking", "cancelled")]
    both = as_json(cli("cancel", "approval", "interrupted", "--json", "--wait", "0"))
    assert sorted((r["run_id"], r["status"]) for r in both) == [("approval", "cancelled"), ("interrupted", "cancelled")]
    nothing = cli("cancel", "--status", "parked")
    assert nothing.exit_code == 1 and "no unfinished run matches" in nothing.output
    usage = cli("cancel")
    assert usage.exit_code == 2 and "name the runs to cancel" in usage.output


def test_bulk_resume_dry_run_and_filters(cli: Any) -> None:
    dry = as_json(cli("resume", "--workflow", "flows:Slow", "--status", "orphaned", "--dry-run", "--json"))
    assert [r["run_id"] for r in dry] == ["interrupted"]
    waiting = as_json(cli("resume", "--workflow", "flows:Approval", "--status", "parked", "--dry-run", "--json"))
    assert [r["run_id"] for r in waiting] == ["approval"]
    several = as_json(cli("resume", "chain-fork", "--workflow", "flows:Chain", "--json"))
    assert (several["run_id"], several["status"]) == ("chain-fork", "completed")


def test_gc_by_id_and_workflow(cli: Any) -> None:
    only = as_json(cli("gc", "broken", "--dry-run", "--json"))
    assert only["run_ids"] == ["broken"]
    chain = as_json(cli("gc", "--finished-before", "2999-01-01", "--workflow", "Chain", "--json"))
    assert chain["run_ids"] == ["chain"]
    assert "chain" not in {r["run_id"] for r in as_json(cli("runs", "--json"))}
    assert "broken" in {r["run_id"] for r in as_json(cli("runs", "--json"))}


def test_runs_pages_with_a_cursor_and_filters(cli: Any, journal: Journal) -> None:
    everything = [r["run_id"] for r in as_json(cli("runs", "--json"))]
    assert len(everything) == 10
    pages, after = [], None
    while True:
        args = ["runs", "--json", "--limit", "3"] + (["--after", after] if after else [])
        page = [r["run_id"] for r in as_json(cli(*args))]
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert [r for page in pages for r in page] == everything
    assert "next page: --after" in cli("runs", "--limit", "3").output
    assert [r["run_id"] for r in as_json(cli("runs", "--json", "--error", "CANNOT PARSE"))] == ["broken"]
    assert as_json(cli("runs", "--json", "--until", "2000-01-01")) == []
    assert len(as_json(cli("runs", "--json", "--until", "2999-01-01"))) == 10


FOLLOWED = """
import asyncio, sys
from durable_flows import Context, Event, SqliteStore, StartEvent, StopEvent, Workflow, step


class Tick(Event):
    n: int


class Ticker(Workflow):
    @step
    async def begin(self, ev: StartEvent) -> Tick:
        await asyncio.sleep(0.5)
        return Tick(n=1)

    @step
    async def tick(self, ev: Tick) -> Tick | StopEvent:
        await asyncio.sleep(0.3)
        return StopEvent(result=ev.n) if ev.n >= 3 else Tick(n=ev.n + 1)


async def main():
    store = SqliteStore(sys.argv[1])
    print(await Ticker(store=store).run(run_id="ticker"), flush=True)
    await store.close()

asyncio.run(main())
"""


def test_show_follow_tails_a_run_of_another_process_until_it_ends(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    running = subprocess.Popen([sys.executable, "-c", FOLLOWED, str(db)], env=subprocess_env(), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        for _ in range(200):
            probe = subprocess.run([sys.executable, "-m", "durable_flows.cli", "show", "ticker", "--db", str(db)],
                                   env=subprocess_env(), capture_output=True, text=True, timeout=30)  # fmt: skip
            if probe.returncode == 0:
                break
            time.sleep(0.05)
        followed = subprocess.run(
            [sys.executable, "-m", "durable_flows.cli", "show", "ticker", "--follow", "--json", "--db", str(db)],
            env=subprocess_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        out, err = running.communicate(timeout=60)
    assert out.strip() == "3", err
    assert followed.returncode == 0, followed.stderr
    entries = [json.loads(line) for line in followed.stdout.splitlines()]
    seqs = [e["seq"] for e in entries]
    assert seqs == list(range(seqs[0], seqs[-1] + 1))  # each entry once, in order, none missed
    assert "completed" in [e["kind"] for e in entries]
    con_last = subprocess.run([sys.executable, "-m", "durable_flows.cli", "show", "ticker", "--json", "--db", str(db)],
                              env=subprocess_env(), capture_output=True, text=True, timeout=30)  # fmt: skip
    assert seqs[-1] == json.loads(con_last.stdout)["run"]["last_seq"]
