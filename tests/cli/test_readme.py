"""The README's commands work as written (issue 15, item 8).

Before: later sections used bare ``python`` / ``durable-flows`` without saying
to activate the virtualenv (ModuleNotFoundError as written), the test section
said it ran ruff and mypy but its command did not, and nothing said that the
PostgreSQL tests skip without ``DURABLE_FLOWS_TEST_PG``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")

pytestmark = pytest.mark.timeout(120)


def blocks() -> list[tuple[int, str]]:
    """(offset, text) of every fenced shell block."""
    return [(m.start(), m.group(1)) for m in re.finditer(r"```(?:bash|sh)\n(.*?)```", README, re.S)]


def test_bare_commands_come_after_the_venv_is_activated() -> None:
    activate = README.index(". .venv/bin/activate")
    for offset, text in blocks():
        for line in text.splitlines():
            bare = re.match(r"\s*(python|durable-flows)\s", line)
            if bare:
                assert offset > activate, f"README uses bare {bare.group(1)!r} before saying to activate the venv: {line}"


def test_the_test_command_runs_what_it_says() -> None:
    [command] = [text for _, text in blocks() if "pytest" in text and "python3 -m venv" in text]
    for tool in ("ruff check durable_flows tests examples bench", "mypy", "python -m pytest"):
        assert tool in command
    ci = (ROOT / ".ci" / "run").read_text()
    assert "ruff check durable_flows tests examples" in ci and "\nmypy\n" in ci


def test_the_postgresql_tests_are_explained() -> None:
    section = README[README.index("Run the whole test suite") :][:1200]
    assert "DURABLE_FLOWS_TEST_PG" in section and "skipped" in section


def test_the_human_in_the_loop_commands_run_as_written_with_the_venv_active(tmp_path: Path) -> None:
    """``. .venv/bin/activate`` puts this interpreter's bin first on PATH; the README's two lines then work."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               DURABLE_FLOWS_DB=str(tmp_path / "hitl.db"))  # fmt: skip
    env.pop("PYTHONPATH", None)
    start = subprocess.run("python examples/human_in_the_loop.py start", shell=True, cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert start.returncode == 0, start.stderr
    run_id = re.search(r"run id: (\w+)", start.stdout).group(1)  # type: ignore[union-attr]
    answer = subprocess.run(f"python examples/human_in_the_loop.py answer {run_id} yes", shell=True, cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert answer.stdout.strip() == "refund 42 EUR to Ada: approved", answer.stderr
