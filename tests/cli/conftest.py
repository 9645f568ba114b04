"""Fixtures for the CLI tests: a journal of real runs, written once per session and
copied per test, and the CLI invoked in-process on it (see ``cli_helpers``)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Journal, write_journal
from click.testing import CliRunner, Result

from durable_flows.cli import main


@pytest.fixture(scope="session")
def journal_master(tmp_path_factory: pytest.TempPathFactory) -> Journal:
    path = tmp_path_factory.mktemp("journal") / "runs.db"
    return asyncio.run(write_journal(path))


@pytest.fixture
def journal(journal_master: Journal, tmp_path: Path) -> Journal:
    """A private copy of the prepared journal (tests may change it)."""
    copy = tmp_path / "runs.db"
    src = sqlite3.connect(journal_master.path)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    fields = {k: v for k, v in journal_master.__dict__.items() if k != "path"}
    return Journal(copy, **fields)


@pytest.fixture
def cli(journal: Journal) -> Any:
    """Invoke the CLI in-process on the test's journal: ``cli("runs", "--json")``."""
    runner = CliRunner()

    def invoke(*args: str, db: Path | None = None) -> Result:
        return runner.invoke(main, [*args, "--db", str(db or journal.path)], catch_exceptions=False)

    return invoke
