"""Journal stores: the protocol, the SQLite and PostgreSQL stores, the in-memory twin, the picker.

Owns the store protocol (``protocol``: the primitives every store implements;
``base``: :class:`JournalStore`, those plus the methods derived from them),
the plain values stores move (``rows``, ``run_state``), what the stores share
(``store_helpers``, ``chain`` hash chains, ``_fork``, ``_discard``,
``_cancel``, ``_search_text``, owners and origins, ``migrate``), the stores
themselves (``sqlite/``, ``postgres/``, ``memory``) and :func:`open_store`,
the one function that chooses a concrete store. ``PostgresStore``
(``durable_flows.storage.postgres``) is imported only when asked for, so that
its driver, asyncpg, stays an optional dependency (``pip install
durable_flows[postgres]``). Storage sees rows and bytes, never engine
objects: it may import ``decorators``, ``spec`` (checking an event sent from
outside), ``resource``, ``retry_policy``, ``events``, ``codec`` and
``errors``; never the runtime, the faces, the command line or the server.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import StoreOpenError
from ._cancel import CANCEL_REQUEST_TYPE, cancel_request_reason
from .base import JournalStore
from .memory import MemoryStore
from .owners import make_owner_id, owner_is_dead
from .rows import (
    ACTIVE_STATUSES,
    ALL_STATUSES,
    CANCELLED,
    COMPLETED,
    FAILED,
    FINISHED_STATUSES,
    RUNNING,
    TIMED_OUT,
    WAITING,
    InboxItem,
    JournalEntry,
    Lease,
    NewRun,
    RunInfo,
    RunSummary,
    RunUpdate,
)
from .sqlite import SqliteStore

if TYPE_CHECKING:
    from .postgres import PostgresStore

__all__ = [
    "ACTIVE_STATUSES",
    "ALL_STATUSES",
    "CANCEL_REQUEST_TYPE",
    "CANCELLED",
    "COMPLETED",
    "DEFAULT_DB_PATH",
    "FAILED",
    "FINISHED_STATUSES",
    "RUNNING",
    "TIMED_OUT",
    "WAITING",
    "InboxItem",
    "JournalEntry",
    "JournalStore",
    "Lease",
    "MemoryStore",
    "NewRun",
    "RunInfo",
    "RunSummary",
    "RunUpdate",
    "SqliteStore",
    "cancel_request_reason",
    "make_owner_id",
    "open_store",
    "owner_is_dead",
]

#: Where runs are journaled when neither an argument nor DURABLE_FLOWS_DB says.
DEFAULT_DB_PATH = "./durable_flows.db"


def open_store(url_or_path: str | None = None, *, read_only: bool = False, create: bool = True) -> JournalStore:
    """Pick the store for a URL or path; the store opens itself on first use.

    Args:
        url_or_path: ``memory://`` for a :class:`MemoryStore`; ``sqlite:///path``
            (SQLAlchemy style: ``sqlite:////abs/path.db`` for an absolute path)
            or a plain file path for a :class:`SqliteStore`;
            ``postgresql://user@host:5432/db`` (or ``postgres://``, optionally
            with ``?schema=NAME``) for a ``PostgresStore``. ``None`` means the
            ``DURABLE_FLOWS_DB`` environment variable, else ``./durable_flows.db``.
        read_only: Open it only to read: nothing is created, migrated or
            written, and a database that is not a durable_flows journal is
            refused with :class:`~durable_flows.errors.NotAJournalError`.
        create: Create a missing file or PostgreSQL schema (default);
            ``False`` opens an existing journal only.

    Raises:
        StoreOpenError: an unknown scheme, or a PostgreSQL URL without the
            asyncpg driver installed.
    """
    target = url_or_path
    if target is None:
        target = os.environ.get("DURABLE_FLOWS_DB") or DEFAULT_DB_PATH
    if target == "memory://":
        return MemoryStore()
    if target.startswith("sqlite:///"):
        return SqliteStore(target[len("sqlite:///") :], read_only=read_only, create=create)
    scheme, sep, _ = target.partition("://")
    if sep and scheme.isidentifier():
        if scheme in ("postgresql", "postgres"):
            return _postgres_store(target, read_only=read_only, create=create)
        reason = (
            f"unknown scheme {scheme + '://'!r}; use a file path, sqlite:///path, "
            "postgresql://... or memory://"
        )
        raise StoreOpenError(target, reason)
    return SqliteStore(target, read_only=read_only, create=create)


def _postgres_store(url: str, *, read_only: bool, create: bool) -> PostgresStore:
    try:
        from .postgres import PostgresStore
    except ImportError as exc:
        from ._pg_url import redact

        raise StoreOpenError(
            redact(url),
            "the PostgreSQL driver asyncpg is not installed",
            "Install it with: pip install durable_flows[postgres]",
        ) from exc
    return PostgresStore(url, read_only=read_only, create_schema=create)


def __getattr__(name: str) -> Any:
    # ``from durable_flows.storage import PostgresStore`` without importing
    # asyncpg for everyone else.
    if name == "PostgresStore":
        from .postgres import PostgresStore

        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
