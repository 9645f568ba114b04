"""Every program in examples/ runs and prints what it promises."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
pytestmark = pytest.mark.timeout(120)


def run(tmp_path: Path, *args: str) -> str:
    env = dict(os.environ, DURABLE_FLOWS_DB=str(tmp_path / "examples.db"), DURABLE_FLOWS_FAULTS="")
    proc = subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_example_is_tested() -> None:
    tested = {"hello_world.py", "fan_out.py", "streaming.py", "human_in_the_loop.py", "crash_and_resume.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_hello_world(tmp_path: Path) -> None:
    out = run(tmp_path, str(EXAMPLES / "hello_world.py"))
    assert "Hello, durable world!" in out
    assert "completed   greet" in out


def test_fan_out(tmp_path: Path) -> None:
    out = run(tmp_path, str(EXAMPLES / "fan_out.py"), "20")
    assert f"sum of squares below 20: {sum(i * i for i in range(20))}" in out


def test_streaming(tmp_path: Path) -> None:
    out = run(tmp_path, str(EXAMPLES / "streaming.py"))
    assert "1/8: every" in out and "8/8: it" in out and "words: 8" in out


def test_human_in_the_loop_across_processes(tmp_path: Path) -> None:
    out = run(tmp_path, str(EXAMPLES / "human_in_the_loop.py"), "start")
    run_id = re.search(r"run id: (\w+)", out).group(1)  # type: ignore[union-attr]
    assert "Approve: refund 42 EUR to Ada?" in out
    out = run(tmp_path, str(EXAMPLES / "human_in_the_loop.py"), "answer", run_id, "yes")
    assert out.strip() == "refund 42 EUR to Ada: approved"


def test_crash_and_resume(tmp_path: Path) -> None:
    out = run(tmp_path, str(EXAMPLES / "crash_and_resume.py"))
    assert "child killed with SIGKILL" in out
    assert "result: 8 stages done; stage executions completed: 8" in out
