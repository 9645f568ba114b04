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
