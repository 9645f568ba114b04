"""PostgreSQL for the tests: on when DURABLE_FLOWS_TEST_PG holds a DSN, skipped otherwise.

Each test gets a schema of its own (``df_test_<random>``), created by the
store on first use and dropped afterwards, so tests never see each other's
runs and a run of the suite leaves the database as it found it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

#: The environment variable naming the test server, e.g.
#: ``postgresql://postgres@127.0.0.1:5432/test``.
PG_ENV = "DURABLE_FLOWS_TEST_PG"
SKIP_REASON = f"{PG_ENV} is not set (a PostgreSQL DSN runs the PostgreSQL tests)"


def pg_dsn_or_skip() -> str:
    """The test server's DSN; skips the calling test when none is configured."""
    dsn = os.environ.get(PG_ENV, "").strip()
    if not dsn:
        pytest.skip(SKIP_REASON)
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        pytest.skip("asyncpg is not installed (pip install durable_flows[postgres])")
    return dsn


def new_schema_name() -> str:
    return f"df_test_{uuid.uuid4().hex[:12]}"


async def connect(dsn: str, schema: str | None = None) -> Any:
    """A plain asyncpg connection, as an operator's psql session would be."""
    import asyncpg

    settings = {"search_path": f'"{schema}"'} if schema else {}
    return await asyncpg.connect(dsn, server_settings=settings)


async def drop_schema(dsn: str, schema: str) -> None:
    conn = await connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_schema(dsn: str) -> AsyncIterator[str]:
    """A schema name nobody uses yet; dropped (with everything in it) on exit."""
    schema = new_schema_name()
    try:
        yield schema
    finally:
        await drop_schema(dsn, schema)
