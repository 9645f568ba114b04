"""Telling a durable_flows journal from any other SQLite file, without writing to it.

Commands that only read open the file read-only and call
:func:`check_journal` first; commands that write call it too unless asked to
create a journal. Nothing here opens a connection that can write.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ...errors import JournalOutdatedError, NotAJournalError, SchemaVersionError, StoreOpenError
from ..migrate import CODE_SCHEMA_VERSION

#: Tables every durable_flows journal has (schema version 1 on).
JOURNAL_TABLES = frozenset({"schema_migrations", "runs", "journal", "inbox"})


def read_only_uri(path: str) -> str:
    """An SQLite URI that opens ``path`` read-only (never creates it).

    A WAL database that no connection has open (no ``-wal`` file beside it) is
    opened ``immutable``: otherwise SQLite creates ``-wal`` and ``-shm`` files
    even for a read-only connection and leaves them behind. The main file
    only changes at a checkpoint, so a writer that starts meanwhile is
    simply not seen (the read is of the journal as it was when opened).
    """
    uri = Path(os.path.abspath(path)).as_uri() + "?mode=ro"
    return uri if os.path.exists(path + "-wal") else uri + "&immutable=1"


def require_file(path: str) -> None:
    """Raise unless ``path`` is an existing, non-empty regular file.

    Raises:
        StoreOpenError: missing, or a directory.
        NotAJournalError: an empty (0-byte) file.
    """
    if not os.path.exists(path):
        raise StoreOpenError(
            path,
            "no such file (nothing was created)",
            "Check the path, or pass --create to a command that writes to start a new journal.",
        )
    if os.path.isdir(path):
        raise StoreOpenError(path, "it is a directory")
    if os.path.getsize(path) == 0:
        raise NotAJournalError(path, "it is an empty file, not a durable_flows journal")


def check_journal(conn: sqlite3.Connection, path: str, *, outdated_ok: bool) -> int:
    """The schema version of the journal behind ``conn``; raise if it is not one.

    Args:
        outdated_ok: Accept an older schema (the caller will migrate it).

    Raises:
        NotAJournalError: not SQLite, or without durable_flows' tables.
        SchemaVersionError: written by a newer durable_flows.
        JournalOutdatedError: an older schema and ``outdated_ok`` is false.
    """
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise NotAJournalError(path, f"it is not an SQLite database ({exc})") from exc
    missing = JOURNAL_TABLES - names
    if missing:
        what = "it has no tables" if not names else f"it lacks the tables {', '.join(sorted(missing))}"
        raise NotAJournalError(path, f"{what}: it is not a durable_flows journal")
    version = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0
    if version > CODE_SCHEMA_VERSION:
        raise SchemaVersionError(path, version, CODE_SCHEMA_VERSION)
    if version < CODE_SCHEMA_VERSION and not outdated_ok:
        raise JournalOutdatedError(path, version, CODE_SCHEMA_VERSION)
    return int(version)


def check_journal_file(path: str, *, outdated_ok: bool) -> int:
    """:func:`check_journal` on the file at ``path``, opened read-only and closed again.

    Raises:
        StoreOpenError: see :func:`require_file` and :func:`check_journal`.
    """
    require_file(path)
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
    except sqlite3.Error as exc:
        raise StoreOpenError(path, f"cannot open it read-only ({exc})") from exc
    try:
        return check_journal(conn, path, outdated_ok=outdated_ok)
    finally:
        conn.close()
