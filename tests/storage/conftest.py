"""Fixtures for the store tests: a real store of each kind on ``tmp_path``."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# The package is not installed in the test venv and pyproject.toml sets no
# pytest `pythonpath`; make the source tree importable (and the subprocess
# tests use the same root).
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from durable_flows.storage import JournalStore, MemoryStore, SqliteStore  # noqa: E402


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "j.db"


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, db_path: Path) -> AsyncIterator[JournalStore]:
    """An unopened store of each kind (stores open lazily on first use)."""
    s: JournalStore = MemoryStore() if request.param == "memory" else SqliteStore(db_path)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(db_path)
    try:
        yield s
    finally:
        await s.close()
