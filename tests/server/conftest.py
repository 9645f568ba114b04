"""Fixtures for the server tests: the client virtualenv's python, a served journal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from server_harness import ServerProcess, client_python  # noqa: E402

pytest.importorskip("starlette", reason="the server extra (starlette, uvicorn) is not installed")
pytest.importorskip("uvicorn", reason="the server extra (starlette, uvicorn) is not installed")


@pytest.fixture
def upstream_client() -> str:
    """The python of a virtualenv with llama-agents-client (made by .ci/run)."""
    python = client_python()
    if python is None:
        pytest.skip("llama-agents-client venv missing: set DURABLE_FLOWS_CLIENT_PYTHON or make .client-venv (see .ci/run)")
    return python


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """``durable-flows serve`` on a fresh SQLite journal."""
    proc = ServerProcess(str(tmp_path / "served.db"), tmp_path / "server.log").start()
    try:
        yield proc
    finally:
        proc.stop()
