"""Fixtures for the store tests: a real store of each kind on ``tmp_path``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from durable_flows.storage import JournalStore, MemoryStore, SqliteStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "j.db"


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, db_path: Path) -> AsyncIterator[JournalStore]:
    """An unopened store of each kind (overrides tests/conftest.py's opened one,
    so every contract test also checks that stores open lazily on first use)."""
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
