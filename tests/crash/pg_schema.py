"""A fresh PostgreSQL schema per test, named in the store URL (for multi-process tests)."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest


def fresh_schema_url(request: pytest.FixtureRequest) -> str:
    dsn = os.environ["DURABLE_FLOWS_TEST_PG"]
    schema = f"df_workers_{uuid.uuid4().hex[:8]}"

    def drop() -> None:
        async def run() -> None:
            import asyncpg

            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()

        asyncio.run(run())

    request.addfinalizer(drop)
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}schema={schema}"
