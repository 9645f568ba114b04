"""The CLI as operators run it: a real process (``python -m durable_flows.cli`` and the
installed ``durable-flows`` script), its exit status, stdout and stderr."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Journal, console_script, subprocess_env

from durable_flows.cli._common import Progress

pytestmark = pytest.mark.timeout(120)


def run(*args: str, script: bool = False) -> subprocess.CompletedProcess[str]:
    if script:
        exe = console_script()
        if exe is None:
            pytest.skip("the durable-flows console script is not installed next to this Python")
        command = [exe, *args]
    else:
        command = [sys.executable, "-m", "durable_flows.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, env=subprocess_env(), timeout=60)


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_runs_and_show_json(journal: Journal, script: bool) -> None:
    listed = run("runs", "--json", "--db", str(journal.path), script=script)
    assert listed.returncode == 0, listed.stderr
    statuses = {r["run_id"]: r["status"] for r in json.loads(listed.stdout)}
    assert statuses["broken"] == "failed" and statuses["asking"] == "waiting"
    assert statuses["to-cancel"] == "cancelled" and statuses["chain-fork"] == "running"
    shown = run("show", "broken", "--json", "--db", str(journal.path), script=script)
    doc = json.loads(shown.stdout)
    assert doc["run"]["error"]["message"] == "cannot parse 'oops'"
    assert [s["failures"] for s in doc["steps"]] == [2]
    assert listed.stderr == "" and shown.stderr == ""


@pytest.mark.parametrize("script", [False, True], ids=["python-m", "console-script"])
def test_bad_input_exits_1_with_one_line_on_stderr(tmp_path: Path, journal: Journal, script: bool) -> None:
    missing = tmp_path / "missing.db"
    result = run("runs", "--db", str(missing), script=script)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: no journal database at")
    assert not missing.exists()
    unknown = run("show", "nope", "--db", str(journal.path), script=script)
    assert unknown.returncode == 1 and unknown.stderr.startswith("Error: no run with id 'nope'")
    assert unknown.stderr.count("\n") == 1
    bad_json = run("send", "asking", "durable_flows.events.HumanResponseEvent", "--data", "{", "--db", str(journal.path))
    assert bad_json.returncode == 1 and bad_json.stderr.startswith("Error: --data is not valid JSON")
    bad_class = run("resume", "asking", "--workflow", "flows:Nope", "--db", str(journal.path))
    assert bad_class.returncode == 1 and bad_class.stderr.startswith("Error: cannot import workflow 'flows:Nope'")
    usage = run("fork", "chain", "--db", str(journal.path))
    assert usage.returncode == 2 and "Missing option '--at'" in usage.stderr


def test_answer_a_waiting_run_from_the_shell(journal: Journal) -> None:
    db = ["--db", str(journal.path)]
    sent = run("send", "asking", "durable_flows.events.HumanResponseEvent", "--data", '{"response": "bo"}', *db)
    assert sent.returncode == 0 and sent.stdout.startswith("sent HumanResponseEvent to run asking")
    resumed = run("resume", "asking", "--workflow", "flows:AskName", "--json", *db)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["outcome"]["event"] == {"result": "hello bo"}
    assert "\r" not in resumed.stderr  # no progress line when stderr is not a terminal


def test_fork_resume_report_and_gc_from_the_shell(journal: Journal, tmp_path: Path) -> None:
    db = ["--db", str(journal.path)]
    forked = run("fork", "chain", "--at", "9", "--new-id", "again", "--json", *db)
    assert json.loads(forked.stdout)["parent_run_id"] == "chain"
    resumed = run("resume", "again", "--workflow", "flows:Chain", *db)
    assert resumed.returncode == 0 and resumed.stdout.strip() == "run again completed: 52"
    recovered = run("recover", "--workflow", "flows:Slow", "--json", *db)
    assert [r["status"] for r in json.loads(recovered.stdout)] == ["completed"]
    assert recovered.stderr == ""
    out = tmp_path / "again.html"
    reported = run("report", "again", "-o", str(out), *db)
    assert reported.returncode == 0
    html = out.read_text()
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    for name in ("one", "two", "three", "Counted", "Scaled", "StartEvent", "StopEvent"):
        assert name in html
    gc = run("gc", "--finished-before", "2999-01-01", "--json", *db)
    assert "again" in json.loads(gc.stdout)["run_ids"]
    cancelled = run("cancel", "approval", "--json", *db)
    assert json.loads(cancelled.stdout) == {"run_id": "approval", "action": "cancelled", "status": "cancelled", "state": "cancelled"}


def test_draw_from_the_shell(tmp_path: Path) -> None:
    out = tmp_path / "flow.svg"
    drawn = run("draw", "flows:FanOut", "--format", "svg", "-o", str(out))
    assert drawn.returncode == 0 and out.read_text().startswith("<svg")
    mermaid = run("draw", "flows.Tools")
    assert "flowchart TD" in mermaid.stdout and "make_client" in mermaid.stdout


def test_progress_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Terminal(), io.StringIO()
    for stream in (tty, pipe):
        progress = Progress(stream)
        progress.update("gc: deleted 1/2 runs")
        progress.update("gc: deleted 2/2 runs")  # too soon after the last redraw: skipped
        progress.note("  r1: completed")
        progress.close()
    assert pipe.getvalue() == ""
    assert tty.getvalue() == "\r\x1b[2Kgc: deleted 1/2 runs\r\x1b[2K  r1: completed\n\r\x1b[2K"
