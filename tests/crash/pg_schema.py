"""A fresh PostgreSQL schema per test, named in the store URL (for multi-process tests)."""

from __future__ import annotations

import os
import uuid

import pytest


def fresh_schema_url(request: pytest.FixtureRequest) -> str:
    dsn = os.environ["DURABLE_FLOWS_TEST_PG"]
    schema = f"df_workers_{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options=-csearch_path%3D{schema}"
