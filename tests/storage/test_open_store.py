"""open_store: the one function that picks a concrete store."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from durable_flows.errors import StoreOpenError
from durable_flows.storage import DEFAULT_DB_PATH, MemoryStore, SqliteStore, open_store


def test_none_uses_the_environment_then_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DURABLE_FLOWS_DB", str(tmp_path / "env.db"))
    store = open_store(None)
    assert isinstance(store, SqliteStore) and store.path == str(tmp_path / "env.db")
    monkeypatch.setenv("DURABLE_FLOWS_DB", "memory://")
    assert isinstance(open_store(), MemoryStore)
    monkeypatch.delenv("DURABLE_FLOWS_DB")
    store = open_store()
    assert isinstance(store, SqliteStore) and store.path == DEFAULT_DB_PATH == "./durable_flows.db"


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("runs.db", "runs.db"),
        ("/var/lib/runs.db", "/var/lib/runs.db"),
        ("sqlite:///runs.db", "runs.db"),
        ("sqlite:////var/lib/runs.db", "/var/lib/runs.db"),
    ],
)
def test_sqlite_paths_and_urls(target: str, path: str) -> None:
    store = open_store(target)
    assert isinstance(store, SqliteStore) and store.path == path


def test_memory_url() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)


@pytest.mark.parametrize(
    ("url", "dsn", "schema"),
    [
        ("postgresql://user@host/db", "postgresql://user@host/db", None),
        ("postgres://user@host:5433/db", "postgres://user@host:5433/db", None),
        (
            "postgresql://u:secret@host/db?schema=jobs&sslmode=require",
            "postgresql://u:secret@host/db?sslmode=require",
            "jobs",
        ),
    ],
)
def test_postgresql_urls(url: str, dsn: str, schema: str | None) -> None:
    pytest.importorskip("asyncpg")
    from durable_flows.storage.postgres import PostgresStore

    store = open_store(url)  # nothing is contacted before first use
    assert isinstance(store, PostgresStore)
    assert (store.dsn, store.schema) == (dsn, schema)
    assert "secret" not in store.path and "secret" not in repr(store)


def test_postgresql_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("asyncpg")
    from durable_flows.storage.postgres import PostgresStore

    monkeypatch.setenv("DURABLE_FLOWS_DB", "postgresql://user@host/db?schema=s1")
    store = open_store()
    assert isinstance(store, PostgresStore) and store.schema == "s1"


def test_postgresql_without_asyncpg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # import asyncpg -> ImportError
    for name in [m for m in sys.modules if m.startswith("durable_flows.storage.postgres")]:
        monkeypatch.delitem(sys.modules, name)  # the package and its modules import afresh
    with pytest.raises(StoreOpenError, match=r"pip install durable_flows\[postgres\]") as caught:
        open_store("postgresql://user:secret@host/db")
    assert caught.value.path == "postgresql://user:***@host/db"


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(StoreOpenError, match="unknown scheme 'mysql://'"):
        open_store("mysql://host/db")


@pytest.mark.parametrize(
    ("search_path", "schema"),
    [
        ('"$user", public', "public"),
        ("jobs", "jobs"),
        (' "My ""odd"", schema" , public', 'My "odd", schema'),
        ('"$user"', None),
        ("", None),
    ],
)
def test_first_schema_of_a_search_path(search_path: str, schema: str | None) -> None:
    from durable_flows.storage._pg_url import first_schema

    assert first_schema(search_path) == schema
