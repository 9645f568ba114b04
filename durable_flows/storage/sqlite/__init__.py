"""The SQLite journal store: one file in WAL mode, one writer, batched commits.

Owns everything specific to SQLite: the store class, the writer (its thread,
its inline commits on the event loop, the sync thread that fsyncs the WAL at
FULL) and the SQL of each write job, the file checks, full-text search and the
audit queries.
May import ``storage``'s shared modules (the protocol, rows, chain, migrations)
and ``errors``; nothing above storage.
"""

from .store import SqliteStore

__all__ = ["SqliteStore"]
