"""The upstream-tests harness: the alias maps names as documented, and (when
DURABLE_FLOWS_UPSTREAM_TESTS names upstream's tests folder) the suite runs and
reports its counts. Without that folder the run is skipped: the sdist ships no tests
and upstream's code is not vendored here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_alias_maps_public_modules_to_durable_flows() -> None:
    out = _run(
        "import alias; alias.install()\n"
        "import durable_flows, durable_flows.events as de\n"
        "from workflows import Workflow\n"
        "from workflows.events import StopEvent\n"
        "from llama_agents.workflows.events import StopEvent as S2\n"
        "print(Workflow is durable_flows.Workflow, StopEvent is de.StopEvent, S2 is StopEvent)"
    )
    assert out == "True True True"


def test_alias_stubs_private_internals() -> None:
    out = _run(
        "import alias; alias.install()\n"
        "from workflows.runtime.types.internal_state import BrokerState\n"
        "ns = {'BrokerState': BrokerState, 'x': 1}\n"
        "print(sorted(alias.private_names(ns)))\n"
        "try:\n    BrokerState()\nexcept alias.PrivateInternalsError as e:\n    print(e)"
    )
    assert out.splitlines() == [
        "['BrokerState']",
        "workflows.runtime.types.internal_state.BrokerState is an upstream internal",
    ]


@pytest.mark.timeout(900)
def test_upstream_suite_counts() -> None:
    folder = os.environ.get("DURABLE_FLOWS_UPSTREAM_TESTS")
    if not folder or not Path(folder).is_dir():
        pytest.skip("set DURABLE_FLOWS_UPSTREAM_TESTS to upstream's tests folder to run it")
    done = subprocess.run(
        [sys.executable, str(HERE / "run_upstream.py"), folder, "-q"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = re.search(r"^upstream: (\d+) passed", done.stdout, re.M)
    assert summary, done.stdout[-2000:]
    assert int(summary.group(1)) > 0


@pytest.mark.timeout(120)
def test_harness_excludes_modules_and_helpers_that_use_internals(tmp_path: Path) -> None:
    """Pins two exclusions: a module calling an upstream internal while it is imported
    was a collection error, and a test reaching ``external_adapter=`` through a
    module-level helper was a failure; both are private internals."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "__init__.py").write_text("")
    (tests / "test_at_import.py").write_text(
        "from workflows.runtime.types.ticks import TickAddEvent\n"
        "TICKS = [TickAddEvent(event=None)]\n"
        "def test_never_runs() -> None:\n    assert TICKS\n"
    )
    (tests / "test_helpers.py").write_text(
        "from workflows.handler import WorkflowHandler\n"
        "def _make() -> object:\n    return WorkflowHandler(external_adapter=None)\n"
        "def test_via_helper() -> None:\n    assert _make()\n"
        "def test_public() -> None:\n    from workflows import Workflow\n    assert Workflow\n"
    )
    done = subprocess.run(
        [sys.executable, str(HERE / "run_upstream.py"), str(tests), "-q"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "upstream: 1 passed, 0 failed, 0 errors, 2 excluded" in done.stdout, done.stdout[-3000:]
    assert "module calls workflows.runtime.types.ticks.TickAddEvent at import" in done.stdout
    assert "test_helpers::test_via_helper  (private internals: uses external_adapter=)" in done.stdout
