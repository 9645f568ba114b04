"""Fatal-error files (storage/crash_files.py), reading faulthandler's report (drive/deaths.py),
and how ``show`` words a previous owner's end (views/format.py)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from durable_flows.drive.deaths import read_fatal_error, split_owner
from durable_flows.storage import SqliteStore
from durable_flows.storage.crash_files import KEEP_FOR, crash_dir, read_report, sweep
from durable_flows.views.format import death_text, entry_detail

pytestmark = pytest.mark.timeout(30)

REPORT = """Fatal Python error: Segmentation fault

Thread 0x00007f00000000 (most recent call first):
  File "/app/flows.py", line 9 in other_step
  File "/usr/lib/python3.11/threading.py", line 982 in run

Current thread 0x00007f11111111 (most recent call first):
  File "/usr/lib/python3.11/ctypes/__init__.py", line 519 in string_at
  File "/app/flows.py", line 30 in parse
  File "/app/durable_flows/runtime/steps.py", line 85 in _invoke

Extension modules: pydantic_core._pydantic_core (total: 1)
"""


def test_the_report_gives_the_signal_the_crashing_threads_step_and_its_frames() -> None:
    got = read_fatal_error(REPORT, {"parse", "other_step"})
    assert got["signal"] == "SIGSEGV"
    assert got["step"] == "parse"  # the crashing thread's, though other_step is in flight too
    assert got["traceback"].splitlines() == [
        'File "/usr/lib/python3.11/ctypes/__init__.py", line 519 in string_at',
        'File "/app/flows.py", line 30 in parse',
        'File "/app/durable_flows/runtime/steps.py", line 85 in _invoke',
    ]
    assert "step" not in read_fatal_error(REPORT, {"unrelated"})
    assert read_fatal_error("Fatal Python error: Aborted\n", ())["signal"] == "SIGABRT"


def test_death_text_says_what_is_known() -> None:
    frames = 'File "/app/flows.py", line 30 in parse\nFile "x.py", line 1 in y'
    assert death_text({"signal": "SIGSEGV", "step": "parse", "traceback": frames}) == (
        'SIGSEGV in step parse: File "/app/flows.py", line 30 in parse'
    )
    assert death_text({"owner": "h:1:x", "signal": "SIGKILL"}) == "killed by SIGKILL"
    assert death_text({"exit_code": 1}) == "exited with status 1"
    assert death_text({"owner": "h:1:x"}) == "unknown"
    assert death_text({"alive": True}).startswith("unknown (its lease lapsed")
    entry = {"kind": "resumed", "payload": {"owner": "h:2:y", "token": 3, "rerun": [1], "died": {"signal": "SIGKILL"}}}
    assert entry_detail(entry, 200) == "by h:2:y · token 3 · re-runs exec 1 · previous owner: killed by SIGKILL"


def test_owner_ids_split_into_host_and_pid() -> None:
    assert split_owner("web-1.local:4242:ab12cd34") == ("web-1.local", 4242)
    assert split_owner("not an owner") is None


def test_the_crash_directory_is_beside_a_sqlite_journal_or_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURABLE_FLOWS_CRASH_DIR", raising=False)
    assert crash_dir(SqliteStore(tmp_path / "j.db")) == str(tmp_path / "j.db") + "-crashes"
    assert crash_dir(type("Mem", (), {"path": "memory://"})()) is None
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    pg = type("Pg", (), {"path": "postgresql://u@h/db"})()
    assert crash_dir(pg) == str(tmp_path / "state" / "durable_flows" / "crashes")
    monkeypatch.setenv("DURABLE_FLOWS_CRASH_DIR", str(tmp_path / "named"))
    assert crash_dir(pg) == str(tmp_path / "named")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_removes_dead_processes_files_and_keeps_the_living(tmp_path: Path) -> None:
    host, now = socket.gethostname(), time.time()
    dead = dead_pid()
    files = {
        "dead-empty": tmp_path / f"{host}-{dead}-1000.log",
        "dead-report": tmp_path / f"{host}-{dead}-2000.log",
        "alive": tmp_path / f"{host}-{os.getppid()}-3000.log",
        "other-host-old": tmp_path / "elsewhere-12-4000.log",
        "other-host-new": tmp_path / "elsewhere-13-5000.log",
        "not-ours": tmp_path / "notes.txt",
    }
    for name, path in files.items():
        path.write_text("" if name in ("dead-empty", "alive") else "Fatal Python error: Aborted\n")
    os.utime(files["other-host-old"], (now - KEEP_FOR - 60,) * 2)
    sweep(str(tmp_path), now)
    assert {name for name, path in files.items() if path.exists()} == {
        "dead-report", "alive", "other-host-new", "not-ours",
    }  # fmt: skip
    os.utime(files["dead-report"], (now - KEEP_FOR - 60,) * 2)
    sweep(str(tmp_path), now)
    assert not files["dead-report"].exists()


def test_read_report_skips_an_earlier_process_with_the_same_pid(tmp_path: Path) -> None:
    host = socket.gethostname()
    old = tmp_path / f"{host}-77-1000.log"
    old.write_text("Fatal Python error: Aborted\n")
    os.utime(old, (1000.0, 1000.0))
    assert read_report(str(tmp_path), host, 77, after=5000.0) is None
    assert read_report(str(tmp_path), host, 77, after=900.0) == "Fatal Python error: Aborted\n"
    assert read_report(None, host, 77, after=0) is None


def test_a_process_that_ran_a_run_and_exited_normally_leaves_no_file(tmp_path: Path) -> None:
    code = (
        "import asyncio, sys; sys.path.insert(0, {!r})\n"
        "from durable_flows import SqliteStore, Workflow, StartEvent, StopEvent, step\n"
        "class W(Workflow):\n"
        "    @step\n"
        "    async def s(self, ev: StartEvent) -> StopEvent:\n"
        "        import os; print(sorted(os.listdir({!r})), flush=True)\n"
        "        return StopEvent(result=1)\n"
        "async def main():\n"
        "    store = SqliteStore({!r})\n"
        "    assert await W(store=store).run() == 1\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
    ).format(str(tmp_path), str(tmp_path / "j.db-crashes"), str(tmp_path / "j.db"))
    env = {k: v for k, v in os.environ.items() if k not in ("DURABLE_FLOWS_CRASH_DIR", "PYTHONFAULTHANDLER")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    host = re.escape(socket.gethostname())
    assert re.fullmatch(rf"\['{host}-\d+-\d+\.log'\]", out.stdout.strip()), out.stdout  # its file, while it ran
    assert not (tmp_path / "j.db-crashes").exists()
