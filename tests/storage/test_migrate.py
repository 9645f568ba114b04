"""The migration runner: ordering, bookkeeping, one-time application, refusal."""

from __future__ import annotations

import importlib.resources
import sqlite3
import threading
from pathlib import Path

import pytest

from durable_flows.errors import SchemaVersionError, StoreOpenError
from durable_flows.storage.migrate import (
    CODE_SCHEMA_VERSION,
    apply_migrations,
    load_migrations,
    split_statements,
)

pytestmark = pytest.mark.timeout(10)


def test_split_statements_keeps_comments_and_semicolons_in_strings() -> None:
    script = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE t (x TEXT DEFAULT 'a;b'); -- trailing\n"
        "INSERT INTO t VALUES ('c;\nd');\n"
        "-- only a comment at the end\n"
    )
    statements = split_statements(script)
    assert len(statements) == 2
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        conn.execute(statement)
    assert conn.execute("SELECT x FROM t").fetchall() == [("c;\nd",)]


def test_split_statements_refuses_an_unterminated_statement() -> None:
    with pytest.raises(ValueError, match="unterminated"):
        split_statements("CREATE TABLE t (x INT);\nINSERT INTO t VALUES (1)\n")


def test_migration_files_are_numbered_up_to_the_code_version() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, CODE_SCHEMA_VERSION + 1))
    assert migrations[0].name == "init"
    assert all(m.statements for m in migrations)


def test_apply_records_each_version_once(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "j.db")
    assert apply_migrations(conn, "j.db") == [1, 2, 3, 4, 5, 6, 7]
    assert apply_migrations(conn, "j.db") == []
    assert conn.execute("SELECT version, name FROM schema_migrations").fetchall() == [
        (1, "init"),
        (2, "views"),
        (3, "snapshots"),
        (4, "run_states"),
        (5, "audit"),
        (6, "process_deaths"),
        (7, "search_marks"),
    ]
    assert not conn.in_transaction
    conn.close()


def test_concurrent_migration_of_a_fresh_file_happens_once(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def migrate() -> None:
        conn = sqlite3.connect(path, timeout=10)
        try:
            start.wait()
            results.append(apply_migrations(conn, str(path)))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # Each version exactly once, though not always all by the same thread.
    assert sorted(v for applied in results for v in applied) == [1, 2, 3, 4, 5, 6, 7]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (7,)
    conn.close()


def test_a_newer_database_is_refused_without_a_write(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    conn = sqlite3.connect(path)
    apply_migrations(conn, str(path))
    future = CODE_SCHEMA_VERSION + 1
    conn.execute("INSERT INTO schema_migrations VALUES (?, 'future', 0)", (future,))
    conn.commit()
    before = path.read_bytes()
    with pytest.raises(SchemaVersionError, match=f"version {future}"):
        apply_migrations(conn, str(path))
    assert path.read_bytes() == before
    conn.close()


def test_a_failing_migration_is_rolled_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE inbox (other TEXT)")  # clashes with 0001_init
    with pytest.raises(StoreOpenError, match="0001_init failed and was rolled back"):
        apply_migrations(conn, str(path))
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert names == {"inbox"}  # neither runs/journal nor the bookkeeping row survived
    conn.close()


def test_garbage_is_reported_as_store_open_error(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    path.write_bytes(b"garbage" * 1000)
    conn = sqlite3.connect(path)
    with pytest.raises(StoreOpenError, match="not a usable SQLite database"):
        apply_migrations(conn, str(path))
    conn.close()
    assert path.read_bytes() == b"garbage" * 1000


def test_source_tree_fallback_reads_the_repository_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(package: str) -> None:
        raise ModuleNotFoundError(package)

    monkeypatch.setattr(importlib.resources, "files", not_installed)
    assert [(m.version, m.name) for m in load_migrations()] == [
        (1, "init"),
        (2, "views"),
        (3, "snapshots"),
        (4, "run_states"),
        (5, "audit"),
        (6, "process_deaths"),
        (7, "search_marks"),
    ]
