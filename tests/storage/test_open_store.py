"""open_store: the one function that picks a concrete store."""

from __future__ import annotations

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


def test_postgresql_is_not_available_yet() -> None:
    with pytest.raises(StoreOpenError, match="PostgreSQL support is not available yet"):
        open_store("postgresql://user@host/db")


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(StoreOpenError, match="unknown scheme 'mysql://'"):
        open_store("mysql://host/db")
