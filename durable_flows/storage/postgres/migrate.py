"""Schema migrations of :class:`~.store.PostgresStore`: ``migrations/postgres/NNNN_name.sql``.

PostgreSQL's files sit beside SQLite's and are numbered on their own. Each
file runs as one script in its own transaction together with its row in
``schema_migrations`` (PostgreSQL's DDL is transactional: a failed migration
leaves nothing behind). The transaction first takes an advisory lock keyed by
the schema, so many workers starting at once against a fresh database queue
up: the first applies the file, the others find its row and skip it.

A database migrated by a newer durable_flows is refused before anything is
written (:class:`~durable_flows.errors.SchemaVersionError`).
"""

from __future__ import annotations

import importlib.resources
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import (
    JournalOutdatedError,
    NotAJournalError,
    SchemaVersionError,
    StoreError,
    StoreOpenError,
)

#: The newest PostgreSQL schema version this code knows (the highest file).
PG_SCHEMA_VERSION = 7

_FILE_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class PgMigration:
    """One migration file: its version, name and SQL script."""

    version: int
    name: str
    script: str

    @property
    def label(self) -> str:
        return f"postgres/{self.version:04d}_{self.name}"


def load_pg_migrations() -> list[PgMigration]:
    """All PostgreSQL migration files, oldest first.

    Raises:
        StoreError: the files are not numbered 1..PG_SCHEMA_VERSION (a broken install).
    """
    try:
        folder = importlib.resources.files("durable_flows.migrations.postgres")
        entries = [
            (item.name, item.read_text(encoding="utf-8"))
            for item in folder.iterdir()
            if _FILE_NAME.match(item.name)
        ]
    except ModuleNotFoundError:
        # Running from a source tree: the folder sits next to the package.
        source = Path(__file__).resolve().parents[2] / "migrations" / "postgres"
        entries = [
            (p.name, p.read_text(encoding="utf-8"))
            for p in source.iterdir()
            if _FILE_NAME.match(p.name)
        ]
    found = []
    for name, text in entries:
        match = _FILE_NAME.match(name)
        assert match is not None
        found.append(PgMigration(int(match[1]), match[2], text))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, PG_SCHEMA_VERSION + 1)):
        raise StoreError(
            f"durable_flows expects PostgreSQL migration files 1..{PG_SCHEMA_VERSION} but "
            f"found versions {versions}; the installation is incomplete or damaged. "
            "Reinstall durable_flows."
        )
    return found


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


async def _applied_versions(conn: Any) -> set[int]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    return {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}


def _refuse_newer(applied: set[int], newest: int, label: str) -> None:
    if applied and max(applied) > newest:
        raise SchemaVersionError(label, max(applied), newest)


async def apply_pg_migrations(conn: Any, schema: str, create_schema: bool, label: str) -> list[int]:
    """Bring the schema behind ``conn`` (an asyncpg connection) to the newest version.

    A schema that is already current is only read: no lock, no write.

    Args:
        conn: A connection whose ``search_path`` starts with ``schema``, with
            no transaction open.
        schema: The schema the journal lives in; it keys the advisory lock.
        create_schema: Create ``schema`` if it does not exist (under the lock).
        label: How to name the database in error messages.

    Returns:
        The versions this call applied, in order (empty when up to date).

    Raises:
        SchemaVersionError: the schema was migrated by a newer durable_flows;
            nothing is changed.
        StoreOpenError: a migration failed (it was rolled back whole).
    """
    import asyncpg

    migrations = load_pg_migrations()
    newest = migrations[-1].version
    applied = await _applied_versions(conn)
    _refuse_newer(applied, newest, label)
    done: list[int] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        try:
            async with conn.transaction():
                # Serialise with every other store migrating this schema; the
                # lock is released when this transaction ends.
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext('durable_flows.migrate'), hashtext($1))",
                    schema,
                )
                if create_schema:
                    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
                applied = await _applied_versions(conn)
                _refuse_newer(applied, newest, label)
                if migration.version in applied:
                    continue
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    "name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
                )
                await conn.execute(migration.script)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) "
                    "VALUES ($1, $2, extract(epoch FROM clock_timestamp())::float8)",
                    migration.version,
                    migration.name,
                )
        except asyncpg.PostgresError as exc:
            raise StoreOpenError(
                label, f"migration {migration.label} failed and was rolled back ({exc})"
            ) from exc
        done.append(migration.version)
    return done


async def check_pg_journal(conn: Any, schema: str, label: str, *, outdated_ok: bool) -> int:
    """The journal schema version kept in ``schema``; raise if there is no journal there.

    Only reads the catalog: a missing schema is reported, never created.

    Raises:
        NotAJournalError: the schema does not exist or holds no durable_flows tables.
        SchemaVersionError: written by a newer durable_flows.
        JournalOutdatedError: an older version and ``outdated_ok`` is false.
    """
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema):
        raise NotAJournalError(label, f"schema {schema!r} does not exist (nothing was created)")
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
    missing = {"schema_migrations", "runs", "journal", "inbox"} - {row[0] for row in rows}
    if missing:
        raise NotAJournalError(
            label, f"schema {schema!r} has no durable_flows journal (missing {', '.join(sorted(missing))})"
        )
    version = await conn.fetchval(f"SELECT max(version) FROM {quote_ident(schema)}.schema_migrations") or 0
    newest = load_pg_migrations()[-1].version
    if version > newest:
        raise SchemaVersionError(label, version, newest)
    if version < newest and not outdated_ok:
        raise JournalOutdatedError(label, version, newest)
    return int(version)
