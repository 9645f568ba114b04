"""``runs``, ``show`` and ``export`` through click's runner, on a journal of real runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Journal
from click.testing import CliRunner

from durable_flows.cli import main

pytestmark = pytest.mark.timeout(60)


def as_json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_runs_lists_every_run_with_where_it_stands(cli: Any, journal: Journal) -> None:
    runs = {r["run_id"]: r for r in as_json(cli("runs", "--json"))}
    assert {run_id: r["status"] for run_id, r in runs.items()} == {
        "chain": "completed",
        "fanout": "completed",
        "flaky": "completed",
        "tools": "completed",
        "broken": "failed",
        "asking": "waiting",
        "approval": "waiting",
        "to-cancel": "cancelled",
        "chain-fork": "running",
        "interrupted": "running",
    }
    assert runs["asking"]["waiting_for"] == ["durable_flows.events.HumanResponseEvent"]
    assert runs["approval"]["waiting_for"] == ["durable_flows.events.HumanResponseEvent"]
    assert runs["chain"]["waiting_for"] == []
    assert (runs["fanout"]["steps_run"], runs["chain"]["steps_run"], runs["flaky"]["steps_run"]) == (49, 3, 1)
    assert (runs["chain-fork"]["parent_run_id"], runs["chain-fork"]["forked_at_seq"]) == ("chain", 6)
    assert runs["chain"]["workflow"] == "flows.Chain"
    assert runs["chain"]["outcome"]["event"] == {"result": 52}
    assert runs["broken"]["error"]["type"] == "builtins.ValueError"
    assert runs["chain"]["updated_at"] >= runs["chain"]["created_at"]


def test_runs_table_for_people(cli: Any) -> None:
    result = cli("runs")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["ID", "WORKFLOW", "STATUS", "STARTED", "LAST", "ACTIVITY", "STEPS", "WAITING", "FOR"]
    asking = next(line for line in lines if line.startswith("asking "))
    assert "flows.AskName" in asking and "parked" in asking and asking.endswith("HumanResponseEvent")
    assert any(line.startswith("chain-fork (fork of chain") for line in lines)
    assert "\x1b[" not in result.output  # no colours when not a terminal


def test_runs_filters(cli: Any) -> None:
    def ids(*args: str) -> list[str]:
        return sorted(r["run_id"] for r in as_json(cli("runs", "--json", *args)))

    assert ids("--status", "parked") == ["approval", "asking"]
    assert ids("--status", "waiting") == []  # no live process holds them
    assert ids("--status", "queued") == ["chain-fork"]
    assert ids("--status", "orphaned") == ["interrupted"]
    assert ids("--status", "failed", "--status", "cancelled") == ["broken", "to-cancel"]
    assert ids("--status", "active") == ["approval", "asking", "chain-fork", "interrupted"]
    assert ids("--workflow", "Chain") == ["chain", "chain-fork"]
    assert ids("--workflow", "flows:Approval") == ["approval", "to-cancel"]
    assert ids("--since", "1h") == ids()
    assert ids("--since", "2999-01-01") == []
    assert len(ids("--limit", "3")) == 3
    result = cli("runs", "--since", "yesterday-ish")
    assert result.exit_code == 2 and "cannot read 'yesterday-ish' as a time" in result.output


def test_show_json_tells_the_story(cli: Any) -> None:
    shown = as_json(cli("show", "flaky", "--json"))
    kinds = [e["kind"] for e in shown["entries"]]
    assert kinds[:2] == ["run_started", "sent"]
    assert kinds.count("failed") == 2 and kinds.count("accepted") == 3
    [flaky] = shown["steps"]
    assert (flaky["step"], flaky["executions"], flaky["attempts"], flaky["failures"], flaky["retries"]) == (
        "flaky",
        1,
        3,
        2,
        2,
    )
    assert flaky["busy"] > 0 and flaky["longest"] <= flaky["busy"]
    [execution] = shown["executions"]
    assert (execution["attempts"], execution["outcome"]) == (3, "completed")
    assert shown["run"]["status"] == "completed" and shown["waiting_for"] == []


def test_show_failed_run_prints_the_error_and_traceback(cli: Any) -> None:
    result = cli("show", "broken")
    assert result.exit_code == 0
    assert "error: step parse failed after 2 attempt(s): ValueError: cannot parse 'oops'" in result.output
    assert "Traceback (most recent call last):" in result.output
    assert 'raise ValueError(f"cannot parse' in result.output
    assert "retry in 10ms" in result.output


def test_show_waiting_run_says_what_it_waits_for(cli: Any) -> None:
    shown = as_json(cli("show", "approval", "--json"))
    assert shown["waiting_for"] == [
        {
            "event_type": "durable_flows.events.HumanResponseEvent",
            "step": "review",
            "waiter_id": "approval",
            "since": shown["waiting_for"][0]["since"],
        }
    ]
    text = cli("show", "approval").output
    assert "waiting for: HumanResponseEvent (step review, waiter approval" in text
    assert "run approval  flows.Approval  parked (journal status waiting)" in text
    assert "answer it with `durable-flows send approval durable_flows.events.HumanResponseEvent" in text
    assert "then `durable-flows resume approval --workflow flows:Approval` or a worker continues it" in text
    asking = cli("show", "asking").output
    assert "waiting for: HumanResponseEvent" in asking


def test_show_cancelled_and_forked_runs(cli: Any) -> None:
    cancelled = cli("show", "to-cancel").output
    assert "error: cancelled: no longer needed" in cancelled
    forked = cli("show", "chain-fork").output
    assert "forked from run chain at seq 6" in forked
    shown = as_json(cli("show", "chain", "--json", "--tail", "2"))
    assert len(shown["entries"]) == 13  # --tail shortens the table, not the data
    assert "(last 2 of 13 entries)" in cli("show", "chain", "--tail", "2").output


def test_export_jsonl_is_the_history(cli: Any, journal: Journal) -> None:
    lines = cli("export", "chain").output.splitlines()
    shown = as_json(cli("show", "chain", "--json"))
    assert [json.loads(line) for line in lines] == shown["entries"]
    first = json.loads(lines[1])
    assert first["kind"] == "sent" and first["payload"]["event"] == {"_data": {"n": 4}}


def test_export_json_and_stable_forms_diff_cleanly(cli: Any, tmp_path: Path) -> None:
    doc = as_json(cli("export", "chain", "--format", "json"))
    assert doc["run"]["run_id"] == "chain" and len(doc["journal"]) == 13
    out = tmp_path / "fork.jsonl"
    assert cli("export", "chain-fork", "--stable", "-o", str(out)).exit_code == 0
    fork_lines = out.read_text().splitlines()
    chain_lines = cli("export", "chain", "--stable").output.splitlines()
    assert fork_lines == chain_lines[: len(fork_lines)]  # the fork's journal is the prefix
    assert "run_id" not in json.loads(fork_lines[0]) and "ts" not in json.loads(fork_lines[0])
    both = as_json(cli("export", "chain", "broken", "--format", "json"))
    assert [d["run"]["run_id"] for d in both] == ["chain", "broken"]


@pytest.mark.parametrize("command", [["runs"], ["show", "chain"], ["export", "chain"], ["gc", "--finished-before", "1d"]])
def test_a_missing_database_is_an_error_and_is_not_created(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nope.db"
    result = CliRunner().invoke(main, [*command, "--db", str(missing)])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert result.output.startswith("Error: no journal database at") and "nothing was created" in result.output
    assert not missing.exists()


def test_db_defaults_to_the_environment(journal: Journal, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURABLE_FLOWS_DB", str(journal.path))
    result = CliRunner().invoke(main, ["show", "chain", "--json"])
    assert json.loads(result.output)["run"]["run_id"] == "chain"


@pytest.mark.parametrize("command", [["show", "nope"], ["export", "nope"], ["cancel", "nope"], ["report", "nope", "-o", "x.html"]])
def test_an_unknown_run_is_a_one_line_error(cli: Any, command: list[str]) -> None:
    result = cli(*command)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: no run with id 'nope' in this journal. `durable-flows runs` lists them"
    ]


def test_a_file_that_is_not_a_journal_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database" * 100)
    result = CliRunner().invoke(main, ["runs", "--db", str(bad)])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert "it is not an SQLite database" in result.output
    assert bad.read_bytes() == b"not a database" * 100
