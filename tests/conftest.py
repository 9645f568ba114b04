"""Shared fixtures: every test gets its own journal file and never touches ./durable_flows.db."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from durable_flows.storage import JournalStore, MemoryStore, SqliteStore


@pytest.fixture(autouse=True)
def _isolated_default_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "default.db"
    monkeypatch.setenv("DURABLE_FLOWS_DB", str(db))
    # Fatal-error files of PostgreSQL-backed processes (this one's children too): not in ~.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return db


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


@pytest.fixture(params=["sqlite", "memory"])
async def store(request: pytest.FixtureRequest, db_path: Path) -> AsyncIterator[JournalStore]:
    """A real SQLite file on disk, and the in-memory twin."""
    s: JournalStore = SqliteStore(str(db_path)) if request.param == "sqlite" else MemoryStore()
    await s.open()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(str(db_path))
    await s.open()
    try:
        yield s
    finally:
        await s.close()
