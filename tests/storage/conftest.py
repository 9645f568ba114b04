"""Fixtures for the store tests: a real store of each kind.

SQLite stores live on ``tmp_path``; PostgreSQL stores (when
DURABLE_FLOWS_TEST_PG is set, see ``tests/pg_support.py``) in a fresh schema
dropped after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pg_support import drop_schema, new_schema_name, pg_dsn_or_skip

from durable_flows.storage import JournalStore, MemoryStore, SqliteStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "j.db"


@pytest.fixture
async def pg_schema() -> AsyncIterator[tuple[str, str]]:
    """``(dsn, schema)``: the test server and a schema of this test's own."""
    dsn = pg_dsn_or_skip()
    schema = new_schema_name()
    try:
        yield dsn, schema
    finally:
        await drop_schema(dsn, schema)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, db_path: Path) -> AsyncIterator[JournalStore]:
    """An unopened store of each kind (overrides tests/conftest.py's opened one,
    so every contract test also checks that stores open lazily on first use)."""
    s: JournalStore
    dsn = schema = None
    if request.param == "memory":
        s = MemoryStore()
    elif request.param == "sqlite":
        s = SqliteStore(db_path)
    else:
        from durable_flows.storage.postgres import PostgresStore

        dsn, schema = pg_dsn_or_skip(), new_schema_name()
        s = PostgresStore(dsn, schema=schema)
    try:
        yield s
    finally:
        await s.close()
        if dsn is not None and schema is not None:
            await drop_schema(dsn, schema)


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(db_path)
    try:
        yield s
    finally:
        await s.close()
