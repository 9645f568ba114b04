"""Schema migrations: apply ``migrations/NNNN_name.sql`` files in order.

Each file is applied in its own ``BEGIN IMMEDIATE`` transaction together with
its row in ``schema_migrations``, so a crash leaves a database either before or
after a migration, never half-way, and two processes opening the same fresh
file at once migrate it exactly once: the second waits for the first's write
lock, then finds the row and skips the file.

The files ship inside the wheel as the package ``durable_flows.migrations``;
from a source checkout they are read from the ``migrations/`` folder at the
repository root.
"""

from __future__ import annotations

import importlib.resources
import re
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import SchemaVersionError, StoreError, StoreOpenError

#: The newest schema version this code knows (the highest migration file).
CODE_SCHEMA_VERSION = 7

_FILE_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One migration file: its version number, name and SQL statements."""

    version: int
    name: str
    statements: tuple[str, ...]


def split_statements(sql: str) -> list[str]:
    """Split an SQL script into complete statements (comments kept with the next one).

    Raises:
        ValueError: the script ends with an unterminated statement.
    """
    statements: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    rest = "\n".join(
        line for line in pending.splitlines() if line.strip() and not line.strip().startswith("--")
    )
    if rest.strip():
        raise ValueError(f"unterminated SQL statement at end of script: {rest.strip()[:80]!r}")
    return statements


def load_migrations() -> list[Migration]:
    """All migration files, oldest first."""
    try:
        folder = importlib.resources.files("durable_flows.migrations")
        entries = [
            (item.name, item.read_text(encoding="utf-8"))
            for item in folder.iterdir()
            if _FILE_NAME.match(item.name)  # not postgres/ (PostgreSQL's files) or __init__.py
        ]
    except ModuleNotFoundError:
        # Running from a source tree: the folder sits next to the package.
        source = Path(__file__).resolve().parents[2] / "migrations"
        entries = [
            (p.name, p.read_text(encoding="utf-8"))
            for p in source.iterdir()
            if _FILE_NAME.match(p.name)
        ]
    found = []
    for name, text in entries:
        match = _FILE_NAME.match(name)
        if match:
            found.append(Migration(int(match[1]), match[2], tuple(split_statements(text))))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, CODE_SCHEMA_VERSION + 1)):
        raise StoreError(
            f"durable_flows expects migration files 1..{CODE_SCHEMA_VERSION} but found "
            f"versions {versions}; the installation is incomplete or damaged. "
            "Reinstall durable_flows."
        )
    return found


def _applied_versions(conn: sqlite3.Connection) -> set[int]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not exists:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def _refuse_newer(applied: set[int], newest: int, path: str) -> None:
    if applied and max(applied) > newest:
        raise SchemaVersionError(path, max(applied), newest)


def apply_migrations(conn: sqlite3.Connection, path_for_messages: str) -> list[int]:
    """Bring the database behind ``conn`` to the newest schema.

    A database that is already current is only read (no write lock is taken).
    ``conn`` is left in autocommit mode with no transaction open.

    Args:
        conn: An open connection with no transaction in progress; it should
            have a busy timeout so it can wait for another process migrating.
        path_for_messages: How to name the database in error messages.

    Returns:
        The versions applied by this call, in order (empty when up to date).

    Raises:
        StoreOpenError: the file is not an SQLite database, is damaged, or a
            migration failed (that migration is rolled back).
        SchemaVersionError: the database was migrated by a newer durable_flows;
            nothing is changed.
    """
    migrations = load_migrations()
    newest = migrations[-1].version if migrations else 0
    conn.isolation_level = None  # we issue BEGIN / COMMIT ourselves
    try:
        applied = _applied_versions(conn)  # also proves the file is a database
    except sqlite3.DatabaseError as exc:
        raise StoreOpenError(path_for_messages, f"not a usable SQLite database ({exc})") from exc
    _refuse_newer(applied, newest, path_for_messages)
    done: list[int] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise StoreOpenError(path_for_messages, f"cannot start migration ({exc})") from exc
        try:
            # Another process may have migrated while we waited for the lock.
            applied = _applied_versions(conn)
            _refuse_newer(applied, newest, path_for_messages)
            if migration.version in applied:
                conn.execute("ROLLBACK")
                continue
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            label = f"{path_for_messages}: applying migration {migration.version:04d}_{migration.name}"
            with _progress_on_tty(conn, label):
                for statement in migration.statements:
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                label = f"{migration.version:04d}_{migration.name}"
                raise StoreOpenError(
                    path_for_messages, f"migration {label} failed and was rolled back ({exc})"
                ) from exc
            raise
        done.append(migration.version)
    return done


class _progress_on_tty:  # noqa: N801 - used as a context manager
    """While a migration runs, show its elapsed time on stderr when that is a terminal.

    A migration that rewrites or indexes a big journal (0005 indexes every
    entry for search) can take a while; a silent pause looks like a hang.
    Nothing is printed for quick migrations (under a second) or without a TTY.
    """

    def __init__(self, conn: sqlite3.Connection, label: str) -> None:
        self.conn = conn
        self.label = label
        self.start = time.monotonic()
        self.shown = False
        self.last = 0.0
        self.enabled = sys.stderr.isatty()

    def _tick(self) -> int:
        elapsed = time.monotonic() - self.start
        if elapsed >= 1.0 and elapsed - self.last >= 0.5:
            sys.stderr.write(f"\r{self.label}… {elapsed:.0f} s")
            sys.stderr.flush()
            self.shown, self.last = True, elapsed
        return 0  # go on

    def __enter__(self) -> None:
        if self.enabled:
            self.conn.set_progress_handler(self._tick, 2_000_000)

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.conn.set_progress_handler(None, 0)
            if self.shown:
                sys.stderr.write(f"\r{self.label}: done in {time.monotonic() - self.start:.0f} s\n")
